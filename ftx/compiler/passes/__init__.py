"""Graph passes run on a jaxpr before a backend compiles it: each is a function from jaxpr
to jaxpr that keeps the output types (weak types included) and the values, bit for bit
(but for the layout pass, see below).

- ``inline_calls``: nested ``jit``/``closed_call``/custom-derivative calls become their bodies.
- ``dce``: equations nothing reads go (effectful ones, like ``debug_callback``, stay).
- ``cse``: an equation equal to an earlier one reuses its outputs.
- ``fold_constants``: equations on small known values are computed once, at compile time.
- ``simplify``: exact algebraic identities (``x * 1``, ``neg(neg x)``, no-op reshapes, ...).
- ``fold_transposed_dots``: ``transpose(a @ b)`` computed as one matmul in the transposed
  layout (equal up to BLAS summation order: the one pass that is not bit-exact).

``optimize`` runs them all. The reference backend does not: it is the oracle that
the optimized graphs are checked against.
"""
from __future__ import annotations

from ftx.core.config import config
from ftx.core.jaxpr import Jaxpr, check_jaxpr
from ftx.compiler.passes._rewrite import count_eqns
from ftx.compiler.passes.common_subexpressions import cse
from ftx.compiler.passes.constant_folding import fold_constants
from ftx.compiler.passes.dead_code import dce
from ftx.compiler.passes.inlining import inline_calls
from ftx.compiler.passes.layout import fold_transposed_dots
from ftx.compiler.passes.simplification import simplify

MAX_ROUNDS = 8


def optimize(jaxpr: Jaxpr, max_rounds: int = MAX_ROUNDS) -> Jaxpr:
    """Inline calls, then fold, simplify, CSE and DCE until the graph stops shrinking
    (at most ``max_rounds`` rounds: each rewrite can expose another, e.g. a folded
    constant makes ``x * c`` into ``x * 1``).

    >>> j = ftx.make_jaxpr(ftx.grad(lambda x: fnp.sum(fnp.sin(x) * 1.0)))(np.ones(3))
    >>> len(optimize(j).eqns) < len(j.eqns)
    True
    """
    jaxpr = dce(inline_calls(jaxpr))
    size = count_eqns(jaxpr)
    for _ in range(max_rounds):
        jaxpr = dce(cse(simplify(fold_constants(jaxpr))))
        new_size = count_eqns(jaxpr)
        if new_size >= size:
            break
        size = new_size
    jaxpr = fold_transposed_dots(jaxpr)
    if config.enable_checks:
        check_jaxpr(jaxpr)
    return jaxpr


__all__ = ["optimize", "inline_calls", "dce", "cse", "fold_constants", "simplify",
           "fold_transposed_dots"]
