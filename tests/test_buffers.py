"""Memory recycled across calls of compiled functions (ftx/backends/numba_cpu/buffers.py) and
matrix products written by BLAS straight into it.

Oracle: NumPy on the same inputs; the point of most tests is that an array a caller still
holds (or a view of it) is never handed out again, whatever later calls compute.
"""
import threading

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import buffers

RNG = np.random.default_rng(0)
BIG = (256, 256)  # 256 KiB of float32: above buffers.MIN_BYTES


def _f(x, y):
    h = fnp.tanh(x @ y) * 2.0   # matmul output and a fused temporary, both large
    return h + x, fnp.sum(h)


def _expected(x, y):
    h = np.tanh(x @ y) * np.float32(2.0)
    return h + x, h.sum()


def _pair():
    return (RNG.standard_normal(BIG).astype(np.float32),
            RNG.standard_normal(BIG).astype(np.float32) / 16)


def test_kept_outputs_and_views_are_never_reused():
    f = ftx.jit(_f)
    kept = []
    for i in range(6):
        x, y = _pair()
        out, _ = f(x, y)
        # keep the array itself, a strided view of it, or only a memoryview of its data
        kept.append((x, y, [out, out[::3, 1:], memoryview(out)][i % 3]))
    for x, y, held in kept:
        expected = _expected(x, y)[0]
        if isinstance(held, memoryview):
            held = np.asarray(held)
        else:
            expected = expected if held.shape == BIG else expected[::3, 1:]
        np.testing.assert_allclose(held, expected, rtol=1e-5, atol=1e-5)


def test_dropped_outputs_are_recycled_and_the_pool_stops_growing():
    f = ftx.jit(_f)
    x, y = _pair()
    f(x, y)
    f(x, y)
    before, reused = buffers.pooled_bytes(), buffers.stats["reused"]
    for _ in range(10):
        out, total = f(x, y)
        expected = _expected(x, y)
        np.testing.assert_allclose(out, expected[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(total, expected[1], rtol=1e-4)
        del out
    assert buffers.pooled_bytes() == before
    assert buffers.stats["reused"] >= reused + 10


def test_release_drops_idle_blocks_but_not_held_ones():
    f = ftx.jit(_f)
    x, y = _pair()
    held, _ = f(x, y)
    f(x, y)
    buffers.release()
    assert buffers.pooled_bytes() >= held.nbytes  # the kept output's block stays
    f(x, y)
    np.testing.assert_allclose(held, _expected(x, y)[0], rtol=1e-5, atol=1e-5)
    del held
    buffers.release()
    assert buffers.pooled_bytes() == 0


def test_capacity_zero_allocates_afresh_and_capacity_bounds_the_pool():
    x, y = _pair()
    buffers.release()
    with ftx.config.override(cpu_buffer_pool_bytes=0):
        assert buffers.pooled_bytes() == 0
        made = buffers.stats["made"]
        out = ftx.jit(_f)(x, y)[0]
        assert buffers.stats["made"] == made and buffers.pooled_bytes() == 0
        np.testing.assert_allclose(out, _expected(x, y)[0], rtol=1e-5, atol=1e-5)
    small = 2 * np.zeros(BIG, np.float32).nbytes
    with ftx.config.override(cpu_buffer_pool_bytes=small):
        outs = [ftx.jit(_f)(*_pair())[0] for _ in range(3)]  # all held: more than fits
        assert buffers.pooled_bytes() <= small
        assert buffers.stats["unpooled"] > 0
    del outs
    with pytest.raises(ValueError, match="cpu_buffer_pool_bytes"):
        ftx.config.update("cpu_buffer_pool_bytes", -1)


def test_concurrent_calls_never_share_a_buffer():
    f = ftx.jit(_f)
    f(*_pair())
    inputs = [_pair() for _ in range(8)]
    results = [None] * len(inputs)
    errors = []

    def worker(k):
        try:
            for _ in range(5):
                results[k] = f(*inputs[k])[0]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (x, y), out in zip(inputs, results):
        np.testing.assert_allclose(out, _expected(x, y)[0], rtol=1e-5, atol=1e-5)


MATMULS = [  # (lhs shape, rhs shape, dimension numbers, NumPy oracle)
    ((64, 48), (48, 80), (((1,), (0,)), ((), ())), lambda a, b: a @ b),
    ((64, 48), (80, 48), (((1,), (1,)), ((), ())), lambda a, b: a @ b.T),
    ((48, 64), (48, 80), (((0,), (0,)), ((), ())), lambda a, b: a.T @ b),
    ((48, 64), (80, 48), (((0,), (1,)), ((), ())), lambda a, b: a.T @ b.T),
    ((3, 64, 48), (3, 48, 80), (((2,), (1,)), ((0,), (0,))), lambda a, b: a @ b),
    ((3, 48, 64), (3, 80, 48), (((1,), (2,)), ((0,), (0,))),
     lambda a, b: a.transpose(0, 2, 1) @ b.transpose(0, 2, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("lhs_shape,rhs_shape,dims,oracle", MATMULS)
def test_matrix_products_write_into_their_output(lhs_shape, rhs_shape, dims, oracle, dtype):
    a = RNG.standard_normal(lhs_shape).astype(dtype)
    b = RNG.standard_normal(rhs_shape).astype(dtype)
    f = ftx.jit(lambda a, b: ftx.lax.dot_general(a, b, dims) * 1.0)
    assert "np.matmul(" in f.lower(a, b).compile().as_text()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(f(a, b), oracle(a, b), rtol=tol, atol=tol)


def test_other_dot_generals_keep_their_numpy_impl():
    a, b = RNG.standard_normal((4, 5, 6)), RNG.standard_normal((5, 6, 7))
    dims = (((1, 2), (0, 1)), ((), ()))   # two contracting axes
    f = ftx.jit(lambda a, b: ftx.lax.dot_general(a, b, dims))
    assert "np.matmul(" not in f.lower(a, b).compile().as_text()
    np.testing.assert_allclose(f(a, b), np.tensordot(a, b, 2), rtol=1e-12)
    v = RNG.standard_normal(6).astype(np.float32)
    m = RNG.standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(ftx.jit(lambda m, v: m @ v)(m, v), m @ v, rtol=1e-5)
    i = RNG.integers(-5, 5, (4, 3))
    np.testing.assert_array_equal(ftx.jit(lambda i: i @ i.T)(i), i @ i.T)


def test_idle_blocks_of_other_sizes_are_given_back_not_kept_beside_new_ones():
    def three(x):
        return x * 2.0, x + 1.0, x - 1.0

    small = np.ones((256, 256), np.float32)      # 256 KiB arrays
    large = np.ones((800, 800), np.float32)      # 2.4 MiB: too large for a small block
    buffers.release()
    outs = ftx.jit(three)(small)
    del outs                                     # three idle small blocks
    outs = ftx.jit(three)(large)
    assert buffers.pooled_bytes() < 3 * large.nbytes + small.nbytes
    np.testing.assert_array_equal(outs[2], large - 1.0)
    del outs
    half = np.ones((700, 800), np.float32)       # fits in the idle large blocks
    made = buffers.stats["made"]
    outs = ftx.jit(three)(half)
    assert buffers.stats["made"] == made
    np.testing.assert_array_equal(outs[0], half * 2.0)
