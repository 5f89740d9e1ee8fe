"""Samplers: bits, uniform, normal, truncated_normal, bernoulli, gumbel, categorical, randint,
permutation, choice -- JAX's algorithms on Threefry bits, written with ftx.lax.

Defaults follow ftx's NumPy semantics, which are 64-bit: floats default to
float64, integers to int64 and ``bits`` to uint64 -- JAX's defaults with
``jax_enable_x64``. Pass ``dtype=np.float32`` to reproduce JAX's default
32-bit results.
"""
from __future__ import annotations

import math
import operator

import numpy as np

import ftx.numpy as fnp
from ftx import lax
from ftx.core.avals import get_aval
from ftx.core.trace import Tracer
from ftx.numpy._core import broadcast_to as _broadcast_to, canonicalize_axis, concrete_or_error
from ftx.random import _exact
from ftx.random._keys import KeyArray, as_output, key_and_kind
from ftx.random._threefry import random_bits, split_data

_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
         64: np.dtype(np.uint64)}

# --------------------------------------------------------------------------- argument helpers


def _shape(shape, name: str) -> tuple:
    if shape is None:
        return None
    dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    try:
        dims = tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(f"{name}: shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{name}: shape must not have negative sizes, got {dims}")
    return dims


def _check_shape(name: str, shape: tuple, *param_shapes) -> None:
    try:
        result = tuple(np.broadcast_shapes(shape, *param_shapes))
    except ValueError:
        result = None
    if result != shape:
        raise ValueError(f"{name}: parameter shapes {', '.join(map(str, param_shapes))} must be "
                         f"broadcast-compatible with the shape argument {shape}, and broadcasting "
                         f"them must give {shape}; got {result}")


def _float_dtype(dtype, name: str, kinds: str = "f") -> np.dtype:
    dtype = _F64 if dtype is None else np.dtype(dtype)
    if dtype.kind not in kinds or np.finfo(dtype).bits not in (16, 32, 64):
        what = "a float or complex" if "c" in kinds else "a float"
        raise ValueError(f"{name}: dtype must be {what} dtype of 16, 32 or 64 bits, got {dtype}")
    return dtype


def _array(x, name: str):
    if isinstance(x, KeyArray):
        raise TypeError(f"{name}: got a PRNG key where an array was expected")
    return x if isinstance(x, (np.ndarray, Tracer)) else np.asarray(x)


def _param(x, dtype, shape, name: str, what: str):
    """A distribution parameter as ``dtype``, scalar or broadcast to ``shape``."""
    x = _array(x, f"{name} ({what})")
    if get_aval(x).dtype != dtype:
        x = lax.convert_element_type(x, dtype)
    _check_shape(name, shape, get_aval(x).shape)
    return _full(x, shape)


def _full(x, shape):
    """``x`` broadcast to ``shape`` unless it is a scalar (elementwise primitives take those)."""
    x_shape = get_aval(x).shape
    return _broadcast_to(x, shape, "ftx.random") if x_shape and x_shape != shape else x


def _equals(x, value) -> bool:
    """Whether ``x`` is a concrete scalar equal to ``value`` (enables exact shortcuts)."""
    if isinstance(x, (bool, Tracer)):
        return False
    if isinstance(x, (int, float, np.generic)) or (isinstance(x, np.ndarray) and x.shape == ()):
        return bool(x == value)
    return False


def _two_keys(data):
    keys = split_data(data, (2,))
    return (lax.index_in_dim(keys, 0, 0, keepdims=False),
            lax.index_in_dim(keys, 1, 0, keepdims=False))


def _c(value, dtype):
    return np.array(value, dtype)


# --------------------------------------------------------------------------- bits and uniform


def bits(key, shape=(), dtype=None):
    """Uniform random unsigned integers: ``bits(key, (3,), np.uint32)`` (default uint64)."""
    data, _ = key_and_kind(key, "bits")
    dtype = np.dtype(np.uint64 if dtype is None else dtype)
    if dtype.kind != "u":
        raise ValueError(f"bits: dtype must be an unsigned integer dtype, got {dtype}")
    return as_output(random_bits(data, dtype.itemsize * 8, _shape(shape, "bits")))


def _unit_floats(data, shape, dtype):
    """Uniform floats in [0, 1) from the top mantissa bits of the random bits, as JAX."""
    finfo = np.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    raw = random_bits(data, nbits, shape)
    # JAX ors the mantissa bits into the exponent of 1.0 and subtracts 1.0; that
    # is exactly these integers scaled by 2**-nmant, without a bitcast.
    mantissa = lax.shift_right_logical(raw, _c(nbits - nmant, _UINT[nbits]))
    return lax.mul(lax.convert_element_type(mantissa, dtype), _c(2.0 ** -nmant, dtype))


