"""``associative_scan``: parallel prefix with an associative operator, from slicing ops only.

No primitive: it is the classic odd/even recursion (Blelloch; JAX's
``lax.associative_scan``) written with ``slice``, ``concatenate`` and
``reshape``, so every transform works through it with the rules those
primitives already have. ``fn`` is called O(log n) times on whole arrays.
"""
from __future__ import annotations

from ftx.core import pytree
from ftx.core.avals import get_aval
from ftx.transforms.control_flow._common import as_operand

__all__ = ["associative_scan"]


def _len(x, axis) -> int:
    return get_aval(x).shape[axis]


def _interleave(a, b, axis):
    """``[a0, b0, a1, b1, ...]`` along ``axis``; ``a`` has as many elements as ``b`` or one more."""
    from ftx.lax.shape import concatenate, expand_dims, reshape
    from ftx.lax.slicing import slice_in_dim
    na, nb = _len(a, axis), _len(b, axis)
    if na == nb + 1:
        head = _interleave(slice_in_dim(a, 0, nb, axis=axis), b, axis) if nb else None
        last = slice_in_dim(a, nb, na, axis=axis)
        return last if head is None else concatenate([head, last], axis)
    pairs = concatenate([expand_dims(a, (axis + 1,)), expand_dims(b, (axis + 1,))], axis + 1)
    shape = list(get_aval(a).shape)
    shape[axis] = 2 * na
    return reshape(pairs, shape)


def associative_scan(fn, elems, reverse=False, axis=0):
    """All prefix combinations ``fn(...fn(fn(e0, e1), e2)..., ek)`` along ``axis``.

    >>> ftx.lax.associative_scan(ftx.lax.add, np.arange(5.0))     # [0., 1., 3., 6., 10.]

    ``fn(a, b)`` must be associative and work elementwise on whole arrays (it
    receives slices of ``elems``, pytrees with the same structure). With
    ``reverse=True`` the prefixes run from the end (suffix combinations).
    """
    from ftx.lax.shape import concatenate, rev
    from ftx.lax.slicing import slice_in_dim
    leaves, tree = pytree.tree_flatten(elems)
    leaves = [as_operand(x) for x in leaves]
    if not leaves:
        raise ValueError("associative_scan: elems has no arrays")
    ndim = get_aval(leaves[0]).ndim
    if not -ndim <= axis < ndim or ndim == 0:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for elems of rank "
                         f"{ndim} ({get_aval(leaves[0]).str_short()})")
    axis %= ndim
    sizes = [get_aval(x).shape[axis] if get_aval(x).ndim > axis else None for x in leaves]
    if len(set(sizes)) != 1:
        shapes = ", ".join(get_aval(x).str_short() for x in leaves)
        raise ValueError(f"associative_scan: every leaf of elems must have the same length "
                         f"along axis {axis}, got ({shapes})")
    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]

    def combine(a, b):
        out = fn(pytree.tree_unflatten(tree, a), pytree.tree_unflatten(tree, b))
        out_leaves, out_tree = pytree.tree_flatten(out)
        if out_tree != tree:
            raise TypeError(f"associative_scan: fn must return the structure of elems "
                            f"{tree}, got {out_tree}")
        return [as_operand(x) for x in out_leaves]

    def prefix(xs):
        n = _len(xs[0], axis)
        if n < 2:
            return xs
        # Combine neighbouring pairs, scan the half-length result (the odd positions) ...
        odd = prefix(combine([slice_in_dim(x, 0, n - 1, 2, axis) for x in xs],
                             [slice_in_dim(x, 1, n, 2, axis) for x in xs]))
        # ... then each even position is its left odd neighbour combined with itself.
        n_odd = _len(odd[0], axis)
        left = odd if n % 2 else [slice_in_dim(o, 0, n_odd - 1, axis=axis) for o in odd]
        even = combine(left, [slice_in_dim(x, 2, n, 2, axis) for x in xs])
        even = [concatenate([slice_in_dim(x, 0, 1, axis=axis), e], axis) for x, e in zip(xs, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = prefix(leaves)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return pytree.tree_unflatten(tree, out)
