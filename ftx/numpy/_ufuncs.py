"""NumPy's elementwise functions (ufuncs and friends), with NumPy 2 promotion and broadcasting.

Eagerly each function is its NumPy twin; under a transform the body below
expresses the same semantics with lax primitives.
"""
from __future__ import annotations

import numpy as np

from ftx import lax
from ftx.numpy._core import (asarray, cast, dtype_of, eager_numpy, promote_args,
                             promote_args_inexact, promote_shapes, result_type, shape_of)

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod",
    "fmod", "divmod", "power", "pow", "float_power", "negative", "positive", "absolute", "abs",
    "fabs", "sign", "reciprocal", "square", "sqrt", "cbrt", "exp", "exp2", "expm1", "log", "log2",
    "log10", "log1p", "logaddexp", "logaddexp2", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "arctan2", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "asinh", "acosh", "atanh", "deg2rad", "rad2deg", "degrees", "radians", "hypot",
    "maximum", "minimum", "fmax", "fmin", "floor", "ceil", "trunc", "fix", "rint", "round",
    "around", "clip", "sinc", "heaviside", "copysign", "nextafter", "signbit", "ldexp",
    "conjugate", "conj", "real", "imag", "angle", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "isreal", "iscomplex", "nan_to_num", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert", "invert",
    "bitwise_count", "left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift",
    "where", "isclose", "allclose", "array_equal", "array_equiv", "iscomplexobj", "isrealobj",
]


def _unary_inexact(np_fn, lax_fn):
    @eager_numpy(np_fn)
    def fn(x, /):
        (x,) = promote_args_inexact(np_fn.__name__, x)
        return lax_fn(x)

    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Elementwise ``{np_fn.__name__}`` (NumPy's; ints compute in float). ``{np_fn.__name__}(x)``."
    return fn


def _binary(np_fn, lax_fn, name=None):
    name = name or np_fn.__name__

    @eager_numpy(np_fn)
    def fn(x1, x2, /):
        x1, x2 = promote_args(name, x1, x2)
        return lax_fn(x1, x2)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with NumPy broadcasting and promotion. ``{name}(x, y)``."
    return fn


# --------------------------------------------------------------------------- arithmetic

add = _binary(np.add, lax.add)
subtract = _binary(np.subtract, lax.sub)
multiply = _binary(np.multiply, lax.mul)
maximum = _binary(np.maximum, lax.max)
minimum = _binary(np.minimum, lax.min)
fmod = _binary(np.fmod, lax.rem)


@eager_numpy(np.true_divide)
def true_divide(x1, x2, /):
    """``x1 / x2`` in floating point (ints divide to float64, as in NumPy). ``true_divide(1, 2) == 0.5``."""
    # NumPy divides integers (and bools) in float64, not in the smallest float like sin.
    dtype = result_type(x1, x2)
    if dtype.kind in "biu":
        x1, x2 = cast(asarray(x1), np.float64), cast(asarray(x2), np.float64)
    x1, x2 = promote_args_inexact("true_divide", x1, x2)
    return lax.div(x1, x2)


divide = true_divide


def _is_int(x) -> bool:
    return dtype_of(x).kind in "iub"


@eager_numpy(np.floor_divide)
def floor_divide(x1, x2, /):
    """``x1 // x2``, rounding toward minus infinity as NumPy does. ``floor_divide(-7, 2) == -4``."""
    x1, x2 = promote_args("floor_divide", x1, x2)
    if _is_int(x1) and _is_int(x2):
        q = lax.div(x1, x2)
        r = lax.rem(x1, x2)
        fix = lax.bitwise_and(lax.ne(r, 0), lax.ne(lax.lt(r, 0), lax.lt(x2, 0)))
        return lax.select_n(fix, q, lax.sub(q, 1))
    # NumPy's float algorithm (npy_divmod), so results match it bit for bit.
    mod = lax.rem(x1, x2)
    div = lax.div(lax.sub(x1, mod), x2)
    adjust = lax.bitwise_and(lax.ne(mod, 0.0), lax.ne(lax.lt(x2, 0.0), lax.lt(mod, 0.0)))
    div = lax.select_n(adjust, div, lax.sub(div, 1.0))
    floordiv = lax.floor(div)
    floordiv = lax.select_n(lax.gt(lax.sub(div, floordiv), 0.5), floordiv, lax.add(floordiv, 1.0))
    floordiv = lax.select_n(lax.eq(div, 0.0), floordiv, _copysign(lax.mul(0.0, div), lax.div(x1, x2)))
    return lax.select_n(lax.eq(x2, 0.0), floordiv, lax.div(x1, x2))


@eager_numpy(np.remainder)
def remainder(x1, x2, /):
    """``x1 % x2`` with the sign of ``x2``, as NumPy. ``remainder(-7, 2) == 1``."""
    x1, x2 = promote_args("remainder", x1, x2)
    r = lax.rem(x1, x2)
    zero = 0 if _is_int(r) else 0.0
    fix = lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.lt(r, zero), lax.lt(x2, zero)))
    r = lax.select_n(fix, r, lax.add(r, x2))
    if not _is_int(r):
        r = lax.select_n(lax.eq(r, 0.0), r, _copysign(lax.mul(r, 0.0), x2))
    return r


