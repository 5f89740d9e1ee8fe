"""Floating-point kernels that reproduce JAX's (XLA's CPU) results bit for bit, with ftx.lax.

Three things make XLA's numbers differ from the obvious NumPy expression:

- XLA contracts ``a * b + c`` into one fused multiply-add (a single rounding).
  ``fma`` computes the same correctly rounded value: for float16/float32 from
  the exact float64 product, for float64 with Dekker's error-free product and
  Knuth's two-sum.
- ``erf_inv``, ``log1p`` and float32 ``erf`` are XLA's own approximations (Giles'
  polynomials for erfinv, a Cephes rational for log1p near zero, a rational
  minimax erf), not libm's; below are those algorithms step for step, fused
  where XLA fuses.
- XLA's float32 ``log`` is a Cephes polynomial after a frexp; ``log`` rebuilds it
  exactly (the frexp without a bitcast, from an exact power-of-two scaling).
  Its float64 ``log`` is glibc's, which NumPy's vectorised log (what
  ``lax.log`` runs) matches in all but about 0.4% of arguments (by 1 ulp);
  that is the one known source of differences (fewer than 1 in 10,000
  float64 normal samples, by at most a few ulp).

All of these are compositions of ftx.lax primitives, so they trace,
differentiate and batch like anything else.
"""
from __future__ import annotations

import numpy as np

from ftx import lax
from ftx.core.avals import get_aval

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
# Veltkamp's splitting constant 2**27 + 1: a float64 splits into two 26-bit halves.
_SPLITTER = np.array(134217729.0, _F64)


def _c(value, dtype):
    return np.array(value, dtype)


def _f64(x):
    return x if get_aval(x).dtype == _F64 else lax.convert_element_type(x, _F64)


def _two_sum(a, b):
    """``s, t`` with ``s = fl(a + b)`` and ``s + t == a + b`` exactly (Knuth)."""
    s = lax.add(a, b)
    bb = lax.sub(s, a)
    return s, lax.add(lax.sub(a, lax.sub(s, bb)), lax.sub(b, bb))


def _split64(a):
    """Veltkamp's split of float64 ``a`` into ``hi + lo`` with 26-bit halves (exact)."""
    t = lax.mul(_SPLITTER, a)
    hi = lax.sub(t, lax.sub(t, a))
    return hi, lax.sub(a, hi)


def _fma64(a, b, c, b_split=None):
    """``a * b + c`` in float64 with a single rounding (error-free transformations).

    Correctly rounded unless the exact result lies within about 2**-105 (relative)
    of a rounding boundary, which no sample reaches in practice. ``b_split``
    reuses ``_split64(b)`` across Horner steps.
    """
    p = lax.mul(a, b)
    a_hi, a_lo = _split64(a)
    b_hi, b_lo = b_split if b_split is not None else _split64(b)
    err = lax.add(lax.add(lax.add(lax.sub(lax.mul(a_hi, b_hi), p), lax.mul(a_hi, b_lo)),
                          lax.mul(a_lo, b_hi)), lax.mul(a_lo, b_lo))
    s, t = _two_sum(p, c)
    return lax.add(s, lax.add(t, err))


def _fma_narrow(a, b, c, dtype, exact_ties: bool):
    """``a * b + c`` rounded once to float16/float32 ``dtype``, computed in float64.

    The float64 product of two narrow floats is exact, so the sum is rounded
    twice at most: once to float64, once to ``dtype``. That can only go wrong
    when the float64 sum lands exactly halfway between two ``dtype`` values;
    with ``exact_ties`` that case is decided by the sign of the sum's
    rounding error (an extra dozen operations; Horner steps skip it, where a
    tie has probability about 2**-29).
    """
    p = lax.mul(_f64(a), _f64(b))
    c = _f64(c)
    s = lax.add(p, c)
    r = lax.convert_element_type(s, dtype)
    if not exact_ties:
        return r
    bb = lax.sub(s, p)
    err = lax.add(lax.sub(p, lax.sub(s, bb)), lax.sub(c, bb))
    r64 = lax.convert_element_type(r, _F64)
    up = lax.gt(s, r64)
    # The neighbour of r on the side of s; s is a tie iff it is their midpoint.
    other = lax.nextafter(r, lax.select_n(up, _c(-np.inf, dtype), _c(np.inf, dtype)))
    other64 = lax.convert_element_type(other, _F64)
    tie = lax.eq(lax.mul(lax.add(r64, other64), _c(0.5, _F64)), s)
    toward_other = lax.select_n(up, lax.lt(err, _c(0.0, _F64)), lax.gt(err, _c(0.0, _F64)))
    return lax.select_n(lax.bitwise_and(tie, toward_other), r, other)


