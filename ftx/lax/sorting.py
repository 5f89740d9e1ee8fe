"""Sorting: the ``sort`` primitive over several operands, and ``sort_key_val``/``top_k``.

``sort_p.bind(k1, k2, v, dimension=d, is_stable=True, num_keys=2)`` sorts along
``d`` by ``k1`` then ``k2`` (lexicographically) and applies the same permutation
to every operand, so sorting an ``iota`` alongside gives argsort. NaNs sort to
the end, as in NumPy; ties keep their order when ``is_stable``.

Transform rules (JAX's): the jvp sorts an ``iota`` along with the operands and
permutes the tangents by it with a ``gather`` (whose transpose, a scatter-add,
makes reverse mode work); under vmap the batch axis is one more axis of every
operand.
"""
from __future__ import annotations

import numpy as np

from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax import elementwise as ew, shape as sh
from ftx.lax._batch_rules import bdim_to_front
from ftx.lax._shape_rules import canonical_axes, check_kinds, describe

__all__ = ["sort_p", "sort", "sort_key_val", "top_k"]


def _sort_impl(*operands, dimension, is_stable, num_keys):
    operands = [np.asarray(x) for x in operands]
    keys = operands[:num_keys]
    if num_keys == 1:
        perm = np.argsort(keys[0], axis=dimension, kind="stable")
    else:
        # lexsort sorts by its *last* key first, and (like argsort) puts NaNs last.
        perm = np.lexsort(keys[::-1], axis=dimension)
    return [np.take_along_axis(x, perm, axis=dimension) for x in operands]


def _sort_abstract_eval(*operands, dimension, is_stable, num_keys):
    if not operands:
        raise ValueError("sort: needs at least one operand")
    shape = operands[0].shape
    if any(x.shape != shape for x in operands):
        raise ValueError(f"sort: operands must all have the same shape, got ({describe(operands)})")
    if type(num_keys) is not int or not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys must be between 1 and the number of operands "
                         f"({len(operands)}), got {num_keys!r}")
    if type(dimension) is not int or not 0 <= dimension < len(shape):
        raise ValueError(f"sort: dimension {dimension!r} is out of bounds for operands "
                         f"({describe(operands)})")
    for x in operands:
        check_kinds("sort", x, "biufc")
    return [ShapedArray(x.shape, x.dtype) for x in operands]


def _index_dtype(size: int):
    return np.dtype(np.int32) if size < np.iinfo(np.int32).max else np.dtype(np.int64)


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    from ftx.lax.slicing import gather
    shape = get_aval(primals[0]).shape
    iotas = [sh.broadcasted_iota(_index_dtype(n), shape, i) for i, n in enumerate(shape)]
    # The iota is never a key, so sorting it alongside gives the permutation itself.
    outs = sort_p.bind(*primals, iotas[dimension], dimension=dimension, is_stable=is_stable,
                       num_keys=num_keys)
    perm = outs[-1]
    # out[..., i, ...] = t[..., perm[..., i, ...], ...]: index every axis, iotas elsewhere.
    index = [perm if i == dimension else iota for i, iota in enumerate(iotas)]
    tangents_out = [Zero.like(p) if type(t) is Zero else gather(t, *index, axis=0)
                    for p, t in zip(outs, tangents)]
    return outs[:-1], tangents_out


def _sort_batch(axis_data, args, dims, *, dimension, is_stable, num_keys):
    # Every operand needs the batch axis (they share one shape): put it first everywhere.
    operands = [bdim_to_front(x, d, axis_data.size) for x, d in zip(args, dims)]
    outs = sort_p.bind(*operands, dimension=dimension + 1, is_stable=is_stable,
                       num_keys=num_keys)
    return outs, [0] * len(outs)


sort_p = Primitive("sort")
sort_p.def_impl(_sort_impl)
sort_p.def_abstract_eval(_sort_abstract_eval)
def_rule("jvp", sort_p, _sort_jvp)
sort_p.exempt("transpose", "not linear (its tangent is a gather, which transposes)")
def_rule("batch", sort_p, _sort_batch)


# =========================================================================== user-facing lax API

def _ndim(x) -> int:
    return x.aval.ndim if hasattr(x, "aval") else np.ndim(x)


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """``sort(x)`` sorts along the last axis.

    ``sort((keys, vals), num_keys=1)`` sorts ``keys`` and returns both, permuted alike.
    """
    multiple = isinstance(operand, (tuple, list))
    operands = tuple(operand) if multiple else (operand,)
    if not operands:
        raise ValueError("sort: needs at least one operand")
    (dimension,) = canonical_axes("sort", (dimension,), _ndim(operands[0]))
    outs = sort_p.bind(*operands, dimension=int(dimension), is_stable=bool(is_stable),
                       num_keys=int(num_keys))
    return tuple(outs) if multiple else outs[0]


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """``sort_key_val(k, v)``: ``k`` sorted, and ``v`` permuted the same way."""
    return sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)


def top_k(operand, k: int):
    """``top_k(x, 2)``: the 2 largest values along the last axis, descending, and their indices.

    Equal values keep index order (the lower index first); NaNs count as largest.
    Indices are int32, as in JAX.
    """
    aval = get_aval(operand)
    ndim, shape = aval.ndim, aval.shape
    if ndim == 0:
        raise ValueError("top_k: the operand must have at least one axis")
    check_kinds("top_k", aval, "biuf")
    n = shape[-1]
    k = int(k)
    if not 0 <= k <= n:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis size {n} "
                         f"(operand shape {tuple(shape)})")
    index = sh.broadcasted_iota(np.int32, shape, ndim - 1)
    # Ascending by value, ties by descending index; reversing gives descending values with
    # ties in ascending index order.
    values, neg_index = sort((operand, ew.neg(index)), dimension=ndim - 1, num_keys=2)
    values, neg_index = sh.rev(values, (ndim - 1,)), sh.rev(neg_index, (ndim - 1,))
    crop = [(0, 0, 0)] * (ndim - 1) + [(0, k - n, 0)]
    values = sh.pad(values, np.zeros((), aval.dtype), crop)
    indices = ew.neg(sh.pad(neg_index, np.zeros((), np.int32), crop))
    return values, indices
