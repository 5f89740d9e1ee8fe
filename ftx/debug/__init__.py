"""Debugging aids: ``ftx.debug.print``/``callback`` inside transforms, and the minifier.

``ftx.debug.minify(f, args, fails)`` shrinks a failing graph to a few equations;
``result.write_repro(dir)`` writes a standalone script; ``save_repro(f, *args)``
saves any graph as one; ``agrees_with_reference(jaxpr, inputs, backend)`` is the
usual ``fails`` check. ``FTX_REPRO=1``/``2`` captures failing compiled programs.
"""
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
    # The strings only: a jaxpr keeps this function, and the arrays may be tracers.
    strings = [None if i in arrays else x for i, x in enumerate(leaves)]

    def on_values(*values):
        full = list(strings)
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


from ftx.debug.checks import agrees_with_reference  # noqa: E402
from ftx.debug.minifier import MinifyResult, minify  # noqa: E402
from ftx.debug.repro import BackendMismatchError, save_repro  # noqa: E402

__all__ = ["print", "callback", "minify", "MinifyResult", "agrees_with_reference", "save_repro",
           "BackendMismatchError"]
