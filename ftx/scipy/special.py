"""ftx.scipy.special: SciPy's special functions used in machine learning, written with ftx.lax.

logsumexp, softmax, log_softmax, logit, expit, erf, erfc, gammaln, digamma,
xlogy, xlog1py, entr. They run the lax primitives' NumPy implementations in
eager mode and record them under transforms; SciPy is not required. Integer
inputs compute in float64, float inputs in their own precision.
"""
from __future__ import annotations

import numpy as np

from ftx import lax
from ftx.core import dtypes
from ftx.numpy._core import (asarray, canonicalize_axes, cast, dtype_of, promote_args_inexact,
                             shape_of)
from ftx.numpy._reductions import _arr, _keep, _scalar, _sum_prod, _NoValue

__all__ = ["logsumexp", "softmax", "log_softmax", "logit", "expit", "erf", "erfc", "gammaln",
           "digamma", "xlogy", "xlog1py", "entr"]


def _inexact(x, name):
    """``x`` as an array in the floating dtype SciPy computes it in (float64 for ints)."""
    x = _arr(x, f"scipy.special.{name}")
    return cast(x, dtypes.to_inexact(dtype_of(x)))


def _finite_max(x, axes):
    """The max over ``axes`` (kept as size-1 axes), with non-finite maxima replaced by 0 so
    that ``x - max`` never makes inf - inf. A constant to differentiation: any shift gives
    the same value, so its derivative must not flow."""
    m = lax.reduce_max(x, axes) if axes else x
    m = _keep(m, shape_of(x), axes, True)
    m = lax.select_n(lax.is_finite(m), _scalar(0, dtype_of(m)), m)
    return lax.stop_gradient(m)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))`` computed stably. ``logsumexp(x, axis=-1)``.

    With ``return_sign=True`` returns ``(log|s|, sign(s))`` for weights ``b`` that
    may be negative; without it a negative sum gives NaN, as in SciPy.
    """
    x = _inexact(a, "logsumexp")
    if b is not None:
        x, w = promote_args_inexact("scipy.special.logsumexp", x, _arr(b, "logsumexp"))
        # Zero weights drop their terms even where a is inf (SciPy sets a = -inf there).
        x = lax.select_n(lax.eq(w, _scalar(0, dtype_of(w))), x, _scalar(-np.inf, dtype_of(x)))
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), "scipy.special.logsumexp")
    a_max = _finite_max(x, axes)
    terms = lax.exp(lax.sub(x, _expand_to(a_max, shape)))
    if b is not None:
        terms = lax.mul(w, terms)
    s = _sum_prod("logsumexp", terms, axes, None, None, keepdims, _NoValue, _NoValue, True)
    if return_sign:
        sign = lax.sign(s)
        s = lax.abs(s)
    if not keepdims:
        a_max = lax.reshape(a_max, shape_of(s))
    out = lax.add(lax.log(s), a_max)
    return (out, sign) if return_sign else out


def _expand_to(m, shape):
    """Broadcast a keepdims-shaped reduction result back to ``shape``."""
    shape = tuple(shape)
    return m if tuple(shape_of(m)) == shape else lax.broadcast_in_dim(m, shape,
                                                                    tuple(range(len(shape))))


def _shifted(x, axis, name):
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), f"scipy.special.{name}")
    return lax.sub(x, _expand_to(_finite_max(x, axes), shape)), axes


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably. ``softmax(logits, axis=-1)``."""
    z, axes = _shifted(_inexact(x, "softmax"), axis, "softmax")
    e = lax.exp(z)
    total = _sum_prod("softmax", e, axes, None, None, True, _NoValue, _NoValue, True)
    return lax.div(e, _expand_to(total, shape_of(e)))


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``, computed stably. ``log_softmax(logits, axis=-1)``."""
    z, axes = _shifted(_inexact(x, "log_softmax"), axis, "log_softmax")
    total = _sum_prod("log_softmax", lax.exp(z), axes, None, None, True, _NoValue, _NoValue, True)
    return lax.sub(z, _expand_to(lax.log(total), shape_of(z)))


def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``. ``logit(0.25) == -log(3)``."""
    x = _inexact(x, "logit")
    return lax.log(lax.div(x, lax.sub(_scalar(1, dtype_of(x)), x)))


def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow. ``expit(0.0) == 0.5``."""
    return lax.logistic(_inexact(x, "expit"))


def erf(z):
    """The error function. ``erf(0.0) == 0.0``."""
    return lax.erf(_inexact(z, "erf"))


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate for large x. ``erfc(0.0) == 1.0``."""
    return lax.erfc(_inexact(x, "erfc"))


def gammaln(x):
    """``log|Gamma(x)|``. ``gammaln(5.0) == log(24)``."""
    return lax.lgamma(_inexact(x, "gammaln"))


def digamma(x):
    """The logarithmic derivative of Gamma, ``psi(x)``. ``digamma(1.0) == -0.5772...``."""
    return lax.digamma(_inexact(x, "digamma"))


def _x_times(name, x, y, log_fn):
    x, y = promote_args_inexact(f"scipy.special.{name}", asarray(x, name), asarray(y, name))
    # x * log(y) is already 0 at x == 0 wherever log(y) is finite, and that form keeps the
    # derivative log(y) in x. Only where log(y) is not finite (y == 0, say) does x == 0 need
    # the limit 0, and there y is swapped for 1 first so no NaN reaches the gradient.
    # NaN in y still propagates, as in SciPy.
    use_zero = lax.bitwise_and(lax.bitwise_and(lax.eq(x, 0.0), lax.eq(y, y)),
                               lax.bitwise_not(lax.is_finite(log_fn(y))))
    y_safe = lax.select_n(use_zero, y, _scalar(1, dtype_of(y)) if shape_of(y) else 1.0)
    prod = lax.mul(x, log_fn(y_safe))
    return lax.select_n(use_zero, prod, _scalar(0, dtype_of(prod)))


def xlogy(x, y):
    """``x * log(y)``, with ``xlogy(0, y) == 0`` unless y is NaN. ``xlogy(0.0, 0.0) == 0.0``."""
    return _x_times("xlogy", x, y, lax.log)


def xlog1py(x, y):
    """``x * log1p(y)``, and 0 at ``x == 0`` unless y is NaN. ``xlog1py(0.0, -1.0) == 0.0``."""
    return _x_times("xlog1py", x, y, lax.log1p)


def entr(x):
    """Elementwise entropy ``-x * log(x)``: 0 at 0, ``-inf`` for negative x. ``entr(1.0) == 0.0``."""
    x = _inexact(x, "entr")
    dt = dtype_of(x)
    safe = lax.select_n(lax.gt(x, _scalar(0, dt)), _scalar(1, dt), x)
    value = lax.neg(lax.mul(x, lax.log(safe)))
    value = lax.select_n(lax.lt(x, _scalar(0, dt)), value, _scalar(-np.inf, dt))
    return lax.select_n(lax.eq(x, _scalar(0, dt)), value, _scalar(0, dt))
