"""ftx.checkpoint / remat, its policies, checkpoint_name and print_saved_residuals.

Oracles: the same derivative without checkpointing (bitwise where the same operations run
in the same order), a Python loop for vmap, and tracemalloc for the memory saved.
"""
import gc
import tracemalloc

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import buffers
from ftx.nn import gelu
from ftx.transforms.checkpoint import saved_residuals
from tests.test_composition import FUNCTIONS, IDS, _point

policies = ftx.checkpoint_policies
POLICIES = [None, policies.everything_saveable, policies.nothing_saveable, policies.dots_saveable,
            policies.dots_with_no_batch_dims_saveable]
RNG = np.random.default_rng(0)
W1, W2 = RNG.normal(size=(6, 10)) * 0.4, RNG.normal(size=(10, 6)) * 0.3
X = RNG.normal(size=(4, 6))


def block(p, x):
    return x + gelu(x @ p[0]) @ p[1]


def stack_loss(f, x, depth=3):
    for _ in range(depth):
        x = f((W1, W2), x)
    return fnp.sum(x * x)


def assert_trees_equal(a, b):
    for u, v in zip(ftx.tree_util.tree_leaves(a), ftx.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)


def assert_trees_close(a, b, rtol=1e-10, atol=1e-12):
    for u, v in zip(ftx.tree_util.tree_leaves(a), ftx.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=atol)


# =========================================================================== gradients agree

