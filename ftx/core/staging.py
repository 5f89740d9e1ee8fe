"""Tracing Python functions to jaxprs: ``make_jaxpr``, ``eval_shape`` and the staging trace."""
from __future__ import annotations

import functools

import numpy as np

from ftx.core import pytree
from ftx.core.avals import ShapedArray, ShapeDtypeStruct, get_aval
from ftx.core.config import config
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal, Var, check_jaxpr
from ftx.core.source_info import current_source_info, function_source_info
from ftx.core.trace import Trace, TraceDebugInfo, Tracer, current_trace, leaked, set_current_trace

_PY_SCALARS = (bool, int, float, complex)


class JaxprTracer(Tracer):
    """A value being recorded into a jaxpr: it knows only its type and its variable."""

    __slots__ = ("var", "_source_info", "aval")

    def __init__(self, trace, var: Var, source_info=None):
        self._trace, self.var, self._source_info = trace, var, source_info
        self.aval: ShapedArray = var.aval  # an attribute, not a property: read very often

    def __repr__(self):
        transform = self._trace.debug.transform if self._trace.debug else "tracing"
        return f"JaxprTracer({self.var.aval.str_short()}, for {transform})"


class JaxprTrace(Trace):
    """Records every primitive applied to its tracers as an equation.

    Values from outside (NumPy arrays, tracers of enclosing transforms) become
    constants of the jaxpr; Python scalars and 0-d NumPy values become literals.
    """

    __slots__ = ("eqns", "invars", "constvars", "consts", "_const_vars", "source_info")

    def __init__(self, parent=None, debug=None):
        super().__init__(parent, debug=debug)
        self.eqns: list[JaxprEqn] = []
        self.invars: list[Var] = []
        self.constvars: list[Var] = []
        self.consts: list = []
        self._const_vars: dict[int, Var] = {}
        # The user's line for the equations being recorded, set by a transform above that
        # already found it (jvp, for all the equations of one rule); None: each equation
        # finds its own, by walking the Python stack.
        self.source_info = None

    def new_arg(self, aval: ShapedArray) -> JaxprTracer:
        var = Var(aval)
        self.invars.append(var)
        return JaxprTracer(self, var)

    def to_atom(self, x, prim=None):
        if isinstance(x, JaxprTracer) and x._trace is self:
            return x.var
        if isinstance(x, Tracer):
            if not x._trace.valid:
                raise leaked(x, prim if prim is not None else "the output of a traced function")
            return self._const(x)  # a value of an enclosing transform: closed over
        if type(x) in _PY_SCALARS:
            return Literal(x, get_aval(x))
        if isinstance(x, (np.ndarray, np.generic)) and x.ndim == 0:
            return Literal(x, get_aval(x))
        return self._const(x)

    def _const(self, x) -> Var:
        var = self._const_vars.get(id(x))
        if var is None:
            if isinstance(x, Tracer):
                aval = x.aval
            else:
                if not isinstance(x, np.ndarray):
                    x = np.asarray(x)
                aval = get_aval(x)  # an array's aval is never weak
            var = self._const_vars[id(x)] = Var(aval)
            self.constvars.append(var)
            self.consts.append(x)
        return var

    def process_primitive(self, prim, args, params):
        invars = []
        for a in args:
            if type(a) is JaxprTracer and a._trace is self:  # the usual operand: ours
                invars.append(a.var)
            else:
                invars.append(self.to_atom(a, prim))
        return self.stage_eqn(prim, invars, params)

    def stage_eqn(self, prim, invars, params) -> list:
        """Record ``prim`` applied to the atoms ``invars``; returns tracers of its outputs.

        Tracing does this for every operation, so it takes ownership of ``invars`` and
        ``params`` (``bind`` made them for this call alone) rather than copying them.
        """
        out_avals = abstract_eval(prim, [v.aval for v in invars], params)
        source_info = self.source_info or current_source_info()
        if len(out_avals) == 1:  # the usual case, without the comprehensions
            var = Var(out_avals[0])
            self.eqns.append(JaxprEqn.fresh(prim, invars, [var], params, source_info))
            return [JaxprTracer(self, var, source_info)]
        outvars = [Var(a) for a in out_avals]
        self.eqns.append(JaxprEqn.fresh(prim, invars, outvars, params, source_info))
        return [JaxprTracer(self, v, source_info) for v in outvars]

    def to_jaxpr(self, outs, debug_info=None) -> Jaxpr:
        """The recorded jaxpr with outputs ``outs``; it takes over this trace's lists, so
        call it once, when recording is done."""
        outvars = [self.to_atom(x) for x in outs]
        jaxpr = Jaxpr.fresh(self.constvars, self.invars, outvars, self.eqns, self.consts,
                            debug_info)
        if config.enable_checks:
            check_jaxpr(jaxpr)
        return jaxpr


_abstract_eval_cache: dict = {}