mod = remainder


def divmod(x1, x2, /):  # noqa: A001 - NumPy's name
    """``(x1 // x2, x1 % x2)``. ``divmod(7, 2) == (3, 1)``."""
    return floor_divide(x1, x2), remainder(x1, x2)


def _int_power(x, y):
    """x ** y for integer arrays by binary exponentiation over the bits of y."""
    bits = dtype_of(x).itemsize * 8
    acc = lax.mul(lax.add(lax.mul(x, 0), 1), lax.add(lax.mul(y, 0), 1))
    base = lax.add(x, lax.mul(y, 0))
    y = lax.add(y, lax.mul(x, 0))
    for _ in range(bits):
        acc = lax.select_n(lax.ne(lax.bitwise_and(y, 1), 0), acc, lax.mul(acc, base))
        base = lax.mul(base, base)
        y = lax.shift_right_logical(y, 1)
    return acc


@eager_numpy(np.power)
def power(x1, x2, /):
    """``x1 ** x2`` (NumPy promotion: int ** int stays int). ``power(2, 3) == 8``."""
    x1, x2 = promote_args("power", x1, x2)
    if type(x2) is int and (x2 >= 0 or not _is_int(x1)):
        return lax.integer_pow(x1, x2)  # x ** 2 stays a multiply, as in NumPy
    if _is_int(x1):
        return _int_power(*promote_shapes("power", x1, x2))
    return lax.pow(x1, x2)


pow = power  # noqa: A001 - NumPy 2 alias


@eager_numpy(np.float_power)
def float_power(x1, x2, /):
    """``x1 ** x2`` computed in float64 (or complex128). ``float_power(2, -1) == 0.5``."""
    dtype = np.result_type(result_type(x1, x2), np.float64)
    x1, x2 = promote_args("float_power", cast(asarray(x1), dtype), cast(asarray(x2), dtype))
    return lax.pow(x1, x2)


@eager_numpy(np.negative)
def negative(x, /):
    """``-x``. ``negative(3) == -3``."""
    (x,) = promote_args("negative", x)
    return lax.neg(x)


@eager_numpy(np.positive)
def positive(x, /):
    """``+x`` (a copy). ``positive(-3) == -3``."""
    (x,) = promote_args("positive", x)
    if dtype_of(x).kind == "b":
        raise TypeError("positive: not supported for bool arrays (as in NumPy)")
    return lax.add(x, 0)


@eager_numpy(np.absolute)
def absolute(x, /):
    """``|x|`` (complex to real magnitude). ``absolute(-2) == 2``."""
    (x,) = promote_args("absolute", x)
    if dtype_of(x).kind in "bu":
        return x
    return lax.abs(x)


abs = absolute  # noqa: A001


@eager_numpy(np.fabs)
def fabs(x, /):
    """``|x|`` for real values, in floating point. ``fabs(-2) == 2.0``."""
    (x,) = promote_args_inexact("fabs", x)
    return lax.abs(x)


@eager_numpy(np.sign)
def sign(x, /):
    """-1, 0 or 1 (NaN stays NaN). ``sign(-2.5) == -1.0``."""
    (x,) = promote_args("sign", x)
    return lax.sign(x)


