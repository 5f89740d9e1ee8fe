"""Linear-algebra primitives: ``dot_general`` (and its wrappers ``dot``, ``batch_matmul``).

``dot_general(lhs, rhs, ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)))``
contracts the paired contracting axes and maps over the paired batch axes. The
output axes are, in JAX's order: batch axes, then the free axes of ``lhs``, then
the free axes of ``rhs``. Operands share one dtype (ftx.numpy promotes first);
``preferred_element_type`` computes and returns another dtype (e.g. int8
operands accumulated in int32).
"""
from __future__ import annotations

import numpy as np

from ftx.core import dtypes
from ftx.core.avals import ShapedArray
from ftx.core.primitive import Primitive
from ftx.lax._shape_rules import describe

__all__ = ["dot_general_p", "dot_general", "dot", "batch_matmul"]


def _free_axes(ndim: int, contracting, batch) -> tuple:
    used = set(contracting) | set(batch)
    return tuple(i for i in range(ndim) if i not in used)


def _dot_general_impl(lhs, rhs, *, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    if preferred_element_type is not None:
        lhs = lhs.astype(preferred_element_type, copy=False)
        rhs = rhs.astype(preferred_element_type, copy=False)
    lf, rf = _free_axes(lhs.ndim, lc, lb), _free_axes(rhs.ndim, rc, rb)
    batch_shape = tuple(lhs.shape[i] for i in lb)
    lf_shape, rf_shape = tuple(lhs.shape[i] for i in lf), tuple(rhs.shape[i] for i in rf)
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    k = size([lhs.shape[i] for i in lc])
    # One batched matmul (BLAS for floats): (B, M, K) @ (B, K, N).
    lhs3 = lhs.transpose(lb + lf + lc).reshape(size(batch_shape), size(lf_shape), k)
    rhs3 = rhs.transpose(rb + rc + rf).reshape(size(batch_shape), k, size(rf_shape))
    out = np.matmul(lhs3, rhs3)
    return [out.reshape(batch_shape + lf_shape + rf_shape)]


def _check_dims(what: str, dims, ndim: int, lhs, rhs) -> None:
    if any(type(d) is not int or not 0 <= d < ndim for d in dims):
        raise ValueError(f"dot_general: {what} {dims} out of bounds (lhs {lhs.str_short()}, "
                         f"rhs {rhs.str_short()})")
    if len(set(dims)) != len(dims):
        raise ValueError(f"dot_general: repeated axis in {what} {dims} (lhs {lhs.str_short()}, "
                         f"rhs {rhs.str_short()})")


def _dot_general_abstract_eval(lhs, rhs, *, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    shapes = f"lhs {lhs.str_short()}, rhs {rhs.str_short()}"
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: operand dtypes must match, got ({describe([lhs, rhs])}); "
                        "ftx.numpy promotes for you, or convert with "
                        "ftx.lax.convert_element_type")
    if lhs.dtype.kind not in "biufc":
        raise TypeError(f"dot_general: unsupported operand dtype ({describe([lhs, rhs])})")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise ValueError(f"dot_general: contracting dims {lc} / {rc} and batch dims {lb} / {rb} "
                         f"must pair up one to one ({shapes})")
    _check_dims("lhs contracting dims", lc, lhs.ndim, lhs, rhs)
    _check_dims("rhs contracting dims", rc, rhs.ndim, lhs, rhs)
    _check_dims("lhs batch dims", lb, lhs.ndim, lhs, rhs)
    _check_dims("rhs batch dims", rb, rhs.ndim, lhs, rhs)
    if set(lc) & set(lb) or set(rc) & set(rb):
        raise ValueError(f"dot_general: an axis cannot be both contracting and batch "
                         f"(contracting {lc} / {rc}, batch {lb} / {rb}; {shapes})")
    for what, ls, rs in (("contracting", lc, rc), ("batch", lb, rb)):
        for i, j in zip(ls, rs):
            if lhs.shape[i] != rhs.shape[j]:
                raise ValueError(f"dot_general: {what} axis {i} of lhs (size {lhs.shape[i]}) and "
                                 f"axis {j} of rhs (size {rhs.shape[j]}) differ in size; "
                                 f"{shapes}, dimension_numbers {dimension_numbers}")
    out_dtype = lhs.dtype
    if preferred_element_type is not None:
        out_dtype = dtypes.check_supported(preferred_element_type, "dot_general")
    shape = (tuple(lhs.shape[i] for i in lb)
             + tuple(lhs.shape[i] for i in _free_axes(lhs.ndim, lc, lb))
             + tuple(rhs.shape[i] for i in _free_axes(rhs.ndim, rc, rb)))
    return [ShapedArray(shape, out_dtype)]


dot_general_p = Primitive("dot_general")
dot_general_p.def_impl(_dot_general_impl)
dot_general_p.def_abstract_eval(_dot_general_abstract_eval)


# =========================================================================== user-facing lax API

def _ndim(x) -> int:
    return x.aval.ndim if hasattr(x, "aval") else np.ndim(x)


def _normalize_dimension_numbers(dimension_numbers) -> tuple:
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        return ((tuple(int(d) for d in lc), tuple(int(d) for d in rc)),
                (tuple(int(d) for d in lb), tuple(int(d) for d in rb)))
    except (TypeError, ValueError):
        raise TypeError("dot_general: dimension_numbers must be ((lhs_contracting, "
                        "rhs_contracting), (lhs_batch, rhs_batch)), tuples of ints; "
                        f"got {dimension_numbers!r}") from None


def _preferred(preferred_element_type):
    if preferred_element_type is None:
        return None
    return dtypes.check_supported(preferred_element_type, "dot_general")


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """``dot_general(a, b, (((1,), (0,)), ((), ())))`` is the matrix product ``a @ b``.

    Output axes: batch axes, then lhs free axes, then rhs free axes.
    ``precision`` is accepted for JAX compatibility and ignored (NumPy computes
    at full precision).
    """
    return dot_general_p.bind1(lhs, rhs,
                               dimension_numbers=_normalize_dimension_numbers(dimension_numbers),
                               preferred_element_type=_preferred(preferred_element_type))


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """``dot(a, b)`` as ``jax.lax.dot``: vector·vector, matrix·vector or matrix·matrix."""
    ln, rn = _ndim(lhs), _ndim(rhs)
    if not (1 <= ln <= 2 and 1 <= rn <= 2):
        raise TypeError(f"dot: operands must be vectors or matrices, got ranks {ln} and {rn}; "
                        "use dot_general or ftx.numpy.dot for other ranks")
    return dot_general(lhs, rhs, (((ln - 1,), (0,)), ((), ())), precision, preferred_element_type)


def batch_matmul(lhs, rhs, precision=None, preferred_element_type=None):
    """``batch_matmul(a, b)``: ``a[..., i, :] @ b[..., :, j]`` over equal leading batch axes."""
    ln, rn = _ndim(lhs), _ndim(rhs)
    if ln < 2 or ln != rn:
        raise ValueError(f"batch_matmul: operands must have the same rank >= 2, got ranks "
                         f"{ln} and {rn}")
    batch = tuple(range(ln - 2))
    return dot_general(lhs, rhs, (((ln - 1,), (rn - 2,)), (batch, batch)), precision,
                       preferred_element_type)
