"""The jaxpr IR: typed variables, literals, equations, and jaxprs with attached constants.

``{ lambda c:f32[4] ; a:f32[3,4]. let b:f32[3,4] = add a c in (b,) }``: constvars
(bound to ``jaxpr.consts``) before the ``;``, inputs after it, one equation per
line, outputs at the end. Higher-order primitives keep sub-jaxprs in their
params. ``check_jaxpr`` type-checks a graph; ``eval_jaxpr`` interprets it by
binding each primitive, so it runs eagerly on NumPy (the reference oracle) or
under any transform.
"""
from __future__ import annotations

import numpy as np

from ftx.core.avals import ShapedArray, get_aval
from ftx.core.errors import JaxprTypeError


class Var:
    """A variable; identity is the variable (names are given at print time)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A constant scalar inlined into an equation: prints as its value (``2.0``)."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val, self.aval = val, aval

    def __repr__(self):
        return f"Literal({self.val!r})"

    def pretty(self) -> str:
        # Python scalars (weak) print bare, as in `mul b 2.0`; typed NumPy scalars show their type.
        if self.aval.weak_type or type(self.val) is bool:
            return repr(self.val)
        return f"{self.val.item()!r}:{self.aval.str_short()}"


_new_object = object.__new__


class JaxprEqn:
    """``outvars = primitive[params] invars``, with the user's source line."""

    __slots__ = ("primitive", "invars", "outvars", "params", "source_info")

    def __init__(self, primitive, invars, outvars, params, source_info=None):
        self.primitive, self.invars, self.outvars = primitive, list(invars), list(outvars)
        self.params, self.source_info = dict(params), source_info

    @classmethod
    def fresh(cls, primitive, invars, outvars, params, source_info=None) -> "JaxprEqn":
        """An equation that takes ownership of ``invars``, ``outvars`` and ``params`` (no
        copies): for tracing, which builds them for this equation alone."""
        eqn = _new_object(cls)
        eqn.primitive, eqn.invars, eqn.outvars = primitive, invars, outvars
        eqn.params, eqn.source_info = params, source_info
        return eqn

    def replace(self, **changes) -> "JaxprEqn":
        fields = {s: getattr(self, s) for s in self.__slots__}
        fields.update(changes)
        return JaxprEqn(**fields)

    def __repr__(self):
        return pp_eqn(self, _Namer())


class Jaxpr:
    """A typed graph with its constants attached: ``Jaxpr(constvars, invars, outvars, eqns, consts)``.

    Hashable by identity so it can sit in equation params. ``in_avals``/``out_avals``
    give its type.
    """

    __slots__ = ("constvars", "invars", "outvars", "eqns", "consts", "debug_info", "__weakref__")

    def __init__(self, constvars, invars, outvars, eqns, consts=(), debug_info=None):
        self.constvars, self.invars = list(constvars), list(invars)
        self.outvars, self.eqns = list(outvars), list(eqns)
        self.consts = list(consts)
        if len(self.consts) != len(self.constvars):
            raise ValueError(f"Jaxpr: {len(self.constvars)} constvars but {len(self.consts)} consts")
        self.debug_info = debug_info

    @classmethod
    def fresh(cls, constvars, invars, outvars, eqns, consts, debug_info=None) -> "Jaxpr":
        """A jaxpr that takes ownership of the given lists (no copies): for a trace that has
        finished recording them."""
        if len(consts) != len(constvars):
            raise ValueError(f"Jaxpr: {len(constvars)} constvars but {len(consts)} consts")
        jaxpr = _new_object(cls)
        jaxpr.constvars, jaxpr.invars, jaxpr.outvars = constvars, invars, outvars
        jaxpr.eqns, jaxpr.consts, jaxpr.debug_info = eqns, consts, debug_info
        return jaxpr

    @property
    def in_avals(self) -> list:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list:
        return [v.aval for v in self.outvars]

    def consts_as_inputs(self) -> "Jaxpr":
        """The same graph with its constants as leading inputs (closure conversion).

        Higher-order primitives keep such jaxprs in params and pass the constants
        as operands, so transforms see values the function closed over.
        """
        return Jaxpr([], self.constvars + self.invars, self.outvars, self.eqns, [],
                     self.debug_info)

    def replace(self, **changes) -> "Jaxpr":
        fields = {s: getattr(self, s) for s in self.__slots__ if s != "__weakref__"}
        fields.update(changes)
        return Jaxpr(**fields)

    def __str__(self):
        return pp_jaxpr(self)

    def __repr__(self):
        return pp_jaxpr(self)

    def pretty_print(self, source_info: bool = False) -> str:
        """The text form; with ``source_info=True`` each equation is followed by its user line."""
        return pp_jaxpr(self, source_info=source_info)