@eager_numpy(np.reciprocal)
def reciprocal(x, /):
    """``1 / x`` (integer division for ints, as NumPy). ``reciprocal(4.0) == 0.25``."""
    (x,) = promote_args("reciprocal", x)
    return lax.div(1 if _is_int(x) else 1.0, x)


@eager_numpy(np.square)
def square(x, /):
    """``x * x``. ``square(3) == 9``."""
    (x,) = promote_args("square", x)
    if dtype_of(x).kind == "b":
        x = lax.convert_element_type(x, np.int8)
    return lax.integer_pow(x, 2)


sqrt = _unary_inexact(np.sqrt, lax.sqrt)
cbrt = _unary_inexact(np.cbrt, lax.cbrt)
exp = _unary_inexact(np.exp, lax.exp)
exp2 = _unary_inexact(np.exp2, lax.exp2)
expm1 = _unary_inexact(np.expm1, lax.expm1)
log = _unary_inexact(np.log, lax.log)
log1p = _unary_inexact(np.log1p, lax.log1p)
sin = _unary_inexact(np.sin, lax.sin)
cos = _unary_inexact(np.cos, lax.cos)
tan = _unary_inexact(np.tan, lax.tan)
arcsin = _unary_inexact(np.arcsin, lax.asin)
arccos = _unary_inexact(np.arccos, lax.acos)
arctan = _unary_inexact(np.arctan, lax.atan)
sinh = _unary_inexact(np.sinh, lax.sinh)
cosh = _unary_inexact(np.cosh, lax.cosh)
tanh = _unary_inexact(np.tanh, lax.tanh)
arcsinh = _unary_inexact(np.arcsinh, lax.asinh)
arccosh = _unary_inexact(np.arccosh, lax.acosh)
arctanh = _unary_inexact(np.arctanh, lax.atanh)
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh


@eager_numpy(np.log2)
def log2(x, /):
    """Base-2 logarithm. ``log2(8.0) == 3.0``."""
    (x,) = promote_args_inexact("log2", x)
    return lax.div(lax.log(x), float(np.log(2.0)))


@eager_numpy(np.log10)
def log10(x, /):
    """Base-10 logarithm. ``log10(100.0) == 2.0``."""
    (x,) = promote_args_inexact("log10", x)
    return lax.div(lax.log(x), float(np.log(10.0)))


def _logaddexp(x1, x2, log1p_exp):
    amax = lax.max(x1, x2)
    delta = lax.sub(x1, x2)
    # Where delta is NaN both are equal infinities (or a NaN): x1 + x2 gives NumPy's answer.
    return lax.select_n(lax.ne(delta, delta), lax.add(amax, log1p_exp(lax.neg(lax.abs(delta)))),
                        lax.add(x1, x2))


@eager_numpy(np.logaddexp)
def logaddexp(x1, x2, /):
    """``log(exp(x1) + exp(x2))`` without overflow. ``logaddexp(0.0, 0.0) == log(2)``."""
    x1, x2 = promote_args_inexact("logaddexp", x1, x2)
    return _logaddexp(x1, x2, lambda d: lax.log1p(lax.exp(d)))


@eager_numpy(np.logaddexp2)
def logaddexp2(x1, x2, /):
    """``log2(2**x1 + 2**x2)`` without overflow. ``logaddexp2(1.0, 1.0) == 2.0``."""
    x1, x2 = promote_args_inexact("logaddexp2", x1, x2)
    ln2 = float(np.log(2.0))
    return _logaddexp(x1, x2, lambda d: lax.div(lax.log1p(lax.exp2(d)), ln2))


@eager_numpy(np.arctan2)
def arctan2(x1, x2, /):
    """The angle of the point (x2, x1). ``arctan2(1.0, 1.0) == pi / 4``."""
    x1, x2 = promote_args_inexact("arctan2", x1, x2)
    return lax.atan2(x1, x2)


atan2 = arctan2


@eager_numpy(np.deg2rad)
def deg2rad(x, /):
    """Degrees to radians. ``deg2rad(180.0) == pi``."""
    (x,) = promote_args_inexact("deg2rad", x)
    return lax.mul(x, float(np.pi / 180))


@eager_numpy(np.rad2deg)
def rad2deg(x, /):
    """Radians to degrees. ``rad2deg(pi) == 180.0``."""
    (x,) = promote_args_inexact("rad2deg", x)
    return lax.mul(x, float(180 / np.pi))


