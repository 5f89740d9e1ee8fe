"""``debug_callback``: call a Python function on runtime values from inside any transform.

It has no outputs. Differentiation passes it the primal values (it prints once,
not once per derivative); vmap calls it once per batch element, as a loop would.
"""
from __future__ import annotations

from ftx.core.primitive import Primitive, def_rule


def _impl(*args, callback):
    callback(*args)
    return []


def _jvp(primals, tangents, *, callback):
    debug_callback_p.bind(*primals, callback=callback)
    return [], []


def _batch(axis_data, args, dims, *, callback):
    from ftx.lax.slicing import index_in_dim
    for i in range(axis_data.size):
        debug_callback_p.bind(*[a if d is None else index_in_dim(a, i, d, keepdims=False)
                                for a, d in zip(args, dims)], callback=callback)
    return [], []


debug_callback_p = Primitive("debug_callback")
debug_callback_p.effectful = True  # graph passes must keep every call, in order
debug_callback_p.def_impl(_impl)
debug_callback_p.def_abstract_eval(lambda *avals, callback: [])
def_rule("jvp", debug_callback_p, _jvp)
def_rule("batch", debug_callback_p, _batch)
# Never linear, but it can sit in a linear graph's forward part: it contributes no cotangent.
def_rule("transpose", debug_callback_p, lambda cts, *args, callback: [None] * len(args))


def debug_callback(callback, *args):
    """``debug_callback(print, x)`` calls ``print`` with the runtime value of ``x``."""
    debug_callback_p.bind(*args, callback=callback)


__all__ = ["debug_callback"]
