"""Write tests/data/random_vectors.npz: known answers of jax.random for ftx.random's tests.

Run once with JAX installed (vectors were made with JAX 0.10.2; its default,
partitionable Threefry, ``jax_threefry_partitionable=True``):

    python tests/data/make_random_vectors.py

Every case is described in the ``__cases__`` entry (JSON): the sampler, the
key (``key(seed)``, optionally folded with ``fold``) and the arguments, so
tests/test_random.py replays each call with ftx and compares -- without JAX.
64-bit dtypes need ``jax_enable_x64``, which this script turns on; with it,
Python-int seeds are 64-bit, which is also ftx's rule.
"""
from __future__ import annotations

import json
import os

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
import jax.random as jr  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "random_vectors.npz")


def _arg(value):
    """A JSON-able argument; arrays as {'array': nested list, 'dtype': name}."""
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.generic):
        return {"array": value.item(), "dtype": value.dtype.name}
    if isinstance(value, tuple):
        return list(value)
    return value


def _jax_arg(value):
    if isinstance(value, dict):
        return np.asarray(value["array"], value["dtype"])
    return value


CASES = []


def case(name, fn, seed=0, fold=None, **kwargs):
    CASES.append({"name": name, "fn": fn, "seed": _arg(seed), "fold": fold,
                  "kwargs": {k: _arg(v) for k, v in kwargs.items()}})


# Seeds: Python ints are 64-bit (x64); NumPy ints keep their own width.
for s in [0, 1, 42, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 63 - 1, -1, -2 ** 63]:
    case(f"key_{s}", "key", seed=s)
for s in [np.int32(-7), np.int32(2 ** 31 - 1), np.uint32(2 ** 32 - 1), np.int64(-5),
          np.uint64(2 ** 64 - 1)]:
    case(f"key_{s.dtype.name}_{s}", "key", seed=s)

for seed in (0, 42):
    for num in (1, 2, 5, (2, 3)):
        case(f"split_{seed}_{num}", "split", seed=seed, num=num)
case("split_folded", "split", seed=3, fold=11, num=4)

for d in (0, 1, 7, 2 ** 31 + 3, 2 ** 32 - 1):
    case(f"fold_in_{d}", "fold_in", seed=42, data=d)
case("fold_in_int32", "fold_in", seed=5, data=np.int32(-3))

case("bits_u32", "bits", seed=42, shape=(257,), dtype="uint32")
case("bits_u32_2d", "bits", seed=7, shape=(3, 5), dtype="uint32")
case("bits_u32_scalar", "bits", seed=7, shape=(), dtype="uint32")
case("bits_u64", "bits", seed=42, shape=(100,), dtype="uint64")
case("bits_u16", "bits", seed=1, shape=(40,), dtype="uint16")
case("bits_u8", "bits", seed=1, shape=(40,), dtype="uint8")

case("uniform_f32", "uniform", seed=42, shape=(1000,), dtype="float32")
case("uniform_f32_range", "uniform", seed=42, shape=(1000,), dtype="float32",
     minval=-3.7, maxval=5.3)
case("uniform_f32_small", "uniform", seed=3, shape=(1000,), dtype="float32",
     minval=1e-3, maxval=2.0)
case("uniform_f32_arrays", "uniform", seed=4, shape=(4, 3), dtype="float32",
     minval=np.array([-1.0, 0.5, 10.0], np.float32),
     maxval=np.array([[1.0], [2.0], [30.0], [11.0]], np.float32))
case("uniform_f32_scalar", "uniform", seed=5, shape=(), dtype="float32", minval=-2.0, maxval=3.0)
case("uniform_f64", "uniform", seed=42, shape=(500,), dtype="float64")
case("uniform_f64_range", "uniform", seed=42, shape=(500,), dtype="float64",
     minval=-3.7, maxval=5.3)
case("uniform_f64_wide", "uniform", seed=9, shape=(500,), dtype="float64",
     minval=-1e10, maxval=3e-5)
case("uniform_f16", "uniform", seed=42, shape=(200,), dtype="float16")
case("uniform_f16_range", "uniform", seed=42, shape=(200,), dtype="float16",
     minval=-3.7, maxval=5.3)

