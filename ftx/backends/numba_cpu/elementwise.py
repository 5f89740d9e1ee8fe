"""Scalar expressions of the elementwise primitives, for fused Numba kernels.

Mirrors ``ftx/lax/elementwise.py``: one entry per primitive that a kernel can
compute inline. Each entry turns the operands' expressions (and the equation)
into one Python expression over scalars. The transcendentals in ``VMATH`` call
ftx's own vectorizable float32/float64 implementations (``vmath.py``; the kernel
generator pastes their source into the kernel module): Numba's ``math.exp`` and
friends are scalar libm calls that keep a loop from vectorizing, several times
slower than NumPy's SIMD loops. The other transcendentals (sin, cos, pow, ...)
are absent: the executor runs them as NumPy ufuncs between kernels.
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


# Transcendentals computed by vmath.py, and the dtypes each has an implementation for:
# ``exp`` on float32 becomes ``exp_f32(x)``.
VMATH = {"exp": ("float32", "float64"), "expm1": ("float32", "float64"),
         "log": ("float32", "float64"), "log1p": ("float32", "float64"),
         "tanh": ("float32", "float64"), "logistic": ("float32", "float64"),
         "erf": ("float32", "float64")}


def _vmath_call(name):
    def expr(e, a):
        return f"{name}_{'f32' if e.outvars[0].aval.dtype == np.float32 else 'f64'}({a})"
    return expr


SCALAR_EXPRESSIONS.update({name: _vmath_call(name) for name in VMATH})

# Alone in a kernel these lose to NumPy's AVX-512 loops (Numba's kernels use 256-bit vectors):
# measured on 1M elements, e.g. float64 exp 1.24 vs 0.88 ns per element, while exp(x) * 2 + 1
# fused beats NumPy's three passes (1.40 vs 1.87). logistic and erf win even alone.
_FASTER_IN_NUMPY_ALONE = frozenset({"exp", "expm1", "log", "log1p", "tanh"})


def prefers_numpy(group) -> bool:
    """Whether fused ``group`` is a lone transcendental that NumPy's ufunc computes faster than
    a kernel would (so the executor had better call the NumPy impl).

    ``prefers_numpy(Group of [exp])`` is True; of ``[exp, mul]`` False.
    """
    return len(group.eqns) == 1 and group.eqns[0].primitive.name in _FASTER_IN_NUMPY_ALONE


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
    if name in VMATH and eqn.outvars[0].aval.dtype.name not in VMATH[name]:
        return False  # e.g. float16: NumPy's ufunc
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

def operand_dtype(eqn):
    """The dtype weak literals of ``eqn`` take: that of its strong data operands (for
    select_n, the cases, not the selector)."""
    operands = eqn.invars[1:] if eqn.primitive.name == "select_n" else eqn.invars
    for v in operands:
        if not v.aval.weak_type:
            return v.aval.dtype
    return eqn.outvars[0].aval.dtype


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
