"""The minifier: delta debugging on jaxpr equations until a failing graph is a few lines.

``minify(f, args, fails)`` traces ``f`` (or takes a jaxpr and its flat inputs),
checks that ``fails(jaxpr, inputs)`` is True, then repeats these passes until
none of them finds a smaller graph that still fails:

1. *truncate*: make one intermediate value the only output (cut points at
   granularity n/2, n/4, ..., 1; the earliest failing one wins);
2. *cut windows*: remove a window of equations, turning the values it defined
   into graph inputs whose values come from running the graph on the reference
   interpreter, so value-dependent bugs survive (window sizes n, n/2, ..., 1);
3. *drop outputs* one at a time (dead code and unused inputs are removed from
   every candidate);
4. *descend* into sub-jaxprs of higher-order primitives (jit, closed_call, cond,
   scan, while, custom_jvp/custom_vjp, and any later ones such as checkpoint):
   inline a call, lift a sub-jaxpr out as the whole graph with the input values
   it saw at run time (a loop body at its first/last iteration, the taken branch),
   or, when the graph is that one equation, minify the callee in place.

Every candidate is type-checked before it is queried; the graph's variables
keep their reference values throughout. With ``isolate=True`` each query runs
in a forked child process, so a candidate that crashes the process (a segfault
in generated code) or hangs past ``timeout`` counts as failing.
"""
from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

import numpy as np

from ftx.core import pytree
from ftx.core.errors import JaxprTypeError
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal, Var, check_jaxpr, subjaxprs
from ftx.core.trace import set_current_trace
from ftx.debug.checks import as_reference, recording_checks

__all__ = ["minify", "MinifyResult", "count_eqns"]


def count_eqns(jaxpr: Jaxpr) -> int:
    """Equations in ``jaxpr`` and in all its sub-jaxprs (each distinct sub-jaxpr once)."""
    seen: set = set()

    def count(j):
        if id(j) in seen:
            return 0
        seen.add(id(j))
        return len(j.eqns) + sum(count(s) for e in j.eqns for s in subjaxprs(e.params))

    return count(jaxpr)


class MinifyResult:
    """What ``minify`` found: ``.jaxpr`` (no constants) and its ``.inputs``, plus the story.

    ``result.write_repro("repro/")`` writes ``repro/repro.py`` and ``repro/inputs.npz``.
    ``.check`` is the ftx.debug check the predicate ran (a dict of literals; None when
    the predicate was other code), which the repro script repeats. ``.steps`` tells what
    each accepted cut did; ``.failure`` how the last failing query failed (e.g. the
    signal that killed an isolated query); ``.complete`` is False when ``max_queries``
    ran out first.
    """

    def __init__(self, jaxpr, inputs, original_eqns, queries, seconds, check, steps, complete,
                 failure=None):
        self.jaxpr, self.inputs = jaxpr, list(inputs)
        self.original_eqns, self.queries, self.seconds = original_eqns, queries, seconds
        self.check, self.steps, self.complete = check, list(steps), complete
        self.failure = failure

    @property
    def num_eqns(self) -> int:
        return count_eqns(self.jaxpr)

    def write_repro(self, directory, *, check=None, check_source=None, note=None):
        """Write ``directory/repro.py`` + ``directory/inputs.npz``; returns the script's path.

        ``check`` (a check dict) or ``check_source`` (Python source defining
        ``fails(jaxpr, inputs)``) override the check recorded while minifying.
        """
        from ftx.debug.repro import write_repro
        return write_repro(directory, self.jaxpr, self.inputs, check=check or self.check,
                           check_source=check_source,
                           note=note or f"minified from {self.original_eqns} to {self.num_eqns} "
                                        f"equations in {self.queries} queries")

    def __repr__(self):
        return (f"MinifyResult({self.original_eqns} -> {self.num_eqns} equations, "
                f"{self.queries} queries, {self.seconds:.1f} s"
                f"{'' if self.complete else ', stopped early'})\n{self.jaxpr}")


# =========================================================================== entry point

