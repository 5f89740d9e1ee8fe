"""Op records for reductions, statistics and cumulative functions (ftx.numpy and ftx.lax),
and for ftx.scipy.special.

The references are NumPy itself (so the traced graphs must reproduce NumPy's values
*and* result dtypes: sum of int32 is int64, mean of ints is float64 ...); the
lax primitives keep their operand's dtype, so their references pass ``dtype=``.
SciPy is not a dependency: the special functions are checked against NumPy/math
formulas written here.

``grad=False`` marks integer outputs, and also two kinds of differentiable records
the finite-difference check cannot judge: inputs with NaNs (the differences are
NaN) and float64 inputs reduced into ``dtype=np.float32`` (differences of float32
values are too coarse for its 1e-4 tolerance). tests/test_rules_reductions.py
checks those gradients directly.
"""
import math

import numpy as np

from ftx import lax
from ftx.numpy import _reductions as R
from ftx.scipy import special as sp
from tests.op_records import ALL, BOOL, F16, F32, F64, FLOAT, I32, U8, rec

SOME = (BOOL, I32, F32, F64)
NUM = (I32, F32, F64)

# Shape cases for each kind of axis argument.
SHAPES = {
    None: [((3, 4),), ((),)],
    0: [((3, 4),), ((5,),)],
    -1: [((2, 3, 4),)],
    (0, 2): [((2, 3, 4),)],
    (): [((3, 4),)],
}


def _with_nans(rng, shape, dtype):
    """Normal values; floats get NaNs at flat positions 1 and 5 (never a whole slice of (3, 4))."""
    x = np.asarray(rng.standard_normal(shape) * 3, dtype) if dtype.kind == "f" else \
        np.asarray(rng.integers(-5, 6, size=shape), dtype)
    if dtype.kind == "f" and x.size > 5:
        x.reshape(-1)[[1, 5]] = np.nan
    return x


def _all_nan_row(rng, shape, dtype):
    x = np.asarray(rng.standard_normal(shape), dtype)
    x[0] = np.nan
    return x


def _mask(rng, shape, dtype):
    return rng.random(shape) < 0.6


def _reductions(name, axes=(None, 0, -1, (0, 2)), dtypes=SOME, grad=True, keepdims_axis=-1,
                gen="normal", tol=None, **kwargs):
    """One record per axis (plus keepdims on one), calling R.<name> and np.<name> alike."""
    fn, ref = getattr(R, name), getattr(np, name)
    out = []
    for axis in axes:
        for keepdims in (False, True) if axis == keepdims_axis else (False,):
            suffix = "".join(f"-{k}{v}" for k, v in kwargs.items()) + f"-axis{axis}" + \
                ("-keepdims" if keepdims else "")
            kw = dict(kwargs, axis=axis, keepdims=keepdims) if keepdims else dict(kwargs, axis=axis)
            out.append(rec(name + suffix, lambda x, kw=kw: fn(x, **kw),
                           lambda x, kw=kw: ref(x, **kw), SHAPES[axis], dtypes=dtypes, grad=grad,
                           gen=gen, tol=tol))
    return out


def _lax_reduction(name, np_ufunc, dtypes, grad=True):
    fn = getattr(lax, name)
    return [rec(f"lax.{name}-axes{axes}", lambda x, axes=axes: fn(x, axes),
                lambda x, axes=axes: np.asarray(np_ufunc.reduce(x, axis=axes, dtype=x.dtype)),
                shapes, dtypes=dtypes, grad=grad)
            for axes, shapes in [((0,), [((3, 4),)]), ((0, 2), [((2, 3, 4),)]),
                                 ((), [((3, 4),)])]]


