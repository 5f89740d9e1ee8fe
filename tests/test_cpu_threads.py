"""Large fused loops split across threads (ftx/backends/numba_cpu/threads.py)."""
import threading

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import threads


def _chain(x, y):
    return fnp.tanh(x) * y + 0.5 * x * x - fnp.exp(-y)


@pytest.mark.parametrize("cpu_threads", [1, 2, 3])
@pytest.mark.parametrize("shape", [(300_001,), (1001, 257), (3, 200_000)])
def test_split_loop_equals_numpy(shape, cpu_threads):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.normal(size=shape[-1:]).astype(np.float32)  # broadcast along the split axis
    with ftx.config.override(cpu_threads=cpu_threads):
        f = ftx.jit(_chain)
        out = f(x, y)
    assert "_split(" in f.lower(x, y).compile().as_text()
    expected = np.tanh(x) * y + np.float32(0.5) * x * x - np.exp(-y)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=2e-6)


def test_small_loops_are_not_split():
    x = np.ones(1000, np.float32)
    assert "_split(" not in ftx.jit(_chain).lower(x, x).compile().as_text()


def test_run_split_covers_every_row_once_and_reraises():
    seen = []
    lock = threading.Lock()

    def record(lo, hi):
        with lock:
            seen.append((lo, hi))

    with ftx.config.override(cpu_threads=4):
        threads.run_split(record, 10)
        assert sorted(seen) == [(0, 2), (2, 5), (5, 7), (7, 10)]
        seen.clear()
        threads.run_split(record, 2)  # never more pieces than rows
        assert sorted(seen) == [(0, 1), (1, 2)]

        def fail(lo, hi):
            if lo > 0:
                raise ValueError(f"rows {lo}:{hi}")

        with pytest.raises(ValueError, match="rows"):
            threads.run_split(fail, 8)
        threads.run_split(record, 3)  # the pool still works after an error


def test_cpu_threads_option_is_checked():
    with pytest.raises(ValueError, match="cpu_threads"):
        ftx.config.update("cpu_threads", -1)


def test_a_forked_child_splits_with_fresh_workers():
    import os
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    x = np.random.default_rng(1).normal(size=(400, 1000)).astype(np.float32)
    f = ftx.jit(_chain)
    with ftx.config.override(cpu_threads=2):
        f(x, x[0])  # the parent's pool is running
        pid = os.fork()
        if pid == 0:  # the child: the same call must finish and be right
            ok = np.allclose(f(x, x[0]), np.tanh(x) * x[0] + np.float32(0.5) * x * x
                             - np.exp(-x[0]), rtol=2e-6, atol=2e-6)
            os._exit(0 if ok else 1)
        import signal
        import time
        deadline = time.monotonic() + 60  # a hung child (a deadlocked pool) fails, not hangs
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child did not finish its split loop in 60 s")
            time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
