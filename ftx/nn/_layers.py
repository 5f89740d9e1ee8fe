"""Layers: Linear, MLP, Conv (Conv1d, Conv2d, Conv3d), LayerNorm, Embedding, Dropout,
Sequential, Lambda.

Constructed with an explicit PRNG key, as in equinox (``Linear(3, 2, key=k)``).
Weights use PyTorch's layouts and default initializations (uniform on
``±1/sqrt(fan_in)``), so a ported model starts from the same distribution.
Layers accept inputs with or without leading batch axes (``Linear`` maps the last
axis; ``Conv`` takes ``(C, *spatial)`` or ``(N, C, *spatial)``); use ``ftx.vmap``
for anything else. Every ``__call__`` takes an optional keyword ``key`` so that
containers can pass keys down uniformly; only ``Dropout`` uses it.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np

import ftx.numpy as fnp
from ftx import lax, random
from ftx.nn._activations import identity, relu
from ftx.nn._module import Module, field

__all__ = ["Linear", "MLP", "Conv", "Conv1d", "Conv2d", "Conv3d", "LayerNorm", "Embedding",
           "Dropout", "Sequential", "Lambda"]


def _uniform(key, shape, dtype, bound):
    return random.uniform(key, shape, dtype, -bound, bound)


def _check_float(dtype, name) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{name}: dtype must be a float dtype, got {dtype}")
    return dtype


def _positive_int(value, what, name) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an int, got {value!r}") from None
    if value < 1:
        raise ValueError(f"{name}: {what} must be positive, got {value}")
    return value


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last axis of ``x``.

    ``Linear(3, 2, key=random.key(0))(np.ones(3, np.float32))`` has shape ``(2,)``;
    ``weight`` is ``(out_features, in_features)``, initialized (with ``bias``) uniform on
    ``±1/sqrt(in_features)`` as in PyTorch.
    """
    weight: Any
    bias: Any
    in_features: int = field(static=True)
    out_features: int = field(static=True)
    use_bias: bool = field(static=True)

    def __init__(self, in_features: int, out_features: int, *, key, use_bias: bool = True,
                 dtype=np.float32):
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dtype = _check_float(dtype, "Linear")
        wkey, bkey = random.split(key)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = _uniform(wkey, (out_features, in_features), dtype, bound)
        self.bias = _uniform(bkey, (out_features,), dtype, bound) if use_bias else None
        self.use_bias = bool(use_bias)

    def __call__(self, x, *, key=None):
        x = fnp.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected an input whose last axis has size "
                             f"{self.in_features}, got shape {tuple(x.shape)}")
        y = fnp.matmul(x, fnp.transpose(self.weight))
        return y if self.bias is None else y + self.bias


class MLP(Module):
    """A multi-layer perceptron: ``depth`` hidden layers of ``width_size``, then the output.

    ``MLP(2, 1, width_size=32, depth=2, key=k)`` is Linear(2, 32) -> relu -> Linear(32, 32)
    -> relu -> Linear(32, 1) -> final_activation (identity by default).
    """
    layers: tuple
    activation: Callable = field(static=True)
    final_activation: Callable = field(static=True)
    in_size: int = field(static=True)
    out_size: int = field(static=True)
    width_size: int = field(static=True)
    depth: int = field(static=True)

    def __init__(self, in_size: int, out_size: int, width_size: int, depth: int,
                 activation: Callable = relu, final_activation: Callable = identity, *, key,
                 use_bias: bool = True, use_final_bias: bool = True, dtype=np.float32):
        depth = operator.index(depth)
        if depth < 0:
            raise ValueError(f"MLP: depth must be >= 0, got {depth}")
        keys = random.split(key, depth + 1)
        sizes = [in_size] + [width_size] * depth + [out_size]
        self.layers = tuple(
            Linear(sizes[i], sizes[i + 1], key=keys[i],
                   use_bias=use_bias if i < depth else use_final_bias, dtype=dtype)
            for i in range(depth + 1))
        self.activation, self.final_activation = activation, final_activation
        self.in_size, self.out_size = in_size, out_size
        self.width_size, self.depth = width_size, depth

    def __call__(self, x, *, key=None):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.final_activation(self.layers[-1](x))


