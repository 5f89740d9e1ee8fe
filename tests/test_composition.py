"""The composition matrix: realistic functions crossed with every transform and their nestings.

Oracles: central finite differences of the function itself, and agreement between independent
routes to the same derivative (forward vs reverse, jacobian vs grad, vmap vs a loop).
"""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.scipy.special import logsumexp

RNG = np.random.default_rng(42)
W1, B1 = RNG.normal(size=(4, 5)) * 0.5, RNG.normal(size=5) * 0.1
W2 = RNG.normal(size=(5, 3)) * 0.5
X = RNG.normal(size=(6, 4))
LABELS = np.eye(3)[RNG.integers(0, 3, 6)]


def mlp_loss(x):  # x: (4,) scales the first layer
    h = fnp.tanh(X @ (W1 * x[:, None]) + B1)
    return fnp.mean((h @ W2 - 1.0) ** 2)


def softmax_xent(x):  # x: (3,) a logit bias
    logits = X[:, :3] + x
    return -fnp.sum(LABELS * (logits - logsumexp(logits, axis=1, keepdims=True))) / 6


def indexing_and_updates(x):  # x: (5,)
    y = fnp.at(x)[0].add(x[3] * 2.0)  # fnp.at works on NumPy arrays too (the FD oracle's input)
    y = fnp.at(y)[1:3].multiply(x[::2][:2])
    return fnp.sum(y[[0, 2, 4]] ** 2) + fnp.sum(fnp.take(x, np.array([4, 0])) * x[-1])


def multi_axis_reductions(x):  # x: (6,)
    t = fnp.reshape(fnp.concatenate([x, x ** 2]), (2, 3, 2))
    return fnp.sum(fnp.max(t, axis=1) ** 2) + fnp.sum(fnp.mean(t, axis=(0, 2)) * fnp.prod(t, axis=2).sum())


def with_where(x):  # x: (5,)
    return fnp.sum(fnp.where(x > 0.1, x ** 3, fnp.sin(x)))


def einsum_and_norm(x):  # x: (4,)
    m = fnp.outer(x, fnp.arange(1.0, 5.0))
    return fnp.einsum("ij,jk,k->", m, m.T, x) * 0.1 + fnp.linalg.norm(x)


def cumulative_and_sort(x):  # x: (5,)
    return fnp.sum(fnp.cumsum(x) ** 2) + fnp.sum(fnp.sort(x) * fnp.arange(5.0))


def variance_and_std(x):  # x: (6,)
    m = fnp.reshape(x, (2, 3))
    return fnp.sum(fnp.var(m, axis=0)) + fnp.std(x) + fnp.mean(fnp.abs(m - fnp.median(x)))


def shapes_and_stacks(x):  # x: (4,)
    s = fnp.stack([x, fnp.flip(x), x * x], axis=1)
    return fnp.sum(fnp.transpose(s) @ s) + fnp.sum(fnp.pad(x, 2) * fnp.roll(fnp.pad(x, 2), 1))


def smooth_activations(x):  # x: (5,)
    return fnp.sum(fnp.log1p(fnp.exp(x)) + ftx.lax.logistic(x) * fnp.cosh(x) - fnp.sqrt(x * x + 1))


def custom_rule_function(x):  # x: (3,)
    @ftx.custom_jvp
    def softplus(v):
        return fnp.logaddexp(v, 0.0)

    @softplus.defjvp
    def _(primals, tangents):
        (v,), (t,) = primals, tangents
        return softplus(v), t * ftx.lax.logistic(v)

    return fnp.sum(softplus(x) * x)


FUNCTIONS = [
    (mlp_loss, (4,)), (softmax_xent, (3,)), (indexing_and_updates, (5,)),
    (multi_axis_reductions, (6,)), (with_where, (5,)), (einsum_and_norm, (4,)),
    (cumulative_and_sort, (5,)), (variance_and_std, (6,)), (shapes_and_stacks, (4,)),
    (smooth_activations, (5,)), (custom_rule_function, (3,)),
]
IDS = [f.__name__ for f, _ in FUNCTIONS]


def _point(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.3, 1.2, size=shape) * \
        np.where(np.arange(int(np.prod(shape))) % 3 == 1, -1, 1).reshape(shape)


def _fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_first_derivatives_agree(f, shape):
    x = _point(shape)
    expected = _fd_grad(f, x)
    g = ftx.grad(f)(x)
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)
    value, g2 = ftx.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(g2, g, rtol=1e-10, atol=1e-12)
    _, f_vjp = ftx.vjp(f, x)
    np.testing.assert_allclose(f_vjp(1.0)[0], g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ftx.jacrev(f)(x), g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ftx.jacfwd(f)(x), g, rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).normal(size=shape)
    _, t = ftx.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t, g @ v, rtol=1e-9, atol=1e-12)
    _, f_lin = ftx.linearize(f, x)
    np.testing.assert_allclose(f_lin(v), t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_second_derivatives_agree(f, shape):
    x = _point(shape)
    H = ftx.hessian(f)(x)
    H_fd = np.stack([_fd_grad(lambda y: ftx.grad(f)(y)[i], x, 1e-5) for i in range(shape[0])])
    np.testing.assert_allclose(H, H_fd, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(H, ftx.jacrev(ftx.jacfwd(f))(x), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(H, ftx.jacfwd(ftx.jacrev(f))(x), rtol=1e-8, atol=1e-10)
    v = np.random.default_rng(2).normal(size=shape)
    hvp_fwd_rev = ftx.jvp(ftx.grad(f), (x,), (v,))[1]                       # jvp ∘ grad
    hvp_rev_rev = ftx.grad(lambda y: fnp.sum(ftx.grad(f)(y) * v))(x)       # grad ∘ grad
    np.testing.assert_allclose(hvp_fwd_rev, H @ v, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(hvp_rev_rev, H @ v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_batched_derivatives_agree_with_loops(f, shape):
    xs = np.stack([_point(shape, seed=s) for s in range(3)])
    per_example = ftx.vmap(ftx.grad(f))(xs)                                 # vmap ∘ grad
    loop = np.stack([ftx.grad(f)(x) for x in xs])
    np.testing.assert_allclose(per_example, loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ftx.vmap(f)(xs), np.stack([f(x) for x in xs]), rtol=1e-12)
    total = lambda x0: fnp.sum(ftx.vmap(f)(fnp.stack([x0, x0 * 0.5, x0 + 0.1])))  # grad ∘ vmap
    expected = _fd_grad(lambda y: sum(f(z) for z in (y, y * 0.5, y + 0.1)), xs[0])
    np.testing.assert_allclose(ftx.grad(total)(xs[0]), expected, rtol=1e-5, atol=1e-6)
