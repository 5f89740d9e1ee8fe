"""Eager reverse mode on a tape of cached per-primitive reverse rules.

A top-level ``ftx.grad`` / ``ftx.value_and_grad`` on concrete arrays (no enclosing
transform) runs here instead of through ``linearize`` + ``backward_pass`` over the whole
function. It computes the same thing, chopped per primitive: linearizing a function is
linearizing each primitive application in turn, and transposing it is transposing those
pieces in reverse order.

For one primitive applied to concrete values, its linearization (which primal and residual
values the jvp rule computes, and the linear map from input to output tangents) depends
only on the primitive, its params, the operands' types, which operands are perturbed (and
which of those share a tangent) and the values of Python-scalar operands. For each such key
the jvp rule is linearized once, abstractly, into

- a *known* jaxpr: operands -> primal outputs + residuals (what linearize computes eagerly),
- the per-primitive *linear* jaxpr: residuals + input tangents -> output tangents,

and the linear jaxpr is transposed once per set of output-cotangent types into a *backward*
jaxpr: residuals + output cotangents -> input cotangents. Both run as straight-line Python
calling each primitive's NumPy impl (no interpreter loop). The forward pass records
``(rule, residuals, input nodes, output nodes)`` on a tape; the backward pass walks the tape
in reverse with cotangents in a dict keyed by node number. Every rule still comes from the
primitives' jvp and transpose rules: there are no per-primitive vjp rules here.

What the cache cannot key (params holding sub-jaxprs or functions: control flow, custom_jvp,
custom_vjp, checkpoint, jit, callbacks; effectful primitives; operands of unusual types; rules
that need concrete values; Python-scalar operands whose value changes every call) is
linearized per call with the ordinary machinery (``JVPTrace`` over
``PartialEvalTrace``) for that one primitive and transposed with ``backward_pass``, so every
program works here, and means the same as under ``linearize``.

Same bits as linearize + transpose: nodes play the part of the linear jaxpr's variables. An
output whose tangent *is* an input's tangent (``x + c``) shares that input's node, and each
rule's backward adds to the cotangents its inputs already have, in its own equation order, so
every cotangent is summed in the order one backward pass over the whole program would sum it.

Only a top-level grad / value_and_grad uses the tape (``applies()``). ``vjp`` keeps its linear
jaxpr (its VJPFunction is a pytree of residuals that can go through ``jit``); under another
transform, and in the debug modes that describe the linearize path, grad linearizes as before.
The compiled rules call NumPy impls directly, so they are only run on concrete values.

>>> ftx.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2))(np.ones(3))   # runs on the tape

``enabled = False`` (module attribute) sends every grad through linearize + transpose, for
tests that compare the two paths.
"""
from __future__ import annotations

import numpy as np

from ftx.core import nan_checks
from ftx.core import primitive as _primitive
from ftx.core import trace as _trace_module
from ftx.core.ad_util import Zero
from ftx.core.avals import _array_avals, get_aval
from ftx.core.jaxpr import Jaxpr, Literal
from ftx.core.staging import JaxprTrace, _memoizable
from ftx.core.trace import Trace, TraceDebugInfo, Tracer, _current, leaked
from ftx.lax._ad_rules import add_tangents
from ftx.transforms.jvp import JVPTrace, JVPTracer
from ftx.transforms.partial_eval import PartialEvalTrace
from ftx.transforms.transpose import backward_pass

# Off: every eager grad takes the linearize + transpose path (tests compare the two).
enabled = True


def applies() -> bool:
    """Whether a grad called now may run on the tape: no enclosing transform, and no debug
    mode whose reports are written for the linearize path (debug_nans names the equations of
    the linear jaxpr; checking_leaks names the JVPTrace)."""
    return (enabled and _current.get() is None and not nan_checks.active
            and _trace_module.on_trace_exit is None)


class EagerVJPTracer(Tracer):
    """A value the gradient flows through: its concrete ``primal`` and its tape ``node``."""

    __slots__ = ("primal", "node", "aval")

    def __init__(self, trace, primal, node):
        self._trace, self.primal, self.node = trace, primal, node
        aval = (_array_avals.get((primal.shape, primal.dtype))
                if type(primal) is np.ndarray else None)
        self.aval = aval or get_aval(primal)

    def __repr__(self):
        from ftx.transforms.jvp import _short
        return f"EagerVJPTracer(primal={_short(self.primal)}, node={self.node})"


