"""Control flow (and calls) under the Numba backend.

A scan or while loop whose body Numba can run whole is compiled as one Numba function,
loop included (``loop_codegen.py``). Otherwise the loop stays in the executor's Python, but
its body runs compiled (fused kernels and a generated executor of its own) instead of in
the reference interpreter, so each iteration costs a few kernel calls rather than one
interpreted equation after another.

Mirrors ``ftx/transforms/control_flow/``: one lowering per primitive, each a function
``(eqn, compile_jaxpr) -> callable(*operands) -> list of outputs``.
"""
from __future__ import annotations

import functools

from ftx.backends.numba_cpu import loop_codegen
from ftx.transforms.control_flow.cond import run_cond
from ftx.transforms.control_flow.loops import run_scan, run_while


def _scan(eqn, compile_jaxpr):
    def slow():
        return functools.partial(run_scan, compile_jaxpr(eqn.params["jaxpr"]), **eqn.params)
    return loop_codegen.compiled_loop(loop_codegen.CompiledScan, eqn, _Lazy(slow)) or slow()


def _while(eqn, compile_jaxpr):
    p = eqn.params

    def slow():
        return functools.partial(run_while, compile_jaxpr(p["cond_jaxpr"]),
                                 compile_jaxpr(p["body_jaxpr"]), **p)
    return loop_codegen.compiled_loop(loop_codegen.CompiledWhile, eqn, _Lazy(slow)) or slow()


class _Lazy:
    """The executor's path of a loop, built at its first use only (a compiled loop that
    Numba cannot compile falls back to it)."""

    def __init__(self, make):
        self.make, self.run = make, None

    def __call__(self, *args):
        if self.run is None:
            self.run = self.make()
        return self.run(*args)


def _cond(eqn, compile_jaxpr):
    branches = [compile_jaxpr(b) for b in eqn.params["branches"]]
    return functools.partial(run_cond, branches, **eqn.params)


def _call(eqn, compile_jaxpr):
    # checkpoint (kept whole so graph passes cannot merge its recomputation with the forward
    # values), closed_call: the body is one compiled program
    return compile_jaxpr(eqn.params["jaxpr"])


LOWERINGS = {"scan": _scan, "while": _while, "cond": _cond, "checkpoint": _call,
             "closed_call": _call}


def lowering(eqn, compile_jaxpr):
    """A callable running ``eqn`` with its sub-jaxprs compiled, or None (use its impl)."""
    rule = LOWERINGS.get(eqn.primitive.name)
    return rule(eqn, compile_jaxpr) if rule is not None else None
