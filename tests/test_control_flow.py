"""Structured control flow (cond, switch, while_loop, fori_loop, scan, map, associative_scan)
against plain Python loops on NumPy, through every transform and their nestings.

Oracles: Python loops / ifs on NumPy for values; central finite differences (directly or via
ftx.testing.check_grads, which also checks <vjp(u), v> == <u, jvp(v)>) for derivatives; a
Python loop over the batch for vmap. The op records in tests/op_records/control_flow.py add
eval_jaxpr / eval_shape / second-order / every-in_axes coverage.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.testing import check_grads
from ftx.transforms.control_flow import (associative_scan, cond, fori_loop, map as cf_map, scan,
                                         switch, while_loop)

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _type_check_every_trace():
    with ftx.config.override(enable_checks=True):
        yield


def central_grad(f, x, eps=1e-6):
    """d f / d x by central differences (f scalar-valued, x a float64 array)."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def stack_loop(f, *batched):
    outs = [f(*args) for args in zip(*batched)]
    return ftx.tree_util.tree_map(lambda *xs: np.stack(xs), *outs)


def assert_tree_close(a, b, **kw):
    la, lb = ftx.tree_util.tree_leaves(a), ftx.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
        np.testing.assert_allclose(x, y, **kw)


# =========================================================================== scan

W = RNG.normal(size=(3, 3)) * 0.5
U = RNG.normal(size=(3, 2)) * 0.5


def rnn_loss(h0, w, xs):
    def cell(h, x):
        h = fnp.tanh(w @ h + U @ x)
        return h, fnp.sin(h)
    h, ys = scan(cell, h0, xs)
    return fnp.sum(h) + fnp.sum(ys * ys)


def rnn_loss_ref(h, w, xs):
    total = 0.0
    for x in xs:
        h = np.tanh(w @ h + U @ x)
        total += np.sum(np.sin(h) ** 2)
    return np.sum(h) + total


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_pytree_carry_matches_python_loop(dtype, reverse):
    xs = {"a": RNG.integers(-3, 4, size=(5, 2)).astype(dtype),
          "b": RNG.integers(-3, 4, size=5).astype(dtype)}
    init = (np.ones(2, dtype), np.int64(0))

    def body(carry, x):
        acc, n = carry
        acc = acc * 2 - x["a"] * x["b"]
        return (acc, n + 1), {"sum": acc + n, "n": n}

    carry, ys = scan(body, init, xs, reverse=reverse)
    acc, n, sums, ns = init[0], init[1], [None] * 5, [None] * 5
    for i in (reversed(range(5)) if reverse else range(5)):
        acc = acc * 2 - xs["a"][i] * xs["b"][i]
        sums[i], ns[i] = acc + n, n
        n = n + 1
    assert_tree_close(carry, (acc, np.asarray(n)))
    assert_tree_close(ys, {"sum": np.stack(sums), "n": np.stack(ns)})


def test_scan_without_xs_and_with_length_zero():
    carry, ys = scan(lambda c, _: (c * 2.0, c), np.float32(1), None, length=4)
    assert_tree_close((carry, ys), (np.float32(16), np.array([1, 2, 4, 8], np.float32)))
    carry, ys = scan(lambda c, x: (c + x, c * x), np.ones(2), np.zeros((0, 2)))
    assert_tree_close((carry, ys), (np.ones(2), np.zeros((0, 2))))


def test_scan_python_scalar_init_takes_the_body_dtype():
    carry, ys = scan(lambda c, x: (c + x, c), 0.0, np.arange(4, dtype=np.float32))
    assert carry.dtype == np.float32 and ys.dtype == np.float32
    assert float(carry) == 6.0