_FLOAT, _COMPLEX = "float", "complex"  # key markers of Python-scalar operands


def _complex_key(z: complex) -> tuple:
    return z.real.hex(), z.imag.hex()


class EagerVJPTrace(Trace):
    """Runs each primitive on concrete values and records its reverse rule on ``tape``."""

    __slots__ = ("tape", "num_nodes")

    def __init__(self, debug=None):
        super().__init__(parent=None, debug=debug)
        self.tape: list = []
        self.num_nodes = 0

    def new_tracer(self, primal) -> EagerVJPTracer:
        node = self.num_nodes
        self.num_nodes = node + 1
        return EagerVJPTracer(self, primal, node)

    def process_primitive(self, prim, args, params):
        # Every primitive of the function comes here, so this is written for speed. The key
        # of the cached rule is built in the same pass that unwraps the operands: two items
        # per operand (a marker and a payload), then the params.
        primals = []
        nodes = []  # the distinct perturbed nodes, in operand order (the rule's "slots")
        key = [prim]
        add = key.append
        cacheable = True
        for a in args:
            t = type(a)
            if t is EagerVJPTracer and a._trace is self:
                p = a.primal
                n = a.node
                # One slot per distinct tangent: x * x, or x * (x + c), whose tangent is x's.
                if n in nodes:
                    add(nodes.index(n))
                else:
                    add(len(nodes))
                    nodes.append(n)
                add(a.aval)
                if type(p) is not np.ndarray and not isinstance(p, np.generic):
                    cacheable = False  # grad at a Python float: rules may branch on its type
                primals.append(p)
                continue
            primals.append(a)
            if t is np.ndarray:
                add(None)
                add(_array_avals.get((a.shape, a.dtype)) or get_aval(a))
            elif t is float:  # baked into the rule as in linearize: keyed by its exact bits
                add(_FLOAT)
                add(a.hex())
            elif t is int or t is bool:
                add(t)
                add(a)
            elif t is complex:
                add(_COMPLEX)
                add(_complex_key(a))
            elif isinstance(a, Tracer):  # of a finished transform (bind would say the same)
                raise leaked(a, prim)
            elif isinstance(a, np.generic):
                add(None)
                add(get_aval(a))
            else:
                cacheable = False
        if not nodes:  # nothing to differentiate: NumPy, as linearize does
            outs = prim.impl(*primals, **params)
            if nan_checks.active:
                nan_checks.check(prim.name, outs)
            return outs
        rule = None
        if cacheable:
            for k, v in params.items():  # a float param by its bits too (0.0 == -0.0)
                add(k)
                add(v if type(v) is not float else v.hex())
            key = tuple(key)
            try:
                rule = _RULES.get(key)
            except TypeError:  # an unhashable param
                key = None
            if rule is None and key is not None and not prim.effectful \
                    and _memoizable(params) and not _scalars_vary(key, len(args)):
                rule = _build_rule(prim, params, args, primals, key, self.debug)
        if rule is None or rule is _UNCACHEABLE:
            return self._linearize_now(prim, params, args, primals, nodes)
        # The known part runs the primitives' NumPy impls directly, as linearize does (an
        # impl that binds primitives itself would come back here with no tracer: NumPy).
        outs = rule.fwd(*primals) if rule.in_sel is None else \
            rule.fwd(*[primals[i] for i in rule.in_sel])
        if rule.simple:  # the usual case: one output, with a tangent of its own
            o = outs[0]
            node = self.num_nodes
            self.num_nodes = node + 1
            out = EagerVJPTracer(self, o, node)
            self.tape.append((rule, outs[1:], nodes, (node,)))
            return [out]
        n_out = rule.n_out
        results = self._wrap_outputs(outs[:n_out], rule.out_kinds, nodes)
        if rule.linear is not None:
            self.tape.append((rule, outs[n_out:], nodes, results.out_nodes))
        return results.values

    def _wrap_outputs(self, outs, out_kinds, nodes) -> "_Outputs":
        """Tracers for the perturbed outputs: a new node each, or, when the output's tangent
        *is* an input's tangent (``x + c``), that input's node, so cotangents meet in the
        same sum, in the same order, as in one backward pass over the whole program."""
        res = _Outputs()
        for o, kind in zip(outs, out_kinds):
            if kind is None:  # not perturbed
                res.values.append(o)
            elif kind < 0:
                t = self.new_tracer(o)
                res.out_nodes.append(t.node)
                res.values.append(t)
            else:
                res.values.append(EagerVJPTracer(self, o, nodes[kind]))
        return res

    def _linearize_now(self, prim, params, args, primals, nodes):
        """Linearize this one application with JVPTrace over PartialEvalTrace (what
        ``linearize`` does for every primitive) and record it for ``backward_pass``."""
        pe = PartialEvalTrace(parent=None, debug=self.debug)
        jt = JVPTrace(parent=pe, debug=self.debug)
        tangents = {}  # one tangent per node; a JVPTracer per operand (same node, other
        ins = []       # primal: the output of x + c beside x)
        for a, p in zip(args, primals):
            if type(a) is EagerVJPTracer and a._trace is self:
                t = tangents.get(a.node)
                if t is None:
                    t = tangents[a.node] = pe.new_arg(a.aval.to_tangent_aval())
                ins.append(JVPTracer(jt, p, t))
            else:
                ins.append(a)
        try:
            outs = jt.process_primitive(prim, ins, params)
        finally:
            jt.invalidate()
        try:
            primals_out, tangents = _split_outputs(jt, pe, outs, prim)
            linear = pe.to_jaxpr([t for t in tangents if type(t) is not Zero])
        finally:
            pe.invalidate()
        linear, out_kinds = _split_aliases(linear, tangents)
        results = self._wrap_outputs(primals_out, out_kinds, nodes)
        if linear is not None:
            self.tape.append((_LinearRule(linear), linear.consts, nodes, results.out_nodes))
        return results.values


