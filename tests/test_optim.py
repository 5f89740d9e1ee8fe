"""ftx.optim: optimizer steps against updates computed by hand with NumPy, schedules against
their formulas, states as pytrees, dtype stability, and jit/vmap of the update."""
import math

import numpy as np
import pytest

import ftx
from ftx import nn, optim, random
from ftx.tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten


def _params(dtype=np.float64):
    return {"w": np.array([[1.0, -2.0], [0.5, 3.0]], dtype), "b": np.array([0.1, -0.2], dtype)}


def _grads(step, dtype=np.float64):
    rng = np.random.default_rng(step)
    return {"w": rng.standard_normal((2, 2)).astype(dtype),
            "b": rng.standard_normal(2).astype(dtype)}


def _run(opt, steps=3, dtype=np.float64, jit=False):
    params = _params(dtype)
    state = opt.init(params)

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    step = ftx.jit(step) if jit else step
    for t in range(steps):
        params, state = step(params, state, _grads(t, dtype))
    return params, state


def _close(a, b, rtol=1e-12):
    for x, y in zip(tree_leaves(a), tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


# =========================================================================== optimizers


def test_sgd_is_params_minus_lr_times_grads():
    params, _ = _run(optim.sgd(0.1))
    expected = _params()
    for t in range(3):
        expected = {k: v - 0.1 * _grads(t)[k] for k, v in expected.items()}
    _close(params, expected)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_with_momentum_by_hand(nesterov):
    lr, mu = 0.1, 0.9
    params, state = _run(optim.sgd(lr, momentum=mu, nesterov=nesterov))
    p, trace = _params(), {k: 0.0 for k in _params()}
    for t in range(3):
        g = _grads(t)
        for k in p:
            trace[k] = g[k] + mu * trace[k]
            step = g[k] + mu * trace[k] if nesterov else trace[k]
            p[k] = p[k] - lr * step
    _close(params, p)
    _close(state[0].trace, trace)
    # ``momentum`` is the same optimizer
    _close(_run(optim.momentum(lr, mu, nesterov))[0], p)


def _adam_by_hand(steps, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decay=None):
    p = _params()
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t in range(1, steps + 1):
        g = _grads(t - 1)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat = m[k] / (1 - b1 ** t)
            v_hat = v[k] / (1 - b2 ** t)
            direction = m_hat / (np.sqrt(v_hat) + eps)
            if decay is None or decay[k]:
                direction = direction + weight_decay * p[k]
            p[k] = p[k] - lr * direction
    return p, m, v


def test_adam_by_formula():
    params, state = _run(optim.adam(0.01), steps=4)
    expected, m, v = _adam_by_hand(4, 0.01)
    _close(params, expected)
    adam_state = state[0]
    assert isinstance(adam_state, optim.ScaleByAdamState)
    assert adam_state.count == 4 and adam_state.count.dtype == np.int32
    assert isinstance(adam_state.count, np.ndarray)
    _close(adam_state.mu, m)
    _close(adam_state.nu, v)


def test_adam_custom_betas_and_first_step_size():
    params, _ = _run(optim.adam(0.05, b1=0.5, b2=0.9, eps=1e-3), steps=3)
    _close(params, _adam_by_hand(3, 0.05, 0.5, 0.9, 1e-3)[0])
    # Adam's first step moves every coordinate by about lr (g / |g|)
    p1, _ = _run(optim.adam(0.01, eps=0.0), steps=1)
    _close(tree_map(lambda a, b: np.abs(a - b), p1, _params()),
           tree_map(lambda x: np.full_like(x, 0.01), _params()), rtol=1e-9)


def test_adamw_by_formula_with_and_without_mask():
    params, _ = _run(optim.adamw(0.01, weight_decay=0.1), steps=3)
    _close(params, _adam_by_hand(3, 0.01, weight_decay=0.1)[0])
    mask = lambda p: {"w": True, "b": False}  # noqa: E731
    params, _ = _run(optim.adamw(0.01, weight_decay=0.1, mask=mask), steps=3)
    _close(params, _adam_by_hand(3, 0.01, weight_decay=0.1, decay={"w": True, "b": False})[0])
    opt = optim.adamw(0.01)
    with pytest.raises(ValueError, match="needs params"):
        opt.update(_grads(0), opt.init(_params()))


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert optim.global_norm(grads) == pytest.approx(5.0)
    clip = optim.clip_by_global_norm(1.0)
    out, state = clip.update(grads, clip.init(grads))
    assert state == optim.EmptyState()
    _close(out, {"a": np.array([0.6, 0.0]), "b": np.array([[0.8]])})
    assert optim.global_norm(out) == pytest.approx(1.0)
    small, _ = optim.clip_by_global_norm(10.0).update(grads, ())
    _close(small, grads)


def test_chain_applies_in_order_and_keeps_one_state_each():
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.5, momentum=0.9))
    params = {"x": np.array([0.0, 0.0])}
    state = opt.init(params)
    assert isinstance(state, tuple) and len(state) == 2
    g = {"x": np.array([3.0, 4.0])}
    updates, state = opt.update(g, state, params)
    _close(updates, {"x": -0.5 * np.array([0.6, 0.8])})
    updates, state = opt.update(g, state, params)
    _close(updates, {"x": -0.5 * (1 + 0.9) * np.array([0.6, 0.8])})
    with pytest.raises(TypeError, match="GradientTransformation"):
        optim.chain(optim.sgd(0.1), 0.1)
    with pytest.raises(ValueError, match="state has 1 entries for 2"):
        opt.update(g, state[:1], params)