def test_scan_eager_traces_the_body_once():
    calls = []

    def body(c, x):
        calls.append(1)
        return c * 0.5 + x, c

    carry, _ = scan(body, np.float64(0), np.ones(200))
    assert len(calls) == 1
    assert np.isclose(carry, 2.0 * (1 - 0.5 ** 200))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_gradients_match_finite_differences(reverse):
    h0, xs = RNG.normal(size=3), RNG.normal(size=(6, 2))

    def loss(h0, w, xs):
        def cell(h, x):
            h = fnp.tanh(w @ h + U @ x)
            return h, fnp.sin(h)
        h, ys = scan(cell, h0, xs, reverse=reverse)
        return fnp.sum(h) + fnp.sum(ys * ys)

    g_h, g_w, g_x = ftx.grad(loss, argnums=(0, 1, 2))(h0, W, xs)
    ref = lambda *a: float(loss(*a))  # noqa: E731  (eager ftx is NumPy: an independent path)
    np.testing.assert_allclose(g_h, central_grad(lambda h: ref(h, W, xs), h0), atol=1e-7)
    np.testing.assert_allclose(g_w, central_grad(lambda w: ref(h0, w, xs), W), atol=1e-7)
    np.testing.assert_allclose(g_x, central_grad(lambda x: ref(h0, W, x), xs), atol=1e-7)
    assert np.isclose(loss(h0, W, xs), rnn_loss_ref(h0, W, xs[::-1]) if reverse
                      else rnn_loss_ref(h0, W, xs))
    check_grads(loss, (h0, W, xs), order=2)


def test_scan_carry_made_differentiable_by_the_body():
    # The carry starts constant and only becomes dependent on w inside the loop: the
    # jvp and partial-eval fixed points must both find that out.
    xs = RNG.normal(size=(5, 3))

    def f(w):
        carry, ys = scan(lambda c, x: (c * 0.5 + w * x, c * w), np.zeros(3), xs)
        return fnp.sum(carry) + fnp.sum(ys ** 2)

    w = RNG.normal(size=3)
    np.testing.assert_allclose(ftx.grad(f)(w), central_grad(lambda v: float(f(v)), w), atol=1e-7)
    _, t = ftx.jvp(f, (w,), (np.ones(3),))
    np.testing.assert_allclose(t, central_grad(lambda v: float(f(v)), w).sum(), rtol=1e-6)


def test_scan_loop_invariant_residuals_are_not_stacked():
    h0, xs = RNG.normal(size=3), RNG.normal(size=(40, 2))
    _, f_vjp = ftx.vjp(rnn_loss, h0, W, xs)
    shapes = [np.shape(r) for r in f_vjp.residuals]
    assert (3, 3) in shapes                      # W is saved once...
    assert (40, 3, 3) not in shapes              # ...not once per step


def test_scan_under_vmap_matches_a_loop():
    hs, ws = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3, 3)) * 0.5
    xss = RNG.normal(size=(4, 6, 2))
    for in_axes in [(0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0)]:
        args = [b if ax == 0 else b[0] for b, ax in zip((hs, ws, xss), in_axes)]
        out = ftx.vmap(rnn_loss, in_axes=in_axes)(*args)
        loop_args = [b if ax == 0 else [b[0]] * 4 for b, ax in zip((hs, ws, xss), in_axes)]
        np.testing.assert_allclose(out, stack_loop(rnn_loss_ref, *loop_args), rtol=1e-12)


def test_vmap_of_grad_of_scan():
    hs, xs = RNG.normal(size=(3, 3)), RNG.normal(size=(5, 2))
    g = ftx.vmap(ftx.grad(rnn_loss, argnums=(0, 1)), in_axes=(0, None, None))(hs, W, xs)
    for i in range(3):
        np.testing.assert_allclose(g[0][i], central_grad(lambda h: rnn_loss_ref(h, W, xs), hs[i]),
                                   atol=1e-7)
        np.testing.assert_allclose(g[1][i], central_grad(lambda w: rnn_loss_ref(hs[i], w, xs), W),
                                   atol=1e-7)


def test_hessian_through_scan():
    xs = RNG.normal(size=(4, 2))
    f = lambda h: rnn_loss(h, W, xs)  # noqa: E731
    h0 = RNG.normal(size=3)
    hess = ftx.hessian(f)(h0)
    fd = np.stack([central_grad(lambda h: ftx.grad(f)(h)[i], h0, eps=1e-5) for i in range(3)])
    np.testing.assert_allclose(hess, fd, atol=1e-6)


# =========================================================================== cond / switch

