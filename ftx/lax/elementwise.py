"""Elementwise primitives: unary and binary math, comparisons, logic, select, clamp, casts.

Each primitive's block holds its NumPy impl and its abstract eval (through the
``_unop``/``_naryop`` family constructors, which give every member the same
shape/dtype rule); transform rules are added to the same blocks. Operands of
one primitive share a shape and a dtype, except that rank-0 operands broadcast
and Python-scalar literals adopt the other operands' dtype (see
``_shape_rules.elementwise_aval``). ``ftx.numpy`` does NumPy-style broadcasting
and promotion before it calls these.
"""
from __future__ import annotations

import math

import numpy as np

from ftx.core import dtypes
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax._ad_rules import defbilinear, defjvp, deflinear, instantiate, nondifferentiable, unbroadcast
from ftx.lax._batch_rules import (bdim_to_front, broadcast_batched_args, defbroadcasting,
                                  defvectorized)
from ftx.lax._shape_rules import describe, elementwise_aval

_float = "f"
_inexact = "fc"
_num = "iufc"
_int = "iu"
_logical = "biu"
_any = "biufc"


def _naryop(name: str, np_fn, kinds: str, out_dtype=None) -> Primitive:
    """An elementwise primitive computed by ``np_fn``; ``out_dtype(in_dtype)`` for e.g. comparisons."""
    prim = Primitive(name)
    prim.def_impl(lambda *args: [np_fn(*args)])

    def abstract_eval(*avals):
        aval = elementwise_aval(name, avals, kinds)
        return [aval if out_dtype is None else aval.update(dtype=out_dtype(aval.dtype))]

    prim.def_abstract_eval(abstract_eval)
    defbroadcasting(prim)
    return prim


_unop = _naryop


def _const(x, value):
    """``value`` as a 0-d array of ``x``'s dtype (a typed literal inside rules)."""
    return np.array(value, get_aval(x).dtype)


def _pyscalar(x) -> bool:
    return type(x) in (bool, int, float, complex)


def _to_bool(_):
    return dtypes.bool_


def _complex_to_real(dtype):
    return np.dtype(np.finfo(dtype).dtype) if dtype.kind == "c" else dtype


# --------------------------------------------------------------------------- unary: floating math

exp_p = _unop("exp", np.exp, _inexact)
defjvp(exp_p, lambda g, ans, x: mul(g, ans))
exp2_p = _unop("exp2", np.exp2, _inexact)
defjvp(exp2_p, lambda g, ans, x: mul(g, mul(ans, _const(ans, np.log(2.0)))))
log_p = _unop("log", np.log, _inexact)
defjvp(log_p, lambda g, ans, x: div(g, x))
log1p_p = _unop("log1p", np.log1p, _inexact)
defjvp(log1p_p, lambda g, ans, x: div(g, add(x, _const(ans, 1))))
expm1_p = _unop("expm1", np.expm1, _inexact)
defjvp(expm1_p, lambda g, ans, x: mul(g, add(ans, _const(ans, 1))))
sin_p = _unop("sin", np.sin, _inexact)
defjvp(sin_p, lambda g, ans, x: mul(g, cos(x)))
cos_p = _unop("cos", np.cos, _inexact)
defjvp(cos_p, lambda g, ans, x: neg(mul(g, sin(x))))
tan_p = _unop("tan", np.tan, _inexact)
defjvp(tan_p, lambda g, ans, x: mul(g, add(_const(ans, 1), mul(ans, ans))))
asin_p = _unop("asin", np.arcsin, _inexact)
defjvp(asin_p, lambda g, ans, x: mul(g, rsqrt(sub(_const(ans, 1), mul(x, x)))))
acos_p = _unop("acos", np.arccos, _inexact)
defjvp(acos_p, lambda g, ans, x: neg(mul(g, rsqrt(sub(_const(ans, 1), mul(x, x))))))
atan_p = _unop("atan", np.arctan, _inexact)
defjvp(atan_p, lambda g, ans, x: div(g, add(_const(ans, 1), mul(x, x))))
sinh_p = _unop("sinh", np.sinh, _inexact)
defjvp(sinh_p, lambda g, ans, x: mul(g, cosh(x)))
cosh_p = _unop("cosh", np.cosh, _inexact)
defjvp(cosh_p, lambda g, ans, x: mul(g, sinh(x)))
tanh_p = _unop("tanh", np.tanh, _inexact)
defjvp(tanh_p, lambda g, ans, x: mul(g, sub(_const(ans, 1), mul(ans, ans))))
asinh_p = _unop("asinh", np.arcsinh, _inexact)
defjvp(asinh_p, lambda g, ans, x: mul(g, rsqrt(add(mul(x, x), _const(ans, 1)))))
acosh_p = _unop("acosh", np.arccosh, _inexact)
defjvp(acosh_p, lambda g, ans, x: div(g, mul(sqrt(sub(x, _const(ans, 1))), sqrt(add(x, _const(ans, 1))))))
atanh_p = _unop("atanh", np.arctanh, _inexact)
defjvp(atanh_p, lambda g, ans, x: div(g, sub(_const(ans, 1), mul(x, x))))
sqrt_p = _unop("sqrt", np.sqrt, _inexact)
defjvp(sqrt_p, lambda g, ans, x: div(g, mul(ans, _const(ans, 2))))
cbrt_p = _unop("cbrt", np.cbrt, _float)
defjvp(cbrt_p, lambda g, ans, x: div(g, mul(_const(ans, 3), mul(ans, ans))))


