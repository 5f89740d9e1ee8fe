"""Threefry-2x32, the counter-based hash behind every ftx.random key, written with ftx.lax.

Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror and Shaw, "Parallel random
numbers: as easy as 1, 2, 3", SC 2011) maps a 64-bit key and a 64-bit counter,
each given as two uint32 words, to two uint32 words. Everything below is
elementwise uint32 arithmetic (add, xor, shifts, or) on ``ftx.lax`` primitives,
so it runs eagerly on NumPy and under every transform; no new primitive.

The key schedule follows JAX's default, "partitionable" Threefry
(``jax_threefry_partitionable=True``, the default since JAX 0.5), bit for bit:

- ``random_bits(key, shape)`` hashes the counter (hi, lo) = the 64-bit flat
  index of each output element and xors the two output words (32-bit widths),
  or joins them hi:lo (64-bit widths);
- ``split(key, shape)`` hashes the same counters and keeps both words as the
  new key;
- ``fold_in(key, d)`` hashes the single counter (0, uint32(d));
- a seed becomes the key (seed >> 32, seed & 0xffffffff).
"""
from __future__ import annotations

import math

import numpy as np

from ftx import lax
from ftx.core.avals import get_aval

_U32 = np.dtype(np.uint32)
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
# The key-schedule parity constant of Threefry (Skein's C240).
_PARITY = 0x1BD11BDA
_MAX_COUNT = 2 ** 32  # counters above this need a nonzero high word: more memory than anyone has
_UINT_DTYPES = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32, 64: np.dtype(np.uint64)}


def _u32(value):
    return np.array(value, _U32)


def _rotate_left(x, r: int):
    return lax.bitwise_or(lax.shift_left(x, _u32(r)), lax.shift_right_logical(x, _u32(32 - r)))


def threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 (20 rounds) of the counters ``(x1, x2)`` under the key ``(k1, k2)``.

    All four operands are uint32 arrays of one shape (rank-0 ones broadcast); the
    result is a pair of uint32 arrays. ``threefry2x32(0, 0, 0, 0) == (0x6b200159, 0x99ba4efe)``.
    """
    k1, k2, x1, x2 = (_u32(x) if isinstance(x, int) else x for x in (k1, k2, x1, x2))
    ks = (k1, k2, lax.bitwise_xor(lax.bitwise_xor(k1, k2), _u32(_PARITY)))
    # The high counter word is a literal zero for every counter ftx.random makes.
    zero_x1 = isinstance(x1, np.ndarray) and x1.shape == () and x1 == 0
    x1, x2 = (ks[0] if zero_x1 else lax.add(x1, ks[0])), lax.add(x2, ks[1])
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = lax.add(x1, x2)
            x2 = lax.bitwise_xor(x1, _rotate_left(x2, r))
        # Key injection: the key words are scalars, so folding the round number into
        # them first saves a full-size addition.
        x1 = lax.add(x1, ks[(i + 1) % 3])
        x2 = lax.add(x2, lax.add(ks[(i + 2) % 3], _u32(i + 1)))
    return x1, x2


def _counters(shape):
    """The 64-bit flat index of every element of ``shape`` as (hi, lo) uint32 words."""
    size = math.prod(shape)
    if size > _MAX_COUNT:
        raise NotImplementedError(f"ftx.random: cannot draw {size} values at once "
                                  f"(at most 2**32 per call); split the key and draw in parts")
    if not shape:
        return _u32(0), _u32(0)
    lo = lax.iota(_U32, size)
    return _u32(0), (lo if len(shape) == 1 else lax.reshape(lo, shape))


def key_words(data):
    """The two uint32 words of a single key's data (shape ``(2,)``)."""
    return (lax.index_in_dim(data, 0, 0, keepdims=False),
            lax.index_in_dim(data, 1, 0, keepdims=False))