# =========================================================================== schedules


def test_schedule_values():
    assert optim.constant(0.3)(100) == 0.3
    lin = optim.linear(1.0, 0.0, 10, transition_begin=5)
    np.testing.assert_allclose([lin(n) for n in (0, 5, 10, 15, 30)], [1, 1, 0.5, 0, 0])
    ed = optim.exponential_decay(2.0, 10, 0.5)
    np.testing.assert_allclose([ed(n) for n in (0, 5, 10, 20)], [2, 2 * 0.5 ** 0.5, 1, 0.5])
    stair = optim.exponential_decay(2.0, 10, 0.5, staircase=True, end_value=0.3)
    np.testing.assert_allclose([stair(n) for n in (9, 10, 19, 20, 100)], [2, 1, 1, 0.5, 0.3])
    delayed = optim.exponential_decay(1.0, 10, 0.1, transition_begin=5)
    np.testing.assert_allclose([delayed(n) for n in (0, 5, 15)], [1, 1, 0.1])
    cos = optim.cosine_decay(1.0, 100, alpha=0.1)
    for n in (0, 25, 50, 100, 150):
        c = 0.5 * (1 + math.cos(math.pi * min(n, 100) / 100))
        assert cos(n) == pytest.approx(0.9 * c + 0.1)
    wc = optim.warmup_cosine_decay(0.0, 1.0, 10, 110, end_value=0.1)
    np.testing.assert_allclose([wc(n) for n in (0, 5, 10, 60, 110, 200)],
                               [0, 0.5, 1, 0.1 + 0.9 * 0.5, 0.1, 0.1], atol=1e-12)
    pc = optim.piecewise_constant(1.0, {10: 0.5, 20: 0.1})
    np.testing.assert_allclose([pc(n) for n in (0, 9, 10, 19, 20, 50)],
                               [1, 1, 0.5, 0.5, 0.05, 0.05])
    assert optim.cosine_decay_schedule is optim.cosine_decay  # optax's names work too


def test_schedules_trace_under_jit():
    count = np.int32(0)
    for sched in (optim.linear(1.0, 0.0, 10), optim.exponential_decay(1.0, 10, 0.5),
                  optim.cosine_decay(1.0, 100), optim.warmup_cosine_decay(0.0, 1.0, 10, 100),
                  optim.piecewise_constant(1.0, {10: 0.5})):
        for n in (0, 7, 10, 55):
            count = np.asarray(n, np.int32)
            jitted = ftx.jit(sched, backend="reference")(count)
            assert float(jitted) == pytest.approx(float(sched(n)), rel=1e-12)


