"""Jaxprs as Python source: the graph-building half of a runnable repro.

``to_source(jaxpr)`` writes a module fragment that rebuilds ``jaxpr`` by binding
each primitive, one line per equation, in the order of the graph::

    def graph(a, b):
        c = dot_general_p.bind1(a, b, dimension_numbers=(((1,), (0,)), ((), ())), preferred_element_type=None)
        d = tanh_p.bind1(c)  # train.py:12 (loss)
        return [d]

    JAXPR = build_jaxpr(graph, consts=[], inputs=[ShapedArray((3, 4), np.float32), ...])

Variable names are the ones the jaxpr printer uses, so the script and
``print(jaxpr)`` read side by side. Parameters are written as literals; arrays
(constants, array-valued parameters) go to a dict of arrays that the caller
saves next to the script (``.npz``). Python callables in parameters (custom
derivative rules, debug callbacks) are never serialized: they become
``not_saved('name')`` stand-ins that keep the name, so the rebuilt graph prints
identically and runs forward, but raise if the rule itself is needed.
"""
from __future__ import annotations

import enum
import keyword
import linecache
import math
import os

import numpy as np

from ftx.core.avals import ShapedArray
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal, Var, _Namer, _pp_jaxpr, subjaxprs
from ftx.core.primitive import Primitive
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import set_current_trace

__all__ = ["to_source", "source_parts", "from_source", "build_jaxpr", "not_saved", "jaxprs_equal",
           "ReproPrintError"]


class ReproPrintError(TypeError):
    """A parameter value that cannot be written as a Python literal."""


# --------------------------------------------------------------------------- helpers the scripts call

class not_saved:  # noqa: N801 - reads as a function call in the scripts
    """Stand-in for a Python callable that a repro does not serialize (it keeps the name).

    ``not_saved('softplus_jvp')`` prints as ``softplus_jvp`` in the jaxpr. Calling it
    raises NotImplementedError, except with ``ignore=True`` (debug callbacks), where it
    does nothing.
    """

    __slots__ = ("__name__", "ignore")

    def __init__(self, name: str, ignore: bool = False):
        self.__name__, self.ignore = name, ignore

    def __call__(self, *args, **kwargs):
        if self.ignore:
            return None
        raise NotImplementedError(
            f"the Python callable {self.__name__!r} was not saved in this repro (repros never "
            "serialize callables); the graph runs forward without it, but this step needs it")

    def __repr__(self):
        return self.__name__


def build_jaxpr(fn, consts, inputs, const_values=()) -> Jaxpr:
    """Trace ``fn(*constvars, *invars) -> list`` into a jaxpr with those constvars and invars.

    >>> JAXPR = build_jaxpr(graph, consts=[], inputs=[ShapedArray((3,), np.float32)])
    """
    consts, inputs = list(consts), list(inputs)
    with set_current_trace(None):
        traced = trace_to_jaxpr(lambda *a: list(fn(*a)), consts + inputs)
    if traced.constvars:  # the printer only writes literals inline, never closed-over arrays
        raise ValueError("build_jaxpr: the graph function closed over arrays; pass them as consts")
    n = len(consts)
    return Jaxpr(traced.invars[:n], traced.invars[n:], traced.outvars, traced.eqns,
                 list(const_values), None)


def from_source(source: str, arrays=None, name: str = "JAXPR") -> Jaxpr:
    """Execute source written by ``to_source`` (with its arrays) and return the rebuilt jaxpr."""
    namespace = {"__name__": "ftx_repro_graph", "ARRAYS": {} if arrays is None else arrays}
    exec(compile(source, "<ftx repro>", "exec"), namespace)
    return namespace[name]


# --------------------------------------------------------------------------- the writer

_RESERVED = set(keyword.kwlist) | {"np", "ftx", "ARRAYS", "JAXPR", "ShapedArray", "build_jaxpr",
                                   "not_saved", "float", "complex", "graph"}


def _primitive_import(prim: Primitive) -> tuple[str, str]:
    """(module, attribute) through which a script reaches ``prim``: ftx.lax when it is there."""
    import sys
    attr = f"{prim.name}_p"
    lax = sys.modules.get("ftx.lax")
    if lax is not None and getattr(lax, attr, None) is prim:
        return "ftx.lax", attr
    for mod_name, mod in sorted(sys.modules.items()):
        if mod_name.startswith("ftx.") and mod is not None:
            found = getattr(mod, attr, None)
            if found is prim:
                return mod_name, attr
    for mod_name, mod in sorted(sys.modules.items()):  # a primitive named unlike its variable
        if mod_name.startswith("ftx.") and mod is not None:
            for key, value in list(vars(mod).items()):
                if value is prim:
                    return mod_name, key
    raise ReproPrintError(f"repro printer: cannot find a module that defines primitive "
                          f"{prim.name!r} (looked for {attr} in the loaded ftx modules)")


