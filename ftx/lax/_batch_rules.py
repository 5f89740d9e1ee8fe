"""Named shortcuts for batching (vmap) rules.

A batching rule is ``rule(axis_data, args, dims, **params) -> (outs, out_dims)``:
``dims[i]`` is the batch axis of ``args[i]`` or ``not_mapped`` (None);
``axis_data.size`` is the batch size. Rules run in the enclosing trace, so they
just call lax functions.

- ``defvectorized(prim)``: unary elementwise: the batch axis passes through.
- ``defbroadcasting(prim)``: n-ary elementwise: operands are aligned with the
  batch axis in front (unbatched ones broadcast, scalars stay scalars).
"""
from __future__ import annotations

import numpy as np

from ftx.core.ad_util import not_mapped
from ftx.core.avals import get_aval
from ftx.core.primitive import def_rule


def moveaxis(x, src: int, dst: int):
    from ftx.lax.shape import transpose
    ndim = get_aval(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


def bdim_to_front(x, dim, size: int):
    """``x`` with its batch axis first; an unbatched ``x`` is broadcast to the batch size."""
    if dim is not_mapped:
        from ftx.lax.shape import broadcast
        # A Python scalar becomes a 0-d array first, so broadcast sees an array.
        return broadcast(np.asarray(x) if isinstance(x, (bool, int, float, complex)) else x,
                         (size,))
    return moveaxis(x, dim, 0)


def bdim_to(x, dim, dst: int, size: int):
    """``x`` with its batch axis at position ``dst`` (broadcasting an unbatched ``x``)."""
    return moveaxis(bdim_to_front(x, dim, size), 0, dst)


def defvectorized(prim):
    def rule(axis_data, args, dims, **params):
        return prim.bind(*args, **params), [dims[0]]

    def_rule("batch", prim, rule)


def broadcast_batched_args(axis_data, args, dims):
    """Elementwise operands aligned for a batched call: batch axis first everywhere it exists.

    Rank-0 unbatched operands stay scalars (elementwise primitives broadcast them);
    other operands are broadcast to the full batched shape.
    """
    size = axis_data.size
    logical_shapes = []
    for x, d in zip(args, dims):
        shape = get_aval(x).shape
        logical_shapes.append(shape if d is not_mapped else shape[:d] + shape[d + 1:])
    full = next((s for s in logical_shapes if s), ())
    target = (size,) + full
    out = []
    from ftx.lax.shape import broadcast_in_dim
    for x, d, s in zip(args, dims, logical_shapes):
        if d is not_mapped:
            if s == ():
                out.append(x)
            else:
                out.append(broadcast_in_dim(x, target, tuple(range(1, len(target)))))
        else:
            x = moveaxis(x, d, 0)
            if s != full:  # a batched scalar meeting non-scalar operands
                x = broadcast_in_dim(x, target, (0,))
            out.append(x)
    return out


def defbroadcasting(prim):
    def rule(axis_data, args, dims, **params):
        mapped = [d for d in dims if d is not not_mapped]
        if len(set(mapped)) == 1 and all(
                d is not not_mapped or get_aval(x).ndim == 0 for x, d in zip(args, dims)) and \
                len({get_aval(x).ndim for x, d in zip(args, dims) if d is not not_mapped}) == 1:
            return prim.bind(*args, **params), [mapped[0]]
        aligned = broadcast_batched_args(axis_data, args, dims)
        return prim.bind(*aligned, **params), [0]

    def_rule("batch", prim, rule)


__all__ = ["moveaxis", "bdim_to_front", "bdim_to", "defvectorized", "defbroadcasting",
           "broadcast_batched_args", "not_mapped"]