def _rsqrt(x):
    return 1 / np.sqrt(x)


rsqrt_p = _unop("rsqrt", _rsqrt, _inexact)
defjvp(rsqrt_p, lambda g, ans, x: mul(g, mul(_const(ans, -0.5), div(ans, x))))


def _logistic(x):
    # One exp of -|x| (never overflows), then the algebraically stable branch for each sign:
    # accurate in relative terms even far in the tails, and several times faster than logaddexp.
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


logistic_p = _unop("logistic", _logistic, _float)
defjvp(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(_const(ans, 1), ans))))


def _vectorize_math(fn):
    scalar = np.frompyfunc(fn, 1, 1)

    def apply(x):
        x = np.asarray(x)
        # frompyfunc gives a Python float for 0-d input: asarray keeps the result an array.
        return np.asarray(scalar(x)).astype(x.dtype)

    return apply


# NumPy has no erf/lgamma; Python's libm versions are exact to the last bit,
# which is what the reference interpreter needs (compiled backends use their own).
erf_p = _unop("erf", _vectorize_math(math.erf), _float)
defjvp(erf_p, lambda g, ans, x: mul(g, mul(_const(x, 2 / np.sqrt(np.pi)), exp(neg(mul(x, x))))))
erfc_p = _unop("erfc", _vectorize_math(math.erfc), _float)
defjvp(erfc_p, lambda g, ans, x: mul(g, mul(_const(x, -2 / np.sqrt(np.pi)), exp(neg(mul(x, x))))))
lgamma_p = _unop("lgamma", _vectorize_math(math.lgamma), _float)
defjvp(lgamma_p, lambda g, ans, x: mul(g, digamma(x)))


def _digamma(x):
    """psi(x) by reflection, upward recurrence to x >= 10 and the asymptotic series."""
    x = np.asarray(x)
    z = x.astype(np.float64)
    reflect = z < 0.5
    w = np.where(reflect, 1.0 - z, z)
    acc = np.zeros_like(w)
    for _ in range(10):  # the series below is accurate to ~1e-14 from w >= 10
        small = w < 10.0
        acc = acc - np.where(small, 1.0 / w, 0.0)
        w = np.where(small, w + 1.0, w)
    inv2 = 1.0 / (w * w)
    series = np.log(w) - 0.5 / w - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 * (1 / 132)))))
    psi = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = np.where(reflect, psi - np.pi / np.tan(np.pi * z), psi)
        psi = np.where((z <= 0) & (z == np.floor(z)), np.nan, psi)
    return psi.astype(x.dtype)