def test_cond_runs_only_the_chosen_branch():
    ran = []

    def t(x):
        ran.append("t")
        return x + 1.0

    def f(x):
        ran.append("f")
        return x - 1.0

    assert cond(True, t, f, 1.0) == 2.0 and cond(np.bool_(False), t, f, 1.0) == 0.0
    assert cond(3, t, f, 1.0) == 2.0  # a nonzero integer predicate is true
    assert ran.count("t") == ran.count("f")  # each branch traced once per call, none run twice


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_cond_pytree_operands_and_outputs(dtype):
    x, n = np.arange(3).astype(dtype), np.int32(4)

    def f(p, x, n):
        return cond(p, lambda a: {"x": a[0] * 2, "n": a[1] + 1},
                    lambda a: {"x": a[0] - 1, "n": a[1] * 3}, (x, n))

    assert_tree_close(f(True, x, n), {"x": x * 2, "n": n + 1})
    assert_tree_close(f(False, x, n), {"x": x - 1, "n": n * 3})
    ps, xs = np.array([True, False, True]), np.stack([x, x + 1, x + 2])
    assert_tree_close(ftx.vmap(f, in_axes=(0, 0, None))(ps, xs, n),
                      stack_loop(lambda p, x: f(p, x, n), ps, xs))


def test_cond_gradient_differentiates_only_the_taken_branch():
    # The untaken branch has a NaN derivative at x < 0; cond must not touch it.
    f = lambda x: cond(x > 0, fnp.sqrt, lambda x: -3.0 * x, x)  # noqa: E731
    assert ftx.grad(f)(-4.0) == -3.0
    assert np.isclose(ftx.grad(f)(4.0), 0.25)


def test_grad_of_grad_of_cond():
    f = lambda x: cond(x > 0, lambda x: fnp.sin(x) * x ** 2, lambda x: fnp.cos(x) ** 3, x)  # noqa
    for x in (0.7, -0.4):
        d2 = ftx.grad(ftx.grad(f))(x)
        fd = (ftx.grad(f)(x + 1e-5) - ftx.grad(f)(x - 1e-5)) / 2e-5
        ref = (-np.sin(x) * x * x + 4 * x * np.cos(x) + 2 * np.sin(x) if x > 0
               else 6 * np.cos(x) * np.sin(x) ** 2 - 3 * np.cos(x) ** 3)
        assert np.isclose(d2, ref) and np.isclose(d2, fd, atol=1e-6)
        check_grads(f, (x,), order=3)


def test_cond_with_closed_over_tracers_and_batched_predicate():
    def f(x, y):  # the branches close over y; the predicate depends on x
        return cond(x[0] > y, lambda v: v * y, lambda v: fnp.sin(v) + y, x)

    xs, ys = RNG.normal(size=(6, 3)), RNG.normal(size=6)
    assert_tree_close(ftx.vmap(f)(xs, ys), stack_loop(f, xs, ys))
    g = ftx.vmap(ftx.grad(lambda x, y: fnp.sum(f(x, y)), argnums=(0, 1)))(xs, ys)
    for i in range(6):
        fx = lambda v: float(np.sum(f(v, ys[i])))  # noqa: E731
        np.testing.assert_allclose(g[0][i], central_grad(fx, xs[i]), atol=1e-7)


def test_switch_clamps_the_index_and_batches():
    branches = [lambda v: v * 2.0, fnp.sin, lambda v: v ** 3]
    ref = [lambda v: v * 2.0, np.sin, lambda v: v ** 3]
    x = np.array([0.3, -1.2])
    for i in (-5, 0, 1, 2, 9):
        assert_tree_close(switch(i, branches, x), ref[min(max(i, 0), 2)](x))
    idx = np.array([-1, 0, 1, 2, 3])
    xs = RNG.normal(size=(5, 2))
    out = ftx.vmap(lambda i, v: switch(i, branches, v))(idx, xs)
    assert_tree_close(out, np.stack([ref[min(max(i, 0), 2)](v) for i, v in zip(idx, xs)]))
    g = ftx.grad(lambda v: fnp.sum(switch(2, branches, v)))(x)
    np.testing.assert_allclose(g, 3 * x ** 2)


def test_cond_weak_branch_output_takes_the_other_branch_dtype():
    out = cond(True, lambda x: 1.0, lambda x: x, np.float32(3))
    assert out.dtype == np.float32 and out == 1.0


# =========================================================================== while / fori

def halve(x):
    return while_loop(lambda v: fnp.abs(v) > 1.0, lambda v: v * 0.5 + fnp.sin(v) * 0.01, x)