radians, degrees = deg2rad, rad2deg


@eager_numpy(np.hypot)
def hypot(x1, x2, /):
    """``sqrt(x1**2 + x2**2)`` without overflow. ``hypot(3.0, 4.0) == 5.0``."""
    x1, x2 = promote_args_inexact("hypot", x1, x2)
    a1, a2 = lax.abs(x1), lax.abs(x2)
    big, small = lax.max(a1, a2), lax.min(a1, a2)
    safe_big = lax.select_n(lax.eq(big, 0.0), big, 1.0)
    ratio = lax.div(small, safe_big)
    out = lax.mul(big, lax.sqrt(lax.add(lax.mul(ratio, ratio), 1.0)))
    either_inf = lax.bitwise_or(lax.eq(a1, np.inf), lax.eq(a2, np.inf))
    return lax.select_n(either_inf, out, lax.add(big, np.inf))


def _nan_ignoring(lax_fn):
    def fn(x1, x2):
        out = lax_fn(x1, x2)
        out = lax.select_n(lax.ne(x1, x1), out, x2)
        return lax.select_n(lax.ne(x2, x2), out, x1)
    return fn


@eager_numpy(np.fmax)
def fmax(x1, x2, /):
    """Elementwise maximum that ignores NaNs. ``fmax(nan, 1.0) == 1.0``."""
    x1, x2 = promote_args("fmax", x1, x2)
    return _nan_ignoring(lax.max)(x1, x2) if dtype_of(x1).kind in "fc" else lax.max(x1, x2)


@eager_numpy(np.fmin)
def fmin(x1, x2, /):
    """Elementwise minimum that ignores NaNs. ``fmin(nan, 1.0) == 1.0``."""
    x1, x2 = promote_args("fmin", x1, x2)
    return _nan_ignoring(lax.min)(x1, x2) if dtype_of(x1).kind in "fc" else lax.min(x1, x2)


# --------------------------------------------------------------------------- rounding

def _rounding(np_fn, float_fn):
    @eager_numpy(np_fn)
    def fn(x, /):
        (x,) = promote_args(np_fn.__name__, x)
        if dtype_of(x).kind in "iub":
            return x if dtype_of(x).kind != "b" else lax.convert_element_type(x, np.bool_)
        return float_fn(x)

    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"NumPy's ``{np_fn.__name__}`` (integers are returned unchanged). ``{np_fn.__name__}(x)``."
    return fn


def _trunc_float(x):
    return lax.select_n(lax.lt(x, 0.0), lax.floor(x), lax.ceil(x))


floor = _rounding(np.floor, lax.floor)
ceil = _rounding(np.ceil, lax.ceil)
trunc = _rounding(np.trunc, _trunc_float)
fix = _rounding(np.fix, _trunc_float)


@eager_numpy(np.rint)
def rint(x, /):
    """Round to the nearest integer, halves to even. ``rint(2.5) == 2.0``."""
    (x,) = promote_args_inexact("rint", x)
    return lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)


@eager_numpy(np.round)
def round(a, decimals=0, out=None):  # noqa: A001
    """Round half to even at ``decimals`` places. ``round(2.675, 2) == 2.67``."""
    if out is not None:
        raise NotImplementedError("ftx.numpy.round: the out= argument is not supported")
    (a,) = promote_args("round", a)
    decimals = int(decimals)
    if dtype_of(a).kind in "iub":
        if decimals < 0:
            raise NotImplementedError("ftx.numpy.round: negative decimals on integers are not supported under transforms")
        return a
    if decimals == 0:
        return lax.round(a, lax.RoundingMethod.TO_NEAREST_EVEN)
    # NumPy scales, rounds and unscales (so round(2.675, 2) is 2.67, like NumPy).
    if decimals > 0:
        scale = float(10.0 ** decimals)
        return lax.div(lax.round(lax.mul(a, scale), lax.RoundingMethod.TO_NEAREST_EVEN), scale)
    scale = float(10.0 ** -decimals)
    return lax.mul(lax.round(lax.div(a, scale), lax.RoundingMethod.TO_NEAREST_EVEN), scale)


around = round

_NO_VALUE = object()


