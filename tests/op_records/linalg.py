"""Op records for products and matrix helpers: lax.dot_general and friends, ftx.numpy's
dot/matmul/einsum/..., and ftx.numpy.linalg (norms, matrix_power, array-API spellings).

References are NumPy's own functions; the lax ones are checked against ``np.einsum``
with the output order JAX defines (batch, lhs free, rhs free).

``grad=False`` on a float record with ``dtype=np.float32``: finite differences of
float32 outputs are too coarse for the gradient check (tests/test_rules_reductions.py
checks those gradients directly).
"""
import warnings

import numpy as np

from ftx import lax
from ftx.numpy import _linalg as L
from ftx.numpy import linalg as LA
from tests.op_records import BOOL, C128, F32, F64, I32, rec

NUM = (I32, F32, F64)


def _same(name, shapes, *args, dtypes=NUM, grad=True, fn_name=None, **kwargs):
    """A record calling L.<fn>(*arrays, *args, **kwargs) against np.<fn>."""
    fn_name = fn_name or name.split("-")[0]
    fn, ref = getattr(L, fn_name), getattr(np, fn_name)
    return rec(name, lambda *xs: fn(*xs, *args, **kwargs), lambda *xs: ref(*xs, *args, **kwargs),
               shapes, dtypes=dtypes, grad=grad, grad_argnums=tuple(range(len(shapes[0]))))


def _same_linalg(name, shapes, *args, dtypes=NUM, grad=True, **kwargs):
    fn_name = name.split("-")[0]
    fn, ref = getattr(LA, fn_name), getattr(np.linalg, fn_name)
    return rec("linalg." + name, lambda *xs: fn(*xs, *args, **kwargs),
               lambda *xs: ref(*xs, *args, **kwargs), shapes, dtypes=dtypes, grad=grad,
               grad_argnums=tuple(range(len(shapes[0]))))


def _quiet(fn):
    """``fn`` without NumPy 2's DeprecationWarning for 2-vectors in ``cross``."""
    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return fn(*args)
    return call


def _dot_general_ref(spec, preferred=None):
    def ref(a, b):
        out = np.einsum(spec, a, b)
        return out.astype(preferred or np.result_type(a, b))
    return ref


def _einsum(subscripts, shapes, dtypes=NUM):
    return rec(f"einsum-{subscripts}", lambda *xs: L.einsum(subscripts, *xs),
               lambda *xs: np.einsum(subscripts, *xs), [shapes], dtypes=dtypes,
               grad_argnums=tuple(range(len(shapes))))


MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4,)), ((2, 4), (4,)), ((4,), (4, 3)),
                 ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                 ((5,), (2, 5, 3))]