def halve_ref(x):
    while abs(x) > 1.0:
        x = x * 0.5 + np.sin(x) * 0.01
    return x


def test_while_loop_pytree_carry_matches_python_loop():
    def body(c):
        return {"i": c["i"] + 1, "x": c["x"] * 1.5, "n": c["n"] - 2}

    out = while_loop(lambda c: c["x"].sum() < 20.0, body,
                     {"i": 0, "x": np.ones(2, np.float32), "n": np.int32(10)})
    i, x, n = 0, np.ones(2, np.float32), np.int32(10)
    while x.sum() < 20.0:
        i, x, n = i + 1, x * 1.5, n - 2
    assert_tree_close(out, {"i": np.asarray(i), "x": x, "n": np.asarray(n, np.int32)})


def test_while_loop_batched_predicate_runs_every_lane_to_its_end():
    xs = np.array([0.5, 3.0, -17.0, 100.0, 1e4])
    np.testing.assert_allclose(ftx.vmap(halve)(xs), [halve_ref(x) for x in xs], rtol=1e-12)
    # An unbatched carry next to a batched predicate becomes per-lane as well.
    counted = ftx.vmap(lambda x: while_loop(lambda c: fnp.abs(c[1]) > 1.0,
                                            lambda c: (c[0] + 1, c[1] * 0.5), (0, x)))(xs)
    np.testing.assert_array_equal(counted[0], [0, 2, 5, 7, 14])


def test_jacfwd_through_while_loop():
    def f(x):
        return while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, fnp.sin(c[1]) * c[1] + 0.1),
                          (0, x))[1]

    x = np.array([0.3, -0.5, 1.1])
    jac = ftx.jacfwd(f)(x)
    fd = np.stack([central_grad(lambda v: f(v)[i], x) for i in range(3)])
    np.testing.assert_allclose(jac, fd, atol=1e-7)
    check_grads(f, (x,), order=2, modes=("fwd",))
    # linearize (forward mode through partial evaluation) works too.
    _, f_jvp = ftx.linearize(f, x)
    np.testing.assert_allclose(f_jvp(np.ones(3)), fd.sum(axis=1), atol=1e-7)


def test_reverse_mode_through_unbounded_while_loop_points_to_max_steps():
    with pytest.raises(ValueError, match="max_steps"):
        ftx.grad(halve)(3.0)
    # A fori_loop whose bound is traced (here by vmap) is a while_loop too.
    f = lambda x, n: fori_loop(0, n, lambda i, c: c * 2.0, x)  # noqa: E731
    with pytest.raises(ValueError, match="max_steps"):
        ftx.vmap(ftx.grad(f))(np.array([1.0, 2.0]), np.array([2, 3]))


@pytest.mark.parametrize("x", [3.0, -17.0, 0.5, 100.0])
def test_bounded_while_loop_reverse_mode_matches_finite_differences(x):
    bounded = lambda v: while_loop(lambda v: fnp.abs(v) > 1.0,  # noqa: E731
                                   lambda v: v * 0.5 + fnp.sin(v) * 0.01, v, max_steps=12)
    assert np.isclose(bounded(x), halve_ref(x))
    fd = (halve_ref(x + 1e-6) - halve_ref(x - 1e-6)) / 2e-6
    assert np.isclose(ftx.grad(bounded)(x), fd, atol=1e-7)
    check_grads(bounded, (x,), order=2)


def test_bounded_while_loop_stops_at_max_steps_and_vmaps():
    assert while_loop(lambda x: x < 100.0, lambda x: x * 2.0, 1.0, max_steps=3) == 8.0
    assert while_loop(lambda x: x < 100.0, lambda x: x * 2.0, 1.0, max_steps=0) == 1.0
    f = lambda x: while_loop(lambda x: x < 100.0, lambda x: x * 2.0 + x ** 2 * 0.01,  # noqa
                             x, max_steps=4)
    xs = np.array([1.0, 30.0, 150.0])
    np.testing.assert_allclose(ftx.vmap(f)(xs), [f(x) for x in xs])
    g = ftx.vmap(ftx.grad(f))(xs)
    np.testing.assert_allclose(g, [central_grad(lambda v: f(float(v)), x) for x in xs],
                               rtol=1e-6)


