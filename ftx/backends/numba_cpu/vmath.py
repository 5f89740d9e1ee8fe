"""Vectorizable float32/float64 transcendentals for the fused Numba CPU kernels.

Numba lowers ``math.exp`` and friends to one libm call per element, which keeps LLVM from
vectorizing the loop; NumPy's SIMD loops are then several times faster. The functions here
are straight-line code -- range reduction, a polynomial or rational approximation, ``2**k``
rebuilt from exponent bits -- with each special case (NaN, +-inf, +-0, overflow, underflow,
subnormals) folded in by a select, so a kernel that calls them vectorizes (8 float32 or 4
float64 lanes on AVX2/AVX-512). Each function has a float32 and a float64 variant: a float32
kernel stays in float32 arithmetic (every constant is an ``np.float32``) and uses shorter
approximations. Multiply-adds go through ``_fmuladd`` (LLVM's ``llvm.fmuladd``: one fused
instruction where the CPU has FMA), so the generated kernels keep their strict floating-point
semantics (no fastmath) yet get FMA here.

Coefficients are weighted minimax fits (Remez exchange in long double, against references
computed to more than 30 digits) on the reduced interval, rounded to the target dtype.
``tests/test_vmath.py`` asserts these bounds on the error in ulps against a more precise
reference (float64 for float32; long double for float64, but ``math.erf`` -- itself within
1 ulp -- for erf), over every 2**13-th float32 / 2**45-th float64 bit pattern, random samples
and the edge cases (+-0, +-inf, NaN, subnormals, overflow and underflow thresholds); with
FMA the worst cases measured are 0.84, 1.30, 0.88, 0.96, 4.3, 2.2, 1.53 ulps (float32) and
0.82, 1.76, 1.03, 1.05, 2.09, 1.97, 1.0 ulps (float64), in the table's order:

============  =========  =========
function      float32    float64
============  =========  =========
exp           1          1
expm1         2          2
log           1          1.5
log1p         1.5        1.5
tanh          5          2.5
logistic      3          2.5
erf           2          1.5
============  =========  =========

float32 tanh is a rational function whose rounding costs up to ~5 ulps just below 1; NumPy's
own SIMD loops have 1.3 (tanh) to 3.1 (float32 log) ulps. No result is correctly rounded,
so a fused kernel may differ from NumPy in the last bits. NaN, infinities, signed zeros,
overflow to inf, underflow through the subnormals to 0, and log of 0 or of a negative
number behave as in NumPy.

A kernel module gets a copy of the source of the functions it calls and of their helpers
(``helper_source``), not an import: Numba's disk cache checks only the kernel's own file,
so an imported helper would keep stale machine code after this file changed. So the
functions here use only ``np``, ``numba`` and each other.
"""
from __future__ import annotations

import ast
import functools
import pathlib
import re

import numba
import numpy as np

# Error bounds in ulps (float32, float64), as in the table above; tests/test_vmath.py asserts them.
ULP_BOUNDS = {"exp": (1, 1), "expm1": (2, 2), "log": (1, 1.5), "log1p": (1.5, 1.5),
              "tanh": (5, 2.5), "logistic": (3, 2.5), "erf": (2, 1.5)}

# --------------------------------------------------------------------------- building blocks

if numba.config.DISABLE_JIT:
    def _fmuladd(a, b, c):
        return a * b + c
else:
    @numba.extending.intrinsic
    def _fmuladd(typingctx, a, b, c):
        """a * b + c, fused into one FMA (one rounding) where the CPU has it."""
        if not (a == b == c and isinstance(a, numba.core.types.Float)):
            return None  # mixed dtypes are a bug in the caller: a typing error, not a cast

        def codegen(context, builder, signature, args):
            from llvmlite import ir
            ty = args[0].type
            fn = builder.module.declare_intrinsic("llvm.fmuladd", [ty], ir.FunctionType(ty, [ty] * 3))
            return builder.call(fn, args)

        return a(a, b, c), codegen


@numba.njit(inline="always")
def _pow2_f32(k):
    """2.0**k as a float32 for an integer k in [-126, 127], built from its exponent bits."""
    return np.int32((k + 127) << 23).view(np.float32)


@numba.njit(inline="always")
def _pow2_f64(k):
    """2.0**k as a float64 for an integer k in [-1022, 1023]."""
    return np.int64((k + 1023) << 52).view(np.float64)


