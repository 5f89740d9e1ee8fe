"""ftx.random: explicit-key, counter-based random numbers (Threefry-2x32), as ``jax.random``.

Randomness is a pure function of a key: the same key gives the same numbers,
eagerly, under ``vmap`` (a vmapped call equals the loop over its keys), ``grad``
(samples are constants) and ``make_jaxpr``. Split a key into independent keys
instead of reusing it::

    import numpy as np
    from ftx import random
    key = random.key(0)
    key, sub = random.split(key)
    w = random.normal(sub, (3, 4), np.float32)

Typed keys (``random.key``) and legacy ``uint32[2]`` keys (``random.PRNGKey``)
are both accepted everywhere. The numbers are JAX's (``jax.random`` on CPU,
default partitionable Threefry), bit for bit: a program ported from JAX draws
the same values given the same seeds and dtypes. The one known exception is
float64 ``log`` (glibc's in XLA, NumPy's here), which changes fewer than 1 in
10,000 float64 normal samples, by a few ulp. Defaults are 64-bit (float64,
int64, uint64), JAX's with ``jax_enable_x64``; pass ``dtype=np.float32`` for
the numbers of JAX's 32-bit default.
"""
from ftx.random._keys import KeyArray, PRNGKey, fold_in, key, key_data, split, wrap_key_data
from ftx.random._samplers import (bernoulli, bits, categorical, choice, gumbel, normal,
                                  permutation, randint, truncated_normal, uniform)
from ftx.random._threefry import threefry_2x32

__all__ = [
    "KeyArray", "PRNGKey", "key", "key_data", "wrap_key_data", "split", "fold_in",
    "bits", "uniform", "normal", "truncated_normal", "bernoulli", "gumbel", "categorical",
    "randint", "permutation", "choice", "threefry_2x32",
]