def fma(a, b, c, dtype, exact_ties: bool = True):
    """``a * b + c`` with one rounding to ``dtype`` (what XLA's fused multiply-add gives)."""
    dtype = np.dtype(dtype)
    if dtype == _F64:
        exact = _fma64(a, b, c)
        # Dekker's split overflows beyond about 1e300; there the plain expression is as good.
        plain = lax.add(lax.mul(a, b), c)
        return lax.select_n(lax.is_finite(exact), plain, exact)
    return _fma_narrow(a, b, c, dtype, exact_ties)


class _Horner:
    """Horner steps ``p * x + c`` fused like XLA's, for one ``x`` and several ``p``."""

    def __init__(self, x, dtype):
        self.dtype = np.dtype(dtype)
        if self.dtype == _F64:
            self.x, self.x_split = x, _split64(x)
        else:
            self.x, self.x_split = _f64(x), None

    def step(self, p, c):
        if self.dtype == _F64:
            return _fma64(p, self.x, c, self.x_split)
        return _fma_narrow(p, self.x, c, self.dtype, exact_ties=False)

    def poly(self, coefficients):
        """The polynomial with ``coefficients`` (highest degree first) at ``x``."""
        p = _c(coefficients[0], self.dtype)
        for coefficient in coefficients[1:]:
            p = self.step(p, _c(coefficient, self.dtype))
        return p


def _bits32(pattern: int):
    """The float32 with this bit pattern (XLA's constants are given exactly so)."""
    return np.array(pattern, np.uint32).view(_F32)


def _frexp64(v):
    """``(m, e)`` with ``v == m * 2**e``, ``0.5 <= m < 1``, for positive normal float64 ``v``.

    ftx.lax has no bitcast, so the exponent comes from ``log`` and is then
    corrected, and the scaling by ``2**-e`` (``exp2`` of an integer) is exact.
    """
    e = lax.add(lax.floor(lax.mul(lax.log(v), _c(1 / np.log(2), _F64))), _c(1.0, _F64))
    m = lax.mul(v, lax.exp2(lax.neg(e)))
    for too_big in (True, False):  # the estimate is off by at most one binade
        wrong = lax.ge(m, _c(1.0, _F64)) if too_big else lax.lt(m, _c(0.5, _F64))
        m = lax.select_n(wrong, m, lax.mul(m, _c(0.5 if too_big else 2.0, _F64)))
        e = lax.select_n(wrong, e, lax.add(e, _c(1.0 if too_big else -1.0, _F64)))
    return m, e


# XLA's float32 log (Eigen's plog, after Cephes' logf): log(m * 2**e) with m in
# [sqrt(1/2), sqrt(2)) as a polynomial in z = m - 1.
_LOG32_P = [_bits32(b) for b in (0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF,
                                 0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA)]
_LOG32_Q1 = _bits32(0xB95E8083)  # -2.12194440e-4: log(2) = Q2 - Q1, split for exactness
_LOG32_Q2 = _bits32(0x3F318000)  # 0.693359375
_SQRT_HALF32 = _bits32(0x3F3504F3)


