"""Op records for ftx.numpy's shape functions (reshape, stacking, splitting, padding ...)."""
import numpy as np

from ftx.numpy import _shape as S
from tests.op_records import ALL, BOOL, F32, F64, FLOAT, I32, I64, rec

SOME = (F64, I32, BOOL)  # data movement does not care about the dtype: a few kinds suffice


def _ints(lo, hi):
    return lambda rng, shape, dtype: np.asarray(rng.integers(lo, hi, size=shape), dtype)


def _same(name, fn_name, shapes, *args, dtypes=SOME, grad=True, **kwargs):
    """A record calling S.<fn_name>(x, *args, **kwargs) against np.<fn_name>."""
    fn, ref = getattr(S, fn_name), getattr(np, fn_name)
    return rec(name, lambda *xs: fn(*xs, *args, **kwargs), lambda *xs: ref(*xs, *args, **kwargs),
               shapes, dtypes=dtypes, grad=grad)


def _seq(name, fn_name, shapes, dtypes=SOME, **kwargs):
    """A record for functions taking a sequence of arrays: S.<fn_name>([x, y, ...], **kwargs)."""
    fn, ref = getattr(S, fn_name), getattr(np, fn_name)
    return rec(name, lambda *xs: fn(list(xs), **kwargs), lambda *xs: ref(list(xs), **kwargs),
               shapes, dtypes=dtypes, grad_argnums=tuple(range(len(shapes[0]))))