digamma_p = _unop("digamma", _digamma, _float)
digamma_p.exempt("jvp", "its derivative (polygamma) is not implemented")
digamma_p.exempt("transpose", "not linear")

# --------------------------------------------------------------------------- unary: numeric

neg_p = _unop("neg", np.negative, _num)
deflinear(neg_p, lambda cts, x: [neg(cts[0])])

sign_p = _unop("sign", np.sign, _num)
nondifferentiable(sign_p)
floor_p = _unop("floor", np.floor, _float)
nondifferentiable(floor_p)
ceil_p = _unop("ceil", np.ceil, _float)
nondifferentiable(ceil_p)
is_finite_p = _unop("is_finite", np.isfinite, _float, out_dtype=_to_bool)
nondifferentiable(is_finite_p)

abs_p = _unop("abs", np.abs, _num, out_dtype=_complex_to_real)


def _abs_jvp(g, ans, x):
    if get_aval(x).dtype.kind == "c":
        # d|z| = Re(conj(z) dz) / |z|, with 0 at z = 0.
        safe = select_n(eq(ans, _const(ans, 0)), ans, _const(ans, 1))
        return div(real(mul(conj(x), g)), safe)
    return mul(sign(x), g)


defjvp(abs_p, _abs_jvp)


def _complex(re, im):
    """re + i*im for real arrays, in the matching complex dtype."""
    cdtype = np.result_type(get_aval(re).dtype, np.complex64)
    return add(convert_element_type(re, cdtype), mul(convert_element_type(im, cdtype), _const(
        np.zeros((), cdtype), 1j)))


real_p = _unop("real", np.real, "c", out_dtype=_complex_to_real)
deflinear(real_p, lambda cts, x: [_complex(cts[0], mul(cts[0], _const(cts[0], 0)))])
imag_p = _unop("imag", np.imag, "c", out_dtype=_complex_to_real)
deflinear(imag_p, lambda cts, x: [_complex(mul(cts[0], _const(cts[0], 0)), neg(cts[0]))])
conj_p = _unop("conj", np.conjugate, "c")
deflinear(conj_p, lambda cts, x: [conj(cts[0])])

not_p = _unop("not", np.invert, _logical)  # logical for bool, bitwise for ints
nondifferentiable(not_p, "it acts on bools and integers")
population_count_p = _unop("population_count",
                           lambda x: np.bitwise_count(x).astype(np.asarray(x).dtype), _int)
nondifferentiable(population_count_p, "it acts on integers")


class RoundingMethod:
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def _round_impl(x, *, rounding_method):
    if rounding_method == RoundingMethod.TO_NEAREST_EVEN:
        return [np.round(x)]
    x = np.asarray(x)
    t = np.trunc(x)
    return [np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t).astype(x.dtype)]


round_p = Primitive("round")
round_p.def_impl(_round_impl)
round_p.def_abstract_eval(lambda x, *, rounding_method: [elementwise_aval("round", [x], _float)])
nondifferentiable(round_p)
defvectorized(round_p)


def _integer_pow_impl(x, *, y):
    return [np.power(x, y) if y >= 0 else np.power(np.asarray(x), y)]


def _integer_pow_abstract_eval(x, *, y):
    aval = elementwise_aval("integer_pow", [x], _num)
    if y < 0 and aval.dtype.kind in "iu":
        raise ValueError(f"integer_pow: integers cannot be raised to the negative power {y} "
                         f"(operand {x.str_short()})")
    return [aval]


def _integer_pow_jvp(g, ans, x, *, y):
    if y == 0:
        return mul(g, _const(ans, 0))
    dx = mul(_const(ans, y), x if y == 2 else integer_pow(x, y - 1))
    return mul(g, dx)


