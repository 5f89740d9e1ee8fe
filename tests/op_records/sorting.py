"""Op records for sorting and searching: the lax ``sort`` primitive and its wrappers, and
ftx.numpy's sort, argsort, lexsort, searchsorted and unique (with JAX's ``size=``).

argsort references ask NumPy for a *stable* sort: integer inputs have many ties, and
ftx's argsort is stable by definition (in eager mode too).

Records whose inputs hold NaNs are ``grad=False`` (finite differences through NaN are
NaN); NaN-free twins (``-grad``) check the same operations' derivatives. The gradient
check cannot compare integer outputs, so ``lax.top_k`` is differentiated through its
values only.
"""
import numpy as np

from ftx import lax
from ftx.numpy import _sorting as S
from tests.op_records import ALL, BOOL, C128, F32, F64, FLOAT, I32, rec

SOME = (BOOL, I32, F32, F64)


def _with_nans(rng, shape, dtype):
    x = np.asarray(rng.integers(-3, 4, size=shape), dtype)
    if dtype.kind == "f":
        x = x + np.asarray(rng.standard_normal(shape) * 0.1, dtype)
        x.reshape(-1)[[0, 3]] = np.nan
    return x


def _sorted(rng, shape, dtype):
    return np.sort(np.asarray(rng.integers(-5, 6, size=shape), dtype))


def _top_k_ref(k):
    def ref(x):
        idx = np.argsort(-x.astype(np.float64), axis=-1, kind="stable")[..., :k]
        return np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)
    return ref