def abstract_eval(prim, in_avals, params) -> list:
    """``prim.abstract_eval`` memoized on (primitive, input avals, params): tracing asks the
    same question for every repeated operation, and shape rules can be costly (dot_general)."""
    try:
        key = (prim, *in_avals, *params.items())
        hit = _abstract_eval_cache.get(key)
    except TypeError:  # an unhashable param: no memo
        return prim.abstract_eval(*in_avals, **params)
    if hit is None:
        hit = prim.abstract_eval(*in_avals, **params)
        if _memoizable(params):
            if len(_abstract_eval_cache) > 20000:
                _abstract_eval_cache.clear()
            _abstract_eval_cache[key] = hit
    return list(hit)


def _memoizable(params) -> bool:
    """False for params holding Python functions (custom rules, callbacks) or sub-jaxprs:
    hashed by identity and made afresh per call, they never hit, and this global would keep
    alive what they hold (tracers in closures, constants)."""
    for v in params.values():
        if isinstance(v, Jaxpr) or (callable(v) and not isinstance(v, type)):
            return False
        if type(v) is tuple and any(isinstance(x, Jaxpr) for x in v):
            return False
    return True


def trace_to_jaxpr(fun, in_avals, debug: TraceDebugInfo | None = None) -> Jaxpr:
    """Trace ``fun(*tracers) -> list of outputs`` (flat) to a jaxpr with the given input avals."""
    trace = JaxprTrace(parent=current_trace(), debug=debug)
    tracers = [trace.new_arg(a) for a in in_avals]
    try:
        with set_current_trace(trace):
            outs = fun(*tracers)
        return trace.to_jaxpr(outs, debug_info=debug)
    finally:
        trace.invalidate()


def _abstractify(x) -> ShapedArray:
    if isinstance(x, ShapedArray):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (np.ndarray, np.generic, Tracer)):
        return ShapedArray(x.shape, x.dtype, getattr(x, "weak_type", False))
    return get_aval(x)


def _flat_trace(fun, args, kwargs, transform: str):
    """Flatten pytree ``args``/``kwargs``, trace ``fun`` on them, return (jaxpr, out_tree)."""
    flat_args, in_tree = pytree.tree_flatten((args, kwargs))
    in_avals = [_abstractify(x) for x in flat_args]
    out_tree_box = []

    def flat_fun(*flat):
        a, k = pytree.tree_unflatten(in_tree, flat)
        out = fun(*a, **k)
        leaves, out_tree = pytree.tree_flatten(out)
        out_tree_box.append(out_tree)
        return leaves

    debug = TraceDebugInfo(transform, function_source_info(fun))
    jaxpr = trace_to_jaxpr(flat_fun, in_avals, debug)
    return jaxpr, out_tree_box[0]


def make_jaxpr(fun, static_argnums=(), return_shape: bool = False):
    """``make_jaxpr(f)(*args)`` traces ``f`` and returns its jaxpr.

    >>> print(ftx.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.ones(3, np.float32)))
    { lambda ; a:f32[3]. let
        b:f32[3] = sin a
        c:f32[3] = mul b 2.0
      in (c,) }

    Arguments may be arrays, Python scalars or ``ShapeDtypeStruct``s; arguments
    whose positions are in ``static_argnums`` are passed to ``f`` as they are.
    With ``return_shape=True`` also returns the output as ``ShapeDtypeStruct``s.
    """
    static_argnums = _normalize_argnums(static_argnums)

    @functools.wraps(fun)
    def make_jaxpr_f(*args, **kwargs):
        dyn_fun, dyn_args = _split_static(fun, args, static_argnums)
        jaxpr, out_tree = _flat_trace(dyn_fun, dyn_args, kwargs, "make_jaxpr")
        if return_shape:
            shapes = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in jaxpr.out_avals]
            return jaxpr, pytree.tree_unflatten(out_tree, shapes)
        return jaxpr

    make_jaxpr_f.__name__ = f"make_jaxpr({getattr(fun, '__name__', 'fun')})"
    return make_jaxpr_f


def eval_shape(fun, *args, **kwargs):
    """The output shapes and dtypes of ``fun(*args)`` without computing anything.

    >>> ftx.eval_shape(lambda x: x @ x.T, ShapeDtypeStruct((3, 4), np.float32))
    ShapeDtypeStruct(shape=(3, 3), dtype=float32)
    """
    jaxpr, out_tree = _flat_trace(fun, args, kwargs, "eval_shape")
    shapes = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in jaxpr.out_avals]
    return pytree.tree_unflatten(out_tree, shapes)


def _normalize_argnums(argnums) -> tuple:
    if isinstance(argnums, int):
        return (argnums,)
    return tuple(argnums)


def _split_static(fun, args, static_argnums):
    """A function of the non-static arguments only, and those arguments."""
    if not static_argnums:
        return fun, args
    n = len(args)
    static = {i % n if i < 0 else i for i in static_argnums}
    for i in static:
        if i >= n:
            raise ValueError(f"static_argnums={static_argnums} names argument {i}, but the "
                             f"function was called with {n} positional arguments")
    dyn_args = tuple(a for i, a in enumerate(args) if i not in static)

    def dyn_fun(*dyn, **kwargs):
        it = iter(dyn)
        full = [args[i] if i in static else next(it) for i in range(n)]
        return fun(*full, **kwargs)

    return dyn_fun, dyn_args