def _tuple(value, n: int, what: str, name: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(operator.index(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name}: {what} needs {n} entries (one per spatial axis), got {value}")
    return value


def _padding(padding, n: int, name: str):
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID", "SAME_LOWER"):
            raise ValueError(f"{name}: padding must be 'SAME', 'VALID', 'SAME_LOWER', an int, "
                             f"a tuple of ints or of (low, high) pairs, got {padding!r}")
        return padding.upper()
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * n
    padding = tuple(padding)
    if len(padding) != n:
        raise ValueError(f"{name}: padding needs {n} entries (one per spatial axis), got "
                         f"{padding}")
    return tuple((int(p), int(p)) if isinstance(p, (int, np.integer))
                 else (int(p[0]), int(p[1])) for p in padding)


class Conv(Module):
    """An N-d convolution over channel-first inputs: ``(C, *spatial)`` or ``(N, C, *spatial)``.

    ``Conv(2, 3, 8, kernel_size=3, padding=1, key=k)`` maps ``(3, 32, 32)`` to ``(8, 32, 32)``.
    ``weight`` is ``(out_channels, in_channels // groups, *kernel_size)`` (PyTorch's OIHW);
    ``padding`` is an int, per-axis ints, per-axis ``(low, high)`` pairs, or ``'SAME'`` /
    ``'VALID'``. Computed with ``lax.conv_general_dilated``.
    """
    weight: Any
    bias: Any
    num_spatial_dims: int = field(static=True)
    in_channels: int = field(static=True)
    out_channels: int = field(static=True)
    kernel_size: tuple = field(static=True)
    stride: tuple = field(static=True)
    padding: Any = field(static=True)
    dilation: tuple = field(static=True)
    groups: int = field(static=True)
    use_bias: bool = field(static=True)

    def __init__(self, num_spatial_dims: int, in_channels: int, out_channels: int, kernel_size,
                 stride=1, padding=0, dilation=1, groups: int = 1, use_bias: bool = True, *,
                 key, dtype=np.float32):
        name = type(self).__name__
        n = _positive_int(num_spatial_dims, "num_spatial_dims", name)
        groups = _positive_int(groups, "groups", name)
        in_channels = _positive_int(in_channels, "in_channels", name)
        out_channels = _positive_int(out_channels, "out_channels", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        dtype = _check_float(dtype, name)
        self.num_spatial_dims, self.groups = n, groups
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        self.stride = _tuple(stride, n, "stride", name)
        self.dilation = _tuple(dilation, n, "dilation", name)
        self.padding = _padding(padding, n, name)
        self.use_bias = bool(use_bias)
        wkey, bkey = random.split(key)
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = _uniform(wkey, (out_channels, in_channels // groups) + self.kernel_size,
                               dtype, bound)
        self.bias = _uniform(bkey, (out_channels,), dtype, bound) if use_bias else None

    def __call__(self, x, *, key=None):
        x = fnp.asarray(x)
        n = self.num_spatial_dims
        unbatched = x.ndim == n + 1
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}: expected input of shape (C, *spatial) or "
                             f"(N, C, *spatial) with C={self.in_channels} and {n} spatial axes, "
                             f"got shape {tuple(x.shape)}")
        if unbatched:
            x = fnp.expand_dims(x, 0)
        y = lax.conv_general_dilated(x, self.weight, self.stride, self.padding,
                                     rhs_dilation=self.dilation,
                                     feature_group_count=self.groups)
        if self.bias is not None:
            y = y + fnp.reshape(self.bias, (self.out_channels,) + (1,) * n)
        return y[0] if unbatched else y


class Conv1d(Conv):
    """``Conv1d(in_channels, out_channels, kernel_size, ..., key=k)``: ``(N, C, W)`` inputs."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class Conv2d(Conv):
    """``Conv2d(3, 16, 3, padding=1, key=k)``: ``(N, C, H, W)`` (or ``(C, H, W)``) inputs."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class Conv3d(Conv):
    """``Conv3d(1, 4, 3, key=k)``: ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) inputs."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class LayerNorm(Module):
    """Normalizes the last ``len(shape)`` axes to mean 0, variance 1, then scales and shifts.

    ``LayerNorm(16)(x)`` for ``x`` of shape ``(..., 16)``; ``weight`` (ones) and ``bias``
    (zeros) have shape ``shape``. The variance is the biased one (divide by n), as in
    PyTorch and equinox.
    """
    weight: Any
    bias: Any
    shape: tuple = field(static=True)
    eps: float = field(static=True)

    def __init__(self, shape, eps: float = 1e-5, use_weight: bool = True, use_bias: bool = True,
                 *, dtype=np.float32):
        shape = (operator.index(shape),) if isinstance(shape, (int, np.integer)) else tuple(
            operator.index(d) for d in shape)
        dtype = _check_float(dtype, "LayerNorm")
        self.shape, self.eps = shape, float(eps)
        self.weight = np.ones(shape, dtype) if use_weight else None
        self.bias = np.zeros(shape, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        x = fnp.asarray(x)
        k = len(self.shape)
        if tuple(x.shape[x.ndim - k:]) != self.shape or x.ndim < k:
            raise ValueError(f"LayerNorm: expected the last axes of the input to be {self.shape}, "
                             f"got shape {tuple(x.shape)}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = fnp.mean(x, axis=axes, keepdims=True)
        centered = x - mean
        var = fnp.mean(centered * centered, axis=axes, keepdims=True)
        out = centered / fnp.sqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out


class Embedding(Module):
    """A lookup table: ``Embedding(10, 4, key=k)(np.array([1, 7]))`` has shape ``(2, 4)``.

    ``weight`` is ``(num_embeddings, embedding_dim)``, standard normal (PyTorch's default).
    Indices may have any shape. Eagerly an out-of-range index raises IndexError (NumPy);
    under a transform it gives NaN rows (JAX's ``take`` fill mode).
    """
    weight: Any
    num_embeddings: int = field(static=True)
    embedding_dim: int = field(static=True)

    def __init__(self, num_embeddings: int, embedding_dim: int, *, key, dtype=np.float32):
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = random.normal(key, (num_embeddings, embedding_dim),
                                    _check_float(dtype, "Embedding"))

    def __call__(self, indices, *, key=None):
        indices = fnp.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {indices.dtype}")
        return fnp.take(self.weight, indices, axis=0)


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``.

    ``Dropout(0.1)(x, key=k)`` in training; ``Dropout(0.1, inference=True)(x)``, or
    ``dropout(x, inference=True)``, is the identity. A key is required unless in
    inference mode (randomness is always explicit in ftx).
    """
    p: float = field(static=True, default=0.5)
    inference: bool = field(static=True, default=False)

    def __init__(self, p: float = 0.5, inference: bool = False):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.inference = p, bool(inference)

    def __call__(self, x, *, key=None, inference=None):
        inference = self.inference if inference is None else inference
        x = fnp.asarray(x)
        if inference or self.p == 0.0:
            return x
        if key is None:
            raise ValueError("Dropout: a PRNG key is required in training mode: call "
                             "dropout(x, key=key), or pass inference=True to turn it off")
        if self.p == 1.0:
            return fnp.zeros_like(x)
        keep = random.bernoulli(key, 1.0 - self.p, tuple(x.shape))
        return fnp.where(keep, x / (1.0 - self.p), 0)


class Lambda(Module):
    """Wraps a function as a layer (the function is static): ``Lambda(relu)``."""
    fn: Callable = field(static=True)

    def __call__(self, x, *, key=None):
        return self.fn(x)


class Sequential(Module):
    """Layers applied in order: ``Sequential([Linear(2, 8, key=k1), relu, Linear(8, 1, key=k2)])``.

    Plain functions are wrapped in ``Lambda``. ``seq(x, key=k)`` splits ``k`` among the
    layers (for Dropout). Index with ``seq[0]`` or slice with ``seq[1:]``.
    """
    layers: tuple

    def __init__(self, layers):
        self.layers = tuple(layer if isinstance(layer, Module) else Lambda(layer)
                            for layer in layers)

    def __call__(self, x, *, key=None):
        keys = [None] * len(self.layers) if key is None else random.split(key, len(self.layers))
        for layer, k in zip(self.layers, keys):
            x = layer(x, key=k)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        return self.layers[i]

    def __len__(self):
        return len(self.layers)