class _Outputs:
    __slots__ = ("values", "out_nodes")

    def __init__(self):
        self.values, self.out_nodes = [], []


def _split_outputs(jt, pe, outs, prim):
    """(primal outputs, their tangents: Zero where unperturbed) of a jvp rule's results."""
    primals_out, tangents = [], []
    for o in outs:
        p, t = jt.to_primal_tangent(o)
        if pe.owns(p):
            raise TypeError(f"linearize: a primal output of {prim.name} depends on a tangent; "
                            "this is an ftx bug in its jvp rule")
        primals_out.append(p)
        tangents.append(t)
    return primals_out, tangents


def _split_aliases(linear, tangents):
    """``(linear', out_kinds)``: ``linear`` (the outputs' nonzero tangents as a function of
    the input tangents) without the outputs whose tangent is an input's tangent, pruned to
    what the rest needs (None if nothing is left), and per output: None (no tangent), -1
    (a tangent of its own) or the input slot whose tangent it is."""
    out_kinds, keep = [], []
    outvars = iter(linear.outvars)
    for t in tangents:
        if type(t) is Zero:
            out_kinds.append(None)
            continue
        v = next(outvars)
        if type(v) is not Literal and v in linear.invars:
            out_kinds.append(linear.invars.index(v))
        else:
            out_kinds.append(-1)
            keep.append(v)
    if not keep:
        return None, out_kinds
    jaxpr = _dce(Jaxpr(linear.constvars, linear.invars, keep, linear.eqns, linear.consts))
    used = {v for e in jaxpr.eqns for v in e.invars if type(v) is not Literal}
    used.update(v for v in keep if type(v) is not Literal)
    consts = [(v, c) for v, c in zip(jaxpr.constvars, jaxpr.consts) if v in used]
    return Jaxpr([v for v, _ in consts], jaxpr.invars, keep, jaxpr.eqns,
                 [c for _, c in consts]), out_kinds


class _LinearRule:
    """The reverse rule of one primitive application linearized on the spot."""

    __slots__ = ("jaxpr",)

    def __init__(self, jaxpr):
        self.jaxpr = jaxpr

    def backward(self, residuals, cts, so_far):
        outvars = self.jaxpr.outvars
        cts = [Zero(v.aval.to_tangent_aval()) if c is None else c for c, v in zip(cts, outvars)]
        cts_in = backward_pass(self.jaxpr, cts, consts=residuals, cts_in_so_far=so_far)
        slots = [i for i, c in enumerate(cts_in) if type(c) is not Zero]
        return [cts_in[i] for i in slots], slots