@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_composition_matrix_gradients_are_bitwise_equal(f, shape):
    x = _point(shape)
    expected = ftx.grad(f)(x)
    for policy in POLICIES:
        np.testing.assert_array_equal(ftx.grad(ftx.checkpoint(f, policy=policy))(x), expected)
    # jvp, vmap of grad and grad of grad go through the other rules of checkpoint_p.
    v = np.random.default_rng(1).normal(size=shape)
    np.testing.assert_array_equal(ftx.jvp(ftx.checkpoint(f), (x,), (v,))[1],
                                  ftx.jvp(f, (x,), (v,))[1])
    xs = np.stack([_point(shape, seed=s) for s in range(3)])
    batched = ftx.vmap(ftx.grad(ftx.checkpoint(f)))(xs)
    np.testing.assert_array_equal(batched, ftx.vmap(ftx.grad(f))(xs))
    np.testing.assert_allclose(batched, np.stack([ftx.grad(f)(xi) for xi in xs]), rtol=1e-12,
                               atol=1e-14)  # batched BLAS calls may round differently
    hvp = lambda g: ftx.grad(lambda y: fnp.sum(ftx.grad(g)(y) * v))(x)  # noqa: E731
    np.testing.assert_allclose(hvp(ftx.checkpoint(f)), hvp(f), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f, shape", FUNCTIONS[:4], ids=IDS[:4])
def test_composition_matrix_jitted(f, shape):
    x = _point(shape)
    expected = ftx.grad(f)(x)
    np.testing.assert_allclose(ftx.jit(ftx.grad(ftx.checkpoint(f)))(x), expected,
                               rtol=1e-12, atol=1e-14)                      # jit(grad)
    np.testing.assert_allclose(ftx.grad(ftx.jit(ftx.checkpoint(f)))(x), expected,
                               rtol=1e-12, atol=1e-14)                      # grad(jit)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: getattr(p, "__name__", "default"))
def test_stacked_blocks_every_policy_eager_and_jitted(policy):
    ck = ftx.checkpoint(block, policy=policy)
    expected = ftx.grad(stack_loss, argnums=1)(block, X)
    assert_trees_equal(ftx.grad(stack_loss, argnums=1)(ck, X), expected)
    jitted = ftx.jit(ftx.grad(stack_loss, argnums=1), static_argnums=0)(ck, X)
    np.testing.assert_allclose(jitted, expected, rtol=1e-12, atol=1e-13)
    grad_of_jit = ftx.grad(ftx.jit(stack_loss, static_argnums=0), argnums=1)(ck, X)
    np.testing.assert_allclose(grad_of_jit, expected, rtol=1e-12, atol=1e-13)


def test_gradients_with_respect_to_parameters_and_closed_over_values():
    p = (W1, W2)
    expected = ftx.grad(lambda p, x: fnp.sum(block(p, x) ** 2), argnums=(0, 1))(p, X)
    got = ftx.grad(lambda p, x: fnp.sum(ftx.checkpoint(block)(p, x) ** 2), argnums=(0, 1))(p, X)
    assert_trees_equal(got, expected)
    # A parameter the checkpointed function closes over (a tracer of the grad) still gets
    # its gradient.
    closed = ftx.grad(lambda w: fnp.sum(ftx.checkpoint(lambda x: fnp.tanh(x @ w))(X) ** 2))(W1)
    np.testing.assert_array_equal(closed, ftx.grad(lambda w: fnp.sum(fnp.tanh(X @ w) ** 2))(W1))


def test_nested_checkpoints_and_decorator_forms():
    @ftx.checkpoint
    def inner(x):
        return fnp.sin(x) * x

    @ftx.remat(policy=policies.dots_saveable)
    def outer(x):
        return inner(x @ W1) @ W2

    def plain(x):
        h = x @ W1
        return (fnp.sin(h) * h) @ W2

    loss = lambda f: lambda x: fnp.sum(f(x) ** 2)  # noqa: E731
    assert_trees_equal(ftx.grad(loss(outer))(X), ftx.grad(loss(plain))(X))
    np.testing.assert_allclose(ftx.hessian(lambda x: loss(outer)(x * X))(np.ones(6)),
                               ftx.hessian(lambda x: loss(plain)(x * X))(np.ones(6)), rtol=1e-9)
    assert outer.__name__ == "outer"


def test_static_argnums_and_vmap_over_a_batch():
    def scaled(x, n):
        return fnp.tanh(x) ** n

    ck = ftx.checkpoint(scaled, static_argnums=(1,))
    for n in (2, 3):
        np.testing.assert_array_equal(ftx.grad(lambda x: fnp.sum(ck(x, n)))(X),
                                      ftx.grad(lambda x: fnp.sum(scaled(x, n)))(X))
    xs = RNG.normal(size=(5, 4, 6))
    g = ftx.vmap(ftx.grad(lambda x: stack_loss(ftx.checkpoint(block), x)))(xs)
    np.testing.assert_array_equal(g, ftx.vmap(ftx.grad(lambda x: stack_loss(block, x)))(xs))
    np.testing.assert_allclose(g, np.stack([ftx.grad(lambda x: stack_loss(block, x))(x)
                                            for x in xs]), rtol=1e-12, atol=1e-13)


def test_recomputed_randomness_is_bit_identical():
    def noisy(key, x):  # dropout with an explicit key: recomputation draws the same bits
        keep = ftx.random.bernoulli(key, 0.7, (x.shape[0], W1.shape[1]))
        return fnp.where(keep, fnp.tanh(x @ W1), 0.0) @ W2

    key = ftx.random.key(3)
    expected = ftx.grad(lambda x: fnp.sum(noisy(key, x) ** 2))(X)
    for policy in POLICIES:
        got = ftx.grad(lambda x: fnp.sum(ftx.checkpoint(noisy, policy=policy)(key, x) ** 2))(X)
        np.testing.assert_array_equal(got, expected)


def test_eager_call_without_transforms_is_the_plain_function():
    np.testing.assert_array_equal(ftx.checkpoint(block)((W1, W2), X), block((W1, W2), X))


# =========================================================================== what is saved

def _descriptions(f, *args):
    return [what for _, _, what in saved_residuals(f, *args)]


def test_a_checkpointed_block_saves_only_its_inputs():
    plain = _descriptions(lambda x: stack_loss(block, x), X)
    assert sum("output of" in d for d in plain) >= 12  # matmuls, gelu pieces, adds
    ck = [d for d in _descriptions(lambda x: stack_loss(ftx.checkpoint(block), x), X)
          if d != "a constant"]  # the weights, closed over
    # The argument (the first block's input), and each block's output, which is the next
    # block's input (the last one's is the loss's).
    assert ck[0] == "from the argument args[0]" and len(ck) == 4, ck
    assert all(d.startswith("output of add") for d in ck[1:]), ck


def test_dots_saveable_saves_matmul_outputs_and_recomputes_the_rest():
    descs = _descriptions(lambda x: stack_loss(ftx.checkpoint(block, policy=policies.dots_saveable),
                                               x), X)
    kinds = {d.split(" from")[0] for d in descs}
    assert kinds == {"a constant", "output of dot_general", "output of add"}, kinds
    # x @ W1 of each block (its gelu derivative needs it); the product with W2 is not read
    # by the backward, so it is not saved either. The add is the loss's input.
    assert sum("dot_general" in d for d in descs) == 3 and len(descs) == 6


def test_names_and_name_policies():
    def named(x):
        h = ftx.checkpoint_name(fnp.tanh(x @ W1), "h")
        return ftx.checkpoint_name(fnp.sin(h) @ W2, "out")

    def count_named(policy):
        descs = _descriptions(lambda x: fnp.sum(ftx.checkpoint(named, policy=policy)(x) ** 2), X)
        return sum("output of name" in d for d in descs)

    assert count_named(policies.save_only_these_names("h")) == 1
    assert count_named(policies.save_any_names_but_these("out")) == 1
    assert count_named(policies.nothing_saveable) == 0
    g = ftx.grad(lambda x: fnp.sum(ftx.checkpoint(named, policy=policies.save_only_these_names(
        "h"))(x) ** 2))(X)
    np.testing.assert_array_equal(g, ftx.grad(lambda x: fnp.sum(named(x) ** 2))(X))
    # checkpoint_name is the identity under every transform.
    np.testing.assert_array_equal(ftx.checkpoint_name(X, "x"), X)
    assert ftx.jvp(lambda x: ftx.checkpoint_name(x * 2, "y"), (1.0,), (1.0,)) == (2.0, 2.0)
    np.testing.assert_array_equal(ftx.vmap(lambda x: ftx.checkpoint_name(x, "v"))(X), X)
    assert ftx.linear_transpose(lambda x: ftx.checkpoint_name(3.0 * x, "t"), 1.0)(1.0) == (3.0,)


def test_print_saved_residuals(capsys):
    ftx.print_saved_residuals(lambda x: fnp.sum(x * fnp.sin(x)), np.ones(3))
    out = capsys.readouterr().out
    assert "from the argument args[0]" in out and "output of cos" in out
    assert "total" in out and "residuals" in out


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="expected a function"):
        ftx.checkpoint(3)
    with pytest.raises(TypeError, match="policy must be a function"):
        ftx.checkpoint(block, policy="dots")
    with pytest.raises(TypeError, match="hashable"):
        ftx.grad(lambda x: fnp.sum(ftx.checkpoint(lambda x, s: x, static_argnums=1)(x, [1])))(X)
    with pytest.raises(TypeError, match="must be a string"):
        ftx.checkpoint_name(X, 3)


