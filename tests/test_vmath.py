"""ftx's vectorizable transcendentals (``numba_cpu/vmath.py``) in fused kernels: error in ulps
against a more precise reference over the whole float32/float64 range, fusion into one
vectorized kernel, agreement with the reference backend, and the kernel text they need."""
import math
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import elementwise, kernels, vmath

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["exp", "expm1", "log", "log1p", "tanh", "logistic", "erf"]
DTYPES = [np.float32, np.float64]
LONG = np.longdouble
# Where long double is plain double (Windows, macOS on ARM) the float64 reference is
# itself rounded: allow its half ulp.
REF_SLACK = 0.0 if np.finfo(LONG).nmant > 60 else 0.5


def all_functions(x):
    return [fnp.exp(x), fnp.expm1(x), fnp.log(x), fnp.log1p(x), fnp.tanh(x),
            ftx.lax.logistic(x), ftx.lax.erf(x)]


fused = ftx.jit(all_functions)
on_reference = ftx.jit(all_functions, backend="reference")


# --------------------------------------------------------------------------- oracles

_math_erf = np.frompyfunc(math.erf, 1, 1)


def _reference(name, x):
    """``name`` at ``x`` in float64 (for float32 x) or long double (for float64 x)."""
    hp = x.astype(np.float64 if x.dtype == np.float32 else LONG)
    with np.errstate(all="ignore"):
        if name == "logistic":
            return 1 / (1 + np.exp(-hp))
        if name == "erf":  # math.erf: libm's, within 1 ulp of float64
            return _math_erf(x.astype(np.float64)).astype(np.float64).astype(hp.dtype)
        return getattr(np, name)(hp)


def ulp_errors(y, ref, dtype):
    """|y - ref| in ulps of ``dtype`` at ``ref``; where ``ref`` rounds to a non-finite value or
    ``y`` is one, 0 if they match (NaN with NaN, inf with inf) and inf if not; a zero must
    have the sign of the reference."""
    fi = np.finfo(dtype)
    ref = np.asarray(ref, LONG)
    rounded = ref.astype(dtype)
    err = np.zeros(y.shape, LONG)
    finite = np.isfinite(rounded) & np.isfinite(y)
    _, e = np.frexp(ref[finite])
    ulp = np.ldexp(LONG(1), np.maximum(e.astype(np.int64) - 1, fi.minexp) - fi.nmant)
    err[finite] = np.abs(y[finite].astype(LONG) - ref[finite]) / ulp
    same = (y == rounded) | (np.isnan(y) & np.isnan(rounded))
    err[~finite] = np.where(same[~finite], 0, np.inf)
    err[(y == 0) & (rounded == 0) & (np.signbit(y) != np.signbit(rounded))] = np.inf
    return err


def _edges(dtype):
    """Special values, range limits and each function's thresholds, with neighbours."""
    fi = np.finfo(dtype)
    big = np.log(LONG(fi.max))
    points = [0.0, 0.5, 1.0, 2.0, fi.tiny, fi.smallest_subnormal, fi.tiny - fi.smallest_subnormal,
              fi.max, fi.eps, 1e-30, 0.625, 0.9, np.sqrt(0.5), np.sqrt(2.0),
              big, np.log(LONG(fi.tiny)), np.log(LONG(fi.smallest_subnormal)),
              np.log(LONG(fi.smallest_subnormal) / 2), -30.0, -40.0, 17.0, 38.0,
              9.010913, 9.02, 19.0615, 19.5, 3.919206, 3.93, 5.921587, 5.93, 88.0, 104.0, 746.0]
    points = np.array(points, dtype).astype(dtype)
    near = [points]
    for _ in range(3):
        near = [np.nextafter(near[0], dtype(-np.inf))] + near + [
            np.nextafter(near[-1], dtype(np.inf))]
    values = np.concatenate(near + [np.array([np.inf, np.nan], dtype)])
    values = np.concatenate([values, -values, values - 1])  # log1p near -1
    return values.astype(dtype)


