"""Activation functions, as ``jax.nn``: elementwise, dtype-preserving for floating inputs.

Integer inputs compute in float64 (ftx's default float), except ``relu`` and
``one_hot``, which are exact on integers.
"""
from __future__ import annotations

import math
import operator

import numpy as np

import ftx.numpy as fnp
from ftx import lax
from ftx.scipy import special

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "sigmoid", "tanh",
           "softplus", "log_sigmoid", "softmax", "log_softmax", "logsumexp", "one_hot",
           "identity"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def _inexact(x):
    x = fnp.asarray(x)
    if x.dtype.kind not in "fc":
        x = fnp.asarray(x, dtype=np.float64)
    return x


def identity(x):
    """``identity(x) is x``: the default final activation of ``MLP``."""
    return x


def relu(x):
    """``max(x, 0)``, with derivative 0 at 0 as in JAX: ``relu(np.array([-1., 2.]))`` is ``[0, 2]``.
    """
    x = fnp.asarray(x)
    return fnp.where(x > 0, x, 0)


def relu6(x):
    """``min(max(x, 0), 6)``. ``relu6(7.0) == 6.0``."""
    x = fnp.asarray(x)
    return fnp.where(x > 0, fnp.where(x < 6, x, 6), 0)


def leaky_relu(x, negative_slope: float = 1e-2):
    """``x`` where positive, ``negative_slope * x`` elsewhere. ``leaky_relu(-1.0) == -0.01``."""
    x = _inexact(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def elu(x, alpha: float = 1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere. ``elu(-inf) == -alpha``."""
    x = _inexact(x)
    # exp only of the non-positive part: the unused branch must not overflow (its
    # gradient would be inf * 0 = nan).
    return fnp.where(x > 0, x, alpha * fnp.expm1(fnp.where(x > 0, 0, x)))


def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit, ``x * Phi(x)``; ``approximate=True`` (JAX's default) is
    the tanh form, ``approximate=False`` the exact erf form (PyTorch's default).

    ``gelu(1.0, approximate=False) == 0.8413447...``.
    """
    x = _inexact(x)
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1 + fnp.tanh(inner))
    return 0.5 * x * (1 + special.erf(x * _SQRT_HALF))


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, computed stably. ``sigmoid(0.0) == 0.5``."""
    return special.expit(_inexact(x))


def silu(x):
    """``x * sigmoid(x)`` (also called swish). ``silu(0.0) == 0.0``."""
    x = _inexact(x)
    return x * special.expit(x)


swish = silu


def tanh(x):
    """The hyperbolic tangent (``ftx.numpy.tanh``). ``tanh(0.0) == 0.0``."""
    return fnp.tanh(_inexact(x))


def softplus(x):
    """``log(1 + exp(x))`` without overflow. ``softplus(0.0) == log(2)``."""
    return fnp.logaddexp(_inexact(x), 0)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-_inexact(x))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``, stably; ``softmax(logits)`` normalises the last axis."""
    return special.softmax(_inexact(x), axis=axis)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)``, stably; ``log_softmax(logits)`` over the last axis."""
    return special.log_softmax(_inexact(x), axis=axis)


def logsumexp(x, axis=-1, keepdims=False):
    """``log(sum(exp(x), axis))``, stably (ftx.scipy.special.logsumexp, last axis by default)."""
    return special.logsumexp(_inexact(x), axis=axis, keepdims=keepdims)


def one_hot(x, num_classes: int, *, dtype=np.float64, axis=-1):
    """``one_hot(np.array([0, 2]), 3)`` is ``[[1, 0, 0], [0, 0, 1]]``; out-of-range rows are 0.

    The new axis of size ``num_classes`` goes at ``axis``; ``dtype`` defaults to float64
    (ftx's default float; pass ``np.float32`` to match float32 logits).
    """
    try:
        num_classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"one_hot: num_classes must be a concrete int, got {num_classes!r}"
                        ) from None
    x = fnp.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {x.dtype}")
    ndim = x.ndim + 1
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for a result of rank {ndim}")
    axis %= ndim
    classes = lax.broadcasted_iota(x.dtype, (1,) * axis + (num_classes,) + (1,) * (ndim - axis - 1),
                                   axis)
    return fnp.asarray(fnp.expand_dims(x, axis) == classes, dtype=dtype)