def test_grad_through_nested_bounded_while_in_scan_in_cond():
    def f(x):
        def step(c, xi):
            c = while_loop(lambda c: c < 2.0, lambda c: c * 1.5 + 0.1 * xi, c, max_steps=10)
            return c * 0.5, c
        return cond(x[0] > 0, lambda x: fnp.sum(scan(step, x[1], x)[1]), lambda x: x[2] ** 2, x)

    for x in (np.array([0.4, 0.3, 0.9]), np.array([-0.4, 0.3, 0.9])):
        np.testing.assert_allclose(ftx.grad(f)(x), central_grad(lambda v: float(f(v)), x),
                                   atol=1e-6)
        check_grads(f, (x,), order=2)


def test_fori_loop_static_bounds_is_a_scan_and_reverse_differentiable():
    f = lambda x: fori_loop(1, 5, lambda i, c: c * 0.9 + fnp.sin(c) * i, x)  # noqa: E731

    def ref(x):
        for i in range(1, 5):
            x = x * 0.9 + np.sin(x) * i
        return x

    x = np.array([0.3, -0.2], np.float32)
    out = f(x)
    assert out.dtype == np.float32  # a Python-int index is weak: it keeps the carry's dtype
    np.testing.assert_allclose(out, ref(x), rtol=1e-6)
    assert "scan" in str(ftx.make_jaxpr(f)(x)) and "while" not in str(ftx.make_jaxpr(f)(x))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(ftx.grad(lambda v: fnp.sum(f(v)))(x64),
                               central_grad(lambda v: np.sum(ref(v)), x64), atol=1e-7)
    assert fori_loop(5, 2, lambda i, c: c + i, 7) == 7  # an empty range


def test_fori_loop_traced_bounds_is_a_while_loop():
    f = lambda x, n: fori_loop(0, n, lambda i, c: c * 2.0 + i.astype(np.float64), x)  # noqa

    def ref(x, n):
        for i in range(n):
            x = x * 2.0 + i
        return x

    assert "while" in str(ftx.make_jaxpr(f)(1.0, 3))
    xs, ns = np.array([0.5, 1.0, -2.0]), np.array([3, 0, 5])
    np.testing.assert_allclose(ftx.vmap(f)(xs, ns), [ref(x, n) for x, n in zip(xs, ns)])
    _, t = ftx.jvp(lambda x: f(x, 4), (0.5,), (1.0,))
    assert t == 16.0


# =========================================================================== map, associative_scan

@pytest.mark.parametrize("batch_size", [None, 1, 2, 3, 7])
def test_map_matches_a_loop_for_every_batch_size(batch_size):
    xs = {"a": RNG.normal(size=(5, 3)), "b": RNG.normal(size=5)}
    f = lambda d: fnp.sin(d["a"]) * d["b"]  # noqa: E731
    out = cf_map(f, xs, batch_size=batch_size)
    np.testing.assert_allclose(out, np.stack([np.sin(a) * b for a, b in zip(xs["a"], xs["b"])]))
    g = ftx.grad(lambda a: fnp.sum(cf_map(f, {"a": a, "b": xs["b"]}, batch_size=batch_size) ** 2))
    a, b = xs["a"], xs["b"][:, None]
    np.testing.assert_allclose(g(a), 2 * np.sin(a) * np.cos(a) * b ** 2)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), data=st.data())
