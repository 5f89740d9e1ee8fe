"""Parameter initializers, as ``jax.nn.initializers``: each builds ``init(key, shape, dtype)``.

    from ftx import random
    from ftx.nn import initializers as init
    w = init.glorot_uniform()(random.key(0), (784, 256), np.float32)

Fans follow JAX: for a weight of shape ``(..., in, out)`` (``in_axis=-2``,
``out_axis=-1``), ``fan_in = in * receptive field`` and ``fan_out = out *
receptive field``, where the receptive field is the product of the other axes (the
kernel window of a convolution). ftx.nn layers store ``(out, in, *window)``
weights (PyTorch's layout): pass ``in_axis=1, out_axis=0`` for those. Since
ftx.random reproduces JAX's random numbers bit for bit, these initializers give
JAX's values for the same key, shape and dtype. The default dtype is float64
(ftx's default float, JAX's with x64).
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np

import ftx.numpy as fnp
from ftx import random

__all__ = ["zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
           "variance_scaling", "glorot_uniform", "glorot_normal", "xavier_uniform",
           "xavier_normal", "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
           "lecun_uniform", "lecun_normal"]

_DEFAULT = np.dtype(np.float64)
# The standard deviation of a standard normal truncated to (-2, 2).
_TRUNCATED_STD = 0.87962566103423978


def _shape(shape, name: str) -> tuple:
    try:
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        return tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(f"initializers.{name}: shape must be an int or a tuple of ints, "
                        f"got {shape!r}") from None


def _float(dtype, name: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"initializers.{name}: dtype must be a float dtype, got {dtype}")
    return dtype


def zeros(key, shape, dtype=_DEFAULT):
    """``zeros(key, (3,))``: zeros (the key is unused; it keeps the initializer signature)."""
    return fnp.zeros(_shape(shape, "zeros"), dtype)


def ones(key, shape, dtype=_DEFAULT):
    """``ones(key, (3,))``: ones (the key is unused)."""
    return fnp.ones(_shape(shape, "ones"), dtype)


def constant(value, dtype=_DEFAULT):
    """``constant(0.1)(key, (3,))``: an initializer filling with ``value``."""
    def init(key, shape, dtype=dtype):
        return fnp.full(_shape(shape, "constant"), value, dtype)
    return init


def uniform(scale=1e-2, dtype=_DEFAULT):
    """``uniform(0.1)(key, shape)``: uniform on ``[0, scale)``."""
    def init(key, shape, dtype=dtype):
        dtype = _float(dtype, "uniform")
        return random.uniform(key, _shape(shape, "uniform"), dtype) * np.asarray(scale, dtype)
    return init


def normal(stddev=1e-2, dtype=_DEFAULT):
    """``normal(0.1)(key, shape)``: normal with mean 0 and standard deviation ``stddev``."""
    def init(key, shape, dtype=dtype):
        dtype = _float(dtype, "normal")
        return random.normal(key, _shape(shape, "normal"), dtype) * np.asarray(stddev, dtype)
    return init


def truncated_normal(stddev=1e-2, dtype=_DEFAULT, lower=-2.0, upper=2.0):
    """``truncated_normal(0.1)(key, shape)``: ``stddev`` times a standard normal truncated to
    ``(lower, upper)`` (so the result's standard deviation is smaller than ``stddev``)."""
    def init(key, shape, dtype=dtype):
        dtype = _float(dtype, "truncated_normal")
        x = random.truncated_normal(key, lower, upper, _shape(shape, "truncated_normal"), dtype)
        return x * np.asarray(stddev, dtype)
    return init


def _axes_size(shape, axes) -> int:
    if isinstance(axes, int):
        return shape[axes]
    return math.prod(shape[a] for a in axes)


def _compute_fans(shape, in_axis, out_axis, batch_axis):
    if len(shape) < 2:
        raise ValueError(f"initializers: fan-in/fan-out need a weight of rank >= 2, got shape "
                         f"{shape}; use normal()/uniform() for biases")
    in_size, out_size = _axes_size(shape, in_axis), _axes_size(shape, out_axis)
    batch = _axes_size(shape, batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch if in_size * out_size * batch else 0
    return in_size * receptive, out_size * receptive


def variance_scaling(scale, mode: str, distribution: str, in_axis=-2, out_axis=-1,
                     batch_axis=(), dtype=_DEFAULT):
    """Samples with variance ``scale / fan`` (JAX's ``variance_scaling``).

    ``mode``: ``'fan_in'``, ``'fan_out'`` or ``'fan_avg'``; ``distribution``:
    ``'truncated_normal'``, ``'normal'`` or ``'uniform'`` (on ``[-sqrt(3 var), sqrt(3 var))``).
    ``variance_scaling(2.0, 'fan_in', 'normal')`` is He-normal without truncation.
    """
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                         f"got {mode!r}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"variance_scaling: distribution must be 'truncated_normal', 'normal' "
                         f"or 'uniform', got {distribution!r}")

    def init(key, shape, dtype=dtype):
        shape = _shape(shape, "variance_scaling")
        dtype = _float(dtype, "variance_scaling")
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out,
                       "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = np.asarray(scale / denominator, dtype)
        if distribution == "truncated_normal":
            stddev = np.sqrt(variance) / np.asarray(_TRUNCATED_STD, dtype)
            return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * np.sqrt(variance)
        return random.uniform(key, shape, dtype, -1) * np.sqrt(3 * variance)

    return init


glorot_uniform = xavier_uniform = functools.partial(variance_scaling, 1.0, "fan_avg", "uniform")
glorot_normal = xavier_normal = functools.partial(variance_scaling, 1.0, "fan_avg",
                                                  "truncated_normal")
lecun_uniform = functools.partial(variance_scaling, 1.0, "fan_in", "uniform")
lecun_normal = functools.partial(variance_scaling, 1.0, "fan_in", "truncated_normal")
he_uniform = kaiming_uniform = functools.partial(variance_scaling, 2.0, "fan_in", "uniform")
he_normal = kaiming_normal = functools.partial(variance_scaling, 2.0, "fan_in",
                                               "truncated_normal")