integer_pow_p = Primitive("integer_pow")
integer_pow_p.def_impl(_integer_pow_impl)
integer_pow_p.def_abstract_eval(_integer_pow_abstract_eval)
defjvp(integer_pow_p, _integer_pow_jvp)
defvectorized(integer_pow_p)

# --------------------------------------------------------------------------- binary arithmetic


def _linear_sum_transpose(signs):
    """Transpose of x*s0 + y*s1 (add, sub): each linear operand gets its signed cotangent."""
    def transpose(cts, *operands):
        (ct,) = cts
        out = []
        for x, s in zip(operands, signs):
            if not is_undefined(x) or type(ct) is Zero:
                out.append(None)
            else:
                out.append(unbroadcast(ct if s > 0 else neg(ct), x.aval))
        return out
    return transpose


def _linear_sum_jvp(prim, signs):
    """x*s0 + y*s1 (add, sub): a zero tangent term is dropped, not added as zeros."""
    def jvp(primals, tangents):
        ans = prim.bind1(*primals)
        terms = [(t, s) for t, s in zip(tangents, signs) if type(t) is not Zero]
        if len(terms) == 2:
            return [ans], [prim.bind1(*tangents)]
        (t, s), = terms
        t = t if s > 0 else neg(t)
        out_shape = get_aval(ans).shape
        if get_aval(t).shape != out_shape:  # the tangent of a rank-0 operand
            from ftx.lax.shape import broadcast_in_dim
            t = broadcast_in_dim(t, out_shape, ())
        return [ans], [t]
    return jvp


add_p = _naryop("add", np.add, _any)
deflinear(add_p, _linear_sum_transpose((1, 1)))
def_rule("jvp", add_p, _linear_sum_jvp(add_p, (1, 1)))
sub_p = _naryop("sub", np.subtract, _num)
deflinear(sub_p, _linear_sum_transpose((1, -1)))
def_rule("jvp", sub_p, _linear_sum_jvp(sub_p, (1, -1)))

mul_p = _naryop("mul", np.multiply, _any)
defbilinear(mul_p, lambda ct, x_aval, y: unbroadcast(mul(ct, y), x_aval),
            lambda ct, x, y_aval: unbroadcast(mul(x, ct), y_aval))


def _div(x, y):
    """Floats divide; integers round toward zero (C semantics, as lax.div in JAX)."""
    # Python-scalar operands stay unwrapped so NumPy treats them as weak (NEP 50).
    if np.result_type(x, y).kind not in "iu":
        return np.true_divide(x, y)
    with np.errstate(divide="ignore"):
        q = np.floor_divide(x, y)
        fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
    return q + fix.astype(q.dtype)


def _div_transpose(cts, x, y):
    (ct,) = cts
    if is_undefined(y):
        raise ValueError("transpose of div: the function is not linear in the divisor")
    return [unbroadcast(div(ct, y), x.aval), None]


div_p = _naryop("div", _div, _num)
defjvp(div_p, lambda g, ans, x, y: div(g, y),
       lambda g, ans, x, y: mul(neg(g), div(ans, y)))
def_rule("transpose", div_p, _div_transpose)  # linear in the numerator

rem_p = _naryop("rem", np.fmod, _num)  # sign of the dividend (C fmod), as lax.rem
defjvp(rem_p, lambda g, ans, x, y: g,
       lambda g, ans, x, y: mul(neg(g), _round_toward_zero(div(x, y))))


def _round_toward_zero(x):
    return select_n(lt(x, _const(x, 0)), floor(x), ceil(x))


def _pow_jvp_x(g, ans, x, y):
    # d/dx x**y = y * x**(y-1); a Python-scalar y stays a (weak) literal.
    y_minus_1 = y - 1 if _pyscalar(y) else sub(y, _const(y, 1))
    return mul(g, mul(y, pow(x, y_minus_1)))