def test_associative_scan_matches_numpy_accumulate(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    reverse = data.draw(st.booleans())
    op, ufunc = data.draw(st.sampled_from([(lax.add, np.add), (lax.max, np.maximum),
                                           (lax.mul, np.multiply)]))
    x = np.random.default_rng(len(shape)).integers(-3, 4, size=shape).astype(np.int64)
    expected = np.flip(x, axis) if reverse else x
    expected = ufunc.accumulate(expected, axis=axis)
    expected = np.flip(expected, axis) if reverse else expected
    np.testing.assert_array_equal(associative_scan(op, x, reverse=reverse, axis=axis), expected)


def test_associative_scan_pytree_gradient_and_vmap():
    def recurrence(a, b):  # h[t] = a[t] h[t-1] + b[t]
        return associative_scan(lambda l, r: (l[0] * r[0], r[0] * l[1] + r[1]), (a, b))[1]

    def ref(a, b):
        h, out = 0.0, []
        for at, bt in zip(a, b):
            h = at * h + bt
            out.append(h)
        return np.array(out)

    a, b = RNG.uniform(0.5, 1.0, size=11), RNG.normal(size=11)
    np.testing.assert_allclose(recurrence(a, b), ref(a, b))
    np.testing.assert_allclose(ftx.grad(lambda a: fnp.sum(recurrence(a, b)))(a),
                               central_grad(lambda v: ref(v, b).sum(), a), atol=1e-7)
    bs = RNG.normal(size=(3, 11))
    np.testing.assert_allclose(ftx.vmap(recurrence, in_axes=(None, 0))(a, bs),
                               [ref(a, r) for r in bs])


# =========================================================================== errors

def test_scan_carry_type_change_shows_both_types_and_names_the_function():
    def grows(c, x):
        return fnp.concatenate([c, c]), x

    with pytest.raises(TypeError, match=r"carry has input type f64\[2\] but .*grows at .* "
                                        r"returns f64\[4\] \(the shapes differ\)"):
        scan(grows, np.ones(2), np.ones(3))

    def to_f32(c, x):
        return {"a": c["a"].astype(np.float32)}, x

    with pytest.raises(TypeError, match=r"carry\['a'\] has input type f64\[2\] but .*to_f32 at .* "
                                        r"f32\[2\] \(the dtypes differ\)"):
        scan(to_f32, {"a": np.ones(2)}, np.ones(3))
    with pytest.raises(TypeError, match="same pytree structure"):
        scan(lambda c, x: ((c, c), x), 1.0, np.ones(3))
    with pytest.raises(TypeError, match="must return a pair"):
        scan(lambda c, x: c, 1.0, np.ones(3))
    with pytest.raises(ValueError, match="same leading axis length"):
        scan(lambda c, x: (c, x), 1.0, (np.ones(3), np.ones(4)))


def test_while_and_fori_carry_type_change_show_both_types():
    def body(x):
        return x.astype(np.int32)

    with pytest.raises(TypeError, match=r"while_loop: .*init_val has input type f32\[\] but "
                                        r".*body at .* returns i32\[\]"):
        while_loop(lambda x: x < 3, body, np.float32(0))
    with pytest.raises(TypeError, match=r"fori_loop: .*init_val\[1\] has input type f64\[3\] "
                                        r"but .*<lambda> at .* returns f64\[1\]"):
        fori_loop(0, 3, lambda i, c: (c[0], c[1][:1]), (1.0, np.ones(3)))
    with pytest.raises(TypeError, match=r"cond_fun .* must return a boolean scalar, but it "
                                        r"returns \(bool\[2\]\)"):
        while_loop(lambda x: x < 3, lambda x: x + 1, np.zeros(2))


def test_cond_branch_output_mismatch_names_the_branches_and_types():
    def head(x):
        return x[:2]

    with pytest.raises(TypeError, match=r"false_fun and true_fun must return the same types.*"
                                        r"f64\[3\] from false_fun and f64\[2\] from true_fun"
                                        r".*true_fun is .*head at "):
        cond(True, head, lambda x: x, np.ones(3))
    with pytest.raises(TypeError, match=r"f32\[3\] from false_fun and i32\[3\] from true_fun"):
        cond(True, lambda x: x.astype(np.int32), lambda x: x, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="same pytree structure"):
        cond(True, lambda x: (x, x), lambda x: x, 1.0)
    with pytest.raises(TypeError, match="branches\\[0\\] and branches\\[1\\]"):
        switch(0, [lambda x: x, lambda x: x[None]], np.ones(2))
    with pytest.raises(TypeError, match=r"pred must be a scalar, got bool\[2\]"):
        cond(np.array([True, False]), lambda x: x, lambda x: x, 1.0)
    with pytest.raises(TypeError, match="boolean or integer"):
        cond(1.5, lambda x: x, lambda x: x, 1.0)


def test_eager_outputs_never_alias_the_inputs():
    x = np.ones(3)
    outs = [scan(lambda c, v: (c, v), x, np.zeros((0, 1)))[0],
            while_loop(lambda c: False, lambda c: c, x),
            cond(True, lambda v: v, lambda v: v * 2.0, x)]
    for out in outs:
        np.testing.assert_array_equal(out, x)
        assert not np.shares_memory(out, x)