RECORDS = [
    # ----------------------------------------------------------------- lax
    rec("lax.sort", lambda x: lax.sort(x, dimension=0), lambda x: np.sort(x, axis=0),
        [((4, 3),)], dtypes=SOME),
    rec("lax.sort-last", lax.sort, np.sort, [((2, 5),), ((6,),)], dtypes=SOME + (C128,),
        gen=_with_nans, grad=False),
    rec("lax.sort-last-grad", lax.sort, np.sort, [((2, 5),), ((6,),)], dtypes=(F64, C128)),
    rec("lax.sort-keys1", lambda k, v: lax.sort((k, v), num_keys=1),
        lambda k, v: [np.take_along_axis(x, np.argsort(k, -1, kind="stable"), -1) for x in (k, v)],
        [((3, 5), (3, 5))], dtypes=(I32, F64), grad_argnums=(1,)),
    rec("lax.sort-keys2", lambda a, b, v: lax.sort((a, b, v), num_keys=2),
        lambda a, b, v: [np.take_along_axis(x, np.lexsort((b, a), axis=-1), -1) for x in (a, b, v)],
        [((2, 6), (2, 6), (2, 6))], dtypes=(I32, F64), grad_argnums=(2,), grad=False,
        gen=(lambda rng, s, d: rng.integers(0, 2, s).astype(d), _with_nans, "normal")),
    rec("lax.sort-keys2-grad", lambda a, b, v: lax.sort((a, b, v), num_keys=2),
        lambda a, b, v: [np.take_along_axis(x, np.lexsort((b, a), axis=-1), -1) for x in (a, b, v)],
        [((2, 6), (2, 6), (2, 6))], dtypes=(F64,), grad_argnums=(1, 2),
        gen=(lambda rng, s, d: rng.integers(0, 2, s).astype(d), "normal", "normal")),
    rec("lax.sort_key_val", lambda k, v: lax.sort_key_val(k, v, dimension=0),
        lambda k, v: (np.sort(k, axis=0),
                      np.take_along_axis(v, np.argsort(k, axis=0, kind="stable"), 0)),
        [((4, 3), (4, 3))], dtypes=(I32, F64), grad_argnums=(1,)),
    rec("lax.top_k", lambda x: lax.top_k(x, 2), _top_k_ref(2), [((3, 5),), ((4,),)],
        dtypes=(I32, F32, F64), grad=False),
    rec("lax.top_k-values", lambda x: lax.top_k(x, 3)[0], lambda x: _top_k_ref(3)(x)[0],
        [((3, 5),), ((4,),)], dtypes=(F64,)),

    # ----------------------------------------------------------------- ftx.numpy
    *[rec(f"sort-axis{axis}", lambda x, a=axis: S.sort(x, axis=a), lambda x, a=axis: np.sort(x, axis=a),
          shapes, dtypes=ALL) for axis, shapes in [(-1, [((3, 4),), ((5,),)]), (0, [((3, 4),)]),
                                                   (None, [((2, 3),), ((),)])]],
    rec("sort-nan", S.sort, np.sort, [((3, 4),)], dtypes=FLOAT, gen=_with_nans, grad=False),
    rec("sort-complex", S.sort, np.sort, [((6,),)], dtypes=(C128,), gen=_with_nans),
    *[rec(f"argsort-axis{axis}", lambda x, a=axis: S.argsort(x, axis=a),
          lambda x, a=axis: np.argsort(x, axis=a, kind="stable"), shapes, dtypes=ALL, grad=False)
      for axis, shapes in [(-1, [((3, 4),), ((5,),)]), (0, [((3, 4),)]), (None, [((2, 3),)])]],
    rec("argsort-nan", S.argsort, lambda x: np.argsort(x, kind="stable"), [((3, 4),)],
        dtypes=FLOAT, gen=_with_nans, grad=False),
    rec("lexsort", lambda a, b: S.lexsort((a, b)), lambda a, b: np.lexsort((a, b)),
        [((6,), (6,)), ((2, 5), (2, 5))], dtypes=(I32, F64),
        gen=(_with_nans, lambda rng, s, d: rng.integers(0, 3, s).astype(d)), grad=False),
    rec("lexsort-array-axis0", lambda k: S.lexsort(k, axis=0), lambda k: np.lexsort(k, axis=0),
        [((3, 4, 2),)], dtypes=(I32,), grad=False,
        gen=lambda rng, s, d: rng.integers(0, 2, s).astype(d)),
    *[rec(f"searchsorted-{side}", lambda a, v, s=side: S.searchsorted(a, v, side=s),
          lambda a, v, s=side: np.searchsorted(a, v, side=s), [((8,), (3, 4)), ((5,), ())],
          dtypes=(I32, F64), gen=(_sorted, "normal"), grad=False)
      for side in ("left", "right")],
    rec("searchsorted-nan", lambda a, v: S.searchsorted(a, v, side="right"),
        lambda a, v: np.searchsorted(a, v, side="right"), [((6,), (5,))], dtypes=FLOAT,
        gen=(lambda rng, s, d: np.array([-1.0, 0.0, 0.0, 2.0, np.nan, np.nan], d),
             lambda rng, s, d: np.array([np.nan, 0.0, -3.0, 5.0, 2.0], d)), grad=False),
    rec("searchsorted-sorter", lambda a, v: S.searchsorted(a, v, sorter=np.argsort(a)),
        lambda a, v: np.searchsorted(a, v, sorter=np.argsort(a)), [((6,), (4,))], dtypes=(F64,),
        grad=False),
    *[rec(f"unique-size{size}", lambda x, n=size: S.unique(x, size=n),
          lambda x, n=size: S._np_unique(x, size=n), [((3, 4),)], dtypes=SOME, grad=False)
      for size in (3, 15)],
    rec("unique-all", lambda x: S.unique(x, return_index=True, return_inverse=True,
                                         return_counts=True, size=6, fill_value=-1),
        lambda x: S._np_unique(x, return_index=True, return_inverse=True, return_counts=True,
                               size=6, fill_value=-1),
        [((3, 4),)], dtypes=(I32, F64), gen=_with_nans, grad=False),
    rec("unique-equal_nan", lambda x: S.unique(x, equal_nan=False, return_counts=True, size=12),
        lambda x: S._np_unique(x, equal_nan=False, return_counts=True, size=12), [((3, 4),)],
        dtypes=FLOAT, gen=_with_nans, grad=False),
]