def _pow_jvp_y(g, ans, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0 (the limit used by JAX).
    safe_log = select_n(eq(x, _const(ans, 0)), log(x if not _pyscalar(x) else _const(ans, x)),
                        _const(ans, 0))
    return mul(g, mul(safe_log, ans))


pow_p = _naryop("pow", np.power, _inexact)
defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)


def _balanced_eq(x, ans, y):
    """1 where x alone attains the max/min, 1/2 where x and y tie, 0 elsewhere."""
    return select_n(eq(x, ans), _const(ans, 0),
                    select_n(eq(y, ans), _const(ans, 1), _const(ans, 0.5)))


max_p = _naryop("max", np.maximum, _any)  # NaN-propagating, as NumPy's maximum
defjvp(max_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
       lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)))
min_p = _naryop("min", np.minimum, _any)
defjvp(min_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
       lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)))

atan2_p = _naryop("atan2", np.arctan2, _float)
defjvp(atan2_p, lambda g, ans, x, y: mul(g, div(y, add(mul(x, x), mul(y, y)))),
       lambda g, ans, x, y: mul(g, div(neg(x), add(mul(x, x), mul(y, y)))))
nextafter_p = _naryop("nextafter", np.nextafter, _float)
nondifferentiable(nextafter_p)

# --------------------------------------------------------------------------- logic and bits

and_p = _naryop("and", np.bitwise_and, _logical)
or_p = _naryop("or", np.bitwise_or, _logical)
xor_p = _naryop("xor", np.bitwise_xor, _logical)
shift_left_p = _naryop("shift_left", np.left_shift, _int)
shift_right_arithmetic_p = _naryop("shift_right_arithmetic", np.right_shift, _int)


def _shift_right_logical(x, y):
    x = np.asarray(x)
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    return np.right_shift(x.view(unsigned), np.asarray(y).astype(unsigned)).view(x.dtype)


shift_right_logical_p = _naryop("shift_right_logical", _shift_right_logical, _int)
for _p in (and_p, or_p, xor_p, shift_left_p, shift_right_arithmetic_p, shift_right_logical_p):
    nondifferentiable(_p, "it acts on bools and integers")

# --------------------------------------------------------------------------- comparisons

eq_p = _naryop("eq", np.equal, _any, out_dtype=_to_bool)
ne_p = _naryop("ne", np.not_equal, _any, out_dtype=_to_bool)
lt_p = _naryop("lt", np.less, _any, out_dtype=_to_bool)
le_p = _naryop("le", np.less_equal, _any, out_dtype=_to_bool)
gt_p = _naryop("gt", np.greater, _any, out_dtype=_to_bool)
ge_p = _naryop("ge", np.greater_equal, _any, out_dtype=_to_bool)
for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    nondifferentiable(_p, "comparisons are piecewise constant")

# --------------------------------------------------------------------------- select_n
# Linear in the cases (not in the selector).


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return [np.broadcast_to(cases[0], np.shape(which)) if np.ndim(which) else cases[0]]
    if len(cases) == 2:
        out = np.where(which, cases[1], cases[0])
    else:
        out = np.choose(np.asarray(which, dtype=np.intp), np.broadcast_arrays(*cases))
    return [out.astype(np.result_type(*cases), copy=False)]


def _select_n_abstract_eval(which, *cases):
    if not cases:
        raise TypeError("select_n: needs at least one case")
    if which.dtype.kind not in "biu":
        raise TypeError(f"select_n: the selector must be bool or integer, got {which.str_short()}")
    if which.dtype.kind == "b" and len(cases) > 2:
        raise TypeError(f"select_n: a bool selector picks between 2 cases, got {len(cases)}")
    case = elementwise_aval("select_n", cases)
    if which.shape and case.shape and which.shape != case.shape:
        raise ValueError(f"select_n: selector shape {which.str_short()} must equal the cases' "
                         f"shape or be scalar (cases {describe(cases)})")
    return [case.update(shape=case.shape or which.shape)]


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n(which, *cases)
    case_tangents = tangents[1:]
    if all(type(t) is Zero for t in case_tangents):
        return [out], [Zero.like(out)]
    return [out], [select_n(which, *[instantiate(t, c) for t, c in zip(case_tangents, cases)])]