@eager_numpy(np.clip)
def clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE, max=_NO_VALUE):  # noqa: A002
    """Limit values to ``[a_min, a_max]`` (either may be None). ``clip(x, 0.0, 1.0)``."""
    lo = a_min if min is _NO_VALUE else min
    hi = a_max if max is _NO_VALUE else max
    lo = None if lo is _NO_VALUE else lo
    hi = None if hi is _NO_VALUE else hi
    if out is not None:
        raise NotImplementedError("ftx.numpy.clip: the out= argument is not supported")
    if lo is None and hi is None:
        raise ValueError("clip: one of a_min and a_max must be given")
    args = [a] + [b for b in (lo, hi) if b is not None]
    args = promote_args("clip", *args)
    x = args[0]
    rest = iter(args[1:])
    if lo is not None:
        x = lax.max(x, next(rest))
    if hi is not None:
        x = lax.min(x, next(rest))
    return x


@eager_numpy(np.sinc)
def sinc(x, /):
    """``sin(pi x) / (pi x)`` with ``sinc(0) == 1``."""
    if dtype_of(x).kind in "biu":  # np.sinc is not a ufunc: integers compute in float64
        x = cast(asarray(x), np.float64)
    (x,) = promote_args_inexact("sinc", x)
    zero = lax.eq(x, 0.0)
    safe = lax.select_n(zero, lax.mul(x, float(np.pi)), 1.0)
    return lax.select_n(zero, lax.div(lax.sin(safe), safe), 1.0)


