"""Differential checks on a graph, usable as minifier predicates, and fuzz-failure repros.

Each ``*_mismatch(jaxpr, inputs)`` runs a property of ``jaxpr`` on its flat ``inputs``
against an independent oracle and returns None when it holds, else what went wrong:

- ``grad_mismatch``: reverse mode vs finite differences along a random direction;
- ``vmap_mismatch``: ``vmap`` vs a Python loop over a batch of input variants;
- ``aval_mismatch``: each equation's NumPy result vs the type its abstract rule declared.

They take any graph (a scalar or not, with any inputs), so the minifier can cut a failing
graph into pieces and ask again. ``minified_repro`` does that and writes a standalone
repro whose check is the same function:

>>> fails = lambda j, i: grad_mismatch(j, i) is not None
>>> print(minified_repro(jaxpr, inputs, fails, "grad_mismatch"))   # '... repro: /tmp/.../repro.py'
"""
from __future__ import annotations

import tempfile

import numpy as np

from ftx.core.config import config
from ftx.core.jaxpr import Jaxpr, Literal, eval_jaxpr
from ftx.core.trace import set_current_trace


def _float_positions(avals) -> list:
    return [k for k, a in enumerate(avals) if np.dtype(a.dtype).kind == "f"]


def _linear_functional(jaxpr: Jaxpr):
    """``inputs -> float64 scalar``: a fixed random weighting of every floating output.

    Linear in the outputs, so it adds no curvature of its own to a finite difference.
    """
    import ftx.numpy as fnp
    floats = _float_positions(jaxpr.out_avals)
    rng = np.random.default_rng(1)
    weights = {k: rng.standard_normal(jaxpr.out_avals[k].shape) for k in floats}

    def scalar(*inputs):
        outs = eval_jaxpr(jaxpr, *inputs)
        total = 0.0
        for k in floats:
            total = total + fnp.sum(outs[k] * weights[k]).astype(np.float64)
        return total
    return scalar


def grad_mismatch(jaxpr: Jaxpr, inputs, step: float = 1e-3, rtol: float = 1e-6,
                  atol: float = 1e-9):
    """None when ``ftx.grad`` of a random weighting of the graph's floating outputs matches
    finite differences along a random direction in its float64 inputs, else why not.

    >>> grad_mismatch(ftx.make_jaxpr(fnp.tanh)(np.ones(3)), [np.ones(3)])   # None

    The finite difference is central and Richardson-extrapolated (error of order step**4);
    the tolerance is relative to the sum of the magnitudes of the terms of the directional
    derivative, so cancellation cannot fail it, plus ten times the change between two
    extrapolations (steps ``step`` and ``step / 2``), so a function too curved for the step
    cannot either.
    """
    import ftx
    inputs = [np.asarray(x) for x in inputs]
    wrt = [k for k in _float_positions(jaxpr.in_avals) if inputs[k].dtype == np.float64]
    if not wrt:
        return None
    scalar = _linear_functional(jaxpr)

    def of_floats(*xs):
        full = list(inputs)
        for k, x in zip(wrt, xs):
            full[k] = x
        return scalar(*full)

    rng = np.random.default_rng(0)
    direction = [rng.standard_normal(inputs[k].shape) for k in wrt]
    primals = [inputs[k] for k in wrt]

    def central(h):
        plus = of_floats(*[x + h * d for x, d in zip(primals, direction)])
        minus = of_floats(*[x - h * d for x, d in zip(primals, direction)])
        return float(plus - minus) / (2 * h)

    with set_current_trace(None):
        try:
            grads = ftx.grad(of_floats, argnums=tuple(range(len(wrt))))(*primals)
        except Exception as e:  # noqa: BLE001 - any error under grad is a failure to report
            return f"ftx.grad raised {type(e).__name__}: {e}"
        d1, d2, d4 = central(step), central(step / 2), central(step / 4)
    coarse, numeric = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
    terms = [np.asarray(g, np.float64) * d for g, d in zip(grads, direction)]
    analytic = float(sum(np.sum(t) for t in terms))
    scale = float(sum(np.sum(np.abs(t)) for t in terms)) + abs(numeric)
    if abs(numeric - analytic) > atol + rtol * scale + 10 * abs(numeric - coarse):
        return (f"reverse mode gives the directional derivative {analytic!r}, finite "
                f"differences give {numeric!r}")
    return None


def _variants(x: np.ndarray) -> list:
    """Three different inputs of the same type and range: the batch vmap is checked on."""
    if x.dtype.kind == "f":
        return [x, (x * -0.5 + 0.25).astype(x.dtype), (x * 0.75).astype(x.dtype)]
    # Integers and booleans keep their set of values (-x - 1 maps [-n, n) onto itself), so
    # an index array stays in bounds.
    rolled = np.roll(x.ravel(), 1).reshape(x.shape)
    return [x, ~x, rolled]