def _select_n_transpose(cts, which, *cases):
    (ct,) = cts
    if is_undefined(which):
        raise ValueError("transpose of select_n: not linear in the selector")
    zeros = mul(ct, _const(ct, 0))
    out = [None]
    for i, case in enumerate(cases):
        if not is_undefined(case):
            out.append(None)
            continue
        picked = select_n(which, *[ct if j == i else zeros for j in range(len(cases))])
        out.append(unbroadcast(picked, case.aval))
    return out


def _select_n_batch(axis_data, args, dims):
    return [select_n(*broadcast_batched_args(axis_data, args, dims))], [0]


select_n_p = Primitive("select_n")
select_n_p.def_impl(_select_n_impl)
select_n_p.def_abstract_eval(_select_n_abstract_eval)
def_rule("jvp", select_n_p, _select_n_jvp)
def_rule("transpose", select_n_p, _select_n_transpose)
def_rule("batch", select_n_p, _select_n_batch)

# --------------------------------------------------------------------------- clamp


def _clamp_abstract_eval(lo, x, hi):
    out = elementwise_aval("clamp", [lo, x, hi], "iuf")
    for bound in (lo, hi):
        if bound.shape and bound.shape != x.shape:
            raise ValueError(f"clamp: bounds must be scalars or have the operand's shape, "
                             f"got ({describe([lo, x, hi])})")
    return [out.update(shape=x.shape)]


def _clamp_batch(axis_data, args, dims):
    (lo, x, hi), (dlo, dx, dhi) = args, dims
    x = bdim_to_front(x, dx, axis_data.size)  # the operand fixes the shape: always batched
    return [clamp(*broadcast_batched_args(axis_data, [lo, x, hi], [dlo, 0, dhi]))], [0]


clamp_p = Primitive("clamp")
clamp_p.def_impl(lambda lo, x, hi: [np.minimum(np.maximum(x, lo), hi)])
clamp_p.def_abstract_eval(_clamp_abstract_eval)
defjvp(clamp_p,
       lambda g, ans, lo, x, hi: select_n(lt(x, lo), _zeros_like(g, ans), _bcast(g, ans)),
       lambda g, ans, lo, x, hi: select_n(bitwise_and(gt(x, lo), lt(x, hi)), _zeros_like(g, ans), g),
       lambda g, ans, lo, x, hi: select_n(gt(x, hi), _zeros_like(g, ans), _bcast(g, ans)))
def_rule("batch", clamp_p, _clamp_batch)


def _zeros_like(g, ans):
    return mul(_bcast(g, ans), _const(ans, 0))


def _bcast(g, ans):
    """A rank-0 tangent of a bound, spread to the output's shape."""
    shape = get_aval(ans).shape
    if get_aval(g).shape == shape:
        return g
    from ftx.lax.shape import broadcast_in_dim
    return broadcast_in_dim(g, shape, ())

# --------------------------------------------------------------------------- convert_element_type
# Linear between inexact dtypes; constant (zero tangent) when either side is integer/bool.


def _convert_impl(x, *, new_dtype):
    x = np.asarray(x)
    if x.dtype.kind == "c" and new_dtype.kind != "c":
        x = x.real  # drop the imaginary part as JAX does, without NumPy's ComplexWarning
    return [x.astype(new_dtype)]


def _convert_abstract_eval(x, *, new_dtype):
    dtypes.check_supported(new_dtype, "convert_element_type")
    return [ShapedArray(x.shape, new_dtype)]