RECORDS = [
    # ----------------------------------------------------------------- lax
    rec("lax.dot_general-matmul", lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))),
        _dot_general_ref("ij,jk->ik"), [((3, 4), (4, 5))], dtypes=NUM + (BOOL,),
        grad_argnums=(0, 1)),
    rec("lax.dot_general-batch", lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
        _dot_general_ref("bij,bjk->bik"), [((2, 3, 4), (2, 4, 5))], dtypes=NUM,
        grad_argnums=(0, 1)),
    rec("lax.dot_general-batch-last",
        lambda a, b: lax.dot_general(a, b, (((0,), (2,)), ((2,), (0,)))),
        _dot_general_ref("jab,bkj->bak"), [((3, 2, 4), (4, 5, 3))], dtypes=NUM,
        grad_argnums=(0, 1)),
    rec("lax.dot_general-outer", lambda a, b: lax.dot_general(a, b, (((), ()), ((), ()))),
        _dot_general_ref("ij,k->ijk"), [((2, 3), (4,))], dtypes=NUM, grad_argnums=(0, 1)),
    rec("lax.dot_general-two-contracting",
        lambda a, b: lax.dot_general(a, b, (((0, 2), (2, 0)), ((), ()))),
        _dot_general_ref("iaj,jbi->ab"), [((2, 3, 4), (4, 5, 2))], dtypes=NUM,
        grad_argnums=(0, 1)),
    rec("lax.dot_general-preferred",
        lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())), preferred_element_type=np.int64),
        lambda a, b: (a.astype(np.int64) @ b.astype(np.int64)), [((3, 4), (4, 2))],
        dtypes=(I32,), grad=False),
    rec("lax.dot", lax.dot, np.dot, [((3, 4), (4, 2)), ((4,), (4,)), ((3, 4), (4,))], dtypes=NUM,
        grad_argnums=(0, 1)),
    rec("lax.batch_matmul", lax.batch_matmul, np.matmul, [((2, 3, 4), (2, 4, 5))], dtypes=NUM,
        grad_argnums=(0, 1)),

    # ----------------------------------------------------------------- ftx.numpy products
    _same("dot", [((3, 4), (4, 2)), ((4,), (4,)), ((2, 3, 4), (5, 4, 2)), ((2, 3), (3,)),
                  ((), (3,))], dtypes=NUM + (BOOL,)),
    rec("dot-mixed-dtypes", L.dot, np.dot, [((3, 4), (4,))], dtypes=(I32,),
        arg_dtypes=(None, F32), grad=False),
    _same("vdot", [((2, 3), (6,)), ((4,), (4,))], dtypes=NUM + (C128,)),
    _same("matmul", MATMUL_SHAPES, dtypes=NUM),
    _same("matmul-bool", [((3, 4), (4, 2))], fn_name="matmul", dtypes=(BOOL,), grad=False),
    _same("matmul-complex", [((3, 4), (4, 2)), ((2, 3, 4), (4,))], fn_name="matmul",
          dtypes=(C128,)),
    _same("matmul-dtype", [((3, 4), (4, 2))], fn_name="matmul", dtype=np.float32,
          dtypes=(I32, F64), grad=False),
    _same("inner", [((3, 4), (2, 4)), ((4,), (4,)), ((2, 3), ())]),
    _same("outer", [((3,), (4,)), ((2, 2), (3,))], dtypes=NUM + (BOOL,)),
    _same("tensordot", [((2, 3, 4), (3, 4, 5))]),
    _same("tensordot-1", [((2, 3), (3, 4))], 1, fn_name="tensordot"),
    _same("tensordot-0", [((2, 3), (4,))], 0, fn_name="tensordot"),
    _same("tensordot-pairs", [((2, 3, 4), (4, 3, 5))], ([1, 2], [1, 0]), fn_name="tensordot"),
    _same("tensordot-ints", [((2, 3), (4, 3))], (1, -1), fn_name="tensordot"),
    _same("vecdot", [((2, 3), (3,)), ((4, 1, 3), (2, 3))], dtypes=NUM + (C128,)),
    _same("vecdot-axis0", [((3, 2), (3, 2))], fn_name="vecdot", axis=0),
    _same("kron", [((2, 3), (4, 5)), ((2,), (3, 4)), ((2, 2, 2), (3,)), ((), (3,))],
          dtypes=NUM + (BOOL,)),
    _same("cross", [((3,), (3,)), ((4, 3), (3,)), ((2, 1, 3), (4, 3))]),
    rec("cross-2d", _quiet(L.cross), _quiet(np.cross), [((2,), (2,)), ((4, 2), (3,)), ((3,), (2,))],
        dtypes=NUM, grad_argnums=(0, 1)),
    _same("cross-axes", [((3, 4), (4, 3))], fn_name="cross", axisa=0, axisb=1, axisc=0),
    # einsum: explicit/implicit outputs, ellipses, repeated labels, broadcasting, 1-3 operands
    _einsum("ij,jk->ik", ((3, 4), (4, 5))),
    _einsum("ij,jk", ((3, 4), (4, 5))),
    _einsum("ij->ji", ((3, 4),)),
    _einsum("ij->", ((3, 4),)),
    _einsum("ii->i", ((3, 3),)),
    _einsum("ii", ((3, 3),)),
    _einsum("iji->j", ((2, 3, 2),)),
    _einsum("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    _einsum("...ij,...jk->...ik", ((2, 3, 4), (4, 5))),
    _einsum("...i,...i", ((4, 1, 3), (2, 3))),
    _einsum("i,j->ij", ((3,), (4,)), dtypes=NUM + (BOOL,)),
    _einsum("i,i", ((4,), (4,)), dtypes=NUM + (BOOL,)),
    _einsum("i,i->i", ((1,), (4,))),
    _einsum("ij,jk,kl->li", ((2, 3), (3, 4), (4, 5))),
    _einsum("abc,cd,bd->a", ((2, 3, 4), (4, 5), (3, 5))),
    _einsum("Ba,aC", ((2, 3), (3, 4))),
    _einsum("i,,j", ((2,), (), (3,))),
    _einsum("ijk,kji->", ((2, 3, 4), (4, 3, 2))),
    rec("einsum-mixed-dtypes", lambda a, b: L.einsum("ij,j->i", a, b),
        lambda a, b: np.einsum("ij,j->i", a, b), [((3, 4), (4,))], dtypes=(I32,),
        arg_dtypes=(None, F32), grad=False),
    # diagonals and triangles
    *[_same(f"diagonal-{off}", [((3, 4),), ((4, 3),)], off, fn_name="diagonal",
            dtypes=NUM + (BOOL,)) for off in (0, 1, -2, 5)],
    _same("diagonal-axes", [((2, 3, 4),)], 1, 2, 0, fn_name="diagonal"),
    *[_same(f"trace-{off}", [((3, 4),)], off, fn_name="trace", dtypes=NUM + (BOOL,))
      for off in (0, -1)],
    _same("trace-axes-dtype", [((2, 3, 3),)], 0, 1, 2, np.float32, fn_name="trace", grad=False),
    *[_same(f"diag-{k}", [((3,),), ((3, 4),)], k, fn_name="diag", dtypes=NUM + (BOOL,))
      for k in (0, 2, -1)],
    _same("diag-empty", [((0,),)], 1, fn_name="diag", grad=False),
    _same("diagflat", [((2, 2),), ((3,),)], dtypes=NUM),
    _same("diagflat-k", [((2,),)], -1, fn_name="diagflat"),
    *[_same(f"{name}-{k}", [((3, 4),), ((2, 4, 3),), ((3,),)], k, fn_name=name,
            dtypes=NUM + (BOOL,)) for name in ("tril", "triu") for k in (0, 1, -2)],
    _same("matrix_transpose", [((3, 4),), ((2, 3, 4),)], dtypes=NUM + (BOOL,)),

    # ----------------------------------------------------------------- ftx.numpy.linalg
    *[rec(f"linalg.norm-ord{o}-axis{a}", lambda x, o=o, a=a: LA.norm(x, ord=o, axis=a),
          lambda x, o=o, a=a: np.linalg.norm(x, ord=o, axis=a), shapes, dtypes=(I32, F32, F64, C128))
      for o, a, shapes in [(None, None, [((3, 4),), ((2, 3, 4),)]),
                           (2, None, [((5,),)]),
                           ("fro", None, [((3, 4),)]),
                           (1, None, [((3, 4),)]),
                           (np.inf, None, [((3, 4),)]),
                           (None, 1, [((3, 4),)]),
                           (np.inf, 0, [((3, 4),)]),
                           (-np.inf, -1, [((3, 4),)]),
                           (1, -1, [((3, 4),)]),
                           (3, 1, [((3, 4),)]),
                           (-1, (1, 0), [((3, 4),), ((3, 4, 2),)]),
                           (-np.inf, (0, 2), [((3, 4, 2),)]),
                           ("fro", (0, 1), [((3, 4, 2),)])]],
    rec("linalg.norm-ord0", lambda x: LA.norm(x, ord=0, axis=1),
        lambda x: np.linalg.norm(x, ord=0, axis=1), [((3, 4),)], dtypes=(I32, F64), grad=False),
    rec("linalg.norm-keepdims", lambda x: LA.norm(x, axis=(0, 2), keepdims=True),
        lambda x: np.linalg.norm(x, axis=(0, 2), keepdims=True), [((3, 4, 2),)], dtypes=NUM),
    *[rec(f"linalg.vector_norm-ord{o}-axis{a}",
          lambda x, o=o, a=a: LA.vector_norm(x, ord=o, axis=a, keepdims=a is not None),
          lambda x, o=o, a=a: np.linalg.vector_norm(x, ord=o, axis=a, keepdims=a is not None),
          [((3, 4),)] if isinstance(a, int) else [((2, 3, 4),)], dtypes=(F32, F64, C128))
      for o, a in [(2, None), (1, (2, 0)), (np.inf, -1), (0.5, None)]],
    *[rec(f"linalg.matrix_norm-{o}", lambda x, o=o: LA.matrix_norm(x, ord=o),
          lambda x, o=o: np.linalg.matrix_norm(x, ord=o), [((3, 4),), ((2, 3, 3),)],
          dtypes=(F32, F64))
      for o in ("fro", 1, -np.inf)],
    *[rec(f"linalg.matrix_power-{n}", lambda x, n=n: LA.matrix_power(x, n),
          lambda x, n=n: np.linalg.matrix_power(x, n), [((3, 3),), ((2, 2, 2),)], dtypes=NUM)
      for n in (0, 1, 2, 3, 6)],
    _same_linalg("matmul", [((2, 3, 4), (4, 5))]),
    _same_linalg("tensordot", [((2, 3), (3, 4))], axes=1),
    _same_linalg("vecdot", [((2, 3), (2, 3))], dtypes=(F64, C128)),
    _same_linalg("outer", [((3,), (4,))]),
    _same_linalg("trace", [((3, 3),), ((2, 3, 4),)], offset=1),
    _same_linalg("diagonal", [((3, 3),), ((2, 3, 4),)], offset=-1),
    _same_linalg("cross", [((2, 3), (3,))]),
    _same_linalg("matrix_transpose", [((2, 3, 4),)]),
]
