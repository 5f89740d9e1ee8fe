"""Primitives, their rule tables, and ``bind``: the one door into every interpreter.

A primitive is a name plus rules. ``impl`` (NumPy) and ``abstract_eval`` live on
the primitive; every other kind of rule lives in ``RULES[kind][primitive]``,
filled in by the block that defines the primitive. Data arguments are
positional, parameters keyword-only and hashable; every rule returns a list.
"""
from __future__ import annotations

from ftx.core import nan_checks
from ftx.core import trace as _trace
from ftx.core.errors import MissingRuleError

# Rule kinds a transform may ask for. impl/abstract_eval are attributes of the
# primitive (hot path); the rest are tables a transform reads.
RULE_KINDS = ("impl", "abstract_eval", "jvp", "transpose", "batch")
# Optional kinds, only for higher-order primitives (those carrying sub-jaxprs):
# "partial_eval" splits one equation into a known and an unknown part.
OPTIONAL_RULE_KINDS = ("partial_eval",)


class _RuleTable(dict):
    """A rule table that counts its changes (``rules_version``): caches derived from rules
    (the eager grad's per-primitive reverse rules) start over when a rule is replaced,
    even by a test that patches the table directly. Reads are plain dict reads."""

    __slots__ = ()

    def __setitem__(self, key, value):
        _bump()
        super().__setitem__(key, value)

    def __delitem__(self, key):
        _bump()
        super().__delitem__(key)

    def _changed(name):
        def method(self, *args, **kwargs):
            _bump()
            return getattr(dict, name)(self, *args, **kwargs)
        method.__name__ = name
        return method

    update, pop, popitem, setdefault, clear, __ior__ = map(
        _changed, ("update", "pop", "popitem", "setdefault", "clear", "__ior__"))
    del _changed


# Incremented on every change to a rule table (see _RuleTable).
rules_version = 0


def _bump():
    global rules_version
    rules_version += 1


RULES: dict[str, dict["Primitive", object]] = {
    kind: _RuleTable() for kind in RULE_KINDS[2:] + OPTIONAL_RULE_KINDS}

_PRIMITIVES: dict[str, "Primitive"] = {}


class Primitive:
    """``sin_p = Primitive('sin')``; ``sin_p.bind(x)`` returns ``[sin(x)]`` (always a list).

    ``bind1`` is the one-output shortcut. Outside any transform ``bind`` calls the
    NumPy ``impl`` directly, so eager ftx costs about what NumPy costs.
    """

    __slots__ = ("name", "impl", "abstract_eval", "exemptions", "uses_axis_name", "effectful",
                 "__weakref__")

    def __init__(self, name: str):
        if name in _PRIMITIVES:
            raise ValueError(f"a primitive named {name!r} already exists")
        self.name = name
        self.impl = self._missing_impl
        self.abstract_eval = self._missing_abstract_eval
        self.exemptions: dict[str, str] = {}
        # Collectives over a named vmap axis (psum, axis_index, ...) set this: the vmap
        # that binds the name must see them even when no operand is batched.
        self.uses_axis_name = False
        # Primitives whose impl does something besides computing its outputs (debug_callback)
        # set this: graph passes never drop, merge or pre-compute their equations.
        self.effectful = False
        _PRIMITIVES[name] = self

    def __repr__(self):
        return self.name

    def bind(self, *args, **params) -> list:
        trace = _trace._current.get()
        if trace is None:  # eager: straight to NumPy
            for a in args:
                if isinstance(a, _trace.Tracer):
                    raise _trace.leaked(a, self)
            outs = self.impl(*args, **params)
            if nan_checks.active:
                nan_checks.check(self.name, outs)
            return outs
        return trace.process_primitive(self, args, params)

    def bind1(self, *args, **params):
        trace = _trace._current.get()
        if trace is None:  # the same as bind, inlined: this is the eager hot path
            for a in args:
                if isinstance(a, _trace.Tracer):
                    raise _trace.leaked(a, self)
            outs = self.impl(*args, **params)
            if nan_checks.active:
                nan_checks.check(self.name, outs)
            return outs[0]
        return trace.process_primitive(self, args, params)[0]

    def def_impl(self, impl):
        """Register the NumPy implementation: ``impl(*arrays, **params) -> list``."""
        self.impl = impl
        return impl

    def def_abstract_eval(self, rule):
        """Register the shape/dtype rule: ``rule(*avals, **params) -> list of ShapedArray``."""
        self.abstract_eval = rule
        return rule

    def exempt(self, kind: str, reason: str) -> None:
        """Declare that this primitive needs no rule of ``kind`` (e.g. integer-only ops have no transpose)."""
        self.exemptions[kind] = reason

    def _missing_impl(self, *args, **params):
        raise MissingRuleError(f"primitive {self.name!r} has no impl rule")

    def _missing_abstract_eval(self, *avals, **params):
        raise MissingRuleError(f"primitive {self.name!r} has no abstract_eval rule")


def def_rule(kind: str, prim: Primitive, rule) -> None:
    """``def_rule('jvp', sin_p, sin_jvp)``: put a rule in the table of its kind."""
    if kind not in RULES:
        raise ValueError(f"unknown rule kind {kind!r}; the kinds are {', '.join(RULES)}")
    RULES[kind][prim] = rule


def get_rule(kind: str, prim: Primitive, operands=()):
    """The rule of ``kind`` for ``prim``; a MissingRuleError naming both and the operands'
    types if absent (``operands``: values or avals, only inspected for that message)."""
    rule = RULES[kind].get(prim)
    if rule is None:
        from ftx.core.avals import ShapedArray, get_aval

        def describe(x):
            try:
                return (x if isinstance(x, ShapedArray) else get_aval(x)).str_short()
            except Exception:  # UndefinedPrimal, Zero, ...: their own repr
                return repr(x)

        avals_str = ", ".join(describe(a) for a in operands)
        why = prim.exemptions.get(kind)
        reason = f" ({why})" if why else ""
        raise MissingRuleError(f"primitive {prim.name!r} has no {kind} rule{reason}; "
                               f"it was applied to ({avals_str})")
    return rule


def all_primitives() -> dict[str, Primitive]:
    """Every primitive defined so far, by name."""
    return dict(_PRIMITIVES)


def rule_coverage() -> dict[str, dict[str, str]]:
    """For each primitive and rule kind: 'yes', 'exempt: <why>' or 'missing'."""
    table = {}
    for name, prim in sorted(_PRIMITIVES.items()):
        row = {
            "impl": "yes" if prim.impl != prim._missing_impl else "missing",
            "abstract_eval": "yes" if prim.abstract_eval != prim._missing_abstract_eval else "missing",
        }
        for kind in RULE_KINDS[2:]:
            rules = RULES[kind]
            if prim in rules:
                row[kind] = "yes"
            elif kind in prim.exemptions:
                row[kind] = "exempt: " + prim.exemptions[kind]
            else:
                row[kind] = "missing"
        table[name] = row
    return table