def minify(fn_or_jaxpr, args, fails, *, isolate=False, max_queries=2000, timeout=None,
           verbose=False) -> MinifyResult:
    """Shrink a failing graph to a few equations that still fail.

    >>> r = debug.minify(f, (x,), fails=lambda j, i: not debug.agrees_with_reference(j, i, "cpu"))
    >>> print(r.jaxpr); r.write_repro("repro/")

    ``fn_or_jaxpr``: a function (traced on ``args``, a tuple of pytrees) or a jaxpr
    (``args``: its flat inputs). ``fails(jaxpr, inputs) -> bool`` is True while the
    bug reproduces; it receives jaxprs without constants. ``isolate=True`` runs each
    query in a forked child: a crash or a run past ``timeout`` seconds counts as failing.
    ``max_queries`` bounds the work (the best graph so far is returned, with
    ``complete=False``). Raises ValueError when the graph does not fail to begin with.
    """
    start = time.perf_counter()
    jaxpr, inputs = _as_problem(fn_or_jaxpr, args)
    budget = _Budget(max_queries)
    oracle = _Oracle(fails, isolate, timeout, budget, verbose)
    original = count_eqns(jaxpr)
    if not oracle.query(jaxpr, inputs, strict=True):
        why = f" ({oracle.last_error})" if oracle.last_error else ""
        raise ValueError(
            f"minify: the graph does not fail to begin with: fails(jaxpr, inputs) returned "
            f"False{why} for the original {original}-equation graph, so there is no failure to "
            "preserve. Check the predicate (it must return True while the bug is present).")
    m = _Minifier(jaxpr, inputs, oracle)
    m.run()
    check = oracle.recorded_check()
    return MinifyResult(m.jaxpr, m.inputs, original, budget.used, time.perf_counter() - start,
                        check, m.steps, not budget.exhausted, oracle.last_failure)


def _as_problem(fn_or_jaxpr, args):
    if isinstance(fn_or_jaxpr, Jaxpr):
        jaxpr = fn_or_jaxpr
        inputs = [np.asarray(a) for a in args]
        if len(inputs) != len(jaxpr.invars):
            raise TypeError(f"minify: the jaxpr takes {len(jaxpr.invars)} inputs, got "
                            f"{len(inputs)}")
    elif callable(fn_or_jaxpr):
        from ftx.core.staging import make_jaxpr
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
        with set_current_trace(None):
            jaxpr = make_jaxpr(fn_or_jaxpr)(*args)
        inputs = [np.asarray(x) for x in pytree.tree_leaves((args, {}))]
    else:
        raise TypeError(f"minify: expected a function or a Jaxpr, got {type(fn_or_jaxpr).__name__}")
    if jaxpr.constvars:
        inputs = [np.asarray(c) for c in jaxpr.consts] + inputs
        jaxpr = jaxpr.consts_as_inputs()
    return jaxpr, inputs


# =========================================================================== queries

class _Budget:
    def __init__(self, max_queries):
        self.max, self.used = max_queries, 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.max


class _Oracle:
    """Runs the predicate on candidates: caching, type checks, the budget, isolation."""

    def __init__(self, fails, isolate, timeout, budget, verbose):
        self.fails, self.isolate, self.timeout = fails, isolate, timeout
        self.budget, self.verbose = budget, verbose
        self.checks: list = []
        self.wrap = None
        self.last_error = None
        self.last_failure = None

    def nested(self, wrap):
        """An oracle for a callee's body: candidates are wrapped back into the call first."""
        inner = _Oracle(self.fails, self.isolate, self.timeout, self.budget, self.verbose)
        inner.checks, inner.wrap = self.checks, wrap
        return inner

    def recorded_check(self):
        return self.checks[0] if len(self.checks) == 1 else None

    def query(self, jaxpr, inputs, strict=False) -> bool:
        if self.wrap is not None:
            jaxpr, inputs = self.wrap(jaxpr, inputs)
        if not strict:
            try:
                check_jaxpr(jaxpr)
            except (JaxprTypeError, TypeError, ValueError):
                return False
            if self.budget.exhausted:
                return False
        self.budget.used += 1
        if self.isolate:
            result, checks, info = _query_isolated(self.fails, jaxpr, inputs, self.timeout)
        else:
            result, checks, info = _query_here(self.fails, jaxpr, inputs, strict)
        for c in checks:
            if c not in self.checks:
                self.checks.append(c)
        if info:
            if result:
                self.last_failure = info
            else:
                self.last_error = info
        if self.verbose:
            print(f"minify: query {self.budget.used}: {count_eqns(jaxpr)} equations -> "
                  f"{'fails' if result else 'passes'}{' (' + info + ')' if info else ''}",
                  file=sys.stderr)
        return result