@numba.njit(inline="always")
def _ln2_reduce_f32(x):
    """(k, r) with x = k*ln2 + r, |r| <= ln2/2, and k as an int32, for |x| < 2800.

    Adding 1.5 * 2**23 rounds x / ln2 to an integer k that then sits in the low bits of the
    sum: k comes out by a bit cast, so a NaN gives a garbage k (and a NaN r), never an
    undefined float-to-int conversion. Cody-Waite: ln2 = ln2_hi + ln2_lo with k * ln2_hi
    exact for |k| < 2**12, so r carries about one rounding.
    """
    t = _fmuladd(x, np.float32(1.4426950216293335), np.float32(12582912.0))
    k = t - np.float32(12582912.0)
    r = _fmuladd(k, np.float32(-0.693115234375), x)
    r = _fmuladd(k, np.float32(-3.194618329871446e-05), r)
    return np.int32(np.float32(t).view(np.int32) - np.int32(0x4B400000)), r


@numba.njit(inline="always")
def _ln2_reduce_f64(x):
    """(k, r) with x = k*ln2 + r, |r| <= ln2/2, and k as an int64, for |x| < 1e6
    (k * ln2_hi is exact for |k| < 2**21)."""
    t = _fmuladd(x, 1.4426950408889634, 6755399441055744.0)
    k = t - 6755399441055744.0
    r = _fmuladd(k, -0.6931471806019545, x)
    r = _fmuladd(k, 4.2009150715352495e-11, r)
    return np.float64(t).view(np.int64) - np.int64(0x4338000000000000), r


@numba.njit(inline="always")
def _scale_f32(p, k):
    """p * 2**k for k in [-252, 254], as two exact power-of-two factors: a subnormal or
    overflowing result is rounded once."""
    half = np.int32(k >> 1)  # (Numba widens int32 arithmetic to int64; keep the lanes narrow)
    return p * _pow2_f32(half) * _pow2_f32(np.int32(k - half))


@numba.njit(inline="always")
def _scale_f64(p, k):
    """p * 2**k for k in [-2044, 2046]."""
    half = k >> 1
    return p * _pow2_f64(half) * _pow2_f64(k - half)


# --------------------------------------------------------------------------- exp, expm1


@numba.njit(inline="always")
def _exp_reduced_f32(r):
    """e**r for |r| <= ln2/2 as 1 + r + r**2 * q(r): minimax, relative error 3.1e-9."""
    p = _fmuladd(np.float32(0.0013814597623422742), r, np.float32(0.008368716575205326))
    p = _fmuladd(p, r, np.float32(0.04166838899254799))
    p = _fmuladd(p, r, np.float32(0.1666652113199234))
    p = _fmuladd(p, r, np.float32(0.4999999403953552))
    p = _fmuladd(p, r, np.float32(1.0))
    return _fmuladd(p, r, np.float32(1.0))


@numba.njit(inline="always")
def exp_f32(x):
    """e**x. ``exp_f32(np.float32(1.0)) == np.float32(2.7182817)``."""
    # Beyond the clamp the result is inf or 0 anyway; NaN passes through.
    k, r = _ln2_reduce_f32(min(max(x, np.float32(-104.0)), np.float32(89.0)))
    return _scale_f32(_exp_reduced_f32(r), k)


@numba.njit(inline="always")
def _exp_reduced_f64(r):
    """e**r for |r| <= ln2/2 as 1 + r + r**2 * q(r): minimax, relative error 7.7e-18."""
    p = _fmuladd(2.5110123188128334e-08, r, 2.7632658004631303e-07)
    p = _fmuladd(p, r, 2.755724230132954e-06)
    p = _fmuladd(p, r, 2.4801487319348203e-05)
    p = _fmuladd(p, r, 0.00019841269886358262)
    p = _fmuladd(p, r, 0.0013888888947827369)
    p = _fmuladd(p, r, 0.008333333333322483)
    p = _fmuladd(p, r, 0.04166666666652197)
    p = _fmuladd(p, r, 0.16666666666666674)
    p = _fmuladd(p, r, 0.500000000000001)
    p = _fmuladd(p, r, 1.0)
    return _fmuladd(p, r, 1.0)


@numba.njit(inline="always")
def exp_f64(x):
    """e**x. ``exp_f64(1.0) == 2.718281828459045``."""
    k, r = _ln2_reduce_f64(min(max(x, -746.0), 710.0))
    return _scale_f64(_exp_reduced_f64(r), k)


