"""Op records for structured control flow: scan, fori_loop, while_loop (bounded and not),
cond, switch, map and associative_scan, each against a plain Python loop / ``if`` on NumPy.

The generic tests then check eager vs these references, eval_jaxpr and eval_shape, finite-
difference gradients of order 1 and 2 (forward and reverse mode) and vmap against a loop,
for every in_axes: a batched predicate (cond) or loop condition (while_loop) is exercised
whenever the argument it depends on is batched.

Only bounded loops (scan, fori_loop with Python-int bounds, while_loop with ``max_steps``)
are reverse-differentiable; the unbounded while_loop record is ``grad=False``. Inputs of
the data-dependent loops are drawn away from the points where the trip count changes, so
finite differences see a locally constant trip count.
"""
import numpy as np

from ftx import lax
import ftx.numpy as fnp
from ftx.transforms.control_flow import (associative_scan, cond, fori_loop, map as cf_map, scan,
                                         switch, while_loop)
from tests.op_records import F32, FLOAT, I32, I64, rec

RNG = np.random.default_rng(7)
W = RNG.normal(size=(3, 3)) * 0.6
U = RNG.normal(size=(3, 2)) * 0.6


# ----------------------------------------------------------------------------- scan

def scan_decay(x):
    return scan(lambda c, v: (c * 0.5 + v, c * v), x[0], x)


def scan_decay_ref(x):
    c, ys = x[0].copy(), []
    for v in x:
        ys.append(c * v)
        c = c * 0.5 + v
    return c, np.stack(ys)


def scan_pytree_reverse(x, y):
    def body(carry, xy):
        a, b = xy
        new = {"s": carry["s"] + a * b, "p": carry["p"] * 0.9 + fnp.sin(b)}
        return new, (carry["s"] * a, new["p"] - b)
    return scan(body, {"p": y[-1], "s": x[0] * 0.0}, (x, y), reverse=True)


def scan_pytree_reverse_ref(x, y):
    s, p = x[0] * 0.0, y[-1].copy()
    ys1, ys2 = [None] * len(x), [None] * len(x)
    for i in reversed(range(len(x))):
        a, b = x[i], y[i]
        ys1[i] = s * a
        s, p = s + a * b, p * 0.9 + np.sin(b)
        ys2[i] = p - b
    return {"p": p, "s": s}, (np.stack(ys1), np.stack(ys2))


def scan_rnn(h, xs):
    w, u = W.astype(h.dtype), U.astype(h.dtype)

    def cell(h, x):
        h = fnp.tanh(w @ h + u @ x)
        return h, fnp.sin(h) * h
    return scan(cell, h, xs)


def scan_rnn_ref(h, xs):
    w, u = W.astype(h.dtype), U.astype(h.dtype)
    ys = []
    for x in xs:
        h = np.tanh(w @ h + u @ x)
        ys.append(np.sin(h) * h)
    return h, np.stack(ys)


def scan_int(x):
    return scan(lambda c, v: (c + v, c * v), x[0], x[1:])


def scan_int_ref(x):
    c, ys = x[0].copy(), []
    for v in x[1:]:
        ys.append(c * v)
        c = c + v
    return c, np.stack(ys)


# ----------------------------------------------------------------------------- loops

def fori(x):
    return fori_loop(0, 4, lambda i, c: c * 0.9 + fnp.sin(c) * i, x)


def fori_ref(x):
    for i in range(4):
        x = x * 0.9 + np.sin(x) * i
    return x


def while_counted(x):
    return while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 0.8 + fnp.sin(c[1])),
                      (0, x), max_steps=5)[1]


def while_counted_ref(x):
    for _ in range(3):
        x = x * 0.8 + np.sin(x)
    return x


def _far_from_one(rng, shape, dtype):
    """Magnitudes in (2, 40), away from the powers of two where halving's trip count changes."""
    mag = 2.0 ** (rng.integers(1, 5, size=shape) + rng.uniform(0.2, 0.8, size=shape))
    return (mag * rng.choice([-1.0, 1.0], size=shape)).astype(dtype)


def _shrink(x):
    return x * 0.5 + fnp.sin(x) * 0.01


def _shrink_ref(x):
    return x * 0.5 + np.sin(x) * 0.01


def while_data_dependent(x, bounded=True):
    return while_loop(lambda v: fnp.abs(v) > 1.0, _shrink, x,
                      max_steps=20 if bounded else None)


def while_data_dependent_ref(x):
    while np.abs(x) > 1.0:
        x = _shrink_ref(x)
    return x


# ----------------------------------------------------------------------------- branches