def _query_here(fails, jaxpr, inputs, strict):
    with recording_checks() as checks:
        try:
            return bool(fails(jaxpr, list(inputs))), checks, None
        except Exception as e:  # noqa: BLE001 - a predicate error means "not this failure"
            if strict:
                raise
            return False, checks, f"the predicate raised {type(e).__name__}: {e}"


def _query_isolated(fails, jaxpr, inputs, timeout):
    """Run ``fails`` in a forked child. A child that dies or times out counts as failing."""
    if not hasattr(os, "fork"):
        raise NotImplementedError("minify(isolate=True) needs os.fork (Linux or macOS)")
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into the caller's code
        try:
            os.close(r)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            with recording_checks() as checks:
                try:
                    payload = {"fails": bool(fails(jaxpr, list(inputs))), "checks": checks}
                except Exception as e:  # noqa: BLE001
                    payload = {"error": f"the predicate raised {type(e).__name__}: {e}",
                               "checks": checks}
            data = json.dumps(payload).encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)
    os.close(w)
    chunks, deadline, timed_out = [], None if timeout is None else time.monotonic() + timeout, False
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([r], [], [], wait)
            if not ready:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return True, [], f"the candidate ran past the {timeout} s timeout"
    try:
        payload = json.loads(b"".join(chunks).decode()) if chunks else None
    except ValueError:
        payload = None
    if payload is None:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            return True, [], f"the process died with signal {name}"
        return True, [], f"the process exited with status {os.WEXITSTATUS(status)} mid-query"
    if "error" in payload:
        return False, payload.get("checks", []), payload["error"]
    return payload["fails"], payload.get("checks", []), None


# =========================================================================== graph surgery

def _close(eqns, outvars, prefer_inputs=()):
    """The graph computing ``outvars`` from ``eqns``: dead equations dropped, and every value
    read but not defined becomes an input (existing inputs first, in their order)."""
    live, needed = [], {v for v in outvars if isinstance(v, Var)}
    for eqn in reversed(eqns):
        if any(v in needed for v in eqn.outvars):
            live.append(eqn)
            needed.difference_update(eqn.outvars)
            needed.update(a for a in eqn.invars if isinstance(a, Var))
    live.reverse()
    first = [v for v in prefer_inputs if v in needed]
    rest_set = needed.difference(first)
    rest = []
    if rest_set:  # inputs cut out of the middle come in the order they were defined
        order = {}
        for i, eqn in enumerate(eqns):
            for v in eqn.outvars:
                order.setdefault(v, i)
        rest = sorted(rest_set, key=lambda v: order.get(v, -1))
    return Jaxpr([], first + rest, list(outvars), live)


def _rename(jaxpr: Jaxpr):
    """A copy of ``jaxpr`` (no constants) with fresh variables; sub-jaxprs are shared."""
    env: dict = {}

    def new(v):
        env[v] = Var(v.aval)
        return env[v]

    def read(a):
        return a if isinstance(a, Literal) else env[a]

    invars = [new(v) for v in jaxpr.constvars + jaxpr.invars]
    eqns = []
    for e in jaxpr.eqns:
        ins = [read(a) for a in e.invars]
        eqns.append(e.replace(invars=ins, outvars=[new(v) for v in e.outvars]))
    return Jaxpr([], invars, [read(v) for v in jaxpr.outvars], eqns), list(jaxpr.consts)