def _stack_words(y1, y2, shape):
    """Two uint32 arrays of ``shape`` as one ``uint32[*shape, 2]``."""
    shape = tuple(shape)
    column = shape + (1,)
    return lax.concatenate([lax.reshape(y1, column), lax.reshape(y2, column)], len(shape))


def split_data(data, shape):
    """The data (``uint32[*shape, 2]``) of the keys ``split(key, shape)`` makes from one key."""
    k1, k2 = key_words(data)
    hi, lo = _counters(shape)
    return _stack_words(*threefry2x32(k1, k2, hi, lo), shape)


def fold_in_data(data, d):
    """The data of ``fold_in(key, d)``, ``d`` a uint32 scalar."""
    k1, k2 = key_words(data)
    return _stack_words(*threefry2x32(k1, k2, _u32(0), d), ())


def random_bits(data, bit_width: int, shape):
    """Uniform random unsigned integers of ``bit_width`` bits and ``shape`` from one key's data."""
    k1, k2 = key_words(data)
    hi, lo = _counters(shape)
    y1, y2 = threefry2x32(k1, k2, hi, lo)
    dtype = _UINT_DTYPES[bit_width]
    if bit_width == 64:
        hi64 = lax.convert_element_type(y1, dtype)
        lo64 = lax.convert_element_type(y2, dtype)
        out = lax.bitwise_or(lax.shift_left(hi64, np.array(32, dtype)), lo64)
    else:
        out = lax.bitwise_xor(y1, y2)
        if bit_width != 32:
            out = lax.convert_element_type(out, dtype)
    return out


def seed_data(seed):
    """Key data ``uint32[2]`` of an integer seed: (high 32 bits, low 32 bits).

    A Python int counts as a 64-bit integer (negative values in two's complement;
    up to 2**64 - 1), an integer array as its own width: ``seed_data(np.int32(-1))``
    is ``[0, 0xffffffff]``, ``seed_data(-1)`` is ``[0xffffffff, 0xffffffff]`` -- JAX's
    results with ``jax_enable_x64``; seeds in [0, 2**31) give the same key either way.
    """
    if isinstance(seed, int):
        value = seed % 2 ** 64
        return np.array([value >> 32, value & 0xFFFFFFFF], _U32)
    dtype = get_aval(seed).dtype
    lo = lax.convert_element_type(seed, _U32)  # wraps modulo 2**32, as a C cast
    if dtype.itemsize == 8:
        hi = lax.convert_element_type(lax.shift_right_logical(seed, np.array(32, dtype)), _U32)
    else:
        hi = _u32(0)
    return _stack_words(hi, lo, ())


def threefry_2x32(keypair, count):
    """JAX's ``threefry_2x32``: hash the uint32 array ``count`` under ``keypair`` = (k1, k2).

    The flattened counts are split in two halves (zero-padded to even length),
    which form the counter pairs; the two output halves are joined and reshaped
    back. ``threefry_2x32((0, 42), np.arange(4, dtype=np.uint32))``.
    """
    k1, k2 = keypair
    k1, k2 = (_u32(x) if isinstance(x, int) else x for x in (k1, k2))
    count = count if hasattr(count, "aval") else np.asarray(count)
    for name, x in (("keypair", k1), ("keypair", k2), ("count", count)):
        if get_aval(x).dtype != _U32:
            raise TypeError(f"threefry_2x32: {name} must be uint32, got {get_aval(x).str_short()}")
    shape = get_aval(count).shape
    size = math.prod(shape)
    flat = lax.reshape(count, (size,))
    if size % 2:
        flat = lax.concatenate([flat, np.zeros(1, _U32)], 0)
    half = (size + 1) // 2
    x1 = lax.slice_in_dim(flat, 0, half)
    x2 = lax.slice_in_dim(flat, half, 2 * half)
    y1, y2 = threefry2x32(k1, k2, x1, x2)
    out = lax.concatenate([y1, y2], 0)
    if size % 2:
        out = lax.slice_in_dim(out, 0, size)
    return lax.reshape(out, shape)