def _convert_jvp(primals, tangents, *, new_dtype):
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind1(x, new_dtype=new_dtype)
    if type(t) is Zero or new_dtype.kind not in "fc" or get_aval(x).dtype.kind not in "fc":
        return [out], [Zero.like(out)]
    return [out], [convert_element_type_p.bind1(t, new_dtype=new_dtype)]


def _convert_transpose(cts, x, *, new_dtype):
    (ct,) = cts
    return [convert_element_type_p.bind1(ct, new_dtype=x.aval.dtype)]


convert_element_type_p = Primitive("convert_element_type")
convert_element_type_p.def_impl(_convert_impl)
convert_element_type_p.def_abstract_eval(_convert_abstract_eval)
def_rule("jvp", convert_element_type_p, _convert_jvp)
def_rule("transpose", convert_element_type_p, _convert_transpose)
defvectorized(convert_element_type_p)

# --------------------------------------------------------------------------- stop_gradient
# The identity, except that every differentiation rule treats its output as constant.

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.def_impl(lambda x: [x])
stop_gradient_p.def_abstract_eval(lambda x: [x.strip_weak_type()])
nondifferentiable(stop_gradient_p, "its derivative is zero by definition")
defvectorized(stop_gradient_p)


# =========================================================================== user-facing lax API
# Thin wrappers in the style of jax.lax: positional data, keyword parameters.

def exp(x): return exp_p.bind1(x)
def exp2(x): return exp2_p.bind1(x)
def log(x): return log_p.bind1(x)
def log1p(x): return log1p_p.bind1(x)
def expm1(x): return expm1_p.bind1(x)
def sin(x): return sin_p.bind1(x)
def cos(x): return cos_p.bind1(x)
def tan(x): return tan_p.bind1(x)
def asin(x): return asin_p.bind1(x)
def acos(x): return acos_p.bind1(x)
def atan(x): return atan_p.bind1(x)
def sinh(x): return sinh_p.bind1(x)
def cosh(x): return cosh_p.bind1(x)
def tanh(x): return tanh_p.bind1(x)
def asinh(x): return asinh_p.bind1(x)
def acosh(x): return acosh_p.bind1(x)
def atanh(x): return atanh_p.bind1(x)
def sqrt(x): return sqrt_p.bind1(x)
def rsqrt(x): return rsqrt_p.bind1(x)
def cbrt(x): return cbrt_p.bind1(x)
def logistic(x): return logistic_p.bind1(x)
def erf(x): return erf_p.bind1(x)
def erfc(x): return erfc_p.bind1(x)
def lgamma(x): return lgamma_p.bind1(x)
def digamma(x): return digamma_p.bind1(x)
def neg(x): return neg_p.bind1(x)
def sign(x): return sign_p.bind1(x)
def floor(x): return floor_p.bind1(x)
def ceil(x): return ceil_p.bind1(x)
def is_finite(x): return is_finite_p.bind1(x)
def abs(x): return abs_p.bind1(x)  # noqa: A001 - the lax name
def real(x): return real_p.bind1(x)
def imag(x): return imag_p.bind1(x)
def conj(x): return conj_p.bind1(x)
def bitwise_not(x): return not_p.bind1(x)
def population_count(x): return population_count_p.bind1(x)
def add(x, y): return add_p.bind1(x, y)
def sub(x, y): return sub_p.bind1(x, y)
def mul(x, y): return mul_p.bind1(x, y)
def div(x, y): return div_p.bind1(x, y)
def rem(x, y): return rem_p.bind1(x, y)
def pow(x, y): return pow_p.bind1(x, y)  # noqa: A001
def max(x, y): return max_p.bind1(x, y)  # noqa: A001
def min(x, y): return min_p.bind1(x, y)  # noqa: A001
def atan2(x, y): return atan2_p.bind1(x, y)
def nextafter(x, y): return nextafter_p.bind1(x, y)
def bitwise_and(x, y): return and_p.bind1(x, y)
def bitwise_or(x, y): return or_p.bind1(x, y)
def bitwise_xor(x, y): return xor_p.bind1(x, y)
def shift_left(x, y): return shift_left_p.bind1(x, y)
def shift_right_arithmetic(x, y): return shift_right_arithmetic_p.bind1(x, y)
def shift_right_logical(x, y): return shift_right_logical_p.bind1(x, y)
def eq(x, y): return eq_p.bind1(x, y)
def ne(x, y): return ne_p.bind1(x, y)
def lt(x, y): return lt_p.bind1(x, y)
def le(x, y): return le_p.bind1(x, y)
def gt(x, y): return gt_p.bind1(x, y)
def ge(x, y): return ge_p.bind1(x, y)


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001
    """``round(2.5) == 3.0`` (away from zero); ``RoundingMethod.TO_NEAREST_EVEN`` gives NumPy's 2.0."""
    return round_p.bind1(x, rounding_method=int(rounding_method))