# --------------------------------------------------------------------------- cached rules

_UNCACHEABLE = object()  # the key's rule needs concrete values: linearize per call
_RULES: dict = {}
_MAX_RULES = 4096
_rules_version = -1  # the rule tables' version _RULES was made from


class _CachedRule:
    """A primitive's linearization for one key: ``fwd(*operands) -> outputs + residuals``
    and, per cotangent types, ``backward(residuals, cts, so_far)``."""

    __slots__ = ("prim", "fwd", "in_sel", "n_out", "out_kinds", "simple", "linear",
                 "res_avals", "res_index", "_bwd")

    def backward(self, residuals, cts, so_far):
        """The cotangents of the input slots (and which slots) given the output ``cts``
        (None: none) and the cotangents the inputs have so far (None: none)."""
        vals = cts + so_far
        key, present = [], []
        for c in vals:
            if c is None:
                key.append(None)
                continue
            present.append(c)
            key.append((_array_avals.get((c.shape, c.dtype)) if type(c) is np.ndarray
                        else None) or get_aval(c))
        key = tuple(key)
        bwd = self._bwd.get(key)
        if bwd is None:
            try:
                bwd = _build_backward(self, key[:len(cts)], key[len(cts):])
            except Exception:  # a transpose rule that needs concrete values
                bwd = None, None
            self._bwd[key] = bwd
        fn, slots = bwd
        if fn is None:  # transpose on the concrete residuals, as backward_pass does
            consts = list(self.linear.consts)
            for j, r in zip(self.res_index, residuals):
                consts[j] = r
            return _LinearRule(self.linear).backward(consts, cts, so_far)
        return fn(*residuals, *present), slots


# Python-scalar operands are part of the key. One whose value changes from call to call (a
# step count, a schedule) would build a rule per call: after _MAX_VALUES values of the
# scalars at one site, that site is linearized per call instead (linearize's own cost).
_MAX_VALUES = 16
_values_seen: dict = {}  # key with the scalar values left out -> how many were built


def _scalars_vary(key, num_args) -> bool:
    """Whether the Python-scalar operands of ``key`` have had too many values to cache
    (counts this one; called only when ``key`` is not cached)."""
    items = list(key)
    scalars = False
    for i in range(num_args):
        marker = items[1 + 2 * i]
        if marker is not None and type(marker) is not int:  # a Python scalar: drop its value
            items[2 + 2 * i] = None
            scalars = True
    if not scalars:
        return False
    site = tuple(items)
    n = _values_seen.get(site, 0) + 1
    if len(_values_seen) >= _MAX_RULES:
        _values_seen.clear()
    _values_seen[site] = n
    return n > _MAX_VALUES


def _build_rule(prim, params, args, primals, key, debug):
    """Linearize ``prim``'s jvp rule abstractly for ``key`` and cache the result (or
    _UNCACHEABLE when the rule needs concrete values)."""
    if len(_RULES) >= _MAX_RULES:
        _RULES.clear()
    try:
        rule = _trace_rule(prim, params, args, primals, key, debug)
    except Exception:  # e.g. a ConcretizationTypeError: linearize on concrete values instead
        rule = _UNCACHEABLE
    _RULES[key] = rule
    return rule


