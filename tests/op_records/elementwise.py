"""Op records for ftx.numpy's elementwise functions (ufuncs) and ftx.lax's elementwise primitives."""
import numpy as np

import ftx.numpy as fnp
from ftx import lax
from tests.op_records import (ALL, BOOL, C128, F16, F32, F64, FLOAT, I32, I64, INT, NUMERIC, U8,
                              rec)

UNARY_SHAPES = [((3, 4),), ((),), ((2, 1, 3),)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,))]


def _unary(name, gen="normal", dtypes=FLOAT + (I32,), grad=True, tol=None, np_name=None):
    fn, ref = getattr(fnp, name), getattr(np, np_name or name)
    return rec(name, fn, ref, UNARY_SHAPES, dtypes=dtypes, gen=gen, grad=grad, tol=tol)


def _binary(name, gen="normal", dtypes=FLOAT + (I32,), grad=True, tol=None):
    fn, ref = getattr(fnp, name), getattr(np, name)
    return rec(name, fn, ref, BINARY_SHAPES, dtypes=dtypes, gen=gen, grad=grad, tol=tol,
               grad_argnums=(0, 1))


RECORDS = [
    # unary floating math (ints are computed in float, as NumPy does)
    *[_unary(n) for n in ["sin", "cos", "tanh", "exp", "expm1", "arctan", "sinh", "arcsinh",
                          "cbrt", "sinc", "deg2rad", "rad2deg", "exp2"]],
    _unary("tan", gen="unit"), _unary("cosh"),
    *[_unary(n, gen="positive") for n in ["log", "log1p", "log2", "log10", "sqrt"]],
    *[_unary(n, gen="unit") for n in ["arcsin", "arccos", "arctanh"]],
    _unary("arccosh", gen=lambda rng, s, d: rng.uniform(1.5, 3.0, s).astype(d), dtypes=FLOAT),
    # unary numeric
    *[_unary(n, dtypes=NUMERIC + (I64,)) for n in ["negative", "absolute", "sign", "square"]],
    _unary("positive", dtypes=NUMERIC), _unary("fabs", dtypes=FLOAT),
    _unary("reciprocal", gen="nonzero", dtypes=FLOAT),
    *[_unary(n, dtypes=NUMERIC, grad=False) for n in ["floor", "ceil", "trunc", "fix", "rint"]],
    rec("round_decimals", lambda x: fnp.round(x * 10, 1), lambda x: np.round(x * 10, 1),
        UNARY_SHAPES, grad=False),
    _unary("signbit", dtypes=NUMERIC, grad=False),
    *[_unary(n, dtypes=ALL, grad=False) for n in ["isnan", "isinf", "isfinite"]],
    rec("isnan_special", fnp.isnan, np.isnan, [((6,),)], dtypes=FLOAT, grad=False,
        gen=lambda rng, s, d: np.array([0.0, np.nan, np.inf, -np.inf, 1.0, -0.0], d)),
    rec("nan_to_num", fnp.nan_to_num, np.nan_to_num, [((6,),)], dtypes=FLOAT, grad=False,
        gen=lambda rng, s, d: np.array([0.0, np.nan, np.inf, -np.inf, 1.0, -2.0], d)),
    _unary("logical_not", dtypes=ALL, grad=False),
    _unary("invert", dtypes=(BOOL, I32, U8), grad=False),
    _unary("bitwise_count", dtypes=(I32, U8, I64), grad=False),
    # complex parts
    *[_unary(n, dtypes=(F64, C128)) for n in ["real", "imag", "conjugate", "angle"]],
    rec("exp_complex", fnp.exp, np.exp, [((3,),)], dtypes=(C128,)),
    # binary arithmetic, with broadcasting
    *[_binary(n, dtypes=NUMERIC + (I64,)) for n in ["add", "subtract", "multiply", "maximum",
                                                     "minimum"]],
    _binary("true_divide", gen="nonzero", dtypes=NUMERIC),
    _binary("floor_divide", gen="nonzero", dtypes=NUMERIC, grad=False),
    _binary("remainder", gen="nonzero", dtypes=NUMERIC, grad=False),
    _binary("fmod", gen="nonzero", dtypes=NUMERIC, grad=False),
    _binary("power", gen="positive", dtypes=FLOAT),
    rec("power_int", fnp.power, np.power, [((3, 4), (3, 4)), ((4,), ())], dtypes=INT,
        gen=("normal", lambda rng, s, d: rng.integers(0, 4, s).astype(d)), grad=False),
    rec("power_scalar_exponent", lambda x: fnp.power(x, 3), lambda x: np.power(x, 3),
        UNARY_SHAPES, dtypes=NUMERIC),
    rec("float_power", fnp.float_power, np.float_power, [((3,), (3,))], gen="positive",
        dtypes=(F32, I32)),
    *[_binary(n, dtypes=FLOAT) for n in ["arctan2", "hypot", "logaddexp", "logaddexp2",
                                         "copysign", "fmax", "fmin"]],
    rec("fmax_nan", fnp.fmax, np.fmax, [((4,), (4,))], dtypes=FLOAT, grad=False,
        gen=(lambda rng, s, d: np.array([np.nan, 1.0, np.nan, 2.0], d),
             lambda rng, s, d: np.array([1.0, np.nan, np.nan, -2.0], d))),
    rec("logaddexp_inf", fnp.logaddexp, np.logaddexp, [((3,), (3,))], dtypes=FLOAT, grad=False,
        gen=(lambda rng, s, d: np.array([-np.inf, np.inf, 0.0], d),
             lambda rng, s, d: np.array([-np.inf, np.inf, -np.inf], d))),
    _binary("heaviside", dtypes=FLOAT, grad=False),
    rec("ldexp", fnp.ldexp, np.ldexp, [((3, 4), (3, 4))], dtypes=FLOAT,
        arg_dtypes=(None, I32), grad=False),
    rec("nextafter", fnp.nextafter, np.nextafter, [((5,), (5,))], dtypes=FLOAT, grad=False),
    # comparisons and logic
    *[_binary(n, dtypes=ALL, grad=False) for n in ["equal", "not_equal", "logical_and",
                                                    "logical_or", "logical_xor"]],
    *[_binary(n, dtypes=NUMERIC, grad=False) for n in ["less", "less_equal", "greater",
                                                        "greater_equal"]],
    *[_binary(n, dtypes=(BOOL, I32, U8), grad=False) for n in ["bitwise_and", "bitwise_or",
                                                               "bitwise_xor"]],
    rec("left_shift", fnp.left_shift, np.left_shift, [((3, 4), (3, 4))], dtypes=(I32, U8),
        gen=("normal", lambda rng, s, d: rng.integers(0, 4, s).astype(d)), grad=False),
    rec("right_shift", fnp.right_shift, np.right_shift, [((3, 4), (3, 4))], dtypes=(I32, U8),
        gen=("normal", lambda rng, s, d: rng.integers(0, 4, s).astype(d)), grad=False),
    # mixed dtypes: NumPy 2 promotion (int32 + float32 -> float64; Python scalars are weak)
    rec("add_mixed_int_float", fnp.add, np.add, [((3,), (3,))], dtypes=(F32,),
        arg_dtypes=(I32, F32)),
    rec("multiply_weak_float", lambda x: fnp.multiply(x, 2.0), lambda x: np.multiply(x, 2.0),
        UNARY_SHAPES, dtypes=(F16, F32, F64, I32)),
    rec("add_weak_int", lambda x: x + 3, lambda x: x + 3, UNARY_SHAPES, dtypes=(U8, I32, F32)),
    rec("rsub_weak", lambda x: 1.5 - x, lambda x: 1.5 - x, UNARY_SHAPES, dtypes=(F32, I32)),
    rec("mixed_bool_int", fnp.add, np.add, [((3,), (3,))], dtypes=(I32,),
        arg_dtypes=(BOOL, I32), grad=False),
    rec("operators", lambda x, y: (x + y) * y - x / (y * y + 1) ** 2 + abs(-x) % 1.5,
        lambda x, y: (x + y) * y - x / (y * y + 1) ** 2 + abs(-x) % 1.5,
        [((3, 4), (4,))], dtypes=FLOAT, grad_argnums=(0, 1)),
    # where, clip, isclose
    rec("where", lambda c, x, y: fnp.where(c > 0, x, y), lambda c, x, y: np.where(c > 0, x, y),
        [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()), ((), (3,), (3,))], dtypes=FLOAT,
        grad_argnums=(1, 2)),
    rec("where_scalars", lambda c: fnp.where(c > 0, 1.0, -1.0),
        lambda c: np.where(c > 0, 1.0, -1.0), [((3, 4),)], dtypes=FLOAT, grad=False),
    rec("clip", lambda x: fnp.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
        UNARY_SHAPES, dtypes=NUMERIC),
    rec("clip_arrays", fnp.clip, np.clip, [((3, 4), (4,), (3, 1))], dtypes=FLOAT,
        gen=("normal", lambda rng, s, d: (rng.random(s) - 1).astype(d),
             lambda rng, s, d: rng.random(s).astype(d))),
    rec("clip_upper_only", lambda x: fnp.clip(x, None, 0.0), lambda x: np.clip(x, None, 0.0),
        UNARY_SHAPES, dtypes=FLOAT),
    rec("isclose", lambda x, y: fnp.isclose(x, x + y * 1e-6), lambda x, y: np.isclose(x, x + y * 1e-6),
        [((3, 4), (3, 4))], dtypes=FLOAT, grad=False),
    # lax primitives directly
    rec("lax_logistic", lax.logistic, lambda x: 1 / (1 + np.exp(-x)), UNARY_SHAPES),
    rec("lax_erf", lax.erf, np.vectorize(__import__("math").erf, otypes=[float]),
        [((5,),)], dtypes=(F64,)),
    rec("lax_rsqrt", lax.rsqrt, lambda x: 1 / np.sqrt(x), UNARY_SHAPES, gen="positive"),
    rec("lax_integer_pow", lambda x: lax.integer_pow(x, -3), lambda x: x ** -3.0,
        UNARY_SHAPES, gen="nonzero", tol={F32: (1e-5, 1e-5)}),
    rec("lax_round_away", lax.round, lambda x: np.trunc(x + np.copysign(0.5, x)), [((7,),)],
        gen=lambda rng, s, d: np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.4, -0.6], d), grad=False),
    rec("lax_div_int", lax.div, lambda x, y: np.trunc(x / y).astype(x.dtype),
        [((3, 4), (3, 4))], dtypes=INT, gen=("normal", "nonzero"), grad=False),
    rec("lax_rem_int", lax.rem, np.fmod, [((3, 4), (3, 4))], dtypes=INT, gen=("normal", "nonzero"),
        grad=False),
    rec("lax_clamp", lambda x: lax.clamp(-0.5, x, 0.5), lambda x: np.clip(x, -0.5, 0.5),
        UNARY_SHAPES),
    rec("lax_select_n3", lambda i, a, b, c: lax.select_n(i, a, b, c),
        lambda i, a, b, c: np.choose(i, [a, b, c]), [((3, 4), (3, 4), (3, 4), (3, 4))],
        dtypes=FLOAT, arg_dtypes=(I32, None, None, None),
        gen=(lambda rng, s, d: rng.integers(0, 3, s).astype(d), "normal", "normal", "normal"),
        grad_argnums=(1, 2, 3)),
    rec("lax_convert", lambda x: lax.convert_element_type(x, np.int32), lambda x: x.astype(np.int32),
        UNARY_SHAPES, grad=False),
    rec("lax_shift_right_logical", lax.shift_right_logical,
        lambda x, y: (x.view(np.uint32) >> y.astype(np.uint32)).view(np.int32),
        [((5,), (5,))], dtypes=(I32,), gen=("normal", lambda rng, s, d: rng.integers(0, 4, s).astype(d)),
        grad=False),
    rec("lax_digamma", lax.digamma, lambda x: _digamma_reference(x), [((6,),)], dtypes=(F64,),
        gen=lambda rng, s, d: np.array([0.3, 1.0, 2.5, 7.0, 30.0, -1.5], d), tol={F64: (1e-12, 1e-12)},
        grad=False),
]


def _digamma_reference(x):
    """psi(x) by a high-order series at large argument after many recurrence steps (independent of ftx's)."""
    out = []
    for v in x:
        acc, z = 0.0, float(v)
        if z < 0.5:  # reflection
            return_val = None
            zr = 1.0 - z
            acc_r = 0.0
            while zr < 40:
                acc_r -= 1.0 / zr
                zr += 1
            psi_r = acc_r + np.log(zr) - 0.5 / zr - 1 / (12 * zr ** 2) + 1 / (120 * zr ** 4) - 1 / (252 * zr ** 6)
            return_val = psi_r - np.pi / np.tan(np.pi * z)
            out.append(return_val)
            continue
        while z < 40:
            acc -= 1.0 / z
            z += 1
        out.append(acc + np.log(z) - 0.5 / z - 1 / (12 * z ** 2) + 1 / (120 * z ** 4) - 1 / (252 * z ** 6))
    return np.array(out, x.dtype)