# --------------------------------------------------------------------------- printing

class _Namer:
    """a, b, ..., z, ba, bb, ...: names in order of first appearance, shared by sub-jaxprs."""

    def __init__(self):
        self.names: dict[Var, str] = {}

    def __call__(self, v) -> str:
        if isinstance(v, Literal):
            return v.pretty()
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = _letters(len(self.names))
        return name


def _letters(n: int) -> str:
    s = ""
    while True:
        s = chr(ord("a") + n % 26) + s
        n = n // 26
        if n == 0:
            return s


def _pp_param(value, namer, indent) -> str:
    if isinstance(value, Jaxpr):
        return _pp_jaxpr(value, namer, indent + 2, False)
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, Jaxpr) for v in value):
        inner = ("\n" + " " * (indent + 2)).join(_pp_jaxpr(v, namer, indent + 2, False) for v in value)
        return "(\n" + " " * (indent + 2) + inner + "\n" + " " * indent + ")"
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return repr(value)


def pp_eqn(eqn: JaxprEqn, namer, indent: int = 0, source_info: bool = False) -> str:
    outs = " ".join(f"{namer(v)}:{v.aval.str_short()}" for v in eqn.outvars)
    params = ""
    if eqn.params:
        params = "[" + ", ".join(f"{k}={_pp_param(v, namer, indent)}" for k, v in eqn.params.items()) + "]"
    ins = " ".join(namer(v) for v in eqn.invars)
    line = f"{outs + ' = ' if outs else ''}{eqn.primitive.name}{params} {ins}".rstrip()
    if source_info and eqn.source_info is not None:
        line += f"  # {eqn.source_info}"
    return line


def _pp_jaxpr(jaxpr: Jaxpr, namer, indent: int, source_info: bool) -> str:
    consts = " ".join(f"{namer(v)}:{v.aval.str_short()}" for v in jaxpr.constvars)
    ins = " ".join(f"{namer(v)}:{v.aval.str_short()}" for v in jaxpr.invars)
    pad = " " * (indent + 4)
    body = "".join("\n" + pad + pp_eqn(e, namer, indent + 4, source_info) for e in jaxpr.eqns)
    outs = " ".join(namer(v) for v in jaxpr.outvars)
    outs = f"({outs},)" if len(jaxpr.outvars) == 1 else f"({outs})"
    head = f"{{ lambda {consts}{' ' if consts else ''}; {ins}. let"
    return f"{head}{body}\n{' ' * (indent + 2)}in {outs} }}"


def pp_jaxpr(jaxpr: Jaxpr, source_info: bool = False) -> str:
    return _pp_jaxpr(jaxpr, _Namer(), 0, source_info)


# --------------------------------------------------------------------------- checking

def subjaxprs(params):
    """The jaxprs inside an equation's params (for higher-order primitives)."""
    for value in params.values():
        if isinstance(value, Jaxpr):
            yield value
        elif isinstance(value, (tuple, list)):
            for v in value:
                if isinstance(v, Jaxpr):
                    yield v