def _log32(x):
    f32 = _F32
    # XLA clamps subnormals (and NaN) up to the smallest normal before its frexp.
    v = lax.select_n(lax.gt(x, _c(np.finfo(f32).tiny, f32)), _c(np.finfo(f32).tiny, f32), x)
    m64, e64 = _frexp64(lax.convert_element_type(v, _F64))
    m = lax.convert_element_type(m64, f32)
    e = lax.convert_element_type(e64, f32)
    below = lax.lt(m, _SQRT_HALF32)
    z = lax.add(lax.sub(m, _c(1.0, f32)), lax.select_n(below, _c(0.0, f32), m))
    e = lax.sub(e, lax.select_n(below, _c(0.0, f32), _c(1.0, f32)))
    z2 = lax.mul(z, z)
    z3 = lax.mul(z2, z)

    def fused(a, b, c):
        return _fma_narrow(a, b, c, f32, exact_ties=False)

    p = _LOG32_P
    y1 = fused(fused(z, p[0], p[1]), z, p[2])
    y2 = fused(fused(z, p[3], p[4]), z, p[5])
    y3 = fused(fused(z, p[6], p[7]), z, p[8])
    y = fused(fused(fused(y1, z3, y2), z3, y3), z3, lax.mul(_LOG32_Q1, e))
    r = lax.add(fused(_c(-0.5, f32), z2, z), y)
    r = fused(_LOG32_Q2, e, r)
    r = lax.select_n(lax.gt(x, _c(0.0, f32)), _c(np.nan, f32), r)
    r = lax.select_n(lax.eq(x, _c(0.0, f32)), r, _c(-np.inf, f32))
    return lax.select_n(lax.eq(x, _c(np.inf, f32)), r, _c(np.inf, f32))


def log(x):
    """The natural log as XLA's CPU backend computes it (float16 through float32)."""
    dtype = get_aval(x).dtype
    if dtype == _F32:
        return _log32(x)
    if dtype.itemsize < 4:
        return lax.convert_element_type(_log32(lax.convert_element_type(x, _F32)), dtype)
    return lax.log(x)


# XLA's float32 erf: x * P(x**2) / Q(x**2), and +-1 beyond |x| >= 3.8325.
_ERF32_P = [_bits32(b) for b in (0x39702D51, 0x3B5F5DA2, 0x3D50B6EB, 0x3E3DA740, 0x3F906EBA)]
_ERF32_Q = [_bits32(b) for b in (0xB3FD3906, 0x37C588DF, 0x3A856D28, 0x3C6687D4, 0x3DE34C21,
                                 0x3EFEB44A, 0x3F800000)]
_ERF32_SATURATED = _bits32(0x407547CB)


def _erf32(x):
    f32 = _F32
    x2 = lax.mul(x, x)
    horner = _Horner(x2, f32)
    p = _ERF32_P[0]
    for c in _ERF32_P[1:]:
        p = horner.step(p, c)
    q = _ERF32_Q[0]
    for c in _ERF32_Q[1:]:
        q = horner.step(q, c)
    r = lax.div(lax.mul(x, p), q)
    one = lax.select_n(lax.lt(x, _c(0.0, f32)), _c(1.0, f32), _c(-1.0, f32))
    return lax.select_n(lax.ge(lax.abs(x), _ERF32_SATURATED), r, one)


def erf(x):
    """The error function as XLA computes it (float64: libm's erf, which ``lax.erf`` is)."""
    dtype = get_aval(x).dtype
    if dtype == _F32:
        return _erf32(x)
    if dtype.itemsize < 4:
        return lax.convert_element_type(_erf32(lax.convert_element_type(x, _F32)), dtype)
    if not get_aval(x).shape:
        # lax.erf's NumPy impl mishandles rank-0 operands (np.frompyfunc returns a
        # Python float for them), so scalars take a detour through shape (1,).
        return lax.reshape(lax.erf(lax.reshape(x, (1,))), ())
    return lax.erf(x)


# XLA's log1p: a Cephes rational approximation for |x| < sqrt(2) - 1, log(1 + x) beyond.
_LOG1P_NUMERATOR = (4.5270000862445199635215E-5, 4.9854102823193375972212E-1,
                    6.5787325942061044846969E0, 2.9911919328553073277375E1,
                    6.0949667980987787057556E1, 5.7112963590585538103336E1,
                    2.0039553499201281259648E1)
_LOG1P_DENOMINATOR = (1.0, 1.5062909083469192043167E1, 8.3047565967967209469434E1,
                      2.2176239823732856465394E2, 3.0909872225312059774938E2,
                      2.1642788614495947685003E2, 6.0118660497603843919306E1)