def _uniform(data, shape, dtype, minval, maxval):
    floats = _unit_floats(data, shape, dtype)
    if _equals(minval, 0.0) and _equals(maxval, 1.0):
        return floats  # floats * 1 + 0 is exact: skip the fused arithmetic
    lo = _param(minval, dtype, shape, "uniform", "minval")
    hi = _param(maxval, dtype, shape, "uniform", "maxval")
    # XLA fuses floats * (hi - lo) + lo into one fma; so do we, for the same bits.
    return lax.max(lo, _exact.fma(floats, lax.sub(hi, lo), lo, dtype))


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``: ``uniform(key, (2, 3), np.float32, -1.0, 1.0)``.

    Bit-identical to ``jax.random.uniform`` (float16, float32 and float64). The
    bounds broadcast against ``shape``; the default dtype is float64.
    """
    data, _ = key_and_kind(key, "uniform")
    dtype = _float_dtype(dtype, "uniform")
    return as_output(_uniform(data, _shape(shape, "uniform"), dtype, minval, maxval))


# --------------------------------------------------------------------------- normal family


def _normal_real(data, shape, dtype):
    lo = np.nextafter(_c(-1.0, dtype), _c(0.0, dtype))
    u = _uniform(data, shape, dtype, lo, _c(1.0, dtype))
    return lax.mul(_c(np.sqrt(2), dtype), _exact.erf_inv(u))


def normal(key, shape=(), dtype=None):
    """Standard normal samples: ``normal(key, (3,), np.float32)`` (default float64).

    ``sqrt(2) * erfinv(u)`` for ``u`` uniform in (-1, 1), with XLA's own erfinv, so
    equal to ``jax.random.normal`` (float64: but for fewer than 1 sample in 10,000,
    by a few ulp; see ``ftx.random._exact``). Complex dtypes give ``(re + i im) / sqrt(2)``.
    """
    data, _ = key_and_kind(key, "normal")
    dtype = _float_dtype(dtype, "normal", "fc")
    shape = _shape(shape, "normal")
    if dtype.kind == "c":
        real = np.dtype(np.finfo(dtype).dtype)
        k_re, k_im = _two_keys(data)
        re = lax.convert_element_type(_normal_real(k_re, shape, real), dtype)
        im = lax.convert_element_type(_normal_real(k_im, shape, real), dtype)
        z = lax.add(re, lax.mul(im, _c(1j, dtype)))
        return as_output(lax.div(z, _c(np.sqrt(2), dtype)))
    return as_output(_normal_real(data, shape, dtype))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normal samples conditioned on ``lower < x < upper``: ``truncated_normal(key, -2., 2., (5,))``.

    ``shape`` defaults to the broadcast shape of the bounds; samples lie in the
    open interval (JAX's algorithm: inverse CDF of a uniform between the bounds' CDFs).
    """
    data, _ = key_and_kind(key, "truncated_normal")
    dtype = _float_dtype(dtype, "truncated_normal")
    lower, upper = _array(lower, "truncated_normal"), _array(upper, "truncated_normal")
    bounds = (get_aval(lower).shape, get_aval(upper).shape)
    if shape is None:
        shape = tuple(np.broadcast_shapes(*bounds))
    else:
        shape = _shape(shape, "truncated_normal")
        _check_shape("truncated_normal", shape, *bounds)
    lower = _param(lower, dtype, shape, "truncated_normal", "lower")
    upper = _param(upper, dtype, shape, "truncated_normal", "upper")
    sqrt2 = _c(np.sqrt(2), dtype)
    # XLA turns a division by a constant into a product with its reciprocal; so do we.
    inv_sqrt2 = np.divide(_c(1.0, dtype), sqrt2)
    a = _exact.erf(lax.mul(lower, inv_sqrt2))
    b = _exact.erf(lax.mul(upper, inv_sqrt2))
    out = lax.mul(sqrt2, _exact.erf_inv(_uniform(data, shape, dtype, a, b)))
    # Rounding (or drawing exactly a) could reach a bound: clamp to the open interval.
    lo = lax.nextafter(lax.stop_gradient(lower), _c(np.inf, dtype))
    hi = lax.nextafter(lax.stop_gradient(upper), _c(-np.inf, dtype))
    return as_output(lax.min(lax.max(out, lo), hi))