# =========================================================================== memory

D, H, B, DEPTH = 256, 1024, 32, 16


def _residual_model():
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((D, H), np.float32) / 16,
               rng.standard_normal((H, D), np.float32) / 32) for _ in range(DEPTH)]
    x = rng.standard_normal((B, D), np.float32)

    def loss(x, f):
        for p in params:
            x = f(p, x)
        return fnp.mean(x * x)

    return loss, x


def _traced_peak(fn):
    """Peak bytes NumPy allocates while ``fn`` runs, starting with no idle memory pooled for
    compiled functions (tracemalloc sees a pooled block when it is made, not when reused)."""
    gc.collect()
    buffers.release()
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def test_checkpointing_every_block_cuts_peak_memory():
    """value_and_grad of 16 residual blocks x + W2 @ gelu(W1 @ x) (width 256, hidden 1024,
    batch 32, float32): each block's activations are several (32, 1024) arrays, its input
    one (32, 256); with per-block checkpointing only the inputs stay alive."""
    loss, x = _residual_model()
    vg = ftx.value_and_grad(loss)
    plain_peak, (v0, g0) = _traced_peak(lambda: vg(x, block))
    ck_peak, (v1, g1) = _traced_peak(lambda: vg(x, ftx.checkpoint(block)))
    assert v0 == v1
    np.testing.assert_array_equal(g0, g1)
    assert ck_peak <= 0.4 * plain_peak, (ck_peak, plain_peak)