def sweep(dtype):
    """Every 2**13-th float32 / 2**45-th float64 bit pattern (all signs, exponents, NaNs),
    random bit patterns, random values in [-12, 12] and the edges."""
    rng = np.random.default_rng(0)
    if dtype == np.float32:
        patterns = np.arange(0, 2 ** 32, 2 ** 13, dtype=np.uint64).astype(np.uint32)
        random_bits = rng.integers(0, 2 ** 32, 2 ** 16, dtype=np.uint64).astype(np.uint32)
    else:
        patterns = np.arange(0, 2 ** 19, dtype=np.uint64) << np.uint64(45)
        random_bits = rng.integers(0, 2 ** 64 - 1, 2 ** 16, dtype=np.uint64)
    return np.concatenate([patterns.view(dtype), random_bits.view(dtype),
                           rng.uniform(-12, 12, 2 ** 16).astype(dtype), _edges(dtype)])


# --------------------------------------------------------------------------- accuracy


@pytest.fixture(scope="module", params=DTYPES, ids=lambda d: d.__name__)
def swept(request):
    x = sweep(request.param)
    return x, dict(zip(NAMES, fused(x)))


def test_each_function_is_within_its_ulp_bound(swept):
    x, outputs = swept
    dtype = x.dtype.type
    column = 0 if dtype == np.float32 else 1
    for name in NAMES:
        y = outputs[name]
        assert y.dtype == dtype
        err = ulp_errors(y, _reference(name, x), dtype)
        worst = int(np.argmax(err))
        bound = vmath.ULP_BOUNDS[name][column] + (REF_SLACK if dtype == np.float64 else 0)
        assert err[worst] <= bound, (
            f"{name}_{dtype.__name__}: {float(err[worst]):.2f} ulp at x={x[worst]!r} "
            f"(got {y[worst]!r}, want {float(_reference(name, x[worst:worst + 1])[0])!r})")


def _ordered(a):
    """Float bits mapped to integers in the order of the floats (for ulp distances)."""
    itype = np.int32 if a.dtype == np.float32 else np.int64
    bits = a.view(itype).astype(np.int64)
    return np.where(bits < 0, np.iinfo(itype).min - bits, bits)  # -0.0 -> 0, like +0.0


def test_fused_results_match_the_reference_backend(swept):
    x, outputs = swept
    x = x[::16]  # NumPy's float64 ufuncs on a million values are slow enough
    expected = dict(zip(NAMES, on_reference(x)))
    column = 0 if x.dtype == np.float32 else 1
    for name in NAMES:
        y, want = outputs[name][::16], expected[name]
        assert np.array_equal(np.isnan(y), np.isnan(want)), name
        both = ~np.isnan(y)
        distance = np.abs(_ordered(y[both]) - _ordered(want[both]))
        # NumPy's own SIMD loops are within 3 ulps (measured: float32 log 3.1).
        assert distance.max() <= math.ceil(vmath.ULP_BOUNDS[name][column]) + 4, name


def test_docstring_table_states_the_asserted_bounds():
    rows = re.findall(r"^(\w+) +([\d.]+) +([\d.]+)$", vmath.__doc__, flags=re.M)
    assert {n: (float(a), float(b)) for n, a, b in rows} == {
        n: tuple(map(float, b)) for n, b in vmath.ULP_BOUNDS.items()}
    assert set(vmath.ULP_BOUNDS) == set(elementwise.VMATH) == set(NAMES)


# --------------------------------------------------------------------------- fusion, codegen