def log1p(x):
    """``log(1 + x)`` as XLA computes it for float32 and float64 (see the module docstring)."""
    dtype = get_aval(x).dtype
    horner = _Horner(x, dtype)
    x_squared = lax.mul(x, x)
    small = lax.div(horner.poly(_LOG1P_NUMERATOR), horner.poly(_LOG1P_DENOMINATOR))
    small = lax.mul(lax.mul(x, x_squared), small)
    small = lax.add(x, fma(_c(-0.5, dtype), x_squared, small, dtype, exact_ties=False))
    large = log(lax.add(x, _c(1.0, dtype)))
    is_small = lax.lt(lax.abs(x), _c(0.41421356237309504880, dtype))
    return lax.select_n(is_small, large, small)


# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), as in XLA.
_ERFINV32_W_LT_5 = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                    0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV32_W_GE_5 = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                    0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_ERFINV64_W_LT_6_25 = (
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
    1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
    6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
    2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
    4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
    0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
    0.24015818242558961693, 1.6536545626831027356)
_ERFINV64_W_LT_16 = (
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
    1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
    2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
    6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
    -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
    3.0838856104922207635)
_ERFINV64_W_GE_16 = (
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
    -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
    2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
    -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
    1.0103004648645343977, 4.8499064014085844221)


def _erf_inv32(x):
    dtype = _F32
    w = lax.neg(log1p(lax.mul(x, lax.neg(x))))
    small = lax.lt(w, _c(5.0, dtype))
    w = lax.select_n(small, lax.sub(lax.sqrt(w), _c(3.0, dtype)), lax.sub(w, _c(2.5, dtype)))
    horner = _Horner(w, dtype)

    def coefficient(i):
        return lax.select_n(small, _c(_ERFINV32_W_GE_5[i], dtype), _c(_ERFINV32_W_LT_5[i], dtype))

    p = coefficient(0)
    for i in range(1, len(_ERFINV32_W_LT_5)):
        p = horner.step(p, coefficient(i))
    return lax.mul(p, x)


def _erf_inv64(x):
    dtype = _F64
    w = lax.neg(log1p(lax.mul(x, lax.neg(x))))
    lt_6_25 = lax.lt(w, _c(6.25, dtype))
    lt_16 = lax.lt(w, _c(16.0, dtype))
    shift = lax.select_n(lt_16, _c(5.0, dtype), _c(3.25, dtype))
    w = lax.select_n(lt_6_25, lax.sub(lax.sqrt(w), shift), lax.sub(w, _c(3.125, dtype)))
    horner = _Horner(w, dtype)

    def coefficient(i):
        c = _c(_ERFINV64_W_LT_6_25[i], dtype)
        if i < len(_ERFINV64_W_LT_16):
            c = lax.select_n(lt_6_25, _c(_ERFINV64_W_LT_16[i], dtype), c)
        if i < len(_ERFINV64_W_GE_16):
            c = lax.select_n(lt_16, _c(_ERFINV64_W_GE_16[i], dtype), c)
        return c

    # The three branches are polynomials of degree 16, 18 and 22 in one Horner
    # loop: a branch keeps its value once its own coefficients run out.
    p = coefficient(0)
    for i in range(1, len(_ERFINV64_W_LT_6_25)):
        stepped = horner.step(p, coefficient(i))
        if i < len(_ERFINV64_W_GE_16):
            p = stepped
        elif i < len(_ERFINV64_W_LT_16):
            p = lax.select_n(lt_16, p, stepped)
        else:
            p = lax.select_n(lt_6_25, p, stepped)
    return lax.mul(p, x)


def erf_inv(x):
    """The inverse error function, +-inf at +-1 (XLA's algorithm; float16 through float32)."""
    dtype = get_aval(x).dtype
    if dtype == _F64:
        out = _erf_inv64(x)
    elif dtype == _F32:
        out = _erf_inv32(x)
    else:
        out = lax.convert_element_type(_erf_inv32(lax.convert_element_type(x, _F32)), dtype)
    at_one = lax.eq(lax.abs(x), _c(1.0, dtype))
    return lax.select_n(at_one, out, lax.mul(x, _c(np.inf, dtype)))
