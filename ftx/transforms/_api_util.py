"""Plumbing shared by the transforms' public functions: flattening pytrees, argnums, aux outputs."""
from __future__ import annotations

from ftx.core import pytree


class OutStore:
    """Filled in while a flattened function runs: the output tree, leaf count and aux tree."""

    __slots__ = ("out_tree", "num_out", "aux_tree")

    def __init__(self):
        self.out_tree = self.num_out = self.aux_tree = None


def flatten_fun(fun, in_tree, has_aux: bool, name: str):
    """``flat_fun(*leaves) -> out_leaves + aux_leaves`` and the store that describes them.

    ``in_tree`` None: the leaves are the positional arguments themselves (each one a leaf).
    """
    store = OutStore()

    def flat_fun(*flat):
        if in_tree is None:
            out = fun(*flat)
        else:
            args, kwargs = pytree.tree_unflatten(in_tree, flat)
            out = fun(*args, **kwargs)
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{name} with has_aux=True: the function must return a pair "
                                f"(output, auxiliary data), got {type(out).__name__}")
            out, aux = out
            aux_leaves, store.aux_tree = pytree.tree_flatten(aux)
        leaves, store.out_tree = pytree.tree_flatten(out)
        store.num_out = len(leaves)
        return list(leaves) + list(aux_leaves)

    return flat_fun, store


def normalize_argnums(argnums, nargs: int, name: str) -> tuple:
    """argnums as a tuple of non-negative ints, checked against the number of arguments."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    out = []
    for a in nums:
        if not isinstance(a, int):
            raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{name}: argnums={argnums!r} but the function was called with "
                             f"{nargs} positional argument(s)")
        out.append(a % nargs)
    return tuple(out)
