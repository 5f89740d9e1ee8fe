"""The reference backend: the NumPy interpreter, ``eval_jaxpr``. The oracle for every other."""
from __future__ import annotations

from ftx.core.jaxpr import eval_jaxpr
from ftx.core.trace import set_current_trace


class Executable:
    def __init__(self, jaxpr):
        self.jaxpr = jaxpr

    def __call__(self, *args):
        with set_current_trace(None):
            return eval_jaxpr(self.jaxpr, *args)

    def as_text(self) -> str:
        return "# backend: reference (the NumPy interpreter evaluates the graph)\n" + \
            self.jaxpr.pretty_print(source_info=True)


def compile_jaxpr(jaxpr) -> Executable:
    return Executable(jaxpr)
