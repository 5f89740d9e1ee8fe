"""Op records for indexing: x[idx], .at updates, take, nonzero, choose, select, index helpers.

The NumPy references are NumPy's own indexing, ``np.add.at`` and friends on a
copy, and NumPy's functions; index arguments are drawn in range (negative
ones too), since out-of-range indices are where JAX semantics and NumPy part.
"""
import numpy as np

from ftx.numpy import _indexing as I
from tests.op_records import ALL, BOOL, F32, F64, FLOAT, I32, I64, rec

SOME = (F64, I32, BOOL)


def _ints(lo, hi):
    return lambda rng, shape, dtype: np.asarray(rng.integers(lo, hi, size=shape), dtype)


def _sparse(rng, shape, dtype):
    """About half zeros, so nonzero-like functions have something to skip."""
    return np.asarray(rng.integers(0, 3, size=shape) * (rng.random(shape) < 0.5), dtype)


# x has shape (4, 3, 5) in every getitem record; each index expression is used as is.
X = (4, 3, 5)
GETITEM_INDICES = {
    "int": 2,
    "neg_int": -1,
    "ints": (1, -2),
    "slice": slice(1, 3),
    "slice_step": (slice(None), slice(None, None, 2)),
    "slice_neg_step": (slice(None, None, -2), None, [0, 2]),
    "slice_neg_bounds": (slice(-1, -4, -1), slice(-2, None)),
    "slice_empty": slice(3, 1),
    "slice_out_of_range": (slice(-10, 10, 3),),
    "none": (None, 1, None),
    "ellipsis": (Ellipsis, 0),
    "ellipsis_none": (0, Ellipsis, None),
    "list": [0, 2, 2],
    "array_2d": np.array([[0, -1], [3, 1]]),
    "two_arrays": ([0, 3], slice(None), [4, -5]),
    "adjacent_arrays": (slice(1, 3), [0, 2], [[1], [4]]),
    "array_and_int": ([1, 2], 0),
    "separated_by_int": ([1, 2], slice(None), 0),
    "separated_by_none": ([1, 2], None, [0, 1]),
    "mask": np.array([True, False, True, True]),
    "mask_2d": (Ellipsis, np.arange(15).reshape(3, 5) % 4 == 0),
    "mask_list": (slice(None), [True, False, True]),
    "mask_and_array": (np.array([True, False, True, False]), slice(None), [1, 4]),
    "bool_scalar": (True, 0),
    "bool_false": (False, Ellipsis),
    "empty_list": (slice(None), []),
    "zero_d_array": (np.array(1), slice(None), np.array(-2)),
    "everything": (None, [1, 3], slice(None, None, -1), np.array([0, 4]), None),
}


def _getitem_record(name, idx):
    return rec(f"getitem_{name}", lambda x: I.getitem(x, idx), lambda x: x[idx], [(X,)],
               dtypes=(F64, I32, BOOL))


def _np_at(ufunc):
    def ref(x, idx, v):
        out = x.copy()
        ufunc.at(out, idx, v)
        return out
    return ref


def _np_set(x, idx, v):
    out = x.copy()
    out[idx] = v
    return out


# (name, index, shape of the indexed values) for .at records on x of shape (4, 3, 5).
AT_INDICES = [
    ("int", 1, (3, 5)),
    ("slice", (slice(None), slice(0, 2)), (4, 2, 5)),
    ("strided", (slice(None, None, -2), 1, slice(1, None, 3)), (2, 2)),
    ("none", (None, 0, slice(1, 3)), (1, 2, 5)),
    ("repeated", [0, 2, 0, 0], (4, 3, 5)),
    ("separated", ([1, 1, -1], slice(None), [0, 4, 0]), (3, 3)),
    ("mask", (Ellipsis, np.array([True, False, False, True, True])), (4, 3, 3)),
    ("mixed", (slice(1, None, 2), [2, 0], None), (2, 2, 1, 5)),
]
AT_OPS = {
    "set": ("set", _np_set),
    "add": ("add", _np_at(np.add)),
    "subtract": ("subtract", _np_at(np.subtract)),
    "multiply": ("multiply", _np_at(np.multiply)),
    "min": ("min", _np_at(np.minimum)),
    "max": ("max", _np_at(np.maximum)),
    "divide": ("divide", _np_at(np.divide)),
    "power": ("power", _np_at(np.power)),
}


def _at_record(op, name, idx, vshape):
    method, ref = AT_OPS[op]
    # "set" with a repeated index is unspecified (JAX too): only unique positions there.
    if op == "set" and name == "repeated":
        idx, vshape = [0, 3, 2], (3, 3, 5)
    dtypes = FLOAT if op in ("divide", "power") else (F64, I32)
    gen = ("positive", "positive") if op in ("divide", "power") else "normal"
    return rec(f"at_{op}_{name}", lambda x, v: getattr(I.at(x)[idx], method)(v),
               lambda x, v: ref(x, idx, v), [(X, vshape)], dtypes=dtypes, gen=gen,
               grad_argnums=(0, 1), tol={F64: (1e-12, 1e-12)})