RECORDS = [
    # reshaping
    _same("reshape", "reshape", [((2, 6),), ((4, 3),)], (4, -1), dtypes=ALL),
    _same("reshape_flat", "reshape", [((2, 3, 2),), ((),)], -1),
    _same("reshape_scalar", "reshape", [((),), ((1, 1, 1),)], (1, 1)),
    _same("reshape_empty", "reshape", [((0, 3),)], (3, -1, 2)),
    _same("ravel", "ravel", [((2, 3, 4),), ((),), ((5,),)], dtypes=ALL),
    _same("transpose", "transpose", [((2, 3, 4),), ((3,),), ((),)], dtypes=ALL),
    _same("transpose_axes", "transpose", [((2, 3, 4),)], (1, -1, 0)),
    _same("permute_dims", "permute_dims", [((2, 3, 4),)], (2, 0, 1)),
    _same("moveaxis", "moveaxis", [((2, 3, 4),)], 0, -1),
    _same("moveaxis_many", "moveaxis", [((2, 3, 4, 5),)], (0, 1), (-1, -3)),
    _same("swapaxes", "swapaxes", [((2, 3, 4),)], 0, -1),
    _same("rollaxis", "rollaxis", [((2, 3, 4, 5),)], 2),
    _same("rollaxis_start", "rollaxis", [((2, 3, 4, 5),)], 1, 4),
    _same("squeeze", "squeeze", [((1, 3, 1),), ((1,),), ((2, 3),)], dtypes=ALL),
    _same("squeeze_axis", "squeeze", [((1, 3, 1),)], -1),
    _same("squeeze_axes", "squeeze", [((1, 3, 1),)], (0, 2)),
    _same("expand_dims", "expand_dims", [((3, 4),), ((),)], 0),
    _same("expand_dims_neg", "expand_dims", [((3, 4),)], -1),
    _same("expand_dims_tuple", "expand_dims", [((3, 4),)], (0, 2, -1)),
    # broadcasting
    _same("broadcast_to", "broadcast_to", [((3,),), ((1, 3),), ((),)], (2, 3), dtypes=ALL),
    _same("broadcast_to_3d", "broadcast_to", [((3, 1),)], (2, 3, 4)),
    rec("broadcast_arrays", S.broadcast_arrays, np.broadcast_arrays,
        [((3, 1), (4,)), ((2, 3), ()), ((1,), (2, 1), (1, 1, 3))], dtypes=SOME),
    # joining
    _seq("concatenate", "concatenate", [((2, 3), (4, 3)), ((3,), (2,), (1,))], dtypes=ALL),
    _seq("concatenate_last", "concatenate", [((2, 3), (2, 1))], axis=-1),
    _seq("concatenate_none", "concatenate", [((2, 3), (4,)), ((), ())], axis=None),
    _seq("concatenate_dtype", "concatenate", [((2,), (3,))], dtype=np.float64),
    rec("concatenate_promote", lambda x, y: S.concatenate([x, y]),
        lambda x, y: np.concatenate([x, y]), [((2,), (3,))], dtypes=(F32, I32),
        arg_dtypes=(None, F64)),
    _seq("concat", "concat", [((2, 3), (4, 3))]),
    _seq("stack", "stack", [((2, 3), (2, 3)), ((), (), ())], dtypes=ALL),
    _seq("stack_last", "stack", [((2, 3), (2, 3))], axis=-1),
    _seq("stack_middle", "stack", [((2, 3), (2, 3), (2, 3))], axis=1),
    _seq("vstack", "vstack", [((3,), (3,)), ((2, 3), (3,)), ((), ())]),
    _seq("hstack", "hstack", [((3,), (2,)), ((2, 3), (2, 1)), ((), ())]),
    _seq("dstack", "dstack", [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 1), (2, 3, 2))]),
    _seq("column_stack", "column_stack", [((3,), (3,)), ((3, 2), (3,))]),
    rec("row_stack", lambda x, y: S.row_stack([x, y]), lambda x, y: np.vstack([x, y]),
        [((3,), (2, 3))], dtypes=SOME, grad_argnums=(0, 1)),
    _same("unstack", "unstack", [((3, 2),), ((4,),)]),
    rec("unstack_axis", lambda x: S.unstack(x, axis=-1), lambda x: np.unstack(x, axis=-1),
        [((3, 2),)], dtypes=SOME),
    # splitting
    _same("split", "split", [((6, 2),), ((0, 2),)], 3),
    _same("split_indices", "split", [((6, 2),)], [1, 4]),
    _same("split_odd_indices", "split", [((6, 2),)], [-2, 3, 10]),
    _same("split_axis", "split", [((2, 6),)], 2, axis=-1),
    _same("array_split", "array_split", [((5, 2),), ((7,),)], 3),
    _same("hsplit", "hsplit", [((2, 4),), ((6,),)], 2),
    _same("vsplit", "vsplit", [((4, 3),)], [1]),
    _same("dsplit", "dsplit", [((2, 2, 4),)], 2),
    # repeating
    _same("tile", "tile", [((2, 3),), ((),), ((3,),)], 2, dtypes=ALL),
    _same("tile_tuple", "tile", [((2, 3),), ((3,),)], (2, 1, 3)),
    _same("tile_zero", "tile", [((2, 3),)], (0, 2)),
    _same("repeat", "repeat", [((2, 3),), ((),)], 2, dtypes=ALL),
    _same("repeat_axis", "repeat", [((2, 3),)], 3, axis=-1),
    _same("repeat_counts", "repeat", [((3, 2),)], [1, 0, 2], axis=0),
    _same("repeat_counts_flat", "repeat", [((2, 2),)], np.array([2, 1, 1, 3])),
    # reordering
    _same("flip", "flip", [((2, 3, 4),), ((),), ((5,),)], dtypes=ALL),
    _same("flip_axis", "flip", [((2, 3, 4),)], -1),
    _same("flip_axes", "flip", [((2, 3, 4),)], (0, 2)),
    _same("fliplr", "fliplr", [((2, 3),), ((2, 3, 4),)]),
    _same("flipud", "flipud", [((2, 3),), ((4,),)]),
    _same("roll", "roll", [((2, 3),), ((),), ((5,),)], 4, dtypes=ALL),
    _same("roll_axis", "roll", [((2, 5),)], -2, axis=1),
    _same("roll_axes", "roll", [((3, 4, 2),)], (1, 7), axis=(0, -2)),
    _same("roll_same_axis", "roll", [((5, 2),)], (1, 2), axis=(0, 0)),
    _same("roll_empty", "roll", [((0, 3),)], 2, axis=0),
    rec("roll_traced_shift", lambda x, s: S.roll(x, s, axis=1), lambda x, s: np.roll(x, s, axis=1),
        [((3, 5), ())], dtypes=SOME, arg_dtypes=(None, I64), gen=("normal", _ints(-12, 12))),
    rec("roll_traced_shift_int32", lambda x, s: S.roll(x, s), lambda x, s: np.roll(x, s),
        [((2, 3), ())], dtypes=(F64,), arg_dtypes=(None, I32), gen=("normal", _ints(-12, 12))),
    _same("rot90", "rot90", [((2, 3),), ((2, 3, 4),)], dtypes=ALL),
    *[_same(f"rot90_k{k}", "rot90", [((2, 3, 4),)], k, axes=(1, -1)) for k in (2, 3, -1, 4)],
    # padding
    _same("pad", "pad", [((2, 3),), ((3,),)], 1, dtypes=ALL),
    _same("pad_pairs", "pad", [((2, 3),)], ((1, 2), (0, 3))),
    _same("pad_values", "pad", [((2, 3),)], ((1, 2), (2, 1)), constant_values=((1, 2), (3, 4))),
    _same("pad_value", "pad", [((2, 3),)], 2, constant_values=7),
    _same("pad_empty_axis", "pad", [((0, 3),)], 1, constant_values=5),
    *[_same(f"pad_{mode}", "pad", [((2, 3),), ((4,),), ((1, 3),)], (2, 5),
            mode=mode) for mode in ("edge", "reflect", "symmetric", "wrap")],
    *[_same(f"pad_{mode}_wide", "pad", [((3, 2),)], ((7, 4), (1, 5)), mode=mode)
      for mode in ("edge", "reflect", "symmetric", "wrap")],
    rec("pad_traced_value", lambda x, c: S.pad(x, ((1, 0), (2, 1)), constant_values=c),
        lambda x, c: np.pad(x, ((1, 0), (2, 1)), constant_values=c), [((2, 3), ())],
        dtypes=FLOAT, grad_argnums=(0, 1)),
    # rank
    rec("atleast_1d", S.atleast_1d, np.atleast_1d, [((),), ((3,),), ((2, 3),)], dtypes=SOME),
    rec("atleast_2d", S.atleast_2d, np.atleast_2d, [((),), ((3,),), ((2, 3, 4),)], dtypes=SOME),
    rec("atleast_3d", S.atleast_3d, np.atleast_3d, [((),), ((3,),), ((2, 3),), ((2, 3, 4, 5),)],
        dtypes=SOME),
    rec("atleast_2d_many", S.atleast_2d, np.atleast_2d, [((), (3,), (2, 3))], dtypes=SOME,
        grad_argnums=(0, 1, 2)),
    # append, insert, delete
    _same("append", "append", [((2, 3), (4,)), ((), ())], dtypes=ALL),
    _same("append_axis", "append", [((2, 3), (1, 3))], axis=0),
    rec("append_scalar", lambda x: S.append(x, 1.5), lambda x: np.append(x, 1.5), [((3,),)],
        dtypes=(F32, I32)),
    rec("insert", lambda x, v: S.insert(x, 1, v), lambda x, v: np.insert(x, 1, v),
        [((2, 3), ()), ((4,), (2,))], dtypes=SOME, grad_argnums=(0, 1)),
    rec("insert_axis", lambda x, v: S.insert(x, -1, v, axis=1),
        lambda x, v: np.insert(x, -1, v, axis=1), [((2, 3), (2,)), ((3, 2), (3, 1)), ((2, 3), ())],
        dtypes=SOME, grad_argnums=(0, 1)),
    rec("insert_many", lambda x, v: S.insert(x, [0, 2, 2], v, axis=0),
        lambda x, v: np.insert(x, [0, 2, 2], v, axis=0), [((3, 2), (3, 2)), ((3, 2), (2,))],
        dtypes=SOME, grad_argnums=(0, 1)),
    rec("insert_slice", lambda x, v: S.insert(x, slice(None, None, 2), v),
        lambda x, v: np.insert(x, slice(None, None, 2), v), [((5,), ())], dtypes=SOME),
    _same("delete", "delete", [((4, 3),)], 1, axis=0),
    _same("delete_many", "delete", [((4, 3),)], [0, -1], axis=1),
    _same("delete_flat", "delete", [((4, 3),)], slice(None, None, 2)),
    _same("delete_mask", "delete", [((4,),)], np.array([True, False, True, False])),
]
