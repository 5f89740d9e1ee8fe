"""Whole loops compiled as one Numba function (ftx/backends/numba_cpu/loop_codegen.py).

Oracles: the reference interpreter (``ftx.jit(f, backend='reference')``) and plain NumPy
loops. Each test also checks which path ran, through ``loop_codegen.stats``.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import kernels, loop_codegen
from ftx.transforms.control_flow import cond, fori_loop, scan, while_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}


class Counts:
    """The change of ``loop_codegen.stats`` over a block."""

    def __enter__(self):
        self.before = dict(loop_codegen.stats)
        return self

    def __exit__(self, *exc):
        self.delta = {k: loop_codegen.stats[k] - self.before[k] for k in self.before}


@pytest.fixture(autouse=True)
def no_numba_errors():
    """A compiled loop that Numba rejects falls back quietly: that is a codegen bug here."""
    before = loop_codegen.stats["numba_errors"]
    yield
    assert loop_codegen.stats["numba_errors"] == before


def rnn_problem(steps, hidden=8, inputs=5, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    p = {"W": rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
         "U": rng.normal(size=(hidden, inputs)) / np.sqrt(inputs),
         "b": rng.normal(size=hidden) * 0.1}
    p = {k: v.astype(dtype) for k, v in p.items()}
    return p, rng.normal(size=(steps, inputs)).astype(dtype), np.zeros(hidden, dtype)


def rnn_loss(p, xs, h0, reverse=False):
    def cell(h, x):
        h = fnp.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        return h, fnp.sum(h * h)
    h, sq = scan(cell, h0, xs, reverse=reverse)
    return fnp.sum(h) + fnp.mean(sq)


def numpy_rnn_loss(p, xs, h, reverse=False):
    total = 0.0
    for x in (xs[::-1] if reverse else xs):
        h = np.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        total += np.sum(h * h)
    return np.sum(h) + total / len(xs)


def assert_tree_close(a, b, **tol):
    for x, y in zip(ftx.tree_util.tree_leaves(a), ftx.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_rnn_forward_and_grad_take_the_compiled_loop(dtype, reverse):
    p, xs, h0 = rnn_problem(13, dtype=dtype)
    with Counts() as c:
        loss = ftx.jit(rnn_loss, static_argnums=3)(p, xs, h0, reverse)
        grads = ftx.jit(ftx.grad(rnn_loss), static_argnums=3)(p, xs, h0, reverse)
    # forward; forward with residuals + the backward (reverse) scan of the gradient
    assert c.delta == {"compiled_loops": 3, "unsupported": 0, "numba_errors": 0}
    np.testing.assert_allclose(loss, numpy_rnn_loss(p, xs, h0, reverse), **TOL[dtype])
    ref = ftx.jit(ftx.grad(rnn_loss), static_argnums=3, backend="reference")(p, xs, h0, reverse)
    assert_tree_close(grads, ref, **TOL[dtype])
    assert all(np.asarray(g).dtype == dtype for g in grads.values())


def test_several_carries_and_pytrees_of_xs_and_ys():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(4, 3))
    xs = {"a": rng.normal(size=(6, 3)), "b": rng.normal(size=(6, 2, 4)),
          "s": rng.normal(size=6)}
    init = (np.ones(3), np.float64(0.5), np.zeros((2, 4)))

    def f(init, xs, m):
        def body(carry, x):
            v, s, acc = carry
            v2 = fnp.tanh(m.T @ (m @ v) * 0.1 + x["a"] * x["s"])
            s2 = s * 0.9 + fnp.sum(v2)
            acc2 = acc + x["b"] * s2
            return (v2, s2, acc2), {"v": v, "s": s2, "mat": acc2.T}
        return scan(body, init, xs)

    def numpy_f(init, xs, m):
        v, s, acc = init
        ys = {"v": [], "s": [], "mat": []}
        for t in range(6):
            ys["v"].append(v)
            v = np.tanh(m.T @ (m @ v) * 0.1 + xs["a"][t] * xs["s"][t])
            s = s * 0.9 + np.sum(v)
            acc = acc + xs["b"][t] * s
            ys["s"].append(s)
            ys["mat"].append(acc.T)
        return (v, s, acc), {k: np.stack(y) for k, y in ys.items()}

    with Counts() as c:
        out = ftx.jit(f)(init, xs, m)
    assert c.delta["compiled_loops"] == 1 and c.delta["unsupported"] == 0
    assert_tree_close(out, numpy_f(init, xs, m), rtol=1e-12, atol=1e-12)
    assert_tree_close(out, ftx.jit(f, backend="reference")(init, xs, m), rtol=1e-12, atol=1e-12)
    g = ftx.jit(ftx.grad(lambda m: fnp.sum(f(init, xs, m)[1]["mat"])))(m)
    ref = ftx.jit(ftx.grad(lambda m: fnp.sum(f(init, xs, m)[1]["mat"])), backend="reference")(m)
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("length", [0, 1])
def test_length_zero_and_one(length):
    p, xs, h0 = rnn_problem(length)
    h0 = h0 + 0.3

    def f(p, xs, h0):
        return scan(lambda h, x: (fnp.tanh(p["W"] @ h + p["U"] @ x), h), h0, xs)

    with Counts() as c:
        h, hs = ftx.jit(f)(p, xs, h0)
    assert c.delta["compiled_loops"] == 1
    ref_h, ref_hs = ftx.jit(f, backend="reference")(p, xs, h0)
    np.testing.assert_allclose(h, ref_h, rtol=1e-12)
    assert hs.shape == (length, 8) and np.allclose(hs, ref_hs)
    assert not np.shares_memory(h, h0)


def test_outputs_never_alias_inputs_or_each_other():
    # The body passes a constant through as the carry and returns one value as two carries.
    c0 = np.arange(4.0)

    def f(c0, k):
        def body(carry, x):
            a, b = carry
            return (c0, c0), a + b
        return scan(body, (k, k), None, length=3)

    (a, b), ys = ftx.jit(f)(c0, np.ones(4))
    np.testing.assert_array_equal(a, c0)
    np.testing.assert_array_equal(ys, [[2, 2, 2, 2], 2 * c0, 2 * c0])
    assert not np.shares_memory(a, c0) and not np.shares_memory(a, b)


def test_unsupported_body_falls_back_to_the_executor_path():
    xs = np.linspace(0, 1, 7)

    def f(xs):
        return scan(lambda c, x: (c + fnp.sin(c * x), c), np.ones(3), xs)  # sin: no Numba rule

    with Counts() as c:
        out = ftx.jit(f)(xs)
    assert c.delta == {"compiled_loops": 0, "unsupported": 1, "numba_errors": 0}
    assert_tree_close(out, ftx.jit(f, backend="reference")(xs), rtol=1e-13)


def test_fori_loop_with_dynamic_indexing_and_weak_index():
    a = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)

    def f(a):
        return fori_loop(0, 5, lambda i, acc: acc * 0.5 + a[i] * i, np.zeros(3, np.float32))

    with Counts() as c:
        out = ftx.jit(f)(a)
    assert c.delta["compiled_loops"] == 1
    expected = np.zeros(3, np.float32)
    for i in range(5):
        expected = expected * np.float32(0.5) + a[i] * np.float32(i)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out, ftx.jit(f, backend="reference")(a), rtol=1e-6)


@pytest.mark.parametrize("max_steps", [None, 3])
def test_while_loop_compiled_whole(max_steps):
    def f(x, limit):
        return while_loop(lambda c: c[1] < limit, lambda c: (fnp.sqrt(c[0]) + 1.0, c[1] + 1),
                          (x, 0), max_steps=max_steps)

    x = np.array([4.0, 9.0, 0.25])
    with Counts() as c:
        out = ftx.jit(f)(x, 5)
    assert c.delta["compiled_loops"] == 1 and c.delta["unsupported"] == 0
    y = x
    for _ in range(5 if max_steps is None else 3):
        y = np.sqrt(y) + 1.0
    np.testing.assert_allclose(out[0], y, rtol=1e-14)
    assert int(out[1]) == (5 if max_steps is None else 3)
    assert_tree_close(out, ftx.jit(f, backend="reference")(x, 5), rtol=1e-14)


def bounded_while(x):
    # Reverse mode turns a bounded while loop into a scan of a two-branch cond.
    out, _ = while_loop(lambda c: c[1] < 4, lambda c: (fnp.tanh(c[0]) * 1.5, c[1] + 1), (x, 0),
                        max_steps=6)
    return fnp.sum(out * out)


def scan_of_cond(x):
    def body(c, w):
        c = cond(w > 0, lambda c: c * w + 1.0, lambda c: c - w, c)
        return c, fnp.sum(c)
    return fnp.sum(scan(body, x, np.array([1.0, -2.0, 0.5, -0.1]))[1])


@pytest.mark.parametrize("f", [bounded_while, scan_of_cond])
def test_grad_through_conds_inside_compiled_loops(f):
    x = np.array([0.3, -1.2, 2.0])
    with Counts() as c:
        out = ftx.jit(ftx.grad(f))(x)
    assert c.delta["unsupported"] == 0 and c.delta["compiled_loops"] >= 2
    np.testing.assert_allclose(out, ftx.jit(ftx.grad(f), backend="reference")(x), rtol=1e-12)
    eps = 1e-6
    fd = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(out, fd, rtol=1e-6)


def test_batched_matmul_broadcast_and_lone_reductions_in_a_body():
    rng = np.random.default_rng(3)
    a, xs = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 2, 4, 3))

    def f(a, xs):
        def body(c, x):
            m = fnp.einsum("bij,bjk->bik", a, x)          # dot_general with a batch axis
            return c + fnp.max(m, axis=(0, 2)) + fnp.sum(x, axis=1).T[:, 0], fnp.transpose(m)
        return scan(body, np.zeros(3), xs)

    with Counts() as c:
        out = ftx.jit(f)(a, xs)
    assert c.delta == {"compiled_loops": 1, "unsupported": 0, "numba_errors": 0}
    assert_tree_close(out, ftx.jit(f, backend="reference")(a, xs), rtol=1e-12, atol=1e-12)


def test_source_is_one_loop_without_sizes_and_shared_across_sizes():
    sources = []
    for steps, hidden in ((4, 8), (9, 6)):
        p, xs, h0 = rnn_problem(steps, hidden=hidden, inputs=hidden - 2)
        jaxpr = ftx.make_jaxpr(rnn_loss)(p, xs, h0)
        (eqn,) = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
        source, sizes, _ = loop_codegen.scan_source(eqn.params["jaxpr"], eqn.params["num_consts"],
                                                 eqn.params["num_carry"], False)
        sources.append(source)
        assert hidden in sizes
    assert sources[0] == sources[1]
    assert sources[0].count("for s in range(n):") == 1
    assert "np.dot" not in sources[0] and "matmul" not in sources[0]
    # A new size re-traces but loads no new kernel or loop module.
    p, xs, h0 = rnn_problem(4, hidden=8, inputs=6)
    ftx.jit(rnn_loss)(p, xs, h0)
    before = kernels.compile_count
    p, xs, h0 = rnn_problem(9, hidden=6, inputs=4)
    np.testing.assert_allclose(ftx.jit(rnn_loss)(p, xs, h0), numpy_rnn_loss(p, xs, h0),
                               rtol=1e-12)
    assert kernels.compile_count == before


_PROGRAM = """
    import numpy as np, ftx, ftx.numpy as fnp
    from ftx.backends.numba_cpu import loop_codegen
    from ftx.transforms.control_flow import scan
    def f(w, xs):
        return scan(lambda h, x: (fnp.tanh(w @ h + x), fnp.sum(h)), np.zeros(3), xs)
    h, ys = ftx.jit(f)(np.eye(3) * 0.5, np.ones((4, 3)))
    loop = loop_codegen.CompiledScan.last().loop
    print(float(ys.sum()), loop.stats.cache_hits.total(), loop.stats.cache_misses.total())
"""


def test_a_new_process_loads_the_compiled_loop_from_disk(tmp_path):
    env = dict(os.environ, FTX_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", textwrap.dedent(_PROGRAM)], env=env, cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert runs[0][0] == runs[1][0]
    assert runs[0][1:] == ["0", "1"]   # compiled (and saved) in the first process
    assert runs[1][1:] == ["1", "0"]   # loaded in the second


def test_compiled_as_text_shows_the_loop_compiled_whole():
    def f(h, xs):
        def step(h, x):
            h = fnp.tanh(h * 0.5 + x)
            return h, h
        return scan(step, h, xs)

    text = ftx.jit(f).lower(np.zeros(3), np.ones((4, 3))).compile().as_text()
    assert "scan loop compiled whole" in text and "for s in range(n):" in text