def _substitute(eqns, outvars, mapping):
    def sub(a):
        return mapping.get(a, a) if isinstance(a, Var) else a
    new_eqns = [e if not any(isinstance(a, Var) and a in mapping for a in e.invars)
                else e.replace(invars=[sub(a) for a in e.invars]) for e in eqns]
    return new_eqns, [sub(v) for v in outvars]


def _same_types(avals, atoms) -> bool:
    return len(avals) == len(atoms) and all(
        a.shape == b.aval.shape and a.dtype == b.aval.dtype for a, b in zip(avals, atoms))


def _call_like(eqn):
    """(offset, sub-jaxpr key, jaxpr) for each sub-jaxpr that takes the equation's operands
    (after ``offset`` leading ones, like cond's index) and returns its outputs."""
    found = []
    for key, value in eqn.params.items():
        subs = [value] if isinstance(value, Jaxpr) else \
            list(value) if isinstance(value, tuple) and value and \
            all(isinstance(v, Jaxpr) for v in value) else []
        for j in subs:
            if j.constvars:
                continue
            for offset in (0, 1):
                if _same_types(j.in_avals, eqn.invars[offset:]) and \
                        _same_types(j.out_avals, eqn.outvars):
                    found.append((offset, key, j))
                    break
    return found


class _Recorder:
    """A debug-callback target that keeps the values a sub-jaxpr was called with."""

    __slots__ = ("calls", "count", "__name__")
    LIMIT = 8

    def __init__(self):
        self.calls, self.count, self.__name__ = [], 0, "record"

    def __call__(self, *values):
        self.count += 1
        copy = [np.array(v) for v in values]
        if len(self.calls) < self.LIMIT:
            self.calls.append(copy)
        else:  # keep the first few and the latest
            self.calls[-1] = copy


def _record_invocations(eqn, in_values):
    """For each sub-jaxpr of ``eqn``: (jaxpr, recorder of the inputs it saw when ``eqn`` ran
    on the reference interpreter with ``in_values``)."""
    from ftx.lax.debugging import debug_callback_p
    recorders = {}

    def instrument(j):
        if id(j) not in recorders:
            rec = _Recorder()
            probe = JaxprEqn(debug_callback_p, j.constvars + j.invars, [], {"callback": rec})
            recorders[id(j)] = (j, rec, j.replace(eqns=[probe] + j.eqns))
        return recorders[id(j)][2]

    params = {}
    for k, v in eqn.params.items():
        if isinstance(v, Jaxpr):
            params[k] = instrument(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, Jaxpr) for x in v):
            params[k] = tuple(instrument(x) for x in v)
        else:
            params[k] = v
    invars = [Var(a.aval) for a in eqn.invars]
    probe = Jaxpr([], invars, [], [eqn.replace(params=params, invars=invars,
                                               outvars=[Var(v.aval) for v in eqn.outvars])])
    probe_eqn = as_reference(probe).eqns[0]  # nested jits run on the reference backend
    try:
        with set_current_trace(None):
            probe_eqn.primitive.bind(*in_values, **probe_eqn.params)
    except Exception:  # noqa: BLE001 - no recordings: the other moves still apply
        return []
    return [(j, rec) for j, rec, _ in recorders.values()]


# =========================================================================== the passes