def _same_type(a: ShapedArray, b: ShapedArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def check_jaxpr(jaxpr: Jaxpr) -> None:
    """Type-check ``jaxpr``: every variable defined once before use, every equation's
    output types equal its primitive's abstract evaluation, sub-jaxprs recursively.
    Raises JaxprTypeError naming the equation.
    """
    defined: set = set()

    # ``where`` is a string or a function making one: an equation's description costs a
    # pretty-print, paid only when there is something to report.
    def describe(where) -> str:
        return where() if callable(where) else where

    def define(v, where):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"check_jaxpr: {describe(where)} binds {v!r}, which is not a Var")
        if v in defined:
            raise JaxprTypeError(f"check_jaxpr: variable {v!r} defined twice "
                                 f"({describe(where)})")
        defined.add(v)

    def read(atom, where):
        if isinstance(atom, Literal):
            if not _same_type(get_aval(atom.val), atom.aval) and np.ndim(atom.val) != 0:
                raise JaxprTypeError(f"check_jaxpr: literal {atom!r} has aval {atom.aval} "
                                     f"({describe(where)})")
            return atom.aval
        if atom not in defined:
            raise JaxprTypeError(f"check_jaxpr: {describe(where)} reads {atom!r} before it "
                                 "is defined")
        return atom.aval

    for v, c in zip(jaxpr.constvars, jaxpr.consts):
        define(v, "a constvar")
        if not _is_tracer(c) and not _same_type(get_aval(c), v.aval):
            raise JaxprTypeError(f"check_jaxpr: constant of type {get_aval(c)} bound to "
                                 f"constvar of type {v.aval}")
    for v in jaxpr.invars:
        define(v, "an input")
    for eqn in jaxpr.eqns:
        def where(eqn=eqn):
            return f"equation `{pp_eqn(eqn, _Namer())}`" + (
                f" from {eqn.source_info}" if eqn.source_info else "")
        in_avals = [read(a, where) for a in eqn.invars]
        for sub in subjaxprs(eqn.params):
            check_jaxpr(sub)
        try:
            expected = eqn.primitive.abstract_eval(*in_avals, **eqn.params)
        except (TypeError, ValueError) as e:
            raise JaxprTypeError(f"check_jaxpr: {where()}: the primitive rejects its inputs: "
                                 f"{e}") from e
        if len(expected) != len(eqn.outvars):
            raise JaxprTypeError(f"check_jaxpr: {where()} has {len(eqn.outvars)} outputs, "
                                 f"the primitive gives {len(expected)}")
        for v, aval in zip(eqn.outvars, expected):
            if not _same_type(v.aval, aval):
                raise JaxprTypeError(f"check_jaxpr: {where()}: output typed {v.aval} but the "
                                     f"primitive gives {aval}")
            define(v, where)
    for v in jaxpr.outvars:
        read(v, "the output list")


def _is_tracer(x) -> bool:
    from ftx.core.trace import Tracer
    return isinstance(x, Tracer)


# --------------------------------------------------------------------------- evaluation

def eval_jaxpr(jaxpr: Jaxpr, *args, consts=None) -> list:
    """Run ``jaxpr`` on ``args`` by binding each primitive; returns the list of outputs.

    Outside transforms this is the NumPy reference interpreter; under a transform
    it replays the graph into that transform.
    """
    if len(args) != len(jaxpr.invars):
        raise TypeError(f"eval_jaxpr: the jaxpr takes {len(jaxpr.invars)} inputs, got {len(args)}")
    env: dict = {}
    consts = jaxpr.consts if consts is None else consts
    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x

    def read(a):
        return a.val if type(a) is Literal else env[a]

    for eqn in jaxpr.eqns:
        try:
            outs = eqn.primitive.bind(*[read(a) for a in eqn.invars], **eqn.params)
        except FloatingPointError as e:  # debug_nans: say which equation of the graph
            if eqn.source_info is not None and str(eqn.source_info) not in str(e):
                raise FloatingPointError(f"{e} The equation `{pp_eqn(eqn, _Namer())}` was "
                                         f"traced from {eqn.source_info}.") from None
            raise
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]