def _lax_cumulative(name, np_ufunc, dtypes, grad=True):
    fn = getattr(lax, name)

    def ref(x, axis, reverse):
        if reverse:
            return np.flip(np_ufunc.accumulate(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
        return np_ufunc.accumulate(x, axis=axis, dtype=x.dtype)

    return [rec(f"lax.{name}-axis{axis}-reverse{reverse}",
                lambda x, a=axis, r=reverse: fn(x, a, r), lambda x, a=axis, r=reverse: ref(x, a, r),
                [((3, 4),)], dtypes=dtypes, grad=grad)
            for axis, reverse in [(0, False), (1, True)]]


def _ref_erf(fn):
    return lambda x: np.vectorize(fn, otypes=[x.dtype])(x)


def _ref_digamma(x):
    """psi = d/dx lgamma, by a 5-point central difference of math.lgamma (independent of ftx)."""
    h = 1e-3
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    x64 = x.astype(np.float64)
    d = (-lg(x64 + 2 * h) + 8 * lg(x64 + h) - 8 * lg(x64 - h) + lg(x64 - 2 * h)) / (12 * h)
    return d.astype(x.dtype)


def _ref_logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    a = np.asarray(a, np.result_type(a.dtype, np.float16) if a.dtype.kind not in "fc" else a.dtype)
    if b is not None:
        a, b = np.broadcast_arrays(a, b)
        a = np.where(b == 0, -np.inf, a)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(m.dtype)
    terms = np.exp(a - m) if b is None else b * np.exp(a - m)
    s = np.sum(terms, axis=axis, keepdims=keepdims)
    sign = np.sign(s)
    out = np.log(np.abs(s) if return_sign else s) + (m if keepdims else m.reshape(s.shape))
    return (out, sign) if return_sign else out


def _ref_softmax(x, axis=None):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _ref_log_softmax(x, axis=None):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _ref_x_log(log_fn):
    def ref(x, y):
        with np.errstate(all="ignore"):
            return np.where((x == 0) & ~np.isnan(y), 0, x * log_fn(y)).astype(np.result_type(x, y))
    return ref


def _some_zeros(rng, shape, dtype):
    return np.asarray(rng.integers(0, 3, size=shape) * rng.uniform(0.5, 2.0, size=shape), dtype)


RECORDS = [
    # ----------------------------------------------------------------- lax primitives
    *_lax_reduction("reduce_sum", np.add, NUM),
    *_lax_reduction("reduce_prod", np.multiply, NUM),
    *_lax_reduction("reduce_max", np.maximum, SOME),
    *_lax_reduction("reduce_min", np.minimum, SOME),
    *_lax_reduction("reduce_and", np.bitwise_and, (BOOL, I32), grad=False),
    *_lax_reduction("reduce_or", np.bitwise_or, (BOOL, I32), grad=False),
    *_lax_reduction("reduce_xor", np.bitwise_xor, (BOOL, I32), grad=False),
    rec("lax.argmax", lambda x: lax.argmax(x, 1, np.int32),
        lambda x: np.argmax(x, 1).astype(np.int32), [((3, 4),)], dtypes=SOME, grad=False),
    rec("lax.argmin", lambda x: lax.argmin(x, 0, np.int64),
        lambda x: np.argmin(x, 0).astype(np.int64), [((3, 4),)], dtypes=SOME, grad=False),
    rec("lax.argmax_nan", lambda x: lax.argmax(x, 1, np.int32),
        lambda x: np.argmax(x, 1).astype(np.int32), [((3, 4),)], dtypes=FLOAT, grad=False,
        gen=_with_nans),
    *_lax_cumulative("cumsum", np.add, NUM),
    *_lax_cumulative("cumprod", np.multiply, NUM),
    *_lax_cumulative("cummax", np.maximum, SOME),
    *_lax_cumulative("cummin", np.minimum, SOME),
    *_lax_cumulative("cumlogsumexp", np.logaddexp, FLOAT),

    # ----------------------------------------------------------------- sum, prod, mean ...
    *_reductions("sum", dtypes=ALL + (U8, F16)),
    *_reductions("prod", dtypes=ALL, axes=(None, 0, (0, 2)), keepdims_axis=0),
    *_reductions("mean", dtypes=ALL + (F16,)),
    *_reductions("var", dtypes=SOME + (F16,)),
    *_reductions("std", dtypes=SOME, axes=(None, 0, (0, 2)), keepdims_axis=(0, 2)),
    *_reductions("var", dtypes=NUM, axes=(0,), keepdims_axis=None, ddof=1),
    *_reductions("max", dtypes=ALL),
    *_reductions("min", dtypes=SOME, axes=(None, 0, (0, 2)), keepdims_axis=0),
    *_reductions("amax", dtypes=NUM, axes=(0,), keepdims_axis=None),
    *_reductions("amin", dtypes=NUM, axes=(-1,), keepdims_axis=None),
    *_reductions("any", dtypes=ALL, grad=False),
    *_reductions("all", dtypes=ALL, axes=(None, 0, (0, 2)), keepdims_axis=0, grad=False),
    *_reductions("count_nonzero", dtypes=SOME, grad=False),
    *_reductions("ptp", dtypes=NUM, axes=(None, 0, (0, 2)), keepdims_axis=0),
    *_reductions("median", dtypes=SOME, axes=(None, 0, -1, (0, 2)), keepdims_axis=-1),
    rec("median-even", lambda x: R.median(x, axis=1), lambda x: np.median(x, axis=1),
        [((3, 4),)], dtypes=ALL + (F16,)),
    rec("median-nan", lambda x: R.median(x, axis=0), lambda x: np.median(x, axis=0),
        [((3, 4),)], dtypes=FLOAT, gen=_with_nans, grad=False),
    # dtype=, initial=, where=
    rec("sum-dtype", lambda x: R.sum(x, axis=0, dtype=np.float32),
        lambda x: np.sum(x, axis=0, dtype=np.float32), [((3, 4),)], dtypes=(BOOL, I32, F64),
        grad=False),
    rec("sum-initial", lambda x: R.sum(x, axis=1, initial=3),
        lambda x: np.sum(x, axis=1, initial=3), [((3, 4),)], dtypes=ALL),
    rec("prod-dtype-bool", lambda x: R.prod(x, axis=0, dtype=bool),
        lambda x: np.prod(x, axis=0, dtype=bool), [((3, 4),)], dtypes=(BOOL,), grad=False),
    rec("sum-where", lambda x, m: R.sum(x, axis=0, where=m), lambda x, m: np.sum(x, axis=0, where=m),
        [((3, 4), (3, 4)), ((3, 4), (4,))], dtypes=SOME, gen=("normal", _mask),
        arg_dtypes=(None, BOOL)),
    rec("prod-where", lambda x, m: R.prod(x, where=m), lambda x, m: np.prod(x, where=m),
        [((3, 4), (3, 4))], dtypes=NUM, gen=("normal", _mask), arg_dtypes=(None, BOOL)),
    rec("mean-where", lambda x, m: R.mean(x, axis=1, where=m),
        lambda x, m: np.mean(x, axis=1, where=m), [((3, 4), (3, 4))], dtypes=NUM,
        gen=("normal", _mask), arg_dtypes=(None, BOOL)),
    rec("var-where", lambda x, m: R.var(x, axis=1, where=m, ddof=1, keepdims=True),
        lambda x, m: np.var(x, axis=1, where=m, ddof=1, keepdims=True), [((3, 5), (3, 5))],
        dtypes=NUM, gen=("normal", _mask), arg_dtypes=(None, BOOL)),
    rec("std-where", lambda x, m: R.std(x, where=m), lambda x, m: np.std(x, where=m),
        [((3, 4), (3, 4))], dtypes=FLOAT, gen=("normal", _mask), arg_dtypes=(None, BOOL)),
    rec("max-where-initial", lambda x, m: R.max(x, axis=0, where=m, initial=-1),
        lambda x, m: np.max(x, axis=0, where=m, initial=-1), [((3, 4), (3, 4))], dtypes=SOME,
        gen=("normal", _mask), arg_dtypes=(None, BOOL)),
    rec("min-initial-empty", lambda x: R.min(x, axis=0, initial=2),
        lambda x: np.min(x, axis=0, initial=2), [((0, 3),)], dtypes=NUM, grad=False),
    rec("any-where", lambda x, m: R.any(x, axis=1, where=m), lambda x, m: np.any(x, axis=1, where=m),
        [((3, 4), (3, 4))], dtypes=(BOOL, F64), gen=("normal", _mask), arg_dtypes=(None, BOOL),
        grad=False),
    rec("all-where", lambda x, m: R.all(x, where=m), lambda x, m: np.all(x, where=m),
        [((3, 4), (3, 4))], dtypes=(BOOL, I32), gen=("normal", _mask), arg_dtypes=(None, BOOL),
        grad=False),
    rec("mean-dtype", lambda x: R.mean(x, axis=0, dtype=np.float32),
        lambda x: np.mean(x, axis=0, dtype=np.float32), [((3, 4),)], dtypes=(I32, F64)),
    rec("var-correction", lambda x: R.var(x, axis=0, correction=1),
        lambda x: np.var(x, axis=0, correction=1), [((3, 4),)], dtypes=NUM),
    rec("sum-empty", lambda x: R.sum(x, axis=0), lambda x: np.sum(x, axis=0), [((0, 3),)],
        dtypes=(BOOL, I32, F64), grad=False),
    rec("mean-complex", lambda x: R.mean(x, axis=0), lambda x: np.mean(x, axis=0), [((3, 4),)],
        dtypes=(np.dtype(np.complex128),)),
    rec("var-complex", lambda x: R.var(x, axis=1), lambda x: np.var(x, axis=1), [((3, 4),)],
        dtypes=(np.dtype(np.complex64),), grad=False),
    rec("max-nan", lambda x: R.max(x, axis=1), lambda x: np.max(x, axis=1), [((3, 4),)],
        dtypes=FLOAT, gen=_with_nans, grad=False),
    # argmax / argmin
    *[rec(f"{name}-axis{axis}{'-keepdims' if kd else ''}",
          lambda x, f=getattr(R, name), a=axis, k=kd: f(x, axis=a, keepdims=k),
          lambda x, f=getattr(np, name), a=axis, k=kd: f(x, axis=a, keepdims=k),
          [((3, 4),), ((2, 3, 4),)], dtypes=SOME, grad=False)
      for name in ("argmax", "argmin") for axis, kd in [(None, False), (0, False), (-1, True),
                                                        (None, True)]],
    rec("argmax-nan", lambda x: R.argmax(x, axis=1), lambda x: np.argmax(x, axis=1), [((3, 4),)],
        dtypes=FLOAT, gen=_with_nans, grad=False),
    rec("argmax-scalar", R.argmax, np.argmax, [((),)], dtypes=SOME, grad=False),
    # average
    rec("average", lambda x: R.average(x, axis=0), lambda x: np.average(x, axis=0),
        [((3, 4),)], dtypes=SOME),
    rec("average-returned", lambda x: R.average(x, returned=True, keepdims=True),
        lambda x: np.average(x, returned=True, keepdims=True), [((3, 4),)], dtypes=NUM),
    rec("average-weights", lambda x, w: R.average(x, axis=1, weights=w, returned=True),
        lambda x, w: np.average(x, axis=1, weights=w, returned=True),
        [((3, 4), (3, 4)), ((3, 4), (4,))], dtypes=NUM, gen=("normal", "positive"),
        grad_argnums=(0, 1)),
    rec("average-weights-axes", lambda x, w: R.average(x, axis=(2, 0), weights=w),
        lambda x, w: np.average(x, axis=(2, 0), weights=w), [((2, 3, 4), (4, 2))],
        dtypes=(I32, F64), gen=("normal", "positive"), arg_dtypes=(None, F32),
        grad_argnums=(0, 1)),
    # quantiles
    *[rec(f"{name}-q{q}-axis{axis}", lambda x, f=getattr(R, name), q=q, a=axis: f(x, q, axis=a),
          lambda x, f=getattr(np, name), q=q, a=axis: f(x, q, axis=a),
          [((3, 5),), ((2, 3, 4),)] if axis in (None, 0) else [((2, 3, 4),)], dtypes=NUM)
      for name, qs in (("quantile", (0.3, (0.0, 0.5, 1.0), 1)), ("percentile", (75, [10, 90.5])))
      for q in qs for axis in (None, 0, (0, 2))],
    rec("quantile-keepdims", lambda x: R.quantile(x, [0.2, 0.7], axis=(0, 2), keepdims=True),
        lambda x: np.quantile(x, [0.2, 0.7], axis=(0, 2), keepdims=True), [((2, 3, 4),)],
        dtypes=(I32, F32)),
    rec("quantile-f32q", lambda x: R.quantile(x, np.float32(0.4), axis=1),
        lambda x: np.quantile(x, np.float32(0.4), axis=1), [((3, 4),)], dtypes=FLOAT),
    rec("quantile-nan", lambda x: R.quantile(x, [0.25, 0.5], axis=0),
        lambda x: np.quantile(x, [0.25, 0.5], axis=0), [((3, 4),)], dtypes=FLOAT, gen=_with_nans,
        grad=False),
    # NaN-ignoring
    *[rec(f"{name}-axis{axis}", lambda x, f=getattr(R, name), a=axis: f(x, axis=a),
          lambda x, f=getattr(np, name), a=axis: f(x, axis=a),
          [((3, 4),)], dtypes=(I32, F32, F64), gen=_with_nans,
          grad=name not in ("nanargmax", "nanargmin"))
      for name in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
                   "nanargmax", "nanargmin", "nancumsum", "nancumprod")
      for axis in (None, 1)],
    rec("nansum-keepdims-dtype", lambda x: R.nansum(x, axis=0, keepdims=True, dtype=np.float64),
        lambda x: np.nansum(x, axis=0, keepdims=True, dtype=np.float64), [((3, 4),)],
        dtypes=(F32, I32), gen=_with_nans),
    rec("nanmean-f16", lambda x: R.nanmean(x, axis=0), lambda x: np.nanmean(x, axis=0),
        [((3, 4),)], dtypes=(F16,), gen=_with_nans),
    rec("nanvar-ddof-keepdims", lambda x: R.nanvar(x, axis=(0, 1), ddof=1, keepdims=True),
        lambda x: np.nanvar(x, axis=(0, 1), ddof=1, keepdims=True), [((3, 4, 2),)],
        dtypes=FLOAT, gen=_with_nans),
    rec("nanmax-all-nan", lambda x: R.nanmax(x, axis=1), lambda x: np.nanmax(x, axis=1),
        [((3, 4),)], dtypes=FLOAT, gen=_all_nan_row, grad=False),
    rec("nanmin-initial", lambda x: R.nanmin(x, axis=1, initial=0.5),
        lambda x: np.nanmin(x, axis=1, initial=0.5), [((3, 4),)], dtypes=FLOAT, gen=_all_nan_row),
    rec("nanmean-where", lambda x, m: R.nanmean(x, axis=0, where=m),
        lambda x, m: np.nanmean(x, axis=0, where=m), [((3, 4), (3, 4))], dtypes=FLOAT,
        gen=(_with_nans, _mask), arg_dtypes=(None, BOOL)),
    # cumulative
    *[rec(f"{name}-axis{axis}", lambda x, f=getattr(R, name), a=axis: f(x, axis=a),
          lambda x, f=getattr(np, name), a=axis: f(x, axis=a),
          [((3, 4),), ((),)] if axis is None else [((3, 4),)], dtypes=ALL)
      for name in ("cumsum", "cumprod") for axis in (None, 0, -1)],
    rec("cumsum-dtype", lambda x: R.cumsum(x, axis=1, dtype=np.float32),
        lambda x: np.cumsum(x, axis=1, dtype=np.float32), [((3, 4),)], dtypes=(BOOL, I32, F64),
        grad=False),
    *[rec(f"{name}-axis{axis}-initial{init}",
          lambda x, f=getattr(R, name), a=axis, i=init: f(x, axis=a, include_initial=i),
          lambda x, f=getattr(np, name), a=axis, i=init: f(x, axis=a, include_initial=i),
          [((5,),)] if axis is None else [((3, 4),)], dtypes=ALL)
      for name in ("cumulative_sum", "cumulative_prod")
      for axis, init in [(None, False), (1, True), (0, False)]],
    # differences and integrals
    rec("diff", R.diff, np.diff, [((3, 4),), ((5,),)], dtypes=ALL),
    rec("diff-n2-axis0", lambda x: R.diff(x, n=2, axis=0), lambda x: np.diff(x, n=2, axis=0),
        [((4, 3),)], dtypes=SOME),
    rec("diff-n-large", lambda x: R.diff(x, n=5), lambda x: np.diff(x, n=5), [((3,),)],
        dtypes=(I32, F64)),
    rec("diff-prepend-append", lambda x, p: R.diff(x, axis=0, prepend=p, append=1),
        lambda x, p: np.diff(x, axis=0, prepend=p, append=1), [((3, 4), (1, 4))],
        dtypes=(I32, F32, F64), arg_dtypes=(None, F64)),
    rec("ediff1d", R.ediff1d, np.ediff1d, [((3, 4),), ((1,),)], dtypes=NUM),
    rec("ediff1d-ends", lambda x: R.ediff1d(x, to_end=[7, 8], to_begin=-1),
        lambda x: np.ediff1d(x, to_end=[7, 8], to_begin=-1), [((5,),)], dtypes=NUM),
    rec("trapezoid", R.trapezoid, np.trapezoid, [((3, 4),), ((5,),)], dtypes=SOME),
    rec("trapezoid-dx-axis", lambda y: R.trapezoid(y, dx=0.5, axis=0),
        lambda y: np.trapezoid(y, dx=0.5, axis=0), [((3, 4),)], dtypes=NUM),
    rec("trapezoid-x", lambda y, x: R.trapezoid(y, x), lambda y, x: np.trapezoid(y, x),
        [((3, 4), (4,)), ((2, 3), (2, 3))], dtypes=NUM, grad_argnums=(0, 1)),

    # ----------------------------------------------------------------- ftx.scipy.special
    *[rec(f"scipy.logsumexp-axis{axis}{'-keepdims' if kd else ''}",
          lambda x, a=axis, k=kd: sp.logsumexp(x, axis=a, keepdims=k),
          lambda x, a=axis, k=kd: _ref_logsumexp(x, axis=a, keepdims=k),
          [((3, 4),)], dtypes=NUM, tol={F32: (1e-5, 1e-6)})
      for axis, kd in [(None, False), (1, False), (0, True), ((0, 1), False)]],
    rec("scipy.logsumexp-b", lambda x, b: sp.logsumexp(x, axis=1, b=b, return_sign=True),
        lambda x, b: _ref_logsumexp(x, axis=1, b=b, return_sign=True), [((3, 4), (4,))],
        dtypes=FLOAT, grad_argnums=(0, 1)),
    rec("scipy.logsumexp-inf", sp.logsumexp, _ref_logsumexp, [((4,),)], dtypes=FLOAT,
        gen=lambda rng, s, d: np.array([-np.inf, -np.inf, 1.0, np.inf], d)[:s[0]], grad=False),
    *[rec(f"scipy.{name}-axis{axis}", lambda x, f=getattr(sp, name), a=axis: f(x, axis=a),
          lambda x, f=ref, a=axis: f(x, axis=a), [((3, 4),)], dtypes=FLOAT)
      for name, ref in (("softmax", _ref_softmax), ("log_softmax", _ref_log_softmax))
      for axis in (None, 1)],
    rec("scipy.logit", sp.logit, lambda p: np.log(p / (1 - p)), [((3, 4),)], dtypes=FLOAT,
        gen=lambda rng, s, d: rng.uniform(0.05, 0.95, s).astype(d)),
    rec("scipy.expit", sp.expit, lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype),
        [((3, 4),)], dtypes=FLOAT),
    rec("scipy.expit-int", sp.expit, lambda x: 1 / (1 + np.exp(-x.astype(np.float64))),
        [((3, 4),)], dtypes=(I32,), grad=False),
    rec("scipy.erf", sp.erf, _ref_erf(math.erf), [((3, 4),)], dtypes=FLOAT),
    rec("scipy.erfc", sp.erfc, _ref_erf(math.erfc), [((3, 4),)], dtypes=FLOAT),
    # grad=False: the order-2 gradient check needs digamma's derivative, which ftx lacks.
    rec("scipy.gammaln", sp.gammaln, _ref_erf(math.lgamma), [((3, 4),)], dtypes=FLOAT,
        gen="positive", grad=False),
    # grad=False: lax.digamma has no jvp rule (polygamma is not implemented).
    rec("scipy.digamma", sp.digamma, _ref_digamma, [((3, 4),)], dtypes=(F64,), gen="positive",
        tol={F64: (1e-8, 1e-9)}, grad=False),
    rec("scipy.xlogy", sp.xlogy, _ref_x_log(np.log), [((3, 4), (3, 4)), ((3, 4), (4,))],
        dtypes=FLOAT, gen=(_some_zeros, "positive"), grad_argnums=(0, 1)),
    rec("scipy.xlog1py", sp.xlog1py, _ref_x_log(np.log1p), [((3, 4), (3, 4))],
        dtypes=FLOAT, gen=(_some_zeros, "positive"), grad_argnums=(0, 1)),
    rec("scipy.entr", sp.entr, lambda x: -x * np.log(x), [((3, 4),)], dtypes=FLOAT,
        gen="positive"),
    rec("scipy.entr-edges", sp.entr,
        lambda x: np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)),
                           np.where(x == 0, 0, np.where(x < 0, -np.inf, np.nan))).astype(x.dtype),
        [((5,),)], dtypes=FLOAT, grad=False,
        gen=lambda rng, s, d: np.array([0.0, -1.0, 0.5, np.nan, 2.0], d)),
]