class _Writer:
    def __init__(self, jaxpr: Jaxpr):
        # Name variables as print(jaxpr) does, so the script and the printed graph read alike.
        namer = _Namer()
        _pp_jaxpr(jaxpr, namer, 0, False)
        self.names: dict[Var, str] = {v: n + "_" if n in _RESERVED else n
                                      for v, n in namer.names.items()}
        self.imports: dict[str, set[str]] = {}
        self.blocks: list[str] = []
        self.jaxpr_names: dict[int, str] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self._keep: list = []  # jaxprs named by id: keep them alive while writing

    # ------------------------------------------------------------ names
    def var(self, v) -> str:
        if isinstance(v, Literal):
            return self.literal_value(v.val)
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = f"v{len(self.names)}_"  # not in the printed graph
        return name

    def need(self, module: str, name: str) -> str:
        self.imports.setdefault(module, set()).add(name)
        return name

    def array(self, prefix: str, value) -> str:
        key = f"{prefix}_{len(self.arrays)}"
        self.arrays[key] = np.asarray(value)
        return f"ARRAYS[{key!r}]"

    # ------------------------------------------------------------ literals
    def dtype(self, dtype) -> str:
        dtype = np.dtype(dtype)
        attr = getattr(np, dtype.name, None)
        if isinstance(attr, type) and issubclass(attr, np.generic) and np.dtype(attr) == dtype:
            return f"np.{dtype.name}"
        return f"np.dtype({dtype.str!r})"

    def aval(self, aval: ShapedArray) -> str:
        weak = ", True" if aval.weak_type else ""
        return f"ShapedArray({aval.shape!r}, {self.dtype(aval.dtype)}{weak})"

    @staticmethod
    def _float(x: float) -> str:
        if math.isnan(x):
            return "float('nan')"
        if math.isinf(x):
            return "float('inf')" if x > 0 else "-float('inf')"
        return repr(x)

    def literal_value(self, value) -> str:
        """A Python expression equal to ``value`` (same type, same bits)."""
        t = type(value)
        if value is None or t in (bool, int, str):
            return repr(value)
        if t is float:
            return self._float(value)
        if t is complex:
            return f"complex({self._float(value.real)}, {self._float(value.imag)})"
        if isinstance(value, np.generic):
            dt = value.dtype
            if dt.kind == "f" and dt.itemsize <= 8:
                return f"{self.dtype(dt)}({self._float(float(value))})"
            if dt.kind == "c" and dt.itemsize <= 16:
                return f"{self.dtype(dt)}(complex({self._float(float(value.real))}, " \
                       f"{self._float(float(value.imag))}))"
            if dt.kind in "iub":
                return f"{self.dtype(dt)}({value.item()!r})"
            return f"{self.array('value', value)}[()]"
        if isinstance(value, np.ndarray):
            if value.ndim == 0 and value.dtype.kind in "iubfc" and value.dtype.itemsize <= 16:
                return f"np.asarray({self.literal_value(value[()])})"
            return self.array("param", value)
        raise ReproPrintError(f"repro printer: cannot write {t.__name__} value {value!r}")

    def param(self, prim_name: str, key: str, value) -> str:
        if isinstance(value, Jaxpr):
            return self.jaxpr(value)
        if isinstance(value, tuple):
            inner = ", ".join(self.param(prim_name, key, v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, list):
            return "[" + ", ".join(self.param(prim_name, key, v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.param(prim_name, key, k)}: {self.param(prim_name, key, v)}"
                                   for k, v in value.items()) + "}"
        if isinstance(value, frozenset):
            return "frozenset({" + ", ".join(self.param(prim_name, key, v)
                                             for v in sorted(value, key=repr)) + "})"
        if isinstance(value, np.dtype):  # a dtype instance, not the scalar type
            return f"np.dtype({value.name!r})" if np.dtype(value.name) == value else \
                f"np.dtype({value.str!r})"
        if isinstance(value, type) and issubclass(value, np.generic):
            return self.dtype(value)
        if isinstance(value, ShapedArray):
            self.need("ftx.core.avals", "ShapedArray")
            return self.aval(value)
        if isinstance(value, enum.Enum):
            cls = type(value)
            self.need(cls.__module__, cls.__qualname__.split(".")[0])
            return f"{cls.__qualname__}.{value.name}"
        if isinstance(value, (bool, int, float, complex, str, np.generic, np.ndarray)) or value is None:
            return self.literal_value(value)
        if callable(value):
            self.need("ftx.debug.printer", "not_saved")
            name = getattr(value, "__name__", None) or type(value).__name__
            # A debug callback only observes values: without it the graph computes the same.
            ignore = ", ignore=True" if prim_name == "debug_callback" else ""
            return f"not_saved({name!r}{ignore})"
        raise ReproPrintError(f"repro printer: parameter {key}={value!r} of primitive {prim_name!r} "
                              f"is a {type(value).__name__}, which has no literal form")

    # ------------------------------------------------------------ graphs
    def eqn(self, eqn: JaxprEqn) -> str:
        module, attr = _primitive_import(eqn.primitive)
        self.need(module, attr)
        args = [self.var(a) for a in eqn.invars]
        args += [f"{k}={self.param(eqn.primitive.name, k, v)}" for k, v in eqn.params.items()]
        call = ", ".join(args)
        outs = [self.var(v) for v in eqn.outvars]
        if not outs:
            line = f"{attr}.bind({call})"
        elif len(outs) == 1:
            line = f"{outs[0]} = {attr}.bind1({call})"
        else:
            line = f"{', '.join(outs)} = {attr}.bind({call})"
        info = eqn.source_info
        if info is not None:
            line += f"  # {_origin(info)}"
        return line

    def jaxpr(self, jaxpr: Jaxpr, top_name: str | None = None) -> str:
        """Emit the function and build call for ``jaxpr`` (sub-jaxprs first); returns its name."""
        name = self.jaxpr_names.get(id(jaxpr))
        if name is not None:
            return name
        for sub in _sub_jaxprs_in_order(jaxpr):
            self.jaxpr(sub)
        name = top_name or f"jaxpr_{len(self.jaxpr_names) + 1}"
        fn = "graph" if top_name else f"_{name}"
        self.jaxpr_names[id(jaxpr)] = name
        self._keep.append(jaxpr)
        params = [self.var(v) for v in jaxpr.constvars + jaxpr.invars]
        body = [self.eqn(e) for e in jaxpr.eqns]
        outs = ", ".join(self.var(v) for v in jaxpr.outvars)
        lines = [f"def {fn}({', '.join(params)}):"]
        lines += ["    " + b for b in body]
        lines.append(f"    return [{outs}]")
        consts = ", ".join(self.aval(v.aval) for v in jaxpr.constvars)
        inputs = ", ".join(self.aval(v.aval) for v in jaxpr.invars)
        values = ""
        if jaxpr.constvars:
            values = ", const_values=[" + ", ".join(self.array("const", np.asarray(c))
                                                    for c in jaxpr.consts) + "]"
        lines.append("")
        lines.append(f"{name} = build_jaxpr({fn}, consts=[{consts}], inputs=[{inputs}]{values})")
        self.blocks.append("\n".join(lines))
        return name


def _sub_jaxprs_in_order(jaxpr: Jaxpr):
    seen = set()
    for eqn in jaxpr.eqns:
        for sub in subjaxprs(eqn.params):
            if id(sub) not in seen:
                seen.add(id(sub))
                yield sub


def to_source(jaxpr: Jaxpr, name: str = "JAXPR") -> tuple[str, dict]:
    """Python source that rebuilds ``jaxpr`` as ``name``, and the arrays it reads from ``ARRAYS``.

    >>> source, arrays = to_source(ftx.make_jaxpr(fnp.tanh)(np.ones(3)))
    >>> from_source(source, arrays)      # prints like the original
    """
    imports, body, arrays = source_parts(jaxpr, name)
    return imports + "\n\n\n" + body, arrays


def source_parts(jaxpr: Jaxpr, name: str = "JAXPR") -> tuple[str, str, dict]:
    """(the import lines, the graph functions and build calls, the arrays) of ``to_source``."""
    w = _Writer(jaxpr)
    w.jaxpr(jaxpr, top_name=name)
    w.need("ftx.core.avals", "ShapedArray")
    w.need("ftx.debug.printer", "build_jaxpr")
    header = ["import numpy as np", ""]
    for module in sorted(w.imports):
        header.append(_import_line(module, sorted(w.imports[module])))
    return "\n".join(header), "\n\n\n".join(w.blocks) + "\n", w.arrays


def _import_line(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 100:
        return line
    body, current = [], "    "
    for n in names:
        if len(current) + len(n) + 2 > 96:
            body.append(current.rstrip())
            current = "    "
        current += n + ", "
    body.append(current.rstrip())
    return f"from {module} import (\n" + "\n".join(body) + "\n)"


def _origin(info) -> str:
    """Where an equation came from, for its comment: ``file:line (function)``. An equation a
    repro script rebuilt keeps the comment of its line there (the user's line, not the
    script's), so a repro minified again still points at the user's code."""
    if not hasattr(info, "filename"):
        return str(info)
    if linecache.getline(info.filename, 1).startswith(f'"""{REPRO_HEADER}'):
        text = linecache.getline(info.filename, info.lineno)
        if ".bind" in text and "  # " in text:
            return text.rsplit("  # ", 1)[1].strip()
    return f"{os.path.basename(info.filename)}:{info.lineno} ({info.function})"


REPRO_HEADER = "ftx repro:"  # how a repro script's docstring starts (ftx/debug/repro.py)


# --------------------------------------------------------------------------- structural equality

def jaxprs_equal(a: Jaxpr, b: Jaxpr) -> bool:
    """True when ``a`` and ``b`` are the same graph up to variable identity: same types,
    primitives, parameters (sub-jaxprs compared recursively, callables by name), literals
    (value and type) and wiring, and equal constants.
    """
    return _explain_difference(a, b) is None


def _explain_difference(a: Jaxpr, b: Jaxpr, where: str = "jaxpr"):
    if len(a.constvars) != len(b.constvars) or len(a.invars) != len(b.invars) \
            or len(a.eqns) != len(b.eqns) or len(a.outvars) != len(b.outvars):
        return f"{where}: different sizes"
    env: dict = {}
    for x, y in zip(a.constvars + a.invars, b.constvars + b.invars):
        if x.aval != y.aval:
            return f"{where}: input types {x.aval} vs {y.aval}"
        env[x] = y
    for ca, cb in zip(a.consts, b.consts):
        ca, cb = np.asarray(ca), np.asarray(cb)
        if ca.dtype != cb.dtype or ca.shape != cb.shape or \
                not np.array_equal(ca, cb, equal_nan=ca.dtype.kind in "fc"):
            return f"{where}: constants differ"

    def same_atom(x, y):
        if isinstance(x, Literal) or isinstance(y, Literal):
            return isinstance(x, Literal) and isinstance(y, Literal) and _same_value(x.val, y.val) \
                and x.aval == y.aval
        return env.get(x) is y

    for i, (ea, eb) in enumerate(zip(a.eqns, b.eqns)):
        w = f"{where} equation {i} ({ea.primitive.name})"
        if ea.primitive is not eb.primitive:
            return f"{w}: primitive {eb.primitive.name}"
        if len(ea.invars) != len(eb.invars) or not all(map(same_atom, ea.invars, eb.invars)):
            return f"{w}: different operands"
        if ea.params.keys() != eb.params.keys():
            return f"{w}: parameter names differ"
        for k in ea.params:
            diff = _param_difference(ea.params[k], eb.params[k], f"{w} param {k}")
            if diff:
                return diff
        if len(ea.outvars) != len(eb.outvars):
            return f"{w}: output count"
        for x, y in zip(ea.outvars, eb.outvars):
            if x.aval != y.aval:
                return f"{w}: output types {x.aval} vs {y.aval}"
            env[x] = y
    if not all(map(same_atom, a.outvars, b.outvars)):
        return f"{where}: different outputs"
    return None


def _same_value(x, y) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype == y.dtype and np.shape(x) == np.shape(y) and \
            np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
    if isinstance(x, float) and math.isnan(x):
        return math.isnan(y)
    return x == y


def _param_difference(x, y, where):
    if isinstance(x, Jaxpr):
        return _explain_difference(x, y, where) if isinstance(y, Jaxpr) else f"{where}: not a jaxpr"
    if isinstance(x, (tuple, list)):
        if type(x) is not type(y) or len(x) != len(y):
            return f"{where}: {x!r} vs {y!r}"
        for i, (u, v) in enumerate(zip(x, y)):
            d = _param_difference(u, v, f"{where}[{i}]")
            if d:
                return d
        return None
    if isinstance(x, dict):
        if not isinstance(y, dict) or x.keys() != y.keys():
            return f"{where}: {x!r} vs {y!r}"
        for k in x:
            d = _param_difference(x[k], y[k], f"{where}[{k!r}]")
            if d:
                return d
        return None
    if callable(x) and not isinstance(x, (type, np.dtype)):
        same = callable(y) and getattr(x, "__name__", None) == getattr(y, "__name__", None)
        return None if same else f"{where}: callable {x!r} vs {y!r}"
    if isinstance(x, np.dtype) or isinstance(y, np.dtype):
        return None if np.dtype(x) == np.dtype(y) else f"{where}: {x!r} vs {y!r}"
    if isinstance(x, (np.ndarray, np.generic, float)):
        return None if _same_value(x, y) else f"{where}: {x!r} vs {y!r}"
    return None if type(x) is type(y) and x == y else f"{where}: {x!r} vs {y!r}"
