"""Stackless tracing: one current trace in a ContextVar, each trace knows its parent.

There is no global stack of levels. A transform makes a trace whose ``parent``
is the trace that was current, makes it current with ``set_current_trace``
(a try/finally context manager) and, inside its rules, makes the parent current
again to compute primal values. A tracer belongs to exactly one trace; a trace
recognises its own tracers by ``tracer._trace.tag is self.tag`` and treats any
other value as a constant, which is what keeps nested derivatives apart
(no perturbation confusion). When a transform exits it ``invalidate()``s its
trace, so a tracer that escaped raises ``UnexpectedTracerError`` when used.
"""
from __future__ import annotations

import operator
from contextvars import ContextVar

from ftx.core import errors
from ftx.core.avals import ShapedArray, register_aval_handler

# None means "no transform": primitives run their NumPy impl (eager mode).
_current: ContextVar = ContextVar("ftx_current_trace", default=None)

# Set by ftx.debug.leaks while a ``checking_leaks()`` block is active: called with each trace
# as its transform exits. None otherwise, so an exit costs one global lookup.
on_trace_exit = None


def current_trace():
    """The innermost active trace, or None in eager mode."""
    return _current.get()


class set_current_trace:
    """``with set_current_trace(trace):`` makes ``trace`` (or None for eager) current for the
    block and restores the previous one after, even on error.

    A class rather than a generator-based context manager: every primitive a
    transform processes enters one, so it must be cheap.
    """

    __slots__ = ("trace", "token")

    def __init__(self, trace):
        self.trace = trace

    def __enter__(self):
        self.token = _current.set(self.trace)
        return self.trace

    def __exit__(self, *exc):
        _current.reset(self.token)
        return False


class TraceDebugInfo:
    """What is being traced, for error messages: ``f at file.py:3`` for ``make_jaxpr``.

    ``func_src`` is the description, or the function itself: then it is described only when
    a message asks (eager ``grad`` makes one per call, and most are never read).
    """

    __slots__ = ("transform", "_func_src", "arg_names")

    def __init__(self, transform: str, func_src, arg_names=None):
        self.transform, self._func_src, self.arg_names = transform, func_src, arg_names

    @property
    def func_src(self) -> str:
        src = self._func_src
        if not isinstance(src, str):
            from ftx.core.source_info import function_source_info
            src = self._func_src = function_source_info(src)
        return src


class Trace:
    """An interpreter. Subclasses implement ``process_primitive(prim, args, params) -> list``."""

    __slots__ = ("parent", "tag", "valid", "debug", "__weakref__")

    def __init__(self, parent=None, tag=None, debug: TraceDebugInfo | None = None):
        self.parent = parent
        # Traces of one transform invocation may share a tag (e.g. a rule that
        # re-enters the same transform); by default each trace is its own tag.
        self.tag = self if tag is None else tag
        self.valid = True
        self.debug = debug

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def invalidate(self) -> None:
        self.valid = False
        if on_trace_exit is not None:
            on_trace_exit(self)

    def owns(self, x) -> bool:
        return isinstance(x, Tracer) and x._trace.tag is self.tag

    def check_not_leaked(self, x, prim) -> None:
        if isinstance(x, Tracer) and not x._trace.valid:
            raise leaked(x, prim)

    def __repr__(self):
        what = self.debug.transform if self.debug else type(self).__name__
        return f"<{type(self).__name__} for {what}{'' if self.valid else ' (finished)'}>"


def leaked(tracer, prim) -> errors.UnexpectedTracerError:
    return errors.leaked_tracer_error(tracer, f"the primitive {getattr(prim, 'name', prim)!r}")


# Operators and methods of Tracer are filled in by ftx.numpy (the layer that
# knows the functions); the core only provides the hook, as JAX does.
_tracer_methods: dict[str, object] = {}


def register_tracer_methods(methods: dict) -> None:
    """Install array operators/methods (``__add__``, ``sum``, ...) on every Tracer."""
    _tracer_methods.update(methods)
    for name, fn in methods.items():
        setattr(Tracer, name, fn)


class Tracer:
    """A value inside a transform. Subclasses provide ``aval`` and a readable repr."""

    __slots__ = ("_trace",)
    # Make ndarray binary operators defer to the tracer's reflected ones.
    __array_priority__ = 1000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_aval_handler(cls, _tracer_aval)  # get_aval finds tracers by exact type

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    # C-level getters: ftx.numpy reads these for every operand it is given.
    shape = property(operator.attrgetter("aval.shape"))
    dtype = property(operator.attrgetter("aval.dtype"))
    ndim = property(operator.attrgetter("aval.ndim"))
    size = property(operator.attrgetter("aval.size"))
    weak_type = property(operator.attrgetter("aval.weak_type"))

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __bool__(self):
        raise errors.TracerBoolConversionError(self)

    def __index__(self):
        raise errors.TracerIntegerConversionError(self)

    __int__ = __index__

    def __float__(self):
        raise errors.ConcretizationTypeError(self, "float() needs a concrete value.")

    def __complex__(self):
        raise errors.ConcretizationTypeError(self, "complex() needs a concrete value.")

    def __array__(self, dtype=None, copy=None):
        if not self._trace.valid:  # e.g. an escaped tracer handed to eager ftx.numpy (NumPy)
            raise leaked(self, "a NumPy function")
        raise errors.TracerArrayConversionError(self)

    def __hash__(self):
        raise TypeError(f"unhashable type: {type(self).__name__} (traced arrays cannot be "
                        "dict keys or static arguments)")

    def __repr__(self):
        return f"{type(self).__name__}({self.aval.str_short()})"

    def __getattr__(self, name):
        # Only reached for names not defined anywhere: say what the tracer is.
        raise AttributeError(f"{type(self).__name__} with aval {self.aval.str_short()} "
                             f"has no attribute {name!r}")


# get_aval(tracer) is asked for every operand of every traced operation: a C-level getter.
_tracer_aval = operator.attrgetter("aval")


register_aval_handler(Tracer, _tracer_aval)