class _Minifier:
    def __init__(self, jaxpr, inputs, oracle, depth=0):
        self.oracle, self.depth = oracle, depth
        self.steps: list[str] = []
        self.tried_descend: dict = {}  # (id, alone) -> equation, kept alive so ids stay unique
        self._set(jaxpr, inputs, {})

    # ------------------------------------------------------------ state
    def _set(self, jaxpr, inputs, values):
        """Adopt a graph; every variable gets its reference value (kept when known)."""
        self.jaxpr = jaxpr
        self.inputs = list(inputs)
        env = {v: x for v, x in values.items()}
        env.update(zip(jaxpr.invars, self.inputs))
        missing = [e for e in jaxpr.eqns if not all(v in env for v in e.outvars)]
        if missing:
            ref = as_reference(jaxpr)
            with set_current_trace(None):
                for e_ref, e in zip(ref.eqns, jaxpr.eqns):
                    if all(v in env for v in e.outvars):
                        continue
                    ins = [a.val if isinstance(a, Literal) else env[a] for a in e.invars]
                    outs = e_ref.primitive.bind(*ins, **e_ref.params)
                    for v, x in zip(e.outvars, outs):
                        env[v] = np.asarray(x) if not isinstance(x, np.ndarray) else x
        self.values = env

    def _inputs_for(self, jaxpr):
        return [self.values[v] for v in jaxpr.invars]

    def _size(self, jaxpr=None) -> int:
        return count_eqns(self.jaxpr if jaxpr is None else jaxpr)

    def _try(self, candidate, what, inputs=None, values=None) -> bool:
        """Query ``candidate`` when it is smaller; adopt it when it still fails."""
        if _measure(candidate) >= _measure(self.jaxpr):  # progress must be well-founded
            return False
        inputs = self._inputs_for(candidate) if inputs is None else inputs
        if not self.oracle.query(candidate, inputs):
            return False
        before = self._size()
        self._set(candidate, inputs, self.values if values is None else values)
        self.steps.append(f"{'  ' * self.depth}{what}: {before} -> {self._size()} equations")
        return True

    def run(self):
        passes = (self._pass_normalize, self._pass_truncate, self._pass_windows,
                  self._pass_drop_outputs, self._pass_descend)
        progress = True
        while progress and not self.oracle.budget.exhausted:
            progress = False
            for p in passes:
                if p():
                    progress = True
                    break  # restart with the cheap, big cuts
        return self.jaxpr, self.inputs

    # ------------------------------------------------------------ dce, inputs
    def _pass_normalize(self):
        j = self.jaxpr
        return self._try(_close(j.eqns, j.outvars, j.invars), "dead code and unused inputs")

    # ------------------------------------------------------------ truncate the suffix
    def _pass_truncate(self):
        eqns = self.jaxpr.eqns
        n = len(eqns)
        tested = set()
        g = n
        while g >= 1:
            for idx in range(g - 1, n, g):
                if idx in tested:
                    continue
                tested.add(idx)
                for v in eqns[idx].outvars:
                    if list(self.jaxpr.outvars) == [v]:
                        continue
                    cand = _close(eqns[:idx + 1], [v], self.jaxpr.invars)
                    if self._try(cand, f"truncate after equation {idx} "
                                       f"({eqns[idx].primitive.name})"):
                        return True
            g //= 2
        return False

    # ------------------------------------------------------------ cut windows
    def _pass_windows(self):
        progress = False
        w = len(self.jaxpr.eqns)
        while w >= 1 and not self.oracle.budget.exhausted:
            s = 0
            while s < len(self.jaxpr.eqns):
                eqns = self.jaxpr.eqns
                cand = _close(eqns[:s] + eqns[s + w:], self.jaxpr.outvars, self.jaxpr.invars)
                if self._try(cand, f"cut equations {s}..{min(s + w, len(eqns)) - 1}"):
                    progress = True
                else:
                    s += w
            w //= 2
        return progress

    # ------------------------------------------------------------ outputs
    def _pass_drop_outputs(self):
        outs = self.jaxpr.outvars
        if len(outs) <= 1:
            return False
        for i in range(len(outs)):
            keep = outs[:i] + outs[i + 1:]
            cand = _close(self.jaxpr.eqns, keep, self.jaxpr.invars)
            if self._try(cand, f"drop output {i}"):
                return True
        return False

    # ------------------------------------------------------------ sub-jaxprs
    def _pass_descend(self):
        for i, eqn in enumerate(self.jaxpr.eqns):
            key = (id(eqn), len(self.jaxpr.eqns) == 1)
            if not any(True for _ in subjaxprs(eqn.params)) or key in self.tried_descend:
                continue
            self.tried_descend[key] = eqn
            name = eqn.primitive.name
            # (a) inline a call: the callee's equations replace the equation
            for offset, key, j in _call_like(eqn):
                body, consts = _rename(j)
                head = dict(zip(body.invars, eqn.invars[offset:]))
                mapping = {o: head.get(b, b) if isinstance(b, Var) else b
                           for o, b in zip(eqn.outvars, body.outvars)}
                inner, _ = _substitute(body.eqns, [], head)
                new_eqns = self.jaxpr.eqns[:i] + inner
                rest, outvars = _substitute(self.jaxpr.eqns[i + 1:], self.jaxpr.outvars, mapping)
                cand = _close(new_eqns + rest, outvars, self.jaxpr.invars)
                if _has_literal_only_outputs(cand):
                    continue
                if self._try(cand, f"inline {name} (equation {i})"):
                    return True
            # (b) lift a sub-jaxpr out, with the values it saw at run time
            in_values = [a.val if isinstance(a, Literal) else self.values[a] for a in eqn.invars]
            recorded = _record_invocations(eqn, in_values)
            for j, rec in recorded:
                calls = rec.calls
                picks = [0, len(calls) - 1] + list(range(1, len(calls) - 1))
                for k in dict.fromkeys(p for p in picks if 0 <= p < len(calls)):
                    body, consts = _rename(j)
                    if not body.eqns:
                        continue
                    values = dict(zip(body.invars, calls[k]))
                    cand = _close(body.eqns, body.outvars, body.invars)
                    inputs = [values[v] if v in values else None for v in cand.invars]
                    if any(x is None for x in inputs):
                        continue
                    if self._try(cand, f"lift a sub-jaxpr of {name} out (call {k})", inputs,
                                 values):
                        return True
            # (c) the graph is this one call: minify the callee in place
            if len(self.jaxpr.eqns) == 1 and self._minify_callee(eqn, recorded):
                return True
        return False

    def _minify_callee(self, eqn, recorded):
        counts = {id(j): rec for j, rec in recorded}
        for offset, key, j in _call_like(eqn):
            rec = counts.get(id(j))
            if rec is None or rec.count != 1 or count_eqns(j) <= 1:
                continue
            lead = [a.val if isinstance(a, Literal) else self.values[a]
                    for a in eqn.invars[:offset]]
            lead_avals = [a.aval for a in eqn.invars[:offset]]

            def wrap(g, ins, eqn=eqn, key=key, offset=offset, lead=lead, lead_avals=lead_avals):
                return _wrap_call(eqn, key, offset, lead_avals, g), lead + list(ins)

            body, _ = _rename(j)
            inner = _Minifier(body, rec.calls[0], self.oracle.nested(wrap), self.depth + 1)
            inner.run()
            self.steps.extend(inner.steps)
            if count_eqns(inner.jaxpr) >= count_eqns(j):
                continue
            cand, inputs = wrap(inner.jaxpr, inner.inputs)
            values = dict(zip(cand.invars, inputs))
            if self._try(cand, f"minified the body of {eqn.primitive.name}", inputs, values):
                return True
        return False


def _wrap_call(eqn, key, offset, lead_avals, g):
    """The one-equation graph calling ``g`` the way ``eqn`` called its ``key`` sub-jaxpr."""
    params = dict(eqn.params)
    old = params[key]
    params[key] = tuple(g for _ in old) if isinstance(old, tuple) else g
    if "num_consts" in params:  # the callee's leading operands are no longer closed-over values
        params["num_consts"] = 0
    if "out_avals" in params:
        params["out_avals"] = tuple(g.out_avals)
    invars = [Var(a) for a in lead_avals] + [Var(a) for a in g.in_avals]
    outvars = [Var(a) for a in g.out_avals]
    return Jaxpr([], invars, outvars, [JaxprEqn(eqn.primitive, invars, outvars, params,
                                                 eqn.source_info)])


def _has_literal_only_outputs(jaxpr) -> bool:
    return bool(jaxpr.outvars) and all(isinstance(v, Literal) for v in jaxpr.outvars) \
        and not jaxpr.eqns


def _measure(jaxpr):
    """What minifying decreases: equations (nested ones too), then outputs, then inputs."""
    return count_eqns(jaxpr), len(jaxpr.outvars), len(jaxpr.invars)