def _trace_rule(prim, params, args, primals, key, debug):
    known = JaxprTrace(parent=None, debug=debug)
    pe = PartialEvalTrace(parent=known, debug=debug)
    jt = JVPTrace(parent=pe, debug=debug)
    ins, in_sel, tangent_of_slot = [], [], {}
    for i, p in enumerate(primals):
        marker, aval = key[1 + 2 * i], key[2 + 2 * i]
        if type(marker) is int:  # a perturbed operand (slot number: which tangent)
            t = tangent_of_slot.get(marker)
            if t is None:
                t = tangent_of_slot[marker] = pe.new_arg(aval.to_tangent_aval())
            in_sel.append(i)
            ins.append(JVPTracer(jt, known.new_arg(aval), t))
        elif marker is None:  # a known array: an input of the known jaxpr
            in_sel.append(i)
            ins.append(known.new_arg(aval))
        else:  # a Python scalar, baked in as the rule sees it in linearize
            ins.append(p)
    try:
        token = _current.set(jt)
        try:
            outs = jt.process_primitive(prim, ins, params)
        finally:
            _current.reset(token)
            jt.invalidate()
        primals_out, tangents = _split_outputs(jt, pe, outs, prim)
        linear = pe.to_jaxpr([t for t in tangents if type(t) is not Zero])
        pe.invalidate()
        linear, out_kinds = _split_aliases(linear, tangents)
        # The linear jaxpr's constants: values of the known trace are residuals (computed per
        # call); concrete ones (zeros a rule instantiated) are part of the rule.
        consts = linear.consts if linear is not None else []
        res_index = [j for j, c in enumerate(consts) if isinstance(c, Tracer)]
        known_jaxpr = known.to_jaxpr(primals_out + [consts[j] for j in res_index])
    finally:
        pe.invalidate()
        known.invalidate()
    rule = _CachedRule()
    rule.prim = prim
    rule.fwd = _compile(_dce(known_jaxpr), prim.name)
    rule.in_sel = None if in_sel == list(range(len(primals))) else tuple(in_sel)
    rule.n_out = len(outs)
    rule.out_kinds = tuple(out_kinds)
    rule.simple = rule.out_kinds == (-1,)
    rule.linear = linear
    rule.res_index = res_index
    rule.res_avals = [v.aval for v in known_jaxpr.outvars[len(outs):]]
    rule._bwd = {}
    return rule


def _build_backward(rule, ct_avals, so_far_avals):
    """Transpose ``rule.linear`` once for these cotangent avals (None: no cotangent):
    ``(fn(*residuals, *cts, *so_far) -> nonzero input cotangents, their slots)``."""
    linear = rule.linear
    trace = JaxprTrace(parent=None)
    res = [trace.new_arg(a) for a in rule.res_avals]
    cts = [Zero(v.aval.to_tangent_aval()) if a is None else trace.new_arg(a)
           for a, v in zip(ct_avals, linear.outvars)]
    so_far = [None if a is None else trace.new_arg(a) for a in so_far_avals]
    consts = list(linear.consts)
    for j, r in zip(rule.res_index, res):
        consts[j] = r
    token = _current.set(trace)
    try:
        cts_in = backward_pass(linear, cts, consts=consts, cts_in_so_far=so_far)
        slots = [i for i, c in enumerate(cts_in) if type(c) is not Zero]
        jaxpr = trace.to_jaxpr([cts_in[i] for i in slots])
    finally:
        _current.reset(token)
        trace.invalidate()
    return _compile(_dce(jaxpr), f"{rule.prim.name}_transpose"), slots


# --------------------------------------------------------------------------- jaxpr -> Python

