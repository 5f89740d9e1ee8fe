"""Every CUDA kernel template compiles to PTX for compute capabilities 7.5 and 9.0.

The simulator runs kernels as Python, so it never types or lowers them; ``cuda.compile_ptx``
does both without a GPU (it needs only NVVM, from a CUDA toolkit or the ``ftx[cuda]``
wheels). Each program below is built by the CUDA executor exactly as ``ftx.jit`` would
build it, and together they instantiate every template and structural variant: fused
kernels of rank 0 to 3 with every scalar expression (float32 and float64), each reduction
combine, argmax, forward/reverse scans, strided copies of rank 1 to 3, fill, iota, dynamic
slices, gather/scatter in both modes and the matmul's two operand layouts.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import ftx
import ftx.lax as lax
import ftx.numpy as fnp

CCS = [(7, 5), (9, 0)]


def _toolchain_problem():
    """Why compile_ptx cannot run here, or None."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "the CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): compile_ptx is unavailable"
    try:
        from numba import cuda
    except ImportError as e:
        return f"numba's CUDA target is not installed ({e}); pip install 'ftx[cuda]'"

    def probe(x):
        x[0] = 1.0
    try:
        from numba import types
        cuda.compile_ptx(probe, (types.float32[::1],), cc=CCS[0])
    except Exception as e:  # noqa: BLE001 - NvvmSupportError, missing libnvvm, ...
        return (f"NVVM (the CUDA compiler library) is unavailable: {type(e).__name__}: "
                f"{' '.join(str(e).split())[:300]}. Install a CUDA toolkit or pip install "
                "'ftx[cuda]' (numba-cuda[cu13] ships NVVM as wheels)")
    return None


_PROBLEM = _toolchain_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))


def _all_float_ops(x, p):
    return (fnp.exp(x) + fnp.log(p) + fnp.log1p(p) + fnp.expm1(x) + fnp.exp2(x) + fnp.sin(x)
            + fnp.cos(x) + fnp.tan(x) + fnp.arcsin(x) + fnp.arccos(x) + fnp.arctan(x)
            + fnp.sinh(x) + fnp.cosh(x) + fnp.tanh(x) + fnp.arcsinh(x) + fnp.arccosh(p)
            + fnp.arctanh(x) + fnp.sqrt(p) + lax.rsqrt(p) + fnp.cbrt(x) + lax.erf(x)
            + lax.erfc(x) + lax.lgamma(p) + fnp.power(p, x) + fnp.arctan2(x, p)
            + lax.logistic(x) + lax.rem(x, p) + fnp.floor(x) + fnp.ceil(x) + lax.round(x)
            + lax.round(x, 1) + lax.nextafter(x, p) + fnp.maximum(x, p) + fnp.minimum(x, p)
            + lax.clamp(x, p, x + 1) + fnp.sign(x) * fnp.abs(x) - x / p + lax.integer_pow(x, -2)
            + fnp.where(fnp.isfinite(x) & (x > p), x, p),)


def _f(dtype, *shape):
    return np.ones(shape, dtype)


PROGRAMS = {
    "fused float32, every scalar expression": (_all_float_ops, (_f(np.float32, 4, 3),
                                                                _f(np.float32, 4, 3))),
    "fused float64, every scalar expression": (_all_float_ops, (_f(np.float64, 4, 3),
                                                                _f(np.float64, 4, 3))),
    "fused ints and bools, rank 0 and a 3-D broadcast": (
        lambda i, j, m, s: ((i[:, None, :] & j[None, :, :1]) | ~i[:, None, :],
                            fnp.where(m, i.astype(np.float32), s), s * 2.0 + 1.0),
        (_f(np.int32, 3, 4), _f(np.int32, 3, 4), _f(np.bool_, 3, 4), np.float32(1.0))),
    "reductions (sum with split, max, and)": (
        lambda x, m: (fnp.sum(x), fnp.max(x, axis=0), fnp.all(m, axis=1)),
        (_f(np.float32, 300, 80), _f(np.bool_, 4, 5))),
    "argmax": (lambda x: fnp.argmax(x, axis=1), (_f(np.float32, 4, 5),)),
    "scans forward and reverse": (lambda x: (lax.cumsum(x, 1), lax.cummax(x, 0, reverse=True)),
                                  (_f(np.float32, 4, 5),)),
    "strided copies of rank 1, 2, 3; fill; iota": (
        lambda x, v: (fnp.transpose(x, (2, 0, 1)), v[::-1], x[0, 1:, ::2] + 0.0,
                      lax.pad(v, np.float32(0.0), [(1, 1, 1)]),
                      lax.broadcasted_iota(np.int32, (3, 4), 1)),
        (_f(np.float32, 3, 4, 5), _f(np.float32, 6))),
    "dynamic slices": (
        lambda x, u, i: (lax.dynamic_slice(x, (i, i), (2, 2)),
                         lax.dynamic_update_slice(x, u, (i, i))),
        (_f(np.float32, 4, 5), _f(np.float32, 2, 2), np.int32(1))),
    "gather and scatter_add, clip and fill/drop": (
        lambda x, i, j, u: (lax.gather(x, i, axis=0, mode="clip"),
                            lax.gather(x, i, j, mode="fill"),
                            lax.scatter_add(x, u, i, axis=0, mode="drop"),
                            lax.scatter_add(x, u, i, axis=0, mode="clip")),
        (_f(np.float32, 5, 3), _f(np.int32, 4), _f(np.uint32, 4), _f(np.float32, 4, 3))),
    "matmul, plain and transposed operands": (
        lambda a, b: (a @ b, lax.dot_general(a, b, (((0,), (1,)), ((), ())))),
        (_f(np.float32, 5, 5), _f(np.float32, 5, 5))),
}


def _kernels(fn, args):
    from ftx.backends.numba_cuda.executor import Executable
    closed = ftx.make_jaxpr(fn)(*args)
    return Executable(getattr(closed, "jaxpr", closed)).kernels


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_kernels_compile_to_ptx(name):
    from numba import cuda
    fn, args = PROGRAMS[name]
    kernels = _kernels(fn, args)
    assert kernels, f"{name}: no kernel was generated"
    for kernel in kernels:
        for cc in CCS:
            try:
                ptx, _ = cuda.compile_ptx(kernel.dispatcher.py_func, kernel.numba_signature(),
                                          cc=cc)
            except Exception as e:  # noqa: BLE001 - report which kernel, with its source
                pytest.fail(f"{kernel.what} does not compile for sm_{cc[0]}{cc[1]}: "
                            f"{type(e).__name__}: {e}\n{kernel.source}")
            assert f".target sm_{cc[0]}{cc[1]}" in ptx


def test_the_programs_cover_every_template():
    """Every kernel generator of the backend appears in PROGRAMS (a new one must be added)."""
    kernels = [k for fn, args in PROGRAMS.values() for k in _kernels(fn, args)]
    whats = {k.what.split(",")[0].split(" ")[0] for k in kernels}
    expected = {"fused", "reduce_sum", "reduce_max", "reduce_and", "argmax", "cumsum", "cummax",
                "strided", "fill", "iota", "dynamic_slice", "dynamic_update_slice", "gather",
                "scatter_add", "matmul"}
    assert expected <= whats, expected - whats
    matmuls = {k.what for k in kernels if k.what.startswith("matmul")}
    assert any(".T @" in w and w.count(".T") == 2 for w in matmuls), matmuls  # both layouts