@numba.njit(inline="always")
def expm1_f32(x):
    """e**x - 1, accurate near 0. ``expm1_f32(np.float32(1e-10)) == np.float32(1e-10)``."""
    # expm1(-30) rounds to -1; NaN passes through.
    k, r = _ln2_reduce_f32(min(max(x, np.float32(-30.0)), np.float32(89.0)))
    # e**r - 1 = r + r**2 * q(r): minimax, relative error 2.7e-10 on |r| <= ln2/2
    q = _fmuladd(np.float32(0.00019962181977462023), r, np.float32(0.0013943209778517485))
    q = _fmuladd(q, r, np.float32(0.008333220146596432))
    q = _fmuladd(q, r, np.float32(0.04166632518172264))
    q = _fmuladd(q, r, np.float32(0.1666666716337204))
    q = _fmuladd(q, r, np.float32(0.5))
    em1 = _fmuladd(r * r, q, r)
    # e**x - 1 = 2**k * (e**r - 1) + (2**k - 1): both terms exact for k <= 24. Beyond, the
    # -1 is below half an ulp: (e**r * 2**(k-1)) * 2, exact up to an overflow to inf.
    small = k <= 24
    s = _pow2_f32(np.int32(k if small else k - 1))
    y = _fmuladd(s, em1, s - np.float32(1.0)) if small else (em1 + np.float32(1.0)) * s * np.float32(2.0)
    return x if x == np.float32(0.0) else y  # the sum above would turn -0 into +0


@numba.njit(inline="always")
def expm1_f64(x):
    """e**x - 1, accurate near 0. ``expm1_f64(1e-20) == 1e-20``."""
    k, r = _ln2_reduce_f64(min(max(x, -40.0), 710.0))  # expm1(-40) rounds to -1
    # e**r - 1 = r + r**2 * q(r): minimax, relative error 3.3e-18 on |r| <= ln2/2
    q = _fmuladd(1.7216918973139806e-09, r, 2.5104257517051397e-08)
    q = _fmuladd(q, r, 2.756948548496321e-07)
    q = _fmuladd(q, r, 2.7557258199246304e-06)
    q = _fmuladd(q, r, 2.480157266350786e-05)
    q = _fmuladd(q, r, 0.00019841269872085442)
    q = _fmuladd(q, r, 0.0013888888896582692)
    q = _fmuladd(q, r, 0.008333333333327125)
    q = _fmuladd(q, r, 0.04166666666665018)
    q = _fmuladd(q, r, 0.1666666666666667)
    q = _fmuladd(q, r, 0.5000000000000001)
    em1 = _fmuladd(r * r, q, r)
    small = k <= 53
    s = _pow2_f64(k if small else k - 1)
    y = _fmuladd(s, em1, s - 1.0) if small else (em1 + 1.0) * s * 2.0
    return x if x == 0.0 else y


# --------------------------------------------------------------------------- tanh, logistic


@numba.njit(inline="always")
def tanh_f32(x):
    """Hyperbolic tangent. ``tanh_f32(np.float32(0.5)) == np.float32(0.46211717)``."""
    # tanh(x) = x * P(x*x) / Q(x*x): minimax (5, 4) rational, relative error 1.4e-9 on
    # |x| <= 9.02 (from 9.011 on, tanh rounds to +-1). Rounding in P and Q costs up to ~5
    # ulps just below 1, and the clamp keeps |tanh| <= 1; an exact-near-1 form through exp
    # would be twice as slow, and slower than NumPy.
    t = x * x
    p = _fmuladd(np.float32(-1.2262310090938033e-11), t, np.float32(3.067196274741946e-08))
    p = _fmuladd(p, t, np.float32(2.8046215447830036e-05))
    p = _fmuladd(p, t, np.float32(0.003870326094329357))
    p = _fmuladd(p, t, np.float32(0.13681530952453613))
    p = _fmuladd(p, t, np.float32(1.0))
    q = _fmuladd(np.float32(1.2899910188934882e-06), t, np.float32(0.00039420987013727427))
    q = _fmuladd(q, t, np.float32(0.027253219857811928))
    q = _fmuladd(q, t, np.float32(0.47014862298965454))
    q = _fmuladd(q, t, np.float32(1.0))
    y = min(max(x * p / q, np.float32(-1.0)), np.float32(1.0))
    return np.copysign(np.float32(1.0), x) if abs(x) > np.float32(9.02) else y


@numba.njit(inline="always")
def tanh_f64(x):
    """Hyperbolic tangent, as expm1(2|x|) / (expm1(2|x|) + 2) with the sign of x.
    ``tanh_f64(0.5) == 0.46211715726000974``."""
    # On |x|, the error of expm1 is damped for large |x|. tanh rounds to 1 above 19.06; the
    # clamp keeps expm1 finite (NaN passes through).
    a = min(abs(x), 19.5)
    e = expm1_f64(a + a)
    return np.copysign(e / (e + 2.0), x)


