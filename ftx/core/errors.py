"""Error classes, named as in JAX so users can search for them.

Each subclasses the built-in exception a user would catch (TypeError, IndexError,
...). Messages say what went wrong, where (the traced function and the user's
line), and how to fix it.
"""
from __future__ import annotations

from ftx.core.source_info import current_source_info


def _where(tracer) -> str:
    """'The error occurred while tracing f at file.py:3 for make_jaxpr.' + the user's line."""
    parts = []
    trace = getattr(tracer, "_trace", None)
    debug = getattr(trace, "debug", None)
    if debug is not None:
        parts.append(f"The error occurred while tracing the function {debug.func_src} "
                     f"for {debug.transform}.")
    site = current_source_info()
    if site is not None:
        parts.append(f"The offending line is {site}.")
    return " ".join(parts)


def _describe(tracer) -> str:
    try:
        return f"traced array with shape {tracer.aval.str_short()}"
    except Exception:  # a tracer whose aval cannot be read still deserves a message
        return "traced array"


class ConcretizationTypeError(TypeError):
    """A traced value was used where Python needs a concrete one.

    Fix: make the value static (``static_argnums`` under ``jit``) or use a
    structured control-flow primitive such as ``ftx.lax.cond``.
    """

    def __init__(self, tracer, context: str = ""):
        msg = (f"Abstract tracer value encountered where a concrete value is expected: "
               f"{_describe(tracer)}. {context} {_where(tracer)} "
               "A traced value has no concrete value while a transform records the function. "
               "If it is an argument you need as a Python value, mark it static "
               "(static_argnums/static_argnames); for data-dependent control flow use "
               "ftx.lax.cond, ftx.lax.while_loop or ftx.numpy.where.")
        super().__init__(" ".join(msg.split()))


class TracerBoolConversionError(ConcretizationTypeError):
    """``bool(x)`` (an ``if``, ``and``, ``while``) on a traced value."""

    def __init__(self, tracer):
        TypeError.__init__(self, " ".join((
            f"Attempted boolean conversion of {_describe(tracer)}. {_where(tracer)} "
            "Python control flow (if/while/and/or) cannot depend on a traced value. "
            "Use ftx.numpy.where(cond, a, b) or ftx.lax.cond(pred, true_fun, false_fun, *operands) "
            "for a branch, ftx.lax.while_loop for a loop, or make the value static "
            "(static_argnums under ftx.jit).").split()))


class TracerIntegerConversionError(TypeError):
    """``int(x)``, ``range(x)`` or ``lst[x]`` on a traced value."""

    def __init__(self, tracer):
        super().__init__(" ".join((
            f"Attempted to convert {_describe(tracer)} to a Python integer (__index__/__int__). "
            f"{_where(tracer)} Shapes, axes and Python indexing need concrete integers; "
            "pass the value as a static argument, or index arrays with ftx.numpy (x[i] works "
            "with a traced i).").split()))


class TracerArrayConversionError(TypeError):
    """``np.asarray(x)`` or a NumPy function called on a traced value."""

    def __init__(self, tracer):
        super().__init__(" ".join((
            f"The numpy.ndarray conversion method __array__() was called on {_describe(tracer)}. "
            f"{_where(tracer)} A traced value has no data. Use ftx.numpy functions instead of "
            "numpy ones inside transformed functions (e.g. fnp.sin, not np.sin), or compute "
            "the NumPy value outside the transform.").split()))


class NonConcreteBooleanIndexError(IndexError):
    """Boolean-mask indexing with a traced mask (its result shape would depend on data)."""

    def __init__(self, tracer):
        super().__init__(" ".join((
            f"Array boolean indices must be concrete; got {_describe(tracer)}. {_where(tracer)} "
            "The result's shape would depend on the mask's values. Use "
            "ftx.numpy.where(mask, x, fill) to keep the shape, or compute the mask outside "
            "the transform.").split()))


class UnexpectedTracerError(Exception):
    """A tracer escaped the transform that made it (stored in a global, a list, ...)."""


def leaked_tracer_error(tracer, where: str) -> UnexpectedTracerError:
    trace = getattr(tracer, "_trace", None)
    debug = getattr(trace, "debug", None)
    created = getattr(tracer, "_source_info", None)
    parts = [f"Encountered an unexpected tracer: {_describe(tracer)} was used in {where} "
             "after the transform that created it had finished. A function transformed by ftx "
             "had a side effect (it stored an intermediate value in a global, a closure, an "
             "object attribute or a list), and the value escaped. Return values from the "
             "transformed function instead."]
    if debug is not None:
        parts.append(f"The function being traced when the value leaked was "
                     f"{debug.func_src} traced for {debug.transform}.")
    if created is not None:
        parts.append(f"The leaked value was created on line {created}.")
    return UnexpectedTracerError(" ".join(parts))


class JaxprTypeError(TypeError):
    """``check_jaxpr`` found an ill-typed graph (an ftx bug or a bad hand-made jaxpr)."""


class MissingRuleError(NotImplementedError):
    """A transform needs a rule that a primitive does not have."""