@eager_numpy(np.heaviside)
def heaviside(x1, x2, /):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0. ``heaviside(0.0, 0.5) == 0.5``."""
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    out = lax.select_n(lax.gt(x1, 0.0), lax.mul(x1, 0.0), lax.add(lax.mul(x1, 0.0), 1.0))
    out = lax.select_n(lax.eq(x1, 0.0), out, x2)
    return lax.select_n(lax.ne(x1, x1), out, x1)


def _signbit(x):
    # x < 0, or -0.0 (whose reciprocal is -inf); NaN's sign bit is not observable without bitcasts.
    if dtype_of(x).kind in "iu":
        return lax.lt(x, 0)
    neg_zero = lax.bitwise_and(lax.eq(x, 0.0), lax.lt(lax.div(1.0, x), 0.0))
    return lax.bitwise_or(lax.lt(x, 0.0), neg_zero)


def _copysign(x, y):
    ax = lax.abs(x)
    return lax.select_n(_signbit(y), ax, lax.neg(ax))


@eager_numpy(np.signbit)
def signbit(x, /):
    """True where the sign bit is set (also for -0.0). ``signbit(-0.0) == True``."""
    (x,) = promote_args("signbit", x)
    return _signbit(x)


@eager_numpy(np.copysign)
def copysign(x1, x2, /):
    """``|x1|`` with the sign of ``x2``. ``copysign(2.0, -0.0) == -2.0``."""
    x1, x2 = promote_args_inexact("copysign", x1, x2)
    return _copysign(x1, x2)


@eager_numpy(np.nextafter)
def nextafter(x1, x2, /):
    """The next float after x1 toward x2."""
    x1, x2 = promote_args_inexact("nextafter", x1, x2)
    return lax.nextafter(x1, x2)


@eager_numpy(np.ldexp)
def ldexp(x1, x2, /):
    """``x1 * 2**x2`` for integer ``x2``. ``ldexp(1.5, 3) == 12.0``."""
    (x1,) = promote_args_inexact("ldexp", x1)
    x1, x2 = promote_shapes("ldexp", x1, asarray(x2))
    return lax.mul(x1, lax.exp2(cast(x2, dtype_of(x1))))


# --------------------------------------------------------------------------- complex parts

@eager_numpy(np.conjugate)
def conjugate(x, /):
    """Complex conjugate (the identity for real values)."""
    (x,) = promote_args("conjugate", x)
    return lax.conj(x) if dtype_of(x).kind == "c" else x


conj = conjugate


@eager_numpy(np.real)
def real(val):
    """Real part. ``real(1 + 2j) == 1.0``."""
    (val,) = promote_args("real", val)
    return lax.real(val) if dtype_of(val).kind == "c" else val


@eager_numpy(np.imag)
def imag(val):
    """Imaginary part (zeros for real input). ``imag(1 + 2j) == 2.0``."""
    (val,) = promote_args("imag", val)
    return lax.imag(val) if dtype_of(val).kind == "c" else lax.mul(val, 0)


@eager_numpy(np.angle)
def angle(z, deg=False):
    """The complex argument (pi for negative reals). ``angle(-1.0) == pi``."""
    if dtype_of(z).kind == "b":  # as NumPy: bools go through float64
        z = cast(asarray(z), np.float64)
    (z,) = promote_args_inexact("angle", z)
    if dtype_of(z).kind == "c":
        out = lax.atan2(lax.imag(z), lax.real(z))
    else:
        out = lax.atan2(lax.abs(lax.mul(z, 0.0)), z)  # +0.0 (or NaN), so angle(-1) is +pi
    return lax.mul(out, float(180 / np.pi)) if deg else out


# --------------------------------------------------------------------------- classification

def _all_like(x, value: bool):
    return lax.broadcast_in_dim(np.asarray(value), shape_of(x), ())


@eager_numpy(np.isnan)
def isnan(x, /):
    """True where NaN. ``isnan(nan) == True``."""
    (x,) = promote_args("isnan", x)
    return lax.ne(x, x) if dtype_of(x).kind in "fc" else _all_like(x, False)


@eager_numpy(np.isinf)
def isinf(x, /):
    """True where +-inf."""
    (x,) = promote_args("isinf", x)
    if dtype_of(x).kind == "c":
        return lax.bitwise_or(isinf(lax.real(x)), isinf(lax.imag(x)))
    return lax.eq(lax.abs(x), np.inf) if dtype_of(x).kind == "f" else _all_like(x, False)


@eager_numpy(np.isfinite)
def isfinite(x, /):
    """True where neither NaN nor infinite."""
    (x,) = promote_args("isfinite", x)
    if dtype_of(x).kind == "c":
        return lax.bitwise_and(lax.is_finite(lax.real(x)), lax.is_finite(lax.imag(x)))
    return lax.is_finite(x) if dtype_of(x).kind == "f" else _all_like(x, True)


@eager_numpy(np.isposinf)
def isposinf(x):
    """True where +inf."""
    (x,) = promote_args("isposinf", x)
    return lax.eq(x, np.inf) if dtype_of(x).kind == "f" else _all_like(x, False)


@eager_numpy(np.isneginf)
def isneginf(x):
    """True where -inf."""
    (x,) = promote_args("isneginf", x)
    return lax.eq(x, -np.inf) if dtype_of(x).kind == "f" else _all_like(x, False)


@eager_numpy(np.isreal)
def isreal(x):
    """True where the imaginary part is zero."""
    (x,) = promote_args("isreal", x)
    return lax.eq(lax.imag(x), 0.0) if dtype_of(x).kind == "c" else _all_like(x, True)


@eager_numpy(np.iscomplex)
def iscomplex(x):
    """True where the imaginary part is non-zero."""
    (x,) = promote_args("iscomplex", x)
    return lax.ne(lax.imag(x), 0.0) if dtype_of(x).kind == "c" else _all_like(x, False)


def iscomplexobj(x) -> bool:
    """Whether ``x`` has a complex dtype."""
    return dtype_of(asarray(x)).kind == "c"


def isrealobj(x) -> bool:
    """Whether ``x`` has a non-complex dtype."""
    return not iscomplexobj(x)


@eager_numpy(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, +-inf to the largest finite values (or the given ones)."""
    (x,) = promote_args("nan_to_num", x)
    dtype = dtype_of(x)
    if dtype.kind == "c":
        parts = [nan_to_num(p, copy, nan, posinf, neginf) for p in (lax.real(x), lax.imag(x))]
        return lax.add(cast(parts[0], dtype), lax.mul(cast(parts[1], dtype), 1j))
    if dtype.kind != "f":
        return x
    info = np.finfo(dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    x = lax.select_n(lax.ne(x, x), x, cast(nan, dtype))
    x = lax.select_n(lax.eq(x, np.inf), x, cast(posinf, dtype))
    return lax.select_n(lax.eq(x, -np.inf), x, cast(neginf, dtype))


# --------------------------------------------------------------------------- comparison and logic

equal = _binary(np.equal, lax.eq)
not_equal = _binary(np.not_equal, lax.ne)
less = _binary(np.less, lax.lt)
less_equal = _binary(np.less_equal, lax.le)
greater = _binary(np.greater, lax.gt)
greater_equal = _binary(np.greater_equal, lax.ge)


def _to_bool(x):
    return x if dtype_of(x).kind == "b" else lax.ne(x, 0)


def _logical(np_fn, lax_fn):
    @eager_numpy(np_fn)
    def fn(x1, x2, /):
        x1, x2 = promote_shapes(np_fn.__name__, asarray(x1), asarray(x2))
        return lax_fn(_to_bool(x1), _to_bool(x2))

    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"NumPy's ``{np_fn.__name__}`` on truth values. ``{np_fn.__name__}(a, b)``."
    return fn


logical_and = _logical(np.logical_and, lax.bitwise_and)
logical_or = _logical(np.logical_or, lax.bitwise_or)
logical_xor = _logical(np.logical_xor, lax.bitwise_xor)


@eager_numpy(np.logical_not)
def logical_not(x, /):
    """``not x`` elementwise."""
    return lax.bitwise_not(_to_bool(asarray(x)))


bitwise_and = _binary(np.bitwise_and, lax.bitwise_and)
bitwise_or = _binary(np.bitwise_or, lax.bitwise_or)
bitwise_xor = _binary(np.bitwise_xor, lax.bitwise_xor)
left_shift = _binary(np.left_shift, lax.shift_left)
right_shift = _binary(np.right_shift, lax.shift_right_arithmetic)
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


@eager_numpy(np.invert)
def invert(x, /):
    """Bitwise not (logical not for bools). ``invert(np.uint8(0)) == 255``."""
    (x,) = promote_args("invert", x)
    return lax.bitwise_not(x)


bitwise_not = bitwise_invert = invert


@eager_numpy(np.bitwise_count)
def bitwise_count(x, /):
    """The number of 1 bits in ``|x|``, as uint8 (NumPy 2). ``bitwise_count(7) == 3``."""
    (x,) = promote_args("bitwise_count", x)
    if dtype_of(x).kind == "i":
        x = lax.abs(x)
    return lax.convert_element_type(lax.population_count(x), np.uint8)


@eager_numpy(np.where)
def where(condition, x=None, y=None, /):
    """``x`` where ``condition`` else ``y``, broadcast together. ``where(a > 0, a, 0.0)``.

    With only ``condition`` it is ``nonzero(condition)`` (concrete input only).
    """
    if x is None and y is None:
        from ftx.numpy._indexing import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
    x, y = promote_args("where", x, y)
    # Scalars broadcast inside select_n; everything else is broadcast to one shape.
    cond, x, y = promote_shapes("where", _to_bool(asarray(condition)), x, y)
    return lax.select_n(cond, y, x)


@eager_numpy(np.isclose)
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (infinities equal only to themselves)."""
    a, b = promote_args_inexact("isclose", a, b)
    close = lax.le(lax.abs(lax.sub(a, b)), lax.add(lax.mul(lax.abs(b), float(rtol)), float(atol)))
    close = lax.bitwise_or(lax.bitwise_and(close, isfinite(b)), lax.eq(a, b))
    if equal_nan:
        close = lax.bitwise_or(close, lax.bitwise_and(lax.ne(a, a), lax.ne(b, b)))
    return close


@eager_numpy(np.allclose)
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``isclose`` holds everywhere."""
    close = isclose(a, b, rtol, atol, equal_nan)
    return lax.reduce_and(close, tuple(range(len(shape_of(close)))))


@eager_numpy(np.array_equal)
def array_equal(a1, a2, equal_nan=False):
    """Same shape and the same values."""
    a1, a2 = asarray(a1), asarray(a2)
    if shape_of(a1) != shape_of(a2):
        return np.bool_(False)
    eq = lax.eq(*promote_args("array_equal", a1, a2))
    if equal_nan and dtype_of(a1).kind in "fc":
        eq = lax.bitwise_or(eq, lax.bitwise_and(lax.ne(a1, a1), lax.ne(a2, a2)))
    return lax.reduce_and(eq, tuple(range(len(shape_of(eq)))))


@eager_numpy(np.array_equiv)
def array_equiv(a1, a2):
    """Equal after broadcasting."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(shape_of(a1), shape_of(a2))
    except ValueError:
        return np.bool_(False)
    eq = equal(a1, a2)
    return lax.reduce_and(eq, tuple(range(len(shape_of(eq)))))