def _dce(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` without equations whose outputs nothing reads (pure primitives only)."""
    live = {v for v in jaxpr.outvars if type(v) is not Literal}
    eqns = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.primitive.effectful or any(v in live for v in eqn.outvars):
            eqns.append(eqn)
            live.update(v for v in eqn.invars if type(v) is not Literal)
    eqns.reverse()
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns, jaxpr.consts)


_CODE: dict = {}  # source -> code object


def _compile(jaxpr: Jaxpr, name: str):
    """A Python function running ``jaxpr`` on NumPy values: one impl call per equation,
    straight-line (what ``eval_jaxpr`` does, without its per-equation interpretation)."""
    names: dict = {}
    glob: dict = {}

    def ref(v):
        if type(v) is Literal:
            g = f"_l{len(glob)}"
            glob[g] = v.val
            return g
        return names[v]

    for v, c in zip(jaxpr.constvars, jaxpr.consts):
        names[v] = f"_c{len(glob)}"
        glob[names[v]] = c
    args = []
    for v in jaxpr.invars:
        names[v] = f"a{len(names)}"
        args.append(names[v])
    lines = [f"def {_identifier(name)}({', '.join(args)}):"]
    for i, eqn in enumerate(jaxpr.eqns):
        fn = f"_f{i}"
        glob[fn] = eqn.primitive  # its impl is looked up per call: it may be replaced
        call_args = [ref(v) for v in eqn.invars]
        for k, val in eqn.params.items():
            g = f"_p{i}_{k}"
            glob[g] = val
            call_args.append(f"{k}={g}")
        outs = []
        for v in eqn.outvars:
            names[v] = f"v{len(names)}"
            outs.append(names[v])
        call = f"{fn}.impl({', '.join(call_args)})"
        if not outs:
            lines.append(f"    {call}")
        else:
            lines.append(f"    {', '.join(outs)}, = {call}")
    lines.append(f"    return [{', '.join(ref(v) for v in jaxpr.outvars)}]")
    src = "\n".join(lines)
    # The source names values, it does not spell them: the same primitive at other shapes or
    # params gives the same source, compiled once.
    code = _CODE.get(src)
    if code is None:
        if len(_CODE) >= _MAX_RULES:
            _CODE.clear()
        code = _CODE[src] = compile(src, f"<ftx eager_vjp: {name}>", "exec")
    exec(code, glob)
    fn = glob[_identifier(name)]
    fn.source = src  # for reading: print(rule.fwd.source)
    return fn


def _identifier(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


# --------------------------------------------------------------------------- the transform

class EagerLinearization:
    """What ``linearize_flat`` gives reverse mode, computed on the tape: ``primals_out``,
    ``linear_inputs`` (indices of the differentiated flat inputs) and ``pull_back(cts)``,
    the cotangents of those inputs (Zero where none flows) for the first outputs' cts."""

    __slots__ = ("primals_out", "linear_inputs", "trace", "out_nodes", "in_nodes")

    def pull_back(self, cts_out) -> list:
        """Walk the tape backwards from the outputs' cotangents ``cts_out`` (concrete)."""
        tape = self.trace.tape
        env: dict = {}
        for n, ct in zip(self.out_nodes, cts_out):
            if n is not None and ct is not None and type(ct) is not Zero:
                old = env.get(n)
                env[n] = ct if old is None else add_tangents(old, ct)
        pop = env.pop
        for rule, residuals, in_nodes, out_nodes in reversed(tape):
            if len(out_nodes) == 1:
                ct = pop(out_nodes[0], None)
                if ct is None:
                    continue
                cts = [ct]
            else:
                cts = [pop(n, None) for n in out_nodes]
                if all(c is None for c in cts):
                    continue
            # The inputs' cotangents so far go in, to be added to in the rule's own order.
            so_far = [pop(n, None) for n in in_nodes]
            cts_in, slots = rule.backward(residuals, cts, so_far)
            for s, ct in zip(slots, cts_in):
                env[in_nodes[s]] = ct
        out = []
        for n, aval in self.in_nodes:
            ct = env.get(n)
            out.append(Zero(aval.to_tangent_aval()) if ct is None else ct)
        return out


def linearize_on_tape(fun, primals, avals, transform="grad", fun_for_debug=None,
                      num_linear_out=None) -> EagerLinearization:
    """Run ``fun(*flat) -> flat outs`` at concrete ``primals`` with every floating input
    differentiated, recording the tape; the counterpart of ``linearize_flat``."""
    global _rules_version
    if _rules_version != _primitive.rules_version:  # a jvp or transpose rule was replaced
        _RULES.clear()
        _values_seen.clear()
        _rules_version = _primitive.rules_version
    trace = EagerVJPTrace(debug=TraceDebugInfo(transform, fun_for_debug or fun))
    ins = list(primals)
    linear_inputs, in_nodes = [], []
    for i, a in enumerate(avals):
        if a.dtype.kind in "fc":
            linear_inputs.append(i)
            t = ins[i] = trace.new_tracer(ins[i])
            in_nodes.append((t.node, a))
    token = _current.set(trace)
    try:
        outs = fun(*ins)
    finally:
        _current.reset(token)
        trace.invalidate()
    n = num_linear_out() if callable(num_linear_out) else num_linear_out
    primals_out, out_nodes = [], []
    for i, o in enumerate(outs):
        if type(o) is EagerVJPTracer and o._trace is trace:
            if i < n:
                out_nodes.append(o.node)
            o = o.primal
        elif i < n:
            out_nodes.append(None)
        primals_out.append(o)
    res = EagerLinearization()
    res.primals_out, res.linear_inputs, res.trace = primals_out, linear_inputs, trace
    res.out_nodes, res.in_nodes = out_nodes, in_nodes
    return res