def _llvm_ir(kernel):
    """The LLVM IR of ``kernel``'s compiled signature (compiled afresh if it came from
    Numba's disk cache, which keeps no IR)."""
    ir = kernel.inspect_llvm()
    if not ir:
        import numba
        options = {k: v for k, v in kernel.targetoptions.items() if k != "cache"}
        fresh = numba.njit(**options)(kernel.py_func)
        fresh.compile(kernel.signatures[0])
        ir = fresh.inspect_llvm()
    (text,) = ir.values()
    # Only the kernel's own function, not Numba's Python wrapper around it.
    return next(block for block in text.split("\ndefine ")[1:] if "cpython" not in block.split("(")[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_the_functions_fuse_into_one_vectorized_kernel(dtype):
    x = np.linspace(-2, 2, 64, dtype=dtype)
    fused(x)
    executor, source = fused.lower(x).compile().as_text().split("# kernel 0\n")
    assert executor.count("_kernel") == 1 and "_call" not in executor, executor
    ir = _llvm_ir(kernels.load_kernel(source))  # the kernel the executable runs (same text)
    scalar = "float" if dtype == np.float32 else "double"
    widths = [int(w) for w in re.findall(rf"<(\d+) x {scalar}>", ir)]
    assert widths and max(widths) >= 2, "the loop did not vectorize"
    # No libm calls (they stop vectorization) and, in float32, no float64 arithmetic.
    calls = set(re.findall(r"call [^@]*@([\w.]+)", ir))
    assert not {c for c in calls if not c.startswith(("llvm.", "numba_"))}, calls
    if dtype == np.float32:
        assert "fpext" not in ir and "double" not in ir


def test_a_lone_transcendental_prefers_numpy_but_a_chain_fuses():
    from ftx.compiler.fusion import Group, plan
    x = np.ones(4, np.float32)

    def groups(f):
        steps = plan(ftx.make_jaxpr(f)(x), elementwise.can_fuse)
        return [s for s in steps if isinstance(s, Group)]

    (lone,) = groups(fnp.exp)
    (chain,) = groups(lambda v: fnp.exp(v) * 2.0)
    (sigmoid,) = groups(ftx.lax.logistic)
    assert elementwise.prefers_numpy(lone)
    assert not elementwise.prefers_numpy(chain) and not elementwise.prefers_numpy(sigmoid)


def test_float16_and_unimplemented_dtypes_stay_numpy_calls():
    f = ftx.jit(lambda x: [fnp.exp(x), ftx.lax.erf(x)])
    x16 = np.linspace(-3, 3, 7, dtype=np.float16)
    executor = f.lower(x16).compile().as_text()
    assert "_kernel" not in executor
    np.testing.assert_allclose(f(x16)[0], np.exp(x16), rtol=1e-3)


def test_kernels_carry_the_source_of_only_the_helpers_they_call():
    text = vmath.helper_source("v2 = exp_f32(v1)")
    assert "def exp_f32" in text and "def _pow2_f32" in text and "def _fmuladd" in text
    assert "tanh" not in text and "_f64" not in text
    assert vmath.helper_source("v2 = (v1 + np.float32(1.0))") == ""
    # The kernel module holds the helpers' code: a change to vmath.py changes the kernel's
    # content address, so Numba's disk cache cannot serve stale machine code.
    source = ftx.jit(lambda x: fnp.tanh(x) * 2.0).lower(np.ones(3)).compile().as_text()
    assert vmath.helper_source("tanh_f64(x)") in source
    assert "import ftx" not in source and "from ftx" not in source


def _run_python(code, env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_a_second_process_loads_transcendental_kernels_from_the_disk_cache(tmp_path):
    # The kernel module defines its own _fmuladd intrinsic: Numba must still cache it.
    env = dict(os.environ, FTX_CACHE_DIR=str(tmp_path))
    code = """
        import numpy as np, ftx, ftx.numpy as fnp
        from ftx.backends.numba_cpu import kernels
        f = ftx.jit(lambda x: fnp.tanh(x) * ftx.lax.logistic(x))
        print(f(np.linspace(-3, 3, 5, dtype=np.float32)).tolist())
        print(sum(sum(k.stats.cache_hits.values()) for k in kernels.loaded_dispatchers()))
    """
    first, second = _run_python(code, env), _run_python(code, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.split()[-1] == "0" and second.stdout.split()[-1] == "1"
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0]


def test_generated_code_with_transcendentals_runs_without_numba_jit(tmp_path):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", FTX_CACHE_DIR=str(tmp_path))
    result = _run_python("""
        import numpy as np, ftx, ftx.numpy as fnp, warnings
        warnings.simplefilter("ignore")
        def functions(x):
            return [fnp.exp(x), fnp.expm1(x), fnp.log(x), fnp.log1p(x), fnp.tanh(x),
                    ftx.lax.logistic(x), ftx.lax.erf(x)]
        f = ftx.jit(functions)
        for dtype in (np.float32, np.float64):
            x = np.array([0.0, -0.0, 0.3, 2.5, -1.7, 40.0, np.inf, np.nan], dtype)
            for g, w in zip(f(x), ftx.jit(functions, backend="reference")(x)):
                assert g.dtype == dtype, g.dtype
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=0)
        print("ok")
    """, env)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
