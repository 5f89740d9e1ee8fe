"""Linear-algebra primitives: ``dot_general`` (and its wrappers ``dot``, ``batch_matmul``).

``dot_general(lhs, rhs, ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)))``
contracts the paired contracting axes and maps over the paired batch axes. The
output axes are, in JAX's order: batch axes, then the free axes of ``lhs``, then
the free axes of ``rhs``. Operands share one dtype (ftx.numpy promotes first);
``preferred_element_type`` computes and returns another dtype (e.g. int8
operands accumulated in int32).

Transform rules (JAX's): ``dot_general`` is bilinear; the cotangent of each
operand is a ``dot_general`` of the output cotangent with the other operand,
transposed back into the operand's axis order. Under vmap, a batch axis on both
operands becomes one more dot_general batch dimension; on one operand only it
is just one more free axis of that operand.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ftx.core import dtypes
from ftx.core.ad_util import not_mapped
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax import elementwise as ew, shape as sh
from ftx.lax._ad_rules import defbilinear
from ftx.lax._batch_rules import moveaxis
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
    if not lb and len(lc) == 1 and lc[0] == lhs.ndim - 1 and rc == (0,) and rhs.ndim <= 2:
        return [np.dot(lhs, rhs)]  # the common matrix/vector product, straight to BLAS
    if not lc and not lb:  # no contraction: an outer product (the cotangent of a matmul)
        return [np.multiply.outer(lhs, rhs)]
    lf, rf = _free_axes(lhs.ndim, lc, lb), _free_axes(rhs.ndim, rc, rb)
    batch_shape = tuple(lhs.shape[i] for i in lb)
    lf_shape, rf_shape = tuple(lhs.shape[i] for i in lf), tuple(rhs.shape[i] for i in rf)
    size = math.prod
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


class _LazyShapes:
    __slots__ = ("lhs", "rhs")

    def __init__(self, lhs, rhs):
        self.lhs, self.rhs = lhs, rhs

    def __format__(self, spec):
        return f"lhs {self.lhs.str_short()}, rhs {self.rhs.str_short()}"


def _dot_general_abstract_eval(lhs, rhs, *, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    shapes = _LazyShapes(lhs, rhs)  # formatted only if an error message needs it
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


def _argsort(xs) -> tuple:
    """The permutation that sorts ``xs`` (distinct ints), as a tuple of Python ints."""
    return tuple(sorted(range(len(xs)), key=xs.__getitem__))


def _ranges_like(*xs):
    """Consecutive ranges with the lengths of ``xs``: ([0, 1], [2], [3, 4]) for lengths 2, 1, 2."""
    start = 0
    for x in xs:
        yield tuple(range(start, start + len(x)))
        start += len(x)


@functools.lru_cache(maxsize=1024)
def _transpose_lhs_dims(dimension_numbers, x_ndim: int, y_ndim: int, swap_ans: bool):
    """For the cotangent of the lhs x of a dot_general with y: the dimension numbers that
    contract the output cotangent with y, and the permutation that puts the result in x's
    axis order (None for the identity). A pure function of the types: memoized, since every
    backward pass through a matmul asks."""
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _free_axes(x_ndim, x_contract, x_batch)
    y_kept = _free_axes(y_ndim, y_contract, y_batch)
    # Where the batch axes and y's free axes sit in the output (x's and y's swap for the rhs).
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    # Contracting ct's y-axes with y's free axes leaves: batch, x's free axes, and y's
    # contracting axes in y's order, which pair with x's contracting axes.
    dims = ((ans_y, y_kept), (ans_batch, tuple(y_batch)))
    x_contract_sorted_by_y = tuple(x_contract[i] for i in _argsort(y_contract))
    out_axes = _argsort(tuple(x_batch) + x_kept + x_contract_sorted_by_y)
    return dims, (None if out_axes == tuple(range(len(out_axes))) else out_axes)


def _dot_general_transpose_lhs(ct, x_aval, y, *, dimension_numbers, preferred_element_type,
                               swap_ans=False):
    y_aval = get_aval(y)
    dims, out_axes = _transpose_lhs_dims(dimension_numbers, x_aval.ndim, y_aval.ndim, swap_ans)
    if y_aval.dtype != get_aval(ct).dtype:  # preferred_element_type: ct is wider than y
        y = ew.convert_element_type(y, get_aval(ct).dtype)
    x_bar = dot_general_p.bind1(ct, y, dimension_numbers=dims, preferred_element_type=None)
    if out_axes is not None:  # no transpose equation for the identity
        x_bar = sh.transpose(x_bar, out_axes)
    if get_aval(x_bar).dtype != x_aval.dtype:
        x_bar = ew.convert_element_type(x_bar, x_aval.dtype)
    return x_bar


def _dot_general_transpose_rhs(ct, x, y_aval, *, dimension_numbers, preferred_element_type):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    swapped = ((y_contract, x_contract), (y_batch, x_batch))
    return _dot_general_transpose_lhs(ct, y_aval, x, dimension_numbers=swapped,
                                      preferred_element_type=preferred_element_type,
                                      swap_ans=True)


def _dot_general_batch(axis_data, args, dims, *, dimension_numbers, preferred_element_type):
    (lhs, rhs), (ld, rd) = args, dims
    (lc, rc), (lb, rb) = dimension_numbers
    params = dict(preferred_element_type=preferred_element_type)
    shift = lambda axes, d: tuple(a + 1 if a >= d else a for a in axes)  # noqa: E731
    if ld is not not_mapped and rd is not not_mapped:
        # Both batched: the batch axes pair up as a new leading dot_general batch dimension.
        lhs, rhs = moveaxis(lhs, ld, 0), moveaxis(rhs, rd, 0)
        dn = ((shift(lc, 0), shift(rc, 0)), ((0,) + shift(lb, 0), (0,) + shift(rb, 0)))
        return [dot_general_p.bind1(lhs, rhs, dimension_numbers=dn, **params)], [0]
    if ld is not not_mapped:
        # A free axis of lhs: it lands among lhs's free axes, after the batch axes.
        lc, lb = shift(lc, ld), shift(lb, ld)
        free = _free_axes(get_aval(lhs).ndim, lc, lb)
        out_dim = len(lb) + free.index(ld)
    else:
        rc, rb = shift(rc, rd), shift(rb, rd)
        free = _free_axes(get_aval(rhs).ndim, rc, rb)
        lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
        out_dim = len(rb) + lhs_free + free.index(rd)
    dn = ((lc, rc), (lb, rb))
    return [dot_general_p.bind1(lhs, rhs, dimension_numbers=dn, **params)], [out_dim]


dot_general_p = Primitive("dot_general")
dot_general_p.def_impl(_dot_general_impl)
dot_general_p.def_abstract_eval(_dot_general_abstract_eval)
defbilinear(dot_general_p, _dot_general_transpose_lhs, _dot_general_transpose_rhs)
def_rule("batch", dot_general_p, _dot_general_batch)


# =========================================================================== user-facing lax API

def _ndim(x) -> int:
    return x.aval.ndim if hasattr(x, "aval") else np.ndim(x)


def _normalize_dimension_numbers(dimension_numbers) -> tuple:
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        # map(int, ...) rather than generators: this runs for every traced matmul.
        return ((tuple(map(int, lc)), tuple(map(int, rc))),
                (tuple(map(int, lb)), tuple(map(int, rb))))
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