def _np_nonzero_sized(a, size, fill=0):
    out = []
    nz = np.nonzero(a)
    fills = fill if isinstance(fill, tuple) else (fill,) * len(nz)
    for coords, f in zip(nz, fills):
        padded = np.full(size, f, coords.dtype)
        padded[:min(size, coords.size)] = coords[:size]
        out.append(padded)
    return tuple(out)


def _np_take_fill(a, idx, axis, fill):
    n = a.shape[axis]
    idx = np.where(idx < 0, idx + n, idx)
    ok = (idx >= 0) & (idx < n)
    out = np.take(a, np.where(ok, idx, 0), axis=axis)
    ok = ok.reshape((1,) * axis + ok.shape + (1,) * (a.ndim - axis - 1))
    return np.where(ok, out, np.asarray(fill).astype(a.dtype))


RECORDS = [
    *[_getitem_record(name, idx) for name, idx in GETITEM_INDICES.items()],
    rec("getitem_scalar_operand", lambda x: I.getitem(x, (None, Ellipsis)), lambda x: x[None, ...],
        [((),)], dtypes=SOME),
    rec("getitem_empty_operand", lambda x: I.getitem(x, (slice(None), [0, -1])),
        lambda x: x[:, [0, -1]], [((0, 2),)], dtypes=SOME),
    # traced index arrays and scalars
    rec("getitem_traced_array", lambda x, i: I.getitem(x, (slice(None), i)),
        lambda x, i: x[:, i], [((4, 3), (2, 2)), ((2, 3), ())], dtypes=SOME,
        arg_dtypes=(None, I64), gen=("normal", _ints(-3, 3))),
    rec("getitem_traced_scalar", lambda x, i: I.getitem(x, i), lambda x, i: x[i],
        [((4, 3), ()), ((5,), ())], dtypes=SOME, arg_dtypes=(None, I32), gen=("normal", _ints(-4, 4))),
    rec("getitem_traced_scalar_and_slice", lambda x, i: I.getitem(x, (slice(1, None), i)),
        lambda x, i: x[1:, i], [((4, 3), ())], dtypes=SOME, arg_dtypes=(None, I64),
        gen=("normal", _ints(-3, 3))),
    rec("getitem_traced_separated", lambda x, i, j: I.getitem(x, (i, slice(None), j)),
        lambda x, i, j: x[i, :, j], [((3, 2, 4), (2,), (3, 1))], dtypes=SOME,
        arg_dtypes=(None, I64, I32), gen=("normal", _ints(-3, 3), _ints(-4, 4))),
    # functional updates
    *[_at_record(op, name, idx, vshape) for op in AT_OPS for name, idx, vshape in AT_INDICES],
    rec("at_set_scalar", lambda x: I.at(x)[1:3, ::2].set(7), lambda x: _np_set(x, np.s_[1:3, ::2], 7),
        [((4, 5),)], dtypes=ALL),
    rec("at_add_broadcast", lambda x, v: I.at(x)[[0, 0, 2], 1:].add(v),
        lambda x, v: _np_at(np.add)(x, np.s_[[0, 0, 2], 1:], v), [((3, 4), (1, 3)), ((3, 4), ())],
        dtypes=(F64, I32), grad_argnums=(0, 1)),
    rec("at_set_leading_ones", lambda x, v: I.at(x)[1, 1:].set(v),
        lambda x, v: _np_set(x, np.s_[1, 1:], v), [((3, 4), (1, 1, 3))], dtypes=(F64, I32),
        grad_argnums=(0, 1)),
    rec("at_add_traced_index", lambda x, i, v: I.at(x)[i].add(v),
        lambda x, i, v: _np_at(np.add)(x, i, v), [((5, 2), (4,), (4, 2)), ((5,), (), ())],
        dtypes=(F64, I32), arg_dtypes=(None, I64, None), gen=("normal", _ints(-5, 5), "normal"),
        grad_argnums=(0, 2)),
    rec("at_get", lambda x: I.at(x)[::-1, 1].get(), lambda x: x[::-1, 1], [((3, 4),)], dtypes=SOME),
    # take and take_along_axis
    rec("take", lambda x, i: I.take(x, i, axis=1), lambda x, i: np.take(x, i, axis=1),
        [((3, 4), (5,)), ((2, 4, 2), (2, 3)), ((3, 4), ())], dtypes=SOME, arg_dtypes=(None, I64),
        gen=("normal", _ints(-4, 4))),
    rec("take_flat", lambda x, i: I.take(x, i), lambda x, i: np.take(x, i), [((3, 4), (5,))],
        dtypes=SOME, arg_dtypes=(None, I32), gen=("normal", _ints(-12, 12))),
    rec("take_clip", lambda x, i: I.take(x, i, axis=0, mode="clip"),
        lambda x, i: np.take(x, i, axis=0, mode="clip"), [((3, 2), (6,))], dtypes=SOME,
        arg_dtypes=(None, I64), gen=("normal", _ints(-6, 6))),
    rec("take_wrap", lambda x, i: I.take(x, i, axis=-1, mode="wrap"),
        lambda x, i: np.take(x, i, axis=-1, mode="wrap"), [((2, 3), (6,))], dtypes=SOME,
        arg_dtypes=(None, I64), gen=("normal", _ints(-9, 9))),
    rec("take_fill", lambda x, i: I.take(x, i, axis=0, mode="fill", fill_value=-7),
        lambda x, i: _np_take_fill(x, i, 0, -7), [((3, 2), (6,))], dtypes=(F64, I32),
        arg_dtypes=(None, I64), gen=("normal", _ints(-5, 5))),
    rec("take_fill_default", lambda x: I.take(x, np.array([0, 5, -1, -4]), mode="fill"),
        lambda x: _np_take_fill(x.ravel(), np.array([0, 5, -1, -4]), 0,
                                {np.dtype(np.float64): np.nan, np.dtype(np.int32): -2**31}[x.dtype]),
        [((3,),)], dtypes=(F64, I32), grad=False),  # NaN fills defeat finite differences
    rec("take_along_axis", lambda x, i: I.take_along_axis(x, i, axis=1),
        lambda x, i: np.take_along_axis(x, i, axis=1), [((3, 4), (3, 6)), ((3, 4), (1, 2))],
        dtypes=SOME, arg_dtypes=(None, I64), gen=("normal", _ints(-4, 4))),
    rec("take_along_axis_sort", lambda x: I.take_along_axis(x, np.argsort(x, axis=0), axis=0),
        lambda x: np.take_along_axis(x, np.argsort(x, axis=0), axis=0), [((4, 3),)],
        dtypes=(F64, I32)),
    rec("take_along_axis_broadcast", lambda x, i: I.take_along_axis(x, i, axis=-1),
        lambda x, i: np.take_along_axis(x, i, axis=-1), [((1, 4), (3, 2)), ((2, 1, 3), (1, 4, 3))],
        dtypes=SOME, arg_dtypes=(None, I32), gen=("normal", _ints(0, 3))),
    rec("take_along_axis_none", lambda x, i: I.take_along_axis(x, i, axis=None),
        lambda x, i: np.take_along_axis(x, i, axis=None), [((3, 4), (5,))], dtypes=SOME,
        arg_dtypes=(None, I64), gen=("normal", _ints(-12, 12))),
    # nonzero and friends, traced with a static size
    rec("nonzero_size", lambda x: I.nonzero(x, size=7), lambda x: _np_nonzero_sized(x, 7),
        [((3, 4),), ((5,),), ((2, 1, 3),)], dtypes=(F64, I32, BOOL), gen=_sparse, grad=False),
    rec("nonzero_size_small", lambda x: I.nonzero(x, size=2, fill_value=(-1, 9)),
        lambda x: _np_nonzero_sized(x, 2, (-1, 9)), [((3, 4),)],
        dtypes=(I32,), gen=_sparse, grad=False),
    rec("flatnonzero_size", lambda x: I.flatnonzero(x, size=6, fill_value=-1),
        lambda x: _np_nonzero_sized(x.ravel(), 6, -1)[0], [((3, 4),), ((),)], dtypes=(F64, BOOL),
        gen=_sparse, grad=False),
    rec("argwhere_size", lambda x: I.argwhere(x, size=5),
        lambda x: np.stack(_np_nonzero_sized(x, 5), axis=1), [((3, 4),), ((6,),)],
        dtypes=(F64, BOOL), gen=_sparse, grad=False),
    rec("compress", lambda x: I.compress([True, False, True], x, axis=1),
        lambda x: np.compress([True, False, True], x, axis=1), [((2, 3),), ((2, 4, 2),)],
        dtypes=SOME),
    rec("compress_flat", lambda x: I.compress(np.array([0, 1, 1, 0, 1]), x),
        lambda x: np.compress(np.array([0, 1, 1, 0, 1]), x), [((2, 3),)], dtypes=SOME),
    rec("compress_traced_condition", lambda c, x: I.compress(c, x, axis=0, size=3, fill_value=-1),
        lambda c, x: _np_take_fill(x, _np_nonzero_sized(c, 3, 99)[0], 0, -1),
        [((4,), (4, 2))], dtypes=(F64, I32), arg_dtypes=(BOOL, None), gen=(_sparse, "normal"),
        grad_argnums=(1,)),
    rec("extract", lambda x: I.extract(np.arange(6).reshape(2, 3) % 2 == 0, x),
        lambda x: np.extract(np.arange(6).reshape(2, 3) % 2 == 0, x), [((2, 3),)], dtypes=SOME),
    rec("extract_size", lambda x: I.extract(x > 0, x, size=4),
        lambda x: _np_take_fill(x.ravel(), _np_nonzero_sized(x.ravel() > 0, 4, 99)[0], 0, 0),
        [((2, 3),)], dtypes=(F64, I32), grad=False),
    # choose and select
    rec("choose", lambda i, a, b, c: I.choose(i, [a, b, c], mode="clip"),
        lambda i, a, b, c: np.choose(i, [a, b, c], mode="clip"),
        [((3, 4), (3, 4), (4,), ()), ((2,), (2,), (2,), (2,))], dtypes=(F64, I32),
        arg_dtypes=(I64, None, None, None), gen=(_ints(-1, 4), "normal", "normal", "normal"),
        grad_argnums=(1, 2, 3)),
    rec("choose_wrap", lambda i, a, b: I.choose(i, [a, b], mode="wrap"),
        lambda i, a, b: np.choose(i, [a, b], mode="wrap"), [((5,), (5,), (5,))],
        dtypes=(F64, I32), arg_dtypes=(I32, None, None), gen=(_ints(-4, 4), "normal", "normal"),
        grad_argnums=(1, 2)),
    rec("choose_concrete", lambda a, b: I.choose(np.array([0, 1, 1, 0]), [a, b]),
        lambda a, b: np.choose(np.array([0, 1, 1, 0]), [a, b]), [((4,), (4,)), ((2, 4), ())],
        dtypes=(F64, I32, BOOL), grad_argnums=(0, 1)),
    rec("choose_weak_scalar", lambda i, a: I.choose(i, [a, 2.5], mode="clip"),
        lambda i, a: np.choose(i, [a, 2.5], mode="clip"), [((3,), (3,))], dtypes=(F32, F64),
        arg_dtypes=(I64, None), gen=(_ints(0, 2), "normal"), grad_argnums=(1,)),
    rec("select", lambda c1, c2, a, b: I.select([c1, c2], [a, b], default=-1.5),
        lambda c1, c2, a, b: np.select([c1, c2], [a, b], default=-1.5),
        [((3, 4), (4,), (3, 4), ()), ((2,), (2,), (2,), (2,))], dtypes=(F32, F64),
        arg_dtypes=(BOOL, BOOL, None, None), grad_argnums=(2, 3)),
    rec("select_int", lambda c, a: I.select([c], [a]), lambda c, a: np.select([c], [a]),
        [((5,), (5,))], dtypes=(I32, I64), arg_dtypes=(BOOL, None), grad=False),
    # index arithmetic
    rec("unravel_index", lambda i: I.unravel_index(i, (3, 4, 2)),
        lambda i: np.unravel_index(i, (3, 4, 2)), [((5,),), ((),)], dtypes=(I64, I32),
        gen=_ints(0, 24), grad=False),
    rec("unravel_index_f", lambda i: I.unravel_index(i, (3, 4), order="F"),
        lambda i: np.unravel_index(i, (3, 4), order="F"), [((2, 3),)], dtypes=(I64,),
        gen=_ints(0, 12), grad=False),
    rec("ravel_multi_index_clip", lambda i, j: I.ravel_multi_index((i, j), (3, 4), mode="clip"),
        lambda i, j: np.ravel_multi_index((i, j), (3, 4), mode="clip"), [((5,), (5,)), ((2, 1), (3,))],
        dtypes=(I64, I32), gen=_ints(-2, 6), grad=False),
    rec("ravel_multi_index_wrap", lambda i, j: I.ravel_multi_index((i, j), (3, 4), mode="wrap",
                                                                   order="F"),
        lambda i, j: np.ravel_multi_index((i, j), (3, 4), mode="wrap", order="F"), [((5,), (5,))],
        dtypes=(I64,), gen=_ints(-7, 9), grad=False),
    rec("ix_", lambda i, j: I.ix_(i, j), lambda i, j: np.ix_(i, j), [((2,), (3,))],
        dtypes=(I64, I32), gen=_ints(0, 4), grad=False),
    rec("ix_getitem", lambda x, i: I.getitem(x, I.ix_(i, [0, 2])), lambda x, i: x[np.ix_(i, [0, 2])],
        [((4, 3), (2,))], dtypes=SOME, arg_dtypes=(None, I64), gen=("normal", _ints(-4, 4))),
]
