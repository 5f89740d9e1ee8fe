"""Transform rules of the slicing family (slice, dynamic_slice, dynamic_update_slice, gather,
scatter*) in the cases the op records miss: batched indices with an unbatched operand, repeated
scatter indices under differentiation, out-of-range indices and starts, vmap of grad.

Oracles: NumPy expressions written out per case, loops over the batch, and central finite
differences (ftx.testing.check_grads); never the rules' own output.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.numpy import _indexing as I
from ftx.testing import check_grads
from tests.oracles import vmap_loop as loop
from tests.test_numpy_indexing import build, index_cases

SETTINGS = settings(max_examples=30, deadline=None)
RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)




def check_vmap(fn, args, in_axes):
    out = ftx.vmap(fn, in_axes=in_axes)(*args)
    expected = loop(fn, args, in_axes)
    assert np.shape(out) == expected.shape and np.asarray(out).dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)


def vjp1(fn, x, ct):
    return ftx.vjp(fn, x)[1](ct)[0]


def grad_of_inner(fn, w, argnums=0):
    """The gradient of ``<w, fn(*args)>``, as a vjp (no reduction primitive needed)."""
    def g(*args):
        cts = ftx.vjp(fn, *args)[1](w)
        return cts[argnums] if isinstance(argnums, int) else tuple(cts[i] for i in argnums)
    return g


# --------------------------------------------------------------------------- rule coverage

def test_every_slicing_primitive_has_its_rules():
    table = ftx.core.rule_coverage()
    for name in ("slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter",
                 "scatter_add"):
        assert [table[name][k] for k in ("jvp", "transpose", "batch")] == ["yes"] * 3, name
    for name in ("scatter_mul", "scatter_min", "scatter_max"):
        assert table[name]["jvp"] == table[name]["batch"] == "yes"
        assert table[name]["transpose"].startswith("exempt")


# --------------------------------------------------------------------------- slice

@pytest.mark.parametrize("starts, limits, strides", [
    ((1, 0), (4, 5), (2, 3)),   # strided: the transpose pads between elements
    ((2, 5), (2, 5), None),     # empty result
    ((0, 1), (5, 4), (4, 1)),   # a stride longer than what is left
])
def test_slice_transpose_puts_cotangents_where_they_were_read(starts, limits, strides):
    x = normal(5, 5)
    region = tuple(slice(a, b, s) for a, b, s in zip(starts, limits, strides or (1, 1)))
    ct = normal(*x[region].shape)
    expected = np.zeros_like(x)
    expected[region] = ct
    np.testing.assert_array_equal(vjp1(lambda x: lax.slice(x, starts, limits, strides), x, ct),
                                  expected)
    check_grads(lambda x: lax.slice(x, starts, limits, strides), (x,), order=2)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vmap_of_slice_keeps_the_batch_axis_in_place(axis):
    xs = np.moveaxis(normal(3, 4, 5), 0, axis)
    check_vmap(lambda x: lax.slice(x, (1, 0), (4, 5), (2, 2)), [xs], (axis,))


# --------------------------------------------------------------------------- dynamic slices

@pytest.mark.parametrize("start", [-3, 0, 2, 9])  # out-of-range starts are clamped
def test_dynamic_slice_gradient_follows_the_clamped_window(start):
    x = normal(6, 3)
    ct = normal(2, 3)
    expected = np.zeros_like(x)
    lo = min(max(start, 0), 4)
    expected[lo:lo + 2] = ct
    fn = lambda x: lax.dynamic_slice(x, (np.int32(start), np.int32(0)), (2, 3))  # noqa: E731
    np.testing.assert_array_equal(vjp1(fn, x, ct), expected)
    check_grads(fn, (x,), order=2)


def test_dynamic_update_slice_gradients_split_at_the_window():
    x, u = normal(5, 4), normal(2, 3)
    start = (np.int64(4), np.int64(-1))  # clamped to (3, 0)
    ct = normal(5, 4)
    fn = lambda x, u: lax.dynamic_update_slice(x, u, start)  # noqa: E731
    gx, gu = ftx.vjp(fn, x, u)[1](ct)
    expected_x = ct.copy()
    expected_x[3:5, 0:3] = 0
    np.testing.assert_array_equal(gx, expected_x)
    np.testing.assert_array_equal(gu, ct[3:5, 0:3])
    check_grads(fn, (x, u), order=2)


@pytest.mark.parametrize("x_axis", [None, 0, 1])
def test_vmap_of_dynamic_slice_with_batched_starts(x_axis):
    # starts beyond both ends: every batch element clamps its own window
    starts = np.array([-2, 0, 3, 7])
    x = normal(4, 6, 5)
    xs = x[0] if x_axis is None else np.moveaxis(x, 0, x_axis)

    def fn(x, s):
        return lax.dynamic_slice(x, (np.int32(1), s), (2, 3))

    check_vmap(fn, [xs, starts], (x_axis, 0))
    lo = np.clip(starts, 0, 2)  # the window of 3 fits in 5 columns
    expected = np.stack([(x[0] if x_axis is None else x[b])[1:3, lo[b]:lo[b] + 3]
                         for b in range(4)])
    np.testing.assert_array_equal(ftx.vmap(fn, in_axes=(x_axis, 0))(xs, starts), expected)


def test_vmap_of_dynamic_slice_with_a_window_covering_an_axis_needs_no_index_there():
    xs, starts = normal(3, 4, 5), np.array([0, 1, 2], np.int32)
    fn = lambda x, s: lax.dynamic_slice(x, (s, np.int32(3)), (2, 5))  # noqa: E731
    check_vmap(fn, [xs, starts], (0, 0))
    # the whole operand: the result does not depend on the batched start at all
    check_vmap(lambda x, s: lax.dynamic_slice(x, (s, s), (4, 5)), [xs[0], starts], (None, 0))


@pytest.mark.parametrize("in_axes", [(None, None, 0), (0, None, 0), (None, 1, 0), (2, 0, 0),
                                     (0, 0, None), (None, 0, None)])
def test_vmap_of_dynamic_update_slice(in_axes):
    x, u, starts = normal(3, 5, 4), normal(3, 2, 4), np.array([4, -1, 2])
    args = [x if in_axes[0] is None else np.moveaxis(x, 0, in_axes[0]),
            u if in_axes[1] is None else np.moveaxis(u, 0, in_axes[1]),
            starts if in_axes[2] is not None else np.int64(1)]
    args = [a[0] if d is None and i < 2 else a for i, (a, d) in enumerate(zip(args, in_axes))]
    check_vmap(lambda x, u, s: lax.dynamic_update_slice(x, u, (s, np.int64(0))), args, in_axes)


def test_traced_scalar_index_under_vmap_and_grad():
    xs, i = normal(3, 5, 2), np.array([0, -1, 4])
    np.testing.assert_array_equal(ftx.vmap(lambda x, i: x[i])(xs, i),
                                  np.stack([xs[b][i[b]] for b in range(3)]))
    w = normal(2)
    g = ftx.vmap(grad_of_inner(lambda x, i: x[i] ** 2, w))(xs, i)
    expected = np.zeros_like(xs)
    for b in range(3):
        expected[b, i[b]] = 2 * xs[b, i[b]] * w
    np.testing.assert_allclose(g, expected)


# --------------------------------------------------------------------------- gather

def test_gather_gradient_accumulates_repeated_and_clamped_indices():
    x = normal(4, 3)
    idx = np.array([0, 3, 3, 9, -2])  # 9 clamps to 3, -2 to 0 (the primitive does not wrap)
    ct = normal(5, 3)
    expected = np.zeros_like(x)
    np.add.at(expected, np.clip(idx, 0, 3), ct)
    np.testing.assert_allclose(vjp1(lambda x: lax.gather(x, idx, axis=0), x, ct), expected)


def test_gather_fill_mode_gives_out_of_range_reads_no_gradient():
    x = normal(3, 4)
    idx = np.array([[1, 5], [-1, 2]])
    fn = lambda x: lax.gather(x, idx, axis=1, mode="fill", fill_value=2.5)  # noqa: E731
    ct = normal(3, 2, 2)
    expected = np.zeros_like(x)
    expected[:, 1] += ct[:, 0, 0]
    expected[:, 2] += ct[:, 1, 1]
    np.testing.assert_array_equal(vjp1(fn, x, ct), expected)
    _, t = ftx.jvp(fn, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, np.array([[1, 0], [0, 1]]) + np.zeros((3, 1, 1)))
    check_grads(fn, (x,), order=2)


@pytest.mark.parametrize("x_axis, i_axis", [(None, 0), (None, 1), (0, 0), (1, 1), (3, 0),
                                            (0, None), (1, None), (2, None), (3, None)])
def test_vmap_of_gather_over_operand_and_or_indices(x_axis, i_axis):
    x, idx = normal(3, 5, 4, 2), RNG.integers(0, 4, (3, 2, 3))
    fn = lambda x, i, j: lax.gather(x, i, j, axis=1)  # noqa: E731 - x[:, i, j]
    xs = x[0] if x_axis is None else np.moveaxis(x, 0, x_axis)
    ii = idx[0] if i_axis is None else np.moveaxis(idx, 0, i_axis)
    jj = idx[0] % 2
    check_vmap(fn, [xs, ii, jj], (x_axis, i_axis, None))
    out = ftx.vmap(fn, in_axes=(x_axis, i_axis, None))(xs, ii, jj)
    expected = np.stack([(x[0] if x_axis is None else x[b])[:, idx[0 if i_axis is None else b], jj]
                         for b in range(3)])
    np.testing.assert_array_equal(out, expected)


def test_vmap_of_gather_with_batched_indices_in_fill_mode():
    x, idx = normal(4, 3), np.array([[0, 7], [-1, 2], [3, 3]])
    out = ftx.vmap(lambda i: lax.gather(x, i, mode="fill", fill_value=-1.0))(idx)
    valid = (idx >= 0) & (idx < 4)
    expected = np.where(valid[..., None], x[np.clip(idx, 0, 3)], -1.0)
    np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------------- scatters

IDX = np.array([1, 3, 1, 1, 7])  # repeated 1s; 7 is out of range (dropped, or clipped to 3)


def scatter_oracle(ufunc, x, u, idx, mode):
    out = x.copy()
    idx = np.clip(idx, 0, len(x) - 1) if mode == "clip" else idx
    keep = idx < len(x)
    if ufunc is None:
        out[idx[keep]] = u[keep]
    else:
        ufunc.at(out, idx[keep], u[keep])
    return out


@pytest.mark.parametrize("mode", ["drop", "clip"])
def test_scatter_add_gradients_with_repeated_and_out_of_range_indices(mode):
    x, u, ct = normal(4, 2), normal(5, 2), normal(4, 2)
    fn = lambda x, u: lax.scatter_add(x, u, IDX, mode=mode)  # noqa: E731
    np.testing.assert_allclose(fn(x, u), scatter_oracle(np.add, x, u, IDX, mode))
    gx, gu = ftx.vjp(fn, x, u)[1](ct)
    np.testing.assert_array_equal(gx, ct)
    expected_u = ct[np.clip(IDX, 0, 3)]
    if mode == "drop":
        expected_u[IDX > 3] = 0
    np.testing.assert_array_equal(gu, expected_u)
    check_grads(fn, (x, u), order=2)


@pytest.mark.parametrize("mode", ["drop", "clip"])
def test_scatter_gradient_goes_to_the_update_that_won(mode):
    # Repeated indices: NumPy's assignment keeps the last update, and so does the derivative.
    x, u, ct = normal(4, 2), normal(5, 2), normal(4, 2)
    fn = lambda x, u: lax.scatter(x, u, IDX, mode=mode)  # noqa: E731
    np.testing.assert_array_equal(fn(x, u), scatter_oracle(None, x, u, IDX, mode))
    gx, gu = ftx.vjp(fn, x, u)[1](ct)
    target = np.clip(IDX, 0, 3) if mode == "clip" else IDX
    written = [t for t in target if t < 4]
    expected_x = ct.copy()
    expected_x[written] = 0
    last = {t: j for j, t in enumerate(target) if t < 4}  # position -> index of the last write
    expected_u = np.zeros_like(u)
    for t, j in last.items():
        expected_u[j] = ct[t]
    np.testing.assert_array_equal(gx, expected_x)
    np.testing.assert_array_equal(gu, expected_u)
    check_grads(fn, (x, u), order=2)


@pytest.mark.parametrize("mode", ["drop", "clip"])
def test_scatter_keeps_the_last_write_in_c_order_of_multidimensional_indices(mode):
    x, u = normal(2, 4, 3), normal(2, 2, 3, 3)
    idx = np.array([[2, 0, 2], [5, 2, 0]])  # 2 three times, 0 twice, 5 out of range
    target = np.clip(idx, 0, 3) if mode == "clip" else idx
    expected, last = x.copy(), {}
    for (a, b), t in np.ndenumerate(target):
        if t < 4:
            expected[:, t] = u[:, a, b]
            last[t] = (a, b)
    fn = lambda x, u: lax.scatter(x, u, idx, axis=1, mode=mode)  # noqa: E731
    np.testing.assert_array_equal(fn(x, u), expected)
    ct = normal(2, 4, 3)
    gu = ftx.vjp(fn, x, u)[1](ct)[1]
    expected_u = np.zeros_like(u)
    for t, (a, b) in last.items():
        expected_u[:, a, b] = ct[:, t]
    np.testing.assert_array_equal(gu, expected_u)


@pytest.mark.parametrize("mode", ["drop", "clip"])
@pytest.mark.parametrize("zeros", [0, 1, 2])  # zero updates at the repeated index
def test_scatter_mul_gradient_with_repeated_indices_and_zero_updates(mode, zeros):
    x, u = normal(4, 2), normal(5, 2)
    u[[0, 2, 3][:zeros], 0] = 0.0
    fn = lambda x, u: lax.scatter_mul(x, u, IDX, mode=mode)  # noqa: E731
    np.testing.assert_allclose(fn(x, u), scatter_oracle(np.multiply, x, u, IDX, mode))
    check_grads(fn, (x, u), order=2)
    # d out[1, 0] / d u[0, 0] = x[1, 0] * u[2, 0] * u[3, 0] (the other factors at row 1)
    gu = grad_of_inner(lambda u: fn(x, u), np.eye(8)[2].reshape(4, 2))(u)
    np.testing.assert_allclose(gu[0, 0], x[1, 0] * u[2, 0] * u[3, 0], rtol=1e-12)


@pytest.mark.parametrize("op, ufunc", [(lax.scatter_min, np.minimum),
                                       (lax.scatter_max, np.maximum)])
def test_scatter_min_max_gradients_follow_the_winner_and_share_ties(op, ufunc):
    x = np.array([0.0, 1.0, 2.0, 3.0])
    u = np.array([5.0, -4.0, 7.0, 9.0, 1.0])  # index 1 gets 5 and 7 and 9; 3 gets -4
    idx = np.array([1, 3, 1, 1, 2])
    fn = lambda x, u: op(x, u, idx)  # noqa: E731
    np.testing.assert_array_equal(fn(x, u), scatter_oracle(ufunc, x, u, idx, "drop"))
    check_grads(fn, (x, u), order=2)
    # a tie between the operand and an update shares the derivative equally
    x_tie = np.array([0.0, 1.0, 1.0, 3.0])
    gx, gu = grad_of_inner(lambda x, u: op(x, u, idx), np.eye(4)[2], (0, 1))(x_tie, u)
    np.testing.assert_array_equal(gx, [0, 0, 0.5, 0])
    np.testing.assert_array_equal(gu, [0, 0, 0, 0, 0.5])


def test_scatter_rules_of_integer_arrays_need_no_tangents():
    x, u = np.arange(4), np.array([5, 6])
    out, t = ftx.jvp(lambda x: lax.scatter_max(x, u, np.array([0, 0])), (x,),
                     (np.zeros(4, ftx.core.dtypes.float0),))
    np.testing.assert_array_equal(out, [6, 1, 2, 3])


@pytest.mark.parametrize("prim, ufunc", [(lax.scatter_add, np.add), (lax.scatter, None),
                                         (lax.scatter_mul, np.multiply),
                                         (lax.scatter_max, np.maximum)])
@pytest.mark.parametrize("in_axes", [(None, None, 0), (0, None, 0), (None, 0, 0), (1, 1, 1),
                                     (0, 0, None), (None, 1, None), (1, None, None)])
def test_vmap_of_scatters(prim, ufunc, in_axes):
    x, u = normal(3, 4, 2), normal(3, 5, 2)
    idx = np.array([[1, 3, 1, 1, 7], [0, 0, 2, 4, 3], [2, 2, 2, 2, 2]])
    if ufunc is None:  # which repeated update wins is unspecified: keep these unique
        idx = np.array([[1, 3, 0, 7, 2], [0, 1, 2, 3, 4], [3, 2, 1, 0, 9]])
    args = [x, u, idx]
    args = [a[0] if d is None else np.moveaxis(a, 0, d) for a, d in zip(args, in_axes)]
    fn = lambda x, u, i: prim(x, u, i)  # noqa: E731
    out = ftx.vmap(fn, in_axes=in_axes)(*args)
    pick = lambda a, d, b: a if d is None else np.take(a, b, axis=d)  # noqa: E731
    expected = np.stack([scatter_oracle(ufunc, *[pick(a, d, b) for a, d in zip(args, in_axes)],
                                        "drop") for b in range(3)])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


# --------------------------------------------------------------------------- ftx.numpy indexing

def test_grad_and_vmap_of_getitem_and_at_through_tracer_methods():
    x, v = normal(4, 3), normal(3, 3)
    i = np.array([2, 0, 2])
    w = normal(3, 3)
    g = grad_of_inner(lambda x: x[i], w)(x)
    expected = np.zeros_like(x)
    np.add.at(expected, i, w)
    np.testing.assert_allclose(g, expected)
    w = normal(4, 3)
    gx, gv = grad_of_inner(lambda x, v: x.at[i].add(v) ** 2, w, (0, 1))(x, v)
    out = x.copy()
    np.add.at(out, i, v)
    np.testing.assert_allclose(gx, 2 * out * w)
    np.testing.assert_allclose(gv, (2 * out * w)[i])
    xs, vs = normal(5, 4, 3), normal(5, 3, 3)
    got = ftx.vmap(lambda x, v: x.at[i].add(v))(xs, vs)
    for b in range(5):
        out = xs[b].copy()
        np.add.at(out, i, vs[b])
        np.testing.assert_allclose(got[b], out)
    idx = RNG.integers(-4, 4, (5, 2))
    np.testing.assert_array_equal(ftx.vmap(lambda i: I.getitem(x, (i, slice(1, None))))(idx),
                                  np.stack([x[r, 1:] for r in idx]))


def test_jacobians_and_vmap_of_grad_of_indexing():
    x = normal(4, 3)
    i = np.array([[1, -1], [0, 1]])
    jac = ftx.jacrev(lambda x: I.getitem(x, (i, slice(None, None, -2))))(x)
    jac_fwd = ftx.jacfwd(lambda x: I.getitem(x, (i, slice(None, None, -2))))(x)
    expected = np.zeros((2, 2, 2, 4, 3))
    for a in range(2):
        for b in range(2):
            for c, col in enumerate([2, 0]):
                expected[a, b, c, i[a, b] % 4, col] = 1
    np.testing.assert_array_equal(jac, expected)
    np.testing.assert_array_equal(jac_fwd, expected)
    # per-example gradients with per-example indices (batched indices, batched operand)
    xs, idx = normal(3, 4, 3), np.array([[0, 0], [3, -4], [1, 2]])
    w = normal(2, 3)
    g = ftx.vmap(grad_of_inner(lambda x, i: fnp.sin(x[i]), w))(xs, idx)
    expected = np.zeros_like(xs)
    for b in range(3):
        np.add.at(expected[b], idx[b], np.cos(xs[b][idx[b]]) * w)
    np.testing.assert_allclose(g, expected)


def test_at_set_with_repeated_indices_is_differentiated_consistently():
    x, v = normal(4), normal(4)
    i = np.array([1, 2, 1, 1])
    out = I.at(x)[i].set(v)
    gv = grad_of_inner(lambda v: I.at(x)[i].set(v), np.arange(1.0, 5.0))(v)
    # exactly one of the three writes to index 1 is in the output; it alone gets the gradient
    winners = [j for j in (0, 2, 3) if out[1] == v[j]]
    assert len(winners) == 1
    expected = np.zeros(4)
    expected[winners[0]], expected[1] = 2.0, 3.0
    np.testing.assert_array_equal(gv, expected)
    check_grads(lambda x, v: I.at(x)[i].set(v), (x, v), order=2)


def test_at_updates_with_out_of_range_indices_drop_their_gradient():
    x, v = normal(4, 2), normal(3, 2)
    i = np.array([1, 9, -7])  # 9 and -7 (-> -3) are out of range: dropped
    fn = lambda x, v: I.at(x)[i].add(v)  # noqa: E731
    w = normal(4, 2)
    gx, gv = grad_of_inner(lambda x, v: fn(x, v) ** 2, w, (0, 1))(x, v)
    res = x.copy()
    res[1] += v[0]
    np.testing.assert_allclose(gx, 2 * res * w)
    np.testing.assert_allclose(gv, np.stack([2 * res[1] * w[1], np.zeros(2), np.zeros(2)]))


# --------------------------------------------------------------------------- random indices

def positions(shape, idx):
    """For each element of x[idx], the flat position of x it reads (NumPy indexing of an iota)."""
    return np.arange(int(np.prod(shape))).reshape(shape)[idx]


@SETTINGS
@given(index_cases())
def test_vjp_of_getitem_and_at_set_match_numpy_oracles(case):
    shape, items, arrays = case
    idx = build(items, arrays)
    try:
        pos = positions(shape, idx)
    except IndexError:
        return
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal(pos.shape)
    # the transpose of a read: the cotangents summed at each position read (bincount oracle)
    expected = np.bincount(pos.ravel(), weights=w.ravel(), minlength=x.size).reshape(shape)
    np.testing.assert_allclose(vjp1(lambda x: I.getitem(x, idx), x, w), expected, atol=1e-12)
    # a write: the operand's cotangent is zero where written; each position's last write wins
    v = RNG.standard_normal(pos.shape)
    _, f_vjp = ftx.vjp(lambda x, v: I.at(x)[idx].set(v), x, v)
    ct = RNG.standard_normal(shape)
    gx, gv = f_vjp(ct)
    expected_x = ct.copy().ravel()
    expected_x[pos.ravel()] = 0
    last = {p: j for j, p in enumerate(pos.ravel())}
    expected_v = np.zeros(pos.size)
    for p, j in last.items():
        expected_v[j] = ct.ravel()[p]
    np.testing.assert_array_equal(gx, expected_x.reshape(shape))
    np.testing.assert_array_equal(gv, expected_v.reshape(pos.shape))


@SETTINGS
@given(index_cases(masks=False), st.booleans())
def test_vmap_of_getitem_with_batched_index_arrays_matches_a_loop(case, batch_x):
    shape, items, arrays = case
    if not arrays:
        return
    variants = [arrays, [-1 - a for a in arrays]]  # both stay in range, negatives included
    x = RNG.standard_normal((2,) + shape)
    try:
        expected = np.stack([(x[b] if batch_x else x[0])[build(items, variants[b])]
                             for b in range(2)])
    except IndexError:
        return
    stacked = [np.stack([variants[0][k], variants[1][k]]) for k in range(len(arrays))]
    out = ftx.vmap(lambda x, *a: I.getitem(x, build(items, a)),
                   in_axes=(0 if batch_x else None,) + (0,) * len(arrays))(
        x if batch_x else x[0], *stacked)
    np.testing.assert_array_equal(out, expected)
