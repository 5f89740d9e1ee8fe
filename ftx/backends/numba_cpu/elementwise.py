"""Scalar expressions of the elementwise primitives, for fused Numba kernels.

Mirrors ``ftx/lax/elementwise.py``: one entry per primitive that a kernel can
compute inline. Each entry turns the operands' expressions (and the equation)
into one Python expression over scalars. Transcendental functions (exp, log,
tanh, ...) are deliberately absent for now: Numba calls libm one element at a
time for them, several times slower than NumPy's SIMD loops, so the executor
runs them as NumPy ufuncs between kernels (until ftx ships vectorizable ones).
"""
from __future__ import annotations

import numpy as np

# Helpers the kernels call; defined in the prelude of every kernel module (see kernels.py).
PRELUDE = '''
@numba.njit(inline="always")
def _maximum(a, b):  # NaN-propagating, as np.maximum
    return a if (a > b or a != a) else b


@numba.njit(inline="always")
def _minimum(a, b):
    return a if (a < b or a != a) else b


@numba.njit(inline="always")
def _sign(a):
    return (a > 0) - (a < 0) if a == a else a
'''


def _binary(op):
    return lambda e, a, b: f"({a} {op} {b})"


def _convert(e, a):
    dtype = e.params["new_dtype"]
    if dtype.kind == "b":
        return f"({a} != 0)"
    return f"np.{dtype.name}({a})"


def _integer_pow(e, a):
    y = e.params["y"]
    if y == 0:
        return f"({a} * 0 + 1)"
    prod = " * ".join([a] * abs(y))
    return f"({prod})" if y > 0 else f"(1 / ({prod}))"


def _select_n(e, which, *cases):
    return f"({cases[1]} if {which} else {cases[0]})"


def _not(e, a):
    return f"(not {a})" if e.invars[0].aval.dtype.kind == "b" else f"(~{a})"


SCALAR_EXPRESSIONS = {
    "add": _binary("+"), "sub": _binary("-"), "mul": _binary("*"),
    "div": _binary("/"),  # floats only (see can_fuse); integer division truncates in lax
    "max": lambda e, a, b: f"_maximum({a}, {b})", "min": lambda e, a, b: f"_minimum({a}, {b})",
    "neg": lambda e, a: f"(-{a})", "abs": lambda e, a: f"abs({a})",
    "sign": lambda e, a: f"_sign({a})",
    "floor": lambda e, a: f"np.floor({a})", "ceil": lambda e, a: f"np.ceil({a})",
    "sqrt": lambda e, a: f"np.sqrt({a})", "is_finite": lambda e, a: f"np.isfinite({a})",
    "eq": _binary("=="), "ne": _binary("!="), "lt": _binary("<"), "le": _binary("<="),
    "gt": _binary(">"), "ge": _binary(">="),
    "and": _binary("&"), "or": _binary("|"), "xor": _binary("^"), "not": _not,
    "select_n": _select_n,
    "clamp": lambda e, lo, x, hi: f"_minimum(_maximum({x}, {lo}), {hi})",
    "convert_element_type": _convert,
    "integer_pow": _integer_pow,
    "stop_gradient": lambda e, a: a,
}


def can_fuse(eqn) -> bool:
    """Whether a kernel computes ``eqn`` inline (otherwise the executor calls its NumPy impl)."""
    name = eqn.primitive.name
    if name == "broadcast_in_dim":
        return True
    if name not in SCALAR_EXPRESSIONS:
        return False
    dtypes = [v.aval.dtype for v in eqn.invars] + [v.aval.dtype for v in eqn.outvars]
    if any(d.kind == "c" for d in dtypes):
        return False  # complex kernels: not yet
    if name == "div" and eqn.outvars[0].aval.dtype.kind != "f":
        return False
    if name == "select_n" and len(eqn.invars) != 3:
        return False
    if name == "integer_pow" and (abs(eqn.params["y"]) > 4 or
                                  (eqn.params["y"] < 0 and dtypes[0].kind != "f")):
        return False
    if name == "convert_element_type":
        src, dst = eqn.invars[0].aval.dtype, eqn.params["new_dtype"]
        # float -> int casts of NaN/inf are undefined in LLVM; keep NumPy's behaviour.
        if src.kind == "f" and dst.kind in "iu":
            return False
    return True


def literal(value, dtype) -> str:
    """A typed constant (``np.float32(2.0)``) so LLVM keeps f32 arithmetic in f32."""
    dtype = np.dtype(dtype)
    v = np.asarray(value).astype(dtype).item()
    if dtype.kind == "b":
        return "True" if v else "False"
    if dtype.kind == "f":
        if np.isnan(v):
            text = "np.nan"
        elif np.isinf(v):
            text = "np.inf" if v > 0 else "-np.inf"
        else:
            text = repr(float(v))
        return f"np.{dtype.name}({text})"
    return f"np.{dtype.name}({int(v)})"