case("normal_f32", "normal", seed=42, shape=(4096,), dtype="float32")
case("normal_f32_2d", "normal", seed=8, shape=(2, 3), dtype="float32")
case("normal_f64", "normal", seed=42, shape=(4096,), dtype="float64")
case("normal_f16", "normal", seed=42, shape=(256,), dtype="float16")
case("normal_c64", "normal", seed=6, shape=(64,), dtype="complex64")

case("randint_i32", "randint", seed=42, shape=(500,), minval=0, maxval=10, dtype="int32")
case("randint_i64", "randint", seed=42, shape=(500,), minval=-5, maxval=1000, dtype="int64")
case("randint_i64_huge", "randint", seed=1, shape=(200,), minval=-2 ** 62, maxval=2 ** 62,
     dtype="int64")
case("randint_i32_full", "randint", seed=2, shape=(200,), minval=-2 ** 31, maxval=2 ** 31,
     dtype="int32")
case("randint_u8", "randint", seed=3, shape=(200,), minval=0, maxval=256, dtype="uint8")
case("randint_i8", "randint", seed=3, shape=(200,), minval=-128, maxval=128, dtype="int8")
case("randint_empty_range", "randint", seed=3, shape=(20,), minval=5, maxval=5, dtype="int32")
case("randint_arrays", "randint", seed=4, shape=(3, 4), dtype="int32",
     minval=np.array([0, 10, -5, 100], np.int32), maxval=np.array([[3], [50], [7]], np.int32))

case("bernoulli_f32", "bernoulli", seed=42, p=np.float32(0.3), shape=(1000,))
case("bernoulli_array", "bernoulli", seed=43, p=np.array([0.1, 0.5, 0.9], np.float32), shape=(4, 3))
case("bernoulli_high", "bernoulli", seed=44, p=np.float32(0.25), shape=(500,), mode="high")
case("gumbel_f32", "gumbel", seed=42, shape=(1000,), dtype="float32")
case("gumbel_f32_high", "gumbel", seed=42, shape=(1000,), dtype="float32", mode="high")
case("gumbel_f64", "gumbel", seed=42, shape=(500,), dtype="float64")
case("categorical", "categorical", seed=42,
     logits=np.log(np.array([0.1, 0.2, 0.3, 0.4], np.float32)), shape=(500,))
case("categorical_batched", "categorical", seed=43,
     logits=np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], np.float32), axis=1, shape=(5, 2))
case("categorical_no_replace", "categorical", seed=44,
     logits=np.array([0.0, 1.0, 2.0, 3.0, 4.0], np.float32), shape=(3,), replace=False)
case("truncated_normal_f32", "truncated_normal", seed=42, lower=-1.5, upper=2.0, shape=(1000,),
     dtype="float32")
case("permutation_int", "permutation", seed=42, x=20)
case("permutation_array", "permutation", seed=42, x=np.arange(100, 130, dtype=np.float32))
case("permutation_2d", "permutation", seed=5, x=np.arange(12, dtype=np.int64).reshape(3, 4), axis=1)
case("permutation_independent", "permutation", seed=6,
     x=np.arange(12, dtype=np.int64).reshape(3, 4), axis=1, independent=True)
case("choice_replace", "choice", seed=42, a=10, shape=(20,))
case("choice_no_replace", "choice", seed=42, a=np.arange(50, 70, dtype=np.int64), shape=(5,),
     replace=False)
case("choice_p", "choice", seed=43, a=4, shape=(200,), p=np.array([0.1, 0.2, 0.3, 0.4], np.float64))
case("choice_p_no_replace", "choice", seed=44, a=6, shape=(3,), replace=False,
     p=np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.1], np.float64))


def run(spec):
    seed = _jax_arg(spec["seed"])
    key = jr.key(seed)
    if spec["fold"] is not None:
        key = jr.fold_in(key, spec["fold"])
    kwargs = {k: _jax_arg(v) for k, v in spec["kwargs"].items()}
    for k in ("shape", "num"):
        if isinstance(kwargs.get(k), list):
            kwargs[k] = tuple(kwargs[k])
    fn = spec["fn"]
    if fn == "key":
        return jr.key_data(key)
    if fn in ("split", "fold_in"):
        return jr.key_data(getattr(jr, fn)(key, **kwargs))
    return getattr(jr, fn)(key, **kwargs)


def main():
    arrays = {spec["name"]: np.asarray(run(spec)) for spec in CASES}
    arrays["__cases__"] = np.array(json.dumps(CASES))
    arrays["__jax_version__"] = np.array(jax.__version__)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(CASES)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