def vmap_mismatch(jaxpr: Jaxpr, inputs, offset: int = 0):
    """None when ``ftx.vmap`` of the graph over a batch of three input variants equals a
    Python loop over them, else why not. Input ``k`` is batched (axis 0) unless
    ``(k + offset) % 3 == 2`` (then it is shared), so both kinds of operand meet every rule.

    >>> vmap_mismatch(ftx.make_jaxpr(fnp.sin)(np.ones(3)), [np.ones(3)])   # None
    """
    import ftx
    inputs = [np.asarray(x) for x in inputs]
    batched = [(k + offset) % 3 != 2 for k in range(len(inputs))]
    if inputs and not any(batched):
        batched[0] = True
    in_axes = tuple(0 if b else None for b in batched)
    per_example = [[_variants(x)[i] if b else x for x, b in zip(inputs, batched)]
                   for i in range(3)]
    stacked = [np.stack([ex[k] for ex in per_example]) if b else x
               for k, (x, b) in enumerate(zip(inputs, batched))]
    with set_current_trace(None):
        expected = [[np.asarray(o) for o in eval_jaxpr(jaxpr, *ex)] for ex in per_example]
        try:
            got = ftx.vmap(lambda *a: eval_jaxpr(jaxpr, *a), in_axes=in_axes)(*stacked)
        except Exception as e:  # noqa: BLE001
            return f"ftx.vmap (in_axes={in_axes}) raised {type(e).__name__}: {e}"
    for k, out in enumerate(got):
        want = np.stack([ex[k] for ex in expected])
        problem = array_difference(out, want)
        if problem:
            return f"output {k} under vmap (in_axes={in_axes}) vs a loop: {problem}"
    return None


def aval_mismatch(jaxpr: Jaxpr, inputs):
    """None when every equation's NumPy result has the shape and dtype its abstract rule
    declared in ``jaxpr``, else the first equation that differs (tracing and eager mode then
    disagree about the program).

    >>> aval_mismatch(ftx.make_jaxpr(fnp.sin)(np.ones(3)), [np.ones(3)])   # None
    """
    env = dict(zip(jaxpr.invars, inputs))
    env.update(zip(jaxpr.constvars, jaxpr.consts))

    def read(atom):
        return atom.val if type(atom) is Literal else env[atom]

    with set_current_trace(None):
        for eqn in jaxpr.eqns:
            outs = eqn.primitive.bind(*[read(a) for a in eqn.invars], **eqn.params)
            for var, out in zip(eqn.outvars, outs):
                out = np.asarray(out)
                if out.shape != var.aval.shape or out.dtype != var.aval.dtype:
                    return (f"{eqn.primitive.name} declares {var.aval.str_short()} but computes "
                            f"{out.dtype.name}{list(out.shape)} (at {eqn.source_info})")
                env[var] = out
    return None


def array_difference(got, want):
    """None when ``got`` equals ``want`` (same shape and dtype; integers and booleans exactly,
    floats to a relative 1e-12 in float64 and 1e-5 in float32), else how they differ.

    >>> array_difference(np.float32(1), np.float64(1))   # 'got float32[], expected float64[]'
    """
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return (f"got {got.dtype.name}{list(got.shape)}, "
                f"expected {want.dtype.name}{list(want.shape)}")
    if want.dtype.kind != "f":
        return None if np.array_equal(got, want) else f"got {got!r}, expected {want!r}"
    rtol = 1e-5 if want.dtype.itemsize <= 4 else 1e-12
    if np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True):
        return None
    return f"got {got!r}, expected {want!r}"


def minified_repro(jaxpr: Jaxpr, inputs, fails, check: str, max_queries: int = 400,
                   **check_kwargs) -> str:
    """Minify ``jaxpr`` (failing ``fails(jaxpr, inputs)``) and write a repro whose ``fails``
    calls ``ftx.testing.differential.<check>(jaxpr, inputs, **check_kwargs)`` (literals);
    returns a line for an assertion message.

    ``check`` is one of this module's ``*_mismatch`` names, or ``"agrees_with_reference:cpu"``
    for a backend. When the graph does not fail on its own (the bug is in tracing rather
    than in the graph) nothing is written and the line says so.
    """
    from ftx.debug.minifier import minify
    try:
        result = minify(jaxpr, inputs, fails, max_queries=max_queries)
    except ValueError as e:
        return f"not minified: the traced graph does not show the failure by itself ({e})"
    directory = tempfile.mkdtemp(prefix="ftx-fuzz-", dir=config.repro_dir or None)
    if check.startswith("agrees_with_reference:"):
        backend = check.split(":", 1)[1]
        source = ("from ftx.debug import agrees_with_reference\n\n\n"
                  "def fails(jaxpr, inputs):\n"
                  f"    return not agrees_with_reference(jaxpr, inputs, {backend!r})")
    else:
        kwargs = "".join(f", {k}={v!r}" for k, v in check_kwargs.items())
        source = (f"from ftx.testing.differential import {check}\n\n\n"
                  "def fails(jaxpr, inputs):\n"
                  f"    return {check}(jaxpr, inputs{kwargs}) is not None")
    script = result.write_repro(directory, check_source=source)
    return (f"minified from {result.original_eqns} to {result.num_eqns} equations, repro: "
            f"{script}\n{result.jaxpr}")