@numba.njit(inline="always")
def logistic_f32(x):
    """1 / (1 + e**-x), from e**-|x| (never overflows). ``logistic_f32(np.float32(0)) == 0.5``."""
    e = exp_f32(-abs(x))
    return (np.float32(1.0) if x >= np.float32(0.0) else e) / (np.float32(1.0) + e)


@numba.njit(inline="always")
def logistic_f64(x):
    """1 / (1 + e**-x), from e**-|x| (never overflows). ``logistic_f64(0.0) == 0.5``."""
    e = exp_f64(-abs(x))
    return (1.0 if x >= 0.0 else e) / (1.0 + e)


# --------------------------------------------------------------------------- log, log1p


@numba.njit(inline="always")
def _log1p_reduced_f32(f):
    """log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1] as f - f**2/2 + f**3 * P(f): minimax,
    relative error 5.8e-9."""
    p = _fmuladd(np.float32(-0.07634609937667847), f, np.float32(0.12762029469013214))
    p = _fmuladd(p, f, np.float32(-0.1316034495830536))
    p = _fmuladd(p, f, np.float32(0.14201708137989044))
    p = _fmuladd(p, f, np.float32(-0.1662333756685257))
    p = _fmuladd(p, f, np.float32(0.20001228153705597))
    p = _fmuladd(p, f, np.float32(-0.250008225440979))
    p = _fmuladd(p, f, np.float32(0.3333333134651184))
    return _fmuladd(f * f, _fmuladd(f, p, np.float32(-0.5)), f)


@numba.njit(inline="always")
def _log1p_reduced_f64(f):
    """log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: with s = f / (2 + f),
    log(1 + f) = 2 atanh(s) = f - f**2/2 + s * (f**2/2 + R(s**2)), R minimax with error 2.3e-18."""
    s = f / (2.0 + f)
    z = s * s
    p = _fmuladd(0.1480684800687688, z, 0.15313492790920055)
    p = _fmuladd(p, z, 0.18183560531856996)
    p = _fmuladd(p, z, 0.2222219926009182)
    p = _fmuladd(p, z, 0.28571428728147336)
    p = _fmuladd(p, z, 0.3999999999952191)
    p = _fmuladd(p, z, 0.666666666666671)
    hf2 = 0.5 * f * f
    return f - (hf2 - s * _fmuladd(z, p, hf2))


@numba.njit(inline="always")
def log_f32(x):
    """Natural logarithm. ``log_f32(np.float32(2.0)) == np.float32(0.6931472)``."""
    sub = x < np.float32(1.1754943508222875e-38)  # subnormal: scale into the normal range
    xs = x * np.float32(8388608.0) if sub else x
    # x = 2**e * m with m in [sqrt(1/2), sqrt(2)): offsetting the bits by those of sqrt(1/2)
    # moves the exponent boundary there.
    # (Numba widens int32 arithmetic to int64: np.int32 casts keep the vector lanes narrow.)
    ix = np.int32(np.float32(xs).view(np.int32) - np.int32(0x3F3504F3))
    e = np.float32(np.int32((ix >> 23) - (23 if sub else 0)))
    m = np.int32((ix & np.int32(0x007FFFFF)) + np.int32(0x3F3504F3)).view(np.float32)
    lo = _fmuladd(e, np.float32(3.194618329871446e-05), _log1p_reduced_f32(m - np.float32(1.0)))
    y = _fmuladd(e, np.float32(0.693115234375), lo)
    y = x if (x != x) | (x == np.float32(np.inf)) else y
    y = np.float32(-np.inf) if x == np.float32(0.0) else y
    return np.float32(np.nan) if x < np.float32(0.0) else y


@numba.njit(inline="always")
def log_f64(x):
    """Natural logarithm. ``log_f64(2.0) == 0.6931471805599453``."""
    sub = x < 2.2250738585072014e-308
    xs = x * 4503599627370496.0 if sub else x
    ix = np.float64(xs).view(np.int64) - np.int64(0x3FE6A09E667F3BCD)
    e = np.float64((ix >> 52) - (np.int64(52) if sub else np.int64(0)))
    m = np.int64((ix & np.int64(0x000FFFFFFFFFFFFF)) + np.int64(0x3FE6A09E667F3BCD)).view(np.float64)
    lo = _fmuladd(e, -4.2009150715352495e-11, _log1p_reduced_f64(m - 1.0))
    y = _fmuladd(e, 0.6931471806019545, lo)
    y = x if (x != x) | (x == np.inf) else y
    y = -np.inf if x == 0.0 else y
    return np.nan if x < 0.0 else y


