"""Debugging aids that work inside transforms: ``ftx.debug.print`` and ``ftx.debug.callback``."""
from __future__ import annotations

import builtins

import numpy as np

from ftx.core import pytree
from ftx.lax.debugging import debug_callback


def callback(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` with runtime (NumPy) values, from inside any transform.

    >>> ftx.grad(lambda x: (ftx.debug.callback(print, x), x * x)[1])(3.0)   # prints 3.0
    """
    leaves, tree = pytree.tree_flatten((args, kwargs))
    arrays = [i for i, x in enumerate(leaves) if not isinstance(x, str)]

    def on_values(*values):
        full = list(leaves)
        for i, v in zip(arrays, values):
            full[i] = v
        a, k = pytree.tree_unflatten(tree, full)
        fn(*a, **k)

    on_values.__name__ = getattr(fn, "__name__", "callback")
    debug_callback(on_values, *[leaves[i] for i in arrays])


def print(fmt: str, *args, **kwargs):  # noqa: A001 - the JAX name
    """``ftx.debug.print("x = {x}", x=x)``: formats and prints runtime values, under any transform.

    Under ``grad`` it prints the primal value once; under ``vmap`` once per batch element.
    """
    def formatted(*a, **k):
        a = [np.asarray(v) if not isinstance(v, str) else v for v in a]
        k = {key: np.asarray(v) if not isinstance(v, str) else v for key, v in k.items()}
        builtins.print(fmt.format(*a, **k))

    formatted.__name__ = "print"
    callback(formatted, *args, **kwargs)


__all__ = ["print", "callback"]
