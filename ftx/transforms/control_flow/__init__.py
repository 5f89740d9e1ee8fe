"""Structured control flow: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``,
``map`` and ``associative_scan``. The primitives (``cond_p``, ``scan_p``, ``while_p``) are in
the ``cond`` and ``loops`` modules.

``cond``, ``scan`` and ``while`` are higher-order primitives: their params hold
closure-converted sub-jaxprs (constants passed as leading operands), and each
of their rules transforms those sub-jaxprs and binds the primitive again, as
``closed_call`` does. They live beside the transforms because their rules use
the jaxpr-to-jaxpr helpers; ``ftx.lax`` re-exports the user functions.
"""
from ftx.transforms.control_flow.associative_scan import associative_scan
from ftx.transforms.control_flow.cond import cond, switch
from ftx.transforms.control_flow.loops import fori_loop, map, scan, while_loop

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "associative_scan"]