@numba.njit(inline="always")
def log1p_f32(x):
    """log(1 + x), accurate near 0. ``log1p_f32(np.float32(1e-10)) == np.float32(1e-10)``."""
    u = np.float32(1.0) + x
    iu = np.int32(np.float32(u).view(np.int32) - np.int32(0x3F3504F3))
    k = np.int32(iu >> 23)
    m = np.int32((iu & np.int32(0x007FFFFF)) + np.int32(0x3F3504F3)).view(np.float32)
    # For k == 0 (u in [sqrt(1/2), sqrt(2))) f = x exactly; otherwise f = m - 1 is exact and
    # c / u corrects for the rounding of 1 + x.
    f = x if k == 0 else m - np.float32(1.0)
    c = np.float32(0.0) if k == 0 else (x - (u - np.float32(1.0))) / u
    e = np.float32(k)
    lo = _log1p_reduced_f32(f) + _fmuladd(e, np.float32(3.194618329871446e-05), c)
    y = _fmuladd(e, np.float32(0.693115234375), lo)
    y = x if (x != x) | (x == np.float32(np.inf)) | (x == np.float32(0.0)) else y
    y = np.float32(-np.inf) if x == np.float32(-1.0) else y
    return np.float32(np.nan) if x < np.float32(-1.0) else y


@numba.njit(inline="always")
def log1p_f64(x):
    """log(1 + x), accurate near 0. ``log1p_f64(1e-20) == 1e-20``."""
    u = 1.0 + x
    iu = np.float64(u).view(np.int64) - np.int64(0x3FE6A09E667F3BCD)
    k = iu >> 52
    m = np.int64((iu & np.int64(0x000FFFFFFFFFFFFF)) + np.int64(0x3FE6A09E667F3BCD)).view(np.float64)
    f = x if k == 0 else m - 1.0
    c = 0.0 if k == 0 else (x - (u - 1.0)) / u
    e = np.float64(k)
    lo = _log1p_reduced_f64(f) + _fmuladd(e, -4.2009150715352495e-11, c)
    y = _fmuladd(e, 0.6931471806019545, lo)
    y = x if (x != x) | (x == np.inf) | (x == 0.0) else y
    y = -np.inf if x == -1.0 else y
    return np.nan if x < -1.0 else y


# --------------------------------------------------------------------------- erf


@numba.njit(inline="always")
def erf_f32(x):
    """The error function. ``erf_f32(np.float32(0.5)) == np.float32(0.5204999)``."""
    a = abs(x)
    # |x| < 0.9: x + x * P(x*x), minimax with relative error 2.9e-10.
    t = x * x
    p = _fmuladd(np.float32(8.513104694429785e-05), t, np.float32(-0.0008175639668479562))
    p = _fmuladd(p, t, np.float32(0.005203858949244022))
    p = _fmuladd(p, t, np.float32(-0.02686050906777382))
    p = _fmuladd(p, t, np.float32(0.11283715069293976))
    p = _fmuladd(p, t, np.float32(-0.37612634897232056))
    p = _fmuladd(p, t, np.float32(0.128379225730896))
    small = _fmuladd(x, p, x)
    # Otherwise 1 - e**(-x*x) * R(|x|), R a minimax (3, 3) rational for erfc(x) * e**(x*x).
    # From 3.9192 on, erf rounds to +-1: the clamp keeps e**(-x*x) normal (NaN passes).
    c = min(a, np.float32(3.93))
    cc = c * c
    k, r = _ln2_reduce_f32(-cc)
    r = r - _fmuladd(c, c, -cc)  # with FMA, the rounding error of c*c too
    e = _exp_reduced_f32(r) * _pow2_f32(k)
    n = _fmuladd(np.float32(-0.00021522323368117213), c, np.float32(0.19344449043273926))
    n = _fmuladd(n, c, np.float32(0.6598772406578064))
    n = _fmuladd(n, c, np.float32(1.0002431869506836))
    d = _fmuladd(np.float32(0.33728256821632385), c, np.float32(1.2071365118026733))
    d = _fmuladd(d, c, np.float32(1.790054440498352))
    d = _fmuladd(d, c, np.float32(1.0))
    large = np.copysign(_fmuladd(-e, n / d, np.float32(1.0)), x)
    return small if a < np.float32(0.9) else large


