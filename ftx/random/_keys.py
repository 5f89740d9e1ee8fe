"""PRNG keys: typed key arrays (``key``), legacy uint32[2] keys (``PRNGKey``), split and fold_in.

A typed key array is a small immutable wrapper around its key data, a
``uint32[*shape, 2]`` array (NumPy or traced). It is a pytree node whose single
leaf is that data, so keys pass through ``vmap``, ``grad``, ``make_jaxpr`` and
``tree_map`` as their data does: ``vmap`` over a ``(5,)`` key array maps the
data's leading axis, and each call inside sees a ``()`` key. Every function
of ftx.random accepts either kind of key and answers in kind.
"""
from __future__ import annotations

import operator

import numpy as np

import ftx.numpy as fnp
from ftx import lax
from ftx.core import pytree
from ftx.core.avals import get_aval
from ftx.core.trace import Tracer
from ftx.numpy import _indexing
from ftx.random import _threefry

_U32 = np.dtype(np.uint32)


class KeyDtype:
    """The dtype of a typed key array, printed ``key<fry>`` as in JAX."""

    __slots__ = ()
    name = "key<fry>"
    impl = "threefry2x32"

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, KeyDtype)

    def __hash__(self):
        return hash(self.name)


key_dtype = KeyDtype()


class KeyArray:
    """An array of Threefry PRNG keys: ``random.key(0)`` is ``Array((), dtype=key<fry>)``.

    ``keys.shape`` is the shape of the key array (the data has one more axis, of
    size 2); ``keys[1]``, ``keys[:2]``, ``len(keys)`` and iteration index keys.
    ``random.key_data(keys)`` gives the uint32 data, ``random.wrap_key_data(data)``
    wraps it back.
    """

    __slots__ = ("_data",)
    __array_ufunc__ = None  # keys are not numbers: NumPy's operators and ufuncs refuse them

    def __init__(self, data):
        # No checks: pytree unflattening builds keys around arbitrary leaves (tracers,
        # ShapeDtypeStructs, in_axes specs). wrap_key_data is the checked door.
        object.__setattr__(self, "_data", data)

    def __setattr__(self, name, value):
        raise AttributeError("ftx.random key arrays are immutable")

    @property
    def shape(self) -> tuple:
        return tuple(self._data.shape[:-1])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> KeyDtype:
        return key_dtype

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a single key (a key array of shape ())")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a single key (a key array of shape ())")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        used = sum(_index_rank(i) for i in idx)
        if used > self.ndim:
            raise IndexError(f"too many indices for a key array of shape {self.shape}: "
                             f"{used} were indexed")
        if any(i is Ellipsis for i in idx):
            # Spelled out, so the ellipsis cannot reach the data's last axis (the two words
            # of each key), which indexing leaves alone.
            at = next(n for n, i in enumerate(idx) if i is Ellipsis)
            idx = idx[:at] + (slice(None),) * (self.ndim - used) + idx[at + 1:]
        # getitem also takes traced indices into NumPy data (keys[i] inside vmap).
        return KeyArray(_indexing.getitem(self._data, idx))

    def reshape(self, *shape):
        """``keys.reshape(2, 3)``: the same keys in a new shape."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = tuple(operator.index(d) for d in shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
            shape = tuple(self.size // max(known, 1) if d == -1 else d for d in shape)
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"cannot reshape a key array of shape {self.shape} into {shape}")
        return KeyArray(lax.reshape(self._data, shape + (2,)))

    def ravel(self):
        """The keys as a 1-d key array."""
        return self.reshape(self.size)

    flatten = ravel

    def __eq__(self, other):
        if not isinstance(other, KeyArray):
            return NotImplemented
        return fnp.all(fnp.equal(self._data, other._data), axis=-1)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else fnp.logical_not(eq)

    __hash__ = None  # arrays are unhashable

    def __array__(self, dtype=None, copy=None):
        raise TypeError("an ftx.random key array cannot be converted to a NumPy array; "
                        "use ftx.random.key_data(keys) for its uint32 data")

    def __repr__(self):
        data = self._data
        shape = getattr(data, "shape", None)
        head = f"Array({tuple(shape[:-1]) if shape is not None else '?'}, dtype={key_dtype})"
        if isinstance(data, np.ndarray):
            return f"{head} overlaying:\n{data}"
        return f"{head} overlaying:\n{data!r}"

    __str__ = __repr__


def _index_rank(i) -> int:
    """How many key axes the index ``i`` consumes."""
    if i is None or i is Ellipsis:
        return 0
    if isinstance(i, (np.ndarray, Tracer)) and get_aval(i).dtype == np.bool_:
        return get_aval(i).ndim
    return 1


pytree.register_pytree_node(KeyArray, lambda keys: ((keys._data,), None),
                            lambda _, children: KeyArray(children[0]))


# --------------------------------------------------------------------------- reading keys


def key_and_kind(keys, name: str, allow_batched: bool = False):
    """The uint32 data of a typed or raw key array, and whether it was typed."""
    if isinstance(keys, KeyArray):
        data, typed = keys._data, True
    else:
        data, typed = keys, False
        if isinstance(data, (list, tuple)):
            data = np.asarray(data)
        try:
            aval = get_aval(data)
        except TypeError:
            raise TypeError(f"{name}: expected a PRNG key from ftx.random.key or "
                            f"ftx.random.PRNGKey, got {type(keys).__name__}") from None
        if aval.dtype != _U32 or not aval.shape or aval.shape[-1] != 2:
            raise TypeError(f"{name}: expected a PRNG key (ftx.random.key(seed), or a legacy "
                            f"uint32[..., 2] key from ftx.random.PRNGKey), got {aval.str_short()}")
    shape = tuple(get_aval(data).shape[:-1])
    if not allow_batched and shape:
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{shape} != (). Use ftx.vmap for batching.")
    return data, typed


def as_output(x):
    """NumPy scalars that eager arithmetic produces become 0-d arrays, as JAX returns."""
    return np.asarray(x) if isinstance(x, np.generic) else x


def in_kind(data, typed: bool):
    data = as_output(data)
    return KeyArray(data) if typed else data


# --------------------------------------------------------------------------- public API


def _seed(seed, name: str):
    if isinstance(seed, KeyArray):
        raise TypeError(f"{name} accepts a scalar seed, but was given a PRNG key")
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"{name}: the seed must be an integer, got {seed!r}")
    if isinstance(seed, int):
        if not -2 ** 63 <= seed < 2 ** 64:
            raise OverflowError(f"{name}: the seed {seed} does not fit in 64 bits")
        return _threefry.seed_data(seed)
    seed = seed if isinstance(seed, (np.ndarray, Tracer)) else np.asarray(seed)
    aval = get_aval(seed)
    if aval.shape:
        raise TypeError(f"{name} accepts a scalar seed, but was given an array of shape "
                        f"{aval.shape} != (). Use ftx.vmap for batching.")
    if aval.dtype.kind not in "iu":
        raise TypeError(f"{name}: the seed must be an integer, got {aval.str_short()}")
    return _threefry.seed_data(seed)


def key(seed):
    """A typed PRNG key from an integer seed: ``k = random.key(0)``.

    Python ints count as 64-bit (as JAX with ``jax_enable_x64``); seeds in
    [0, 2**31) give JAX's key whatever its settings. The seed may be traced.
    """
    return KeyArray(as_output(_seed(seed, "key")))


def PRNGKey(seed):  # noqa: N802 - JAX's name
    """A legacy raw key, a ``uint32[2]`` array: ``random.PRNGKey(0)`` is ``[0, 0]``."""
    return as_output(_seed(seed, "PRNGKey"))


def key_data(keys):
    """The ``uint32[*keys.shape, 2]`` data of keys: ``key_data(random.key(42))`` is ``[0, 42]``."""
    data, _ = key_and_kind(keys, "key_data", allow_batched=True)
    return data


def wrap_key_data(key_bits_array):
    """Typed keys around ``uint32[..., 2]`` data: ``wrap_key_data(np.array([0, 42], np.uint32))``."""
    data = key_bits_array
    if isinstance(data, KeyArray):
        raise TypeError("wrap_key_data: the argument is already a key array")
    if isinstance(data, (list, tuple)):
        data = np.asarray(data, _U32)
    aval = get_aval(data)
    if aval.dtype != _U32 or not aval.shape or aval.shape[-1] != 2:
        raise TypeError(f"wrap_key_data: key data must be a uint32 array whose last axis has "
                        f"size 2 (the two words of a Threefry key), got {aval.str_short()}")
    return KeyArray(data)


def _split_shape(num, name: str) -> tuple:
    shape = tuple(num) if isinstance(num, (tuple, list)) else (num,)
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name}: num must be an int or a tuple of ints, got {num!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{name}: num must not be negative, got {num!r}")
    return shape


def split(key, num=2):
    """``num`` new keys from one key (a new leading axis): ``k1, k2 = random.split(key)``.

    ``num`` may be a tuple, giving a key array of that shape.
    """
    data, typed = key_and_kind(key, "split")
    return in_kind(_threefry.split_data(data, _split_shape(num, "split")), typed)


def fold_in(key, data):
    """A new key from ``key`` and an integer: ``random.fold_in(key, step)``.

    ``data`` is a scalar integer (possibly traced), taken modulo 2**32 like a
    conversion to uint32.
    """
    key_data_, typed = key_and_kind(key, "fold_in")
    if isinstance(data, (bool, np.bool_)):
        raise TypeError(f"fold_in: data must be an integer, got {data!r}")
    if isinstance(data, int):
        d = np.array(data % 2 ** 32, _U32)
    else:
        data = data if isinstance(data, (np.ndarray, Tracer)) else np.asarray(data)
        aval = get_aval(data)
        if aval.shape:
            raise TypeError(f"fold_in accepts a scalar, but was given an array of shape "
                            f"{aval.shape} != (). Use ftx.vmap for batching.")
        if aval.dtype.kind not in "iu":
            raise TypeError(f"fold_in: data must be an integer, got {aval.str_short()}")
        d = data if aval.dtype == _U32 else lax.convert_element_type(data, _U32)
    return in_kind(_threefry.fold_in_data(key_data_, d), typed)