def integer_pow(x, y: int):
    """``integer_pow(x, 3) == x * x * x``; ``y`` is a static Python int."""
    return integer_pow_p.bind1(x, y=int(y))


def square(x):
    return integer_pow_p.bind1(x, y=2)


def select_n(which, *cases):
    """``select_n(which, a, b)`` picks ``a`` where ``which`` is False/0 and ``b`` where True/1."""
    return select_n_p.bind1(which, *cases)


def clamp(lo, x, hi):
    """``clamp(0.0, x, 1.0)``: ``x`` limited to ``[lo, hi]`` elementwise."""
    return clamp_p.bind1(lo, x, hi)


def convert_element_type(x, new_dtype):
    """``convert_element_type(x, np.float32)``: a cast (complex to real drops the imaginary part)."""
    new_dtype = dtypes.check_supported(new_dtype, "convert_element_type")
    return convert_element_type_p.bind1(x, new_dtype=new_dtype)


def stop_gradient(x):
    """The identity, but derivatives treat the result as a constant: ``grad(lambda x: stop_gradient(x) * x)(3.) == 3.``."""
    return stop_gradient_p.bind1(x)


__all__ = [
    "exp_p", "exp2_p", "log_p", "log1p_p", "expm1_p", "sin_p", "cos_p", "tan_p", "asin_p",
    "acos_p", "atan_p", "sinh_p", "cosh_p", "tanh_p", "asinh_p", "acosh_p", "atanh_p",
    "sqrt_p", "cbrt_p", "rsqrt_p", "logistic_p", "erf_p", "erfc_p", "lgamma_p", "digamma_p",
    "neg_p", "sign_p", "floor_p", "ceil_p", "is_finite_p", "abs_p", "real_p", "imag_p",
    "conj_p", "not_p", "population_count_p", "RoundingMethod", "round_p", "integer_pow_p",
    "add_p", "sub_p", "mul_p", "div_p", "rem_p", "pow_p", "max_p", "min_p", "atan2_p",
    "nextafter_p", "and_p", "or_p", "xor_p", "shift_left_p", "shift_right_arithmetic_p",
    "shift_right_logical_p", "eq_p", "ne_p", "lt_p", "le_p", "gt_p", "ge_p", "select_n_p",
    "clamp_p", "convert_element_type_p", "stop_gradient_p", "exp", "exp2", "log", "log1p",
    "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "sqrt", "rsqrt", "cbrt", "logistic", "erf", "erfc", "lgamma", "digamma",
    "neg", "sign", "floor", "ceil", "is_finite", "abs", "real", "imag", "conj", "bitwise_not",
    "population_count", "add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2",
    "nextafter", "bitwise_and", "bitwise_or", "bitwise_xor", "shift_left",
    "shift_right_arithmetic", "shift_right_logical", "eq", "ne", "lt", "le", "gt", "ge",
    "round", "integer_pow", "square", "select_n", "clamp", "convert_element_type",
    "stop_gradient",
]