@numba.njit(inline="always")
def erf_f64(x):
    """The error function. ``erf_f64(0.5) == 0.5204998778130465``."""
    a = abs(x)
    # |x| < 0.9: x + x * P(x*x), minimax with relative error 1.8e-17.
    t = x * x
    p = _fmuladd(-8.844881632661624e-10, t, 1.4215659566710155e-08)
    p = _fmuladd(p, t, -1.6309940615200042e-07)
    p = _fmuladd(p, t, 1.6459207009259945e-06)
    p = _fmuladd(p, t, -1.4925590335227716e-05)
    p = _fmuladd(p, t, 0.0001205533483590803)
    p = _fmuladd(p, t, -0.0008548327184299315)
    p = _fmuladd(p, t, 0.0052239776301917845)
    p = _fmuladd(p, t, -0.02686617064585697)
    p = _fmuladd(p, t, 0.11283791670960848)
    p = _fmuladd(p, t, -0.37612638903183954)
    small = _fmuladd(x, _fmuladd(p, t, 0.12837916709551257), x)
    # Otherwise 1 - e**(-x*x) * R(|x|), R a minimax (7, 7) rational for erfc(x) * e**(x*x)
    # (erf error 3e-18). From 5.9216 on, erf rounds to +-1: the clamp keeps e**(-x*x) normal.
    c = min(a, 5.93)
    cc = c * c
    k, r = _ln2_reduce_f64(-cc)
    r = r - _fmuladd(c, c, -cc)  # with FMA, the rounding error of c*c too
    e = _exp_reduced_f64(r) * _pow2_f64(k)
    n = _fmuladd(-3.663046651054298e-12, c, 0.0025752221951985373)
    n = _fmuladd(n, c, 0.03052912511625514)
    n = _fmuladd(n, c, 0.17248706834224922)
    n = _fmuladd(n, c, 0.5824587120510956)
    n = _fmuladd(n, c, 1.2367637584754894)
    n = _fmuladd(n, c, 1.581685798419562)
    n = _fmuladd(n, c, 1.0000000073152164)
    d = _fmuladd(0.004564458646838814, c, 0.0541116159673776)
    d = _fmuladd(d, c, 0.30800470157625987)
    d = _fmuladd(d, c, 1.059472776244675)
    d = _fmuladd(d, c, 2.3423688562745086)
    d = _fmuladd(d, c, 3.294744232826949)
    d = _fmuladd(d, c, 2.71006505030752)
    d = _fmuladd(d, c, 1.0)
    large = np.copysign(_fmuladd(-e, n / d, 1.0), x)
    return small if a < 0.9 else large


# --------------------------------------------------------------------------- kernel source


@functools.lru_cache(maxsize=None)
def _definitions() -> dict:
    """name -> (source text, names of the other definitions it uses), in file order, for
    each kernel helper of this module: a Numba-compiled function, or an ``if`` choosing one."""
    text = pathlib.Path(__file__).read_text()
    tree = ast.parse(text)
    lines = text.splitlines()
    found: dict = {}
    for node in tree.body:
        compiled = [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef) and any(
            ast.unparse(d).startswith("numba.") for d in n.decorator_list)]
        if not compiled or not isinstance(node, (ast.FunctionDef, ast.If)):
            continue
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        source = "\n".join(lines[first - 1:node.end_lineno])
        uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        names = [node.name] if isinstance(node, ast.FunctionDef) else [
            n.name for n in node.body if isinstance(n, ast.FunctionDef)]
        for name in names:
            found[name] = (source, uses)
    return {name: (source, uses & found.keys() - {name}) for name, (source, uses) in found.items()}


def helper_source(code: str) -> str:
    """The source of each function of this module that ``code`` calls, and of the helpers
    they call, in definition order: text to paste into a generated kernel module.

    ``helper_source("v2 = exp_f32(v1)")`` holds ``_fmuladd``, ``_pow2_f32``,
    ``_ln2_reduce_f32`` and ``exp_f32``; ``helper_source("v2 = v1 + 1")`` is ``""``.
    """
    definitions = _definitions()
    needed: set = set()
    pending = [name for name in re.findall(r"\b(\w+)\(", code) if name in definitions]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(definitions[name][1])
    sources = dict.fromkeys(definitions[name][0] for name in definitions if name in needed)
    return "".join(f"\n\n{source}\n" for source in sources)
