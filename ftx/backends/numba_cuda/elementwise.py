"""Scalar expressions of the elementwise primitives in CUDA kernels.

The arithmetic, comparison, logical, select and conversion entries are the CPU backend's
(``numba_cpu.elementwise``), which Numba compiles for the GPU unchanged. Functions that
the CPU table spells with NumPy (``np.floor``) or leaves out (exp, tanh, ...: slow as scalar
libm calls on a CPU) map here to libdevice (``ld.expf``), which is fast on a GPU. Every
expression's value is cast to its output dtype by the kernel generator, so float32 code
stays float32.
"""
from __future__ import annotations

import numpy as np

from ftx.backends.numba_cpu import elementwise as cpu

# Entries taken from the CPU table as they are: plain Python operators and casts.
_SHARED = ("add", "sub", "mul", "div", "neg", "abs", "eq", "ne", "lt", "le", "gt", "ge", "and",
           "or", "xor", "not", "convert_element_type", "integer_pow", "stop_gradient")

# Kernels call no helper functions: compiling a call to a CUDA device function (or to the
# ``min``/``max`` overloads of numba's built-in CUDA target) asks the driver for the GPU's
# compute capability, which fails where no GPU is present, so PTX could not be checked in CI.
# The helpers below write the expression out instead; the compiler merges the repeats.


def maximum(a: str, b: str) -> str:
    """NaN-propagating maximum, as np.maximum."""
    return f"({a} if ({a} > {b} or {a} != {a}) else {b})"


def minimum(a: str, b: str) -> str:
    return f"({a} if ({a} < {b} or {a} != {a}) else {b})"


def _sign(e, a):
    return f"((1 if {a} > 0 else (-1 if {a} < 0 else 0)) if {a} == {a} else {a})"


def _clamp(e, lo, x, hi):
    return minimum(maximum(x, lo), hi)


# primitive -> libdevice function (float64 spelling; float32 adds "f").
_LIBDEVICE = {
    "exp": "exp", "exp2": "exp2", "log": "log", "log1p": "log1p", "expm1": "expm1",
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "asinh", "acosh": "acosh",
    "atanh": "atanh", "sqrt": "sqrt", "rsqrt": "rsqrt", "cbrt": "cbrt", "floor": "floor",
    "ceil": "ceil", "erf": "erf", "erfc": "erfc", "lgamma": "lgamma", "pow": "pow",
    "atan2": "atan2", "rem": "fmod", "nextafter": "nextafter",
}


def _libdevice(fn):
    def expr(e, *operands):
        suffix = "f" if e.outvars[0].aval.dtype == np.float32 else ""
        return f"ld.{fn}{suffix}({', '.join(operands)})"
    return expr


def _round(e, a):
    # rounding_method 0: half away from zero (lax's default); 1: half to even.
    fn = "rint" if int(e.params["rounding_method"]) == 1 else "round"
    return _libdevice(fn)(e, a)


def _logistic(e, a):
    # 1 / (1 + exp(-a)), written so exp never overflows: only exp(-|a|) <= 1 is formed.
    one = cpu.literal(1, e.outvars[0].aval.dtype)
    exp = _libdevice("exp")
    return (f"({one} / ({one} + {exp(e, f'-{a}')}) if {a} >= 0 else "
            f"{exp(e, a)} / ({one} + {exp(e, a)}))")


def _select_n(e, which, *cases):
    # Any number of cases: nested conditionals from the last case down.
    expr = cases[0]
    if e.invars[0].aval.dtype.kind == "b":
        return f"({cases[1]} if {which} else {cases[0]})"
    for k in range(1, len(cases)):
        expr = f"({cases[k]} if {which} == {k} else {expr})"
    return expr


SCALAR_EXPRESSIONS = {name: cpu.SCALAR_EXPRESSIONS[name] for name in _SHARED}
SCALAR_EXPRESSIONS.update({name: _libdevice(fn) for name, fn in _LIBDEVICE.items()})
SCALAR_EXPRESSIONS.update({
    "max": lambda e, a, b: maximum(a, b), "min": lambda e, a, b: minimum(a, b),
    "sign": _sign, "clamp": _clamp,
    "is_finite": lambda e, a: f"math.isfinite({a})",
    "round": _round,
    "logistic": _logistic,
    "select_n": _select_n,
})

_FLOAT_ONLY = set(_LIBDEVICE) | {"round", "logistic", "is_finite"}
# Dtypes a kernel handles: no float16 (libdevice has no half functions) and no complex.
KERNEL_DTYPES = frozenset(np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float32, np.float64))


def can_fuse(eqn) -> bool:
    """Whether a CUDA kernel computes ``eqn`` inline (everything else is a separate step)."""
    name = eqn.primitive.name
    if name == "broadcast_in_dim":
        return eqn.outvars[0].aval.dtype in KERNEL_DTYPES
    if name not in SCALAR_EXPRESSIONS:
        return False
    dtypes = [v.aval.dtype for v in eqn.invars] + [v.aval.dtype for v in eqn.outvars]
    if any(d not in KERNEL_DTYPES for d in dtypes):
        return False
    if name in _FLOAT_ONLY and eqn.invars[0].aval.dtype.kind != "f":
        return False
    if name == "div" and eqn.outvars[0].aval.dtype.kind != "f":
        return False  # integer division rounds toward -inf in lax; Python's // differs on GPU
    if name == "integer_pow" and (abs(eqn.params["y"]) > 4 or
                                  (eqn.params["y"] < 0 and dtypes[0].kind != "f")):
        return False
    return True


operand_dtype = cpu.operand_dtype
literal = cpu.literal

__all__ = ["SCALAR_EXPRESSIONS", "can_fuse", "operand_dtype", "literal",
           "KERNEL_DTYPES", "maximum", "minimum"]