def test_a_schedule_as_the_learning_rate():
    sched = optim.piecewise_constant(1.0, {1: 0.5, 2: 0.5})
    opt = optim.sgd(sched)
    params = {"x": np.array([0.0], np.float32)}
    state = opt.init(params)
    steps = []
    for _ in range(3):
        updates, state = opt.update({"x": np.array([1.0], np.float32)}, state, params)
        assert updates["x"].dtype == np.float32  # the float64 schedule value does not promote
        steps.append(float(updates["x"][0]))
    assert steps == [-1.0, -0.5, -0.25]
    assert state.count == 3


# =========================================================================== pytrees, dtypes, jit


def test_states_are_pytrees_of_arrays():
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.adamw(optim.cosine_decay(1e-2, 10)))
    state = opt.init(_params())
    leaves, treedef = tree_flatten(state)
    assert all(isinstance(x, np.ndarray) for x in leaves)
    rebuilt = tree_unflatten(treedef, leaves)
    assert type(rebuilt) is tuple and type(rebuilt[1][0]) is optim.ScaleByAdamState
    assert tree_flatten(rebuilt)[1] == treedef
    names = [type(s).__name__ for s in state]
    assert names == ["EmptyState", "tuple"]
    assert [type(s).__name__ for s in state[1]] == ["ScaleByAdamState", "EmptyState",
                                                    "ScaleByScheduleState"]


@pytest.mark.parametrize("make", [lambda: optim.sgd(0.1, momentum=0.9), lambda: optim.adam(1e-2),
                                  lambda: optim.adamw(optim.warmup_cosine_decay(0, 1e-2, 2, 10)),
                                  lambda: optim.chain(optim.clip_by_global_norm(0.5),
                                                      optim.adam(1e-2))])
def test_float32_stays_float32_and_jit_matches_eager(make):
    opt = make()
    eager, eager_state = _run(opt, steps=3, dtype=np.float32)
    for x in tree_leaves(eager) + [x for x in tree_leaves(eager_state) if x.dtype.kind == "f"]:
        assert x.dtype == np.float32
    jitted, jit_state = _run(opt, steps=3, dtype=np.float32, jit=True)
    _close(jitted, eager, rtol=1e-5)
    _close(jit_state, eager_state, rtol=1e-5)


def test_jitted_step_does_not_retrace():
    opt = optim.adam(1e-2)
    params = _params(np.float32)
    state = opt.init(params)
    step = ftx.jit(lambda p, s, g: opt.update(g, s, p), backend="reference")
    updates, state = step(params, state, _grads(0, np.float32))
    with ftx.no_retrace():
        for t in range(1, 3):
            updates, state = step(optim.apply_updates(params, updates), state,
                                  _grads(t, np.float32))


def test_modules_and_none_fields_as_params():
    model = nn.Linear(3, 2, key=random.key(0), use_bias=False)
    opt = optim.adam(0.1)
    state = opt.init(model)
    grads = ftx.grad(lambda m: (m(np.ones(3, np.float32)) ** 2).sum())(model)
    updates, state = opt.update(grads, state, model)
    new = optim.apply_updates(model, updates)
    assert isinstance(new, nn.Linear) and new.bias is None
    np.testing.assert_allclose(np.abs(new.weight - model.weight), 0.1, rtol=1e-4)


def test_vmap_over_independent_optimizers():
    opt = optim.adam(0.01)
    params = [_params() for _ in range(3)]
    stacked = tree_map(lambda *xs: np.stack(xs), *params)
    grads = tree_map(lambda *xs: np.stack(xs), *[_grads(t) for t in range(3)])
    states = ftx.vmap(opt.init)(stacked)
    updates, _ = ftx.vmap(opt.update)(grads, states, stacked)
    for i in range(3):
        single, _ = opt.update(_grads(i), opt.init(params[i]), params[i])
        _close(tree_map(lambda u: u[i], updates), single)


def test_minimizes_a_quadratic():
    a = np.diag([1.0, 10.0])
    loss = lambda p: 0.5 * p["x"] @ a @ p["x"]  # noqa: E731
    for opt in (optim.sgd(0.05, momentum=0.9), optim.adam(0.1)):
        params = {"x": np.array([3.0, -2.0])}
        state = opt.init(params)
        for _ in range(300):
            updates, state = opt.update(ftx.grad(loss)(params), state, params)
            params = optim.apply_updates(params, updates)
        assert loss(params) < 1e-4, (opt, loss(params))