def cond_sign(x):
    return cond(x[0] > 0, lambda v: fnp.sin(v) * v[1], lambda v: fnp.cos(v) - v, x)


def cond_sign_ref(x):
    return np.sin(x) * x[1] if x[0] > 0 else np.cos(x) - x


def cond_pytree(x, y):
    return cond(y[0] < x[0], lambda a, b: (a * b, {"m": b - 1.0}),
                lambda a, b: (a + b, {"m": a * 2.0}), x, y)


def cond_pytree_ref(x, y):
    return (x * y, {"m": y - 1.0}) if y[0] < x[0] else (x + y, {"m": x * 2.0})


def _quadrant(x):
    return (x[0] > 0).astype(np.int32) + (x[1] > 0).astype(np.int32)


def switch3(x):
    return switch(_quadrant(x), [lambda v: v * 2.0, fnp.sin, lambda v: v ** 3], x)


def switch3_ref(x):
    return [lambda v: v * 2.0, np.sin, lambda v: v ** 3][int(_quadrant(x))](x)


# ----------------------------------------------------------------------------- map, associative

def map_rows(x):
    return cf_map(lambda r: fnp.sin(r) * r[0], x)


def map_rows_ref(x):
    return np.stack([np.sin(r) * r[0] for r in x])


def linear_recurrence(a, b):
    """h[t] = a[t] * h[t-1] + b[t], as an associative scan over (a, b) pairs."""
    def combine(left, right):
        (a1, b1), (a2, b2) = left, right
        return a1 * a2, a2 * b1 + b2
    return associative_scan(combine, (a, b))[1]


def linear_recurrence_ref(a, b):
    h, out = np.zeros_like(b[0]), []
    for t in range(len(a)):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


def _cum(ufunc, axis=0, reverse=False):
    def ref(x):
        y = np.flip(x, axis) if reverse else x
        y = ufunc.accumulate(y, axis=axis, dtype=x.dtype)
        return np.flip(y, axis) if reverse else y
    return ref


RECORDS = [
    rec("cf.scan-decay", scan_decay, scan_decay_ref, [((5,),), ((4, 3),)]),
    rec("cf.scan-pytree-reverse", scan_pytree_reverse, scan_pytree_reverse_ref,
        [((4, 2), (4, 2))], grad_argnums=(0, 1)),
    rec("cf.scan-rnn", scan_rnn, scan_rnn_ref, [((3,), (6, 2))], grad_argnums=(0, 1),
        tol={F32: (1e-5, 1e-6)}),
    rec("cf.scan-int", scan_int, scan_int_ref, [((5,),), ((4, 2),)], dtypes=(I32, I64),
        grad=False),
    rec("cf.fori_loop", fori, fori_ref, [((3,),), ((2, 2),)]),
    rec("cf.while_loop-counted", while_counted, while_counted_ref, [((3,),)]),
    rec("cf.while_loop-bounded", while_data_dependent, while_data_dependent_ref, [((),)],
        gen=_far_from_one),
    rec("cf.while_loop-unbounded", lambda x: while_data_dependent(x, bounded=False),
        while_data_dependent_ref, [((),)], gen=_far_from_one, grad=False),
    rec("cf.cond", cond_sign, cond_sign_ref, [((4,),), ((2,),)]),
    rec("cf.cond-pytree", cond_pytree, cond_pytree_ref, [((3,), (3,))], grad_argnums=(0, 1)),
    rec("cf.switch", switch3, switch3_ref, [((3,),), ((2,),)]),
    rec("cf.map", map_rows, map_rows_ref, [((4, 3),)]),
    rec("cf.map-batch_size", lambda x: cf_map(lambda r: fnp.sin(r) * r[0], x, batch_size=2),
        map_rows_ref, [((5, 3),)]),
    rec("cf.associative_scan-add", lambda x: associative_scan(lax.add, x), _cum(np.add),
        [((7,),), ((8, 2),), ((1,),)], dtypes=(I32,) + FLOAT),
    rec("cf.associative_scan-mul-reverse-axis1",
        lambda x: associative_scan(lax.mul, x, reverse=True, axis=1),
        _cum(np.multiply, axis=1, reverse=True), [((2, 5),), ((3, 6),)]),
    rec("cf.associative_scan-max", lambda x: associative_scan(lax.max, x, axis=-1),
        _cum(np.maximum, axis=-1), [((9,),), ((2, 4),)], dtypes=(I32,) + FLOAT),
    rec("cf.associative_scan-linear-recurrence", linear_recurrence, linear_recurrence_ref,
        [((6,), (6,)), ((5, 2), (5, 2))], grad_argnums=(0, 1)),
]