# --------------------------------------------------------------------------- bernoulli, gumbel


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans, True with probability ``p``: ``bernoulli(key, 0.9, x.shape)`` (a dropout mask).

    ``p`` must be floating (a Python float is float64); ``shape`` defaults to
    ``p``'s. ``mode='high'`` uses twice the bits, for tiny ``p``.
    """
    if mode not in ("high", "low"):
        raise ValueError(f"bernoulli: mode must be 'high' or 'low', got {mode!r}")
    data, _ = key_and_kind(key, "bernoulli")
    p = _array(p, "bernoulli")
    dtype = get_aval(p).dtype
    if dtype.kind != "f":
        raise TypeError(f"bernoulli: the probability p must have a floating dtype, got "
                        f"{get_aval(p).str_short()}")
    shape = get_aval(p).shape if shape is None else _shape(shape, "bernoulli")
    p = _param(p, dtype, shape, "bernoulli", "p")
    if mode == "high":
        u = _unit_floats(data, (2,) + shape, dtype)
        u1 = lax.index_in_dim(u, 0, 0, keepdims=False)
        resolution = _c(2.0 ** -np.finfo(dtype).nmant, dtype)
        u2 = lax.mul(lax.index_in_dim(u, 1, 0, keepdims=False), resolution)
        return as_output(lax.lt(u2, lax.sub(p, u1)))
    return as_output(lax.lt(_unit_floats(data, shape, dtype), p))


def _gumbel(data, shape, dtype, mode):
    info = np.finfo(dtype)
    if mode == "low":
        u = _uniform(data, shape, dtype, _c(info.tiny, dtype), _c(1.0, dtype))
        return lax.neg(_exact.log(lax.neg(_exact.log(u))))
    u = _unit_floats(data, (2,) + shape, dtype)
    high = lax.index_in_dim(u, 0, 0, keepdims=False)
    low = lax.index_in_dim(u, 1, 0, keepdims=False)
    # Below 1/2, the second draw refines the first so that -log(-log1p(-x)) reaches
    # twice as far into the tail.
    refined = lax.add(high, lax.mul(_c(2.0 ** -info.nmant, dtype), low))
    refined = lax.add(refined, _c(info.tiny, dtype))
    x = lax.select_n(lax.ge(high, _c(0.5, dtype)), refined, high)
    return lax.neg(_exact.log(lax.neg(_exact.log1p(lax.neg(x)))))


def _gumbel_mode(mode, name: str) -> str:
    mode = "low" if mode is None else mode
    if mode not in ("low", "high"):
        raise ValueError(f"{name}: mode must be 'low' or 'high', got {mode!r}")
    return mode


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel samples ``-log(-log(u))``: ``gumbel(key, (3,))``; ``mode='high'`` reaches further."""
    data, _ = key_and_kind(key, "gumbel")
    dtype = _float_dtype(dtype, "gumbel")
    return as_output(_gumbel(data, _shape(shape, "gumbel"), dtype, _gumbel_mode(mode, "gumbel")))


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Indices drawn with probabilities ``softmax(logits, axis)``: ``categorical(key, logits)``.

    The Gumbel-max trick (Gumbel top-k without replacement). ``shape`` defaults
    to ``logits``' shape without ``axis`` and may add leading sample axes.
    """
    data, _ = key_and_kind(key, "categorical")
    mode = _gumbel_mode(mode, "categorical")
    logits = _array(logits, "categorical")
    if get_aval(logits).dtype.kind not in "f":
        logits = lax.convert_element_type(logits, _F64)
    dtype, logits_shape = get_aval(logits).dtype, get_aval(logits).shape
    ndim = len(logits_shape)
    if ndim == 0:
        raise ValueError("categorical: logits must have at least one axis")
    axis = canonicalize_axis(axis, ndim, "categorical")
    batch_shape = logits_shape[:axis] + logits_shape[axis + 1:]
    if shape is None:
        shape = batch_shape
    else:
        shape = _shape(shape, "categorical")
        _check_shape("categorical", shape, batch_shape)
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        sample_shape = list(shape[len(prefix):])
        sample_shape.insert(axis, logits_shape[axis])
        noise = _gumbel(data, prefix + tuple(sample_shape), dtype, mode)
        scores = fnp.add(noise, lax.expand_dims(logits, tuple(range(len(prefix)))))
        return as_output(fnp.argmax(scores, axis=axis - ndim))
    k = math.prod(prefix)
    if k > logits_shape[axis]:
        raise ValueError(f"categorical: the number of samples without replacement ({k}) cannot "
                         f"exceed the number of categories ({logits_shape[axis]})")
    scores = fnp.add(logits, _gumbel(data, logits_shape, dtype, mode))
    _, indices = lax.top_k(fnp.moveaxis(scores, axis, -1), k)
    # indices: batch_shape + (k,); the k draws become the leading axes.
    nd = len(batch_shape) + 1
    return as_output(lax.reshape(indices, shape, dimensions=(nd - 1,) + tuple(range(nd - 1))))


# --------------------------------------------------------------------------- integers


def _clip_convert(x, dtype):
    """``x`` (integer) converted to integer ``dtype``, clipped to its range instead of wrapping."""
    src = get_aval(x).dtype
    lo = max(int(np.iinfo(dtype).min), int(np.iinfo(src).min))
    hi = min(int(np.iinfo(dtype).max), int(np.iinfo(src).max))
    clipped = lax.clamp(_c(lo, src), x, _c(hi, src))
    return clipped if src == dtype else lax.convert_element_type(clipped, dtype)


def _urem(x, span):
    """``x % span`` for unsigned integers, ``x`` where ``span == 0`` (XLA's remainder by zero)."""
    zero = lax.eq(span, _c(0, get_aval(span).dtype))
    safe = lax.select_n(zero, span, _c(1, get_aval(span).dtype))
    return lax.select_n(zero, lax.rem(x, safe), x)


def _int_param(x, name: str):
    x = _array(x, name)
    if get_aval(x).dtype.kind not in "iu":
        x = lax.convert_element_type(x, _I64)
    return x


def _randint(data, shape, minval, maxval, dtype):
    minval, maxval = _int_param(minval, "randint"), _int_param(maxval, "randint")
    _check_shape("randint", shape, get_aval(minval).shape, get_aval(maxval).shape)
    nbits = np.iinfo(dtype).bits
    udtype = _UINT[nbits]
    dtype_max = _clip_convert(_c(np.iinfo(dtype).max, dtype), get_aval(maxval).dtype)
    # maxval = 256 for uint8 means "up to 255 inclusive": the span grows by one below.
    maxval_out_of_range = _full(lax.gt(maxval, dtype_max), shape)
    minval = _full(_clip_convert(minval, dtype), shape)
    maxval = _full(_clip_convert(maxval, dtype), shape)
    # Twice the bits of the dtype, combined modulo the span, keep the modulo bias small.
    k1, k2 = _two_keys(data)
    higher = random_bits(k1, nbits, shape)
    lower = random_bits(k2, nbits, shape)
    span = lax.convert_element_type(lax.sub(maxval, minval), udtype)
    span = lax.select_n(lax.le(maxval, minval), span, _c(1, udtype))  # empty range: minval
    grow = lax.bitwise_and(maxval_out_of_range, lax.gt(maxval, minval))
    span = lax.select_n(grow, span, lax.add(span, _c(1, udtype)))
    # multiplier = 2**nbits % span, without overflowing nbits.
    multiplier = _urem(_c(2 ** (nbits // 2), udtype), span)
    multiplier = _urem(lax.mul(multiplier, multiplier), span)
    offset = lax.add(lax.mul(_urem(higher, span), multiplier), _urem(lower, span))
    offset = _urem(offset, span)
    return lax.add(minval, lax.convert_element_type(offset, dtype))


def randint(key, shape, minval, maxval, dtype=None):
    """Uniform integers in ``[minval, maxval)``: ``randint(key, (3,), 0, 10)`` (default int64).

    JAX's algorithm and results: two draws of the dtype's width combined modulo
    the range (slightly biased unless the range is a power of 2); 8- and 16-bit
    dtypes draw in int32.
    """
    data, _ = key_and_kind(key, "randint")
    dtype = np.dtype(_I64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"randint: dtype must be an integer dtype, got {dtype}")
    shape = _shape(shape, "randint")
    info = np.iinfo(dtype)
    if info.bits < 32:
        i32 = np.dtype(np.int32)
        minval = lax.clamp(_c(info.min, i32), _to_int32(minval), _c(info.max, i32))
        maxval = lax.clamp(_c(info.min, i32), _to_int32(maxval), _c(info.max + 1, i32))
        drawn = _randint(data, shape, minval, maxval, i32)
        return as_output(lax.convert_element_type(drawn, dtype))
    return as_output(_randint(data, shape, minval, maxval, dtype))


def _to_int32(x):
    x = _array(x, "randint")
    return x if get_aval(x).dtype == np.int32 else lax.convert_element_type(x, np.int32)


# --------------------------------------------------------------------------- permutations


def _shuffle(data, x, axis: int):
    """``x`` shuffled along ``axis`` by sorting on fresh random 32-bit keys, JAX's rounds."""
    size = get_aval(x).size
    # Enough rounds that all sort keys differ with high probability (JAX's rule).
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, sub = _two_keys(data)
        sort_keys = random_bits(sub, 32, get_aval(x).shape)
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


def _static_int(x, what: str, name: str) -> int:
    x = concrete_or_error(x, what, name)
    return operator.index(np.asarray(x).item() if isinstance(x, np.ndarray) else x)


def permutation(key, x, axis=0, independent=False):
    """``x`` shuffled along ``axis``, or ``arange(x)`` for an int: ``permutation(key, 10)``.

    With ``independent=True`` every slice along ``axis`` is shuffled on its own.
    """
    data, _ = key_and_kind(key, "permutation")
    x = _array(x, "permutation")
    aval = get_aval(x)
    if aval.ndim == 0:
        if aval.dtype.kind not in "iu":
            raise TypeError("permutation: x must be an integer or at least 1-dimensional")
        n = _static_int(x, "the integer x", "permutation")
        return as_output(_shuffle(data, lax.iota(_I64, n), 0))
    axis = canonicalize_axis(axis, aval.ndim, "permutation")
    if independent or aval.ndim == 1:
        return as_output(_shuffle(data, x, axis))
    order = _shuffle(data, lax.iota(_I64, aval.shape[axis]), 0)
    return as_output(lax.gather(x, order, axis=axis, mode="clip"))


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Samples from ``a`` (or ``arange(a)``): ``choice(key, 5, (3,), replace=False, p=probs)``.

    JAX's algorithms: uniform indices (``randint``) or a prefix of a permutation
    without ``p``; with ``p``, inverse-CDF sampling (with replacement) or Gumbel
    top-k (without).
    """
    data, _ = key_and_kind(key, "choice")
    shape = _shape(shape, "choice")
    arr = _array(a, "choice")
    aval = get_aval(arr)
    if aval.ndim == 0:
        n_inputs = _static_int(arr, "the integer a", "choice")
    else:
        axis = canonicalize_axis(axis, aval.ndim, "choice")
        n_inputs = aval.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        out_shape = shape if aval.ndim == 0 else aval.shape[:axis] + shape + aval.shape[axis + 1:]
        return np.zeros(out_shape, _I64 if aval.ndim == 0 else aval.dtype)
    if n_inputs <= 0:
        raise ValueError("choice: a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"choice: cannot take a larger sample (size {n_draws}) than the "
                         f"population (size {n_inputs}) when replace=False")
    if p is None:
        if replace:
            ind = _randint(data, shape, 0, n_inputs, _I64)
            result = ind if aval.ndim == 0 else lax.gather(arr, ind, axis=axis, mode="clip")
        else:
            source = lax.iota(_I64, n_inputs) if aval.ndim == 0 else arr
            shuffled = _shuffle(data, source, 0) if aval.ndim <= 1 else \
                lax.gather(arr, _shuffle(data, lax.iota(_I64, n_inputs), 0), axis=axis, mode="clip")
            result = lax.slice_in_dim(shuffled, 0, n_draws, axis=0 if aval.ndim == 0 else axis)
    else:
        p = _array(p, "choice")
        if get_aval(p).dtype.kind != "f":
            p = lax.convert_element_type(p, _F64)
        if get_aval(p).shape != (n_inputs,):
            raise ValueError(f"choice: p must be None or a 1-d vector with the same size as "
                             f"a.shape[axis]; p has shape {get_aval(p).shape} and a.shape[axis] "
                             f"is {n_inputs}")
        pdtype = get_aval(p).dtype
        if replace:
            cdf = lax.cumsum(p, 0)
            total = lax.index_in_dim(cdf, n_inputs - 1, 0, keepdims=False)
            u = _unit_floats(data, shape, pdtype)
            r = lax.mul(total, lax.sub(_c(1.0, pdtype), u))
            ind = lax.convert_element_type(fnp.searchsorted(cdf, r), _I64)
        else:
            noise = _gumbel(data, (n_inputs,), pdtype, _gumbel_mode(mode, "choice"))
            g = fnp.add(noise, _exact.log(p))
            ind = lax.convert_element_type(lax.top_k(g, n_draws)[1], _I64)
        result = ind if aval.ndim == 0 else lax.gather(arr, ind, axis=axis, mode="clip")
    out_shape = shape if aval.ndim == 0 else aval.shape[:axis] + shape + aval.shape[axis + 1:]
    return as_output(lax.reshape(result, out_shape))
