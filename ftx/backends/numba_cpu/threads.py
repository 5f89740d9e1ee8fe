"""Splitting a large fused loop across CPU threads.

A kernel's ``_rows`` variant runs rows ``lo:hi`` of its outermost loop; kernels release the GIL
(``nogil=True``), so plain Python threads run the pieces in parallel. ftx does this itself
rather than with Numba's ``parallel=True``: its OpenMP/workqueue layers spin while they wait,
which on a small machine with anything else running made a parallel kernel slower than a
serial one; here a waiting thread blocks, so a busy machine costs the split nothing.

The pool is started on first use, holds ``cpu_threads - 1`` workers (the calling thread takes
a piece too), and is rebuilt in a child process after ``fork``.
"""
from __future__ import annotations

import os
import queue
import threading

from ftx.core.config import config  # defines cpu_threads (with the other jit options)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_lock = threading.Lock()
_workers: list = []  # one task queue per worker thread


def thread_count() -> int:
    """How many threads a large loop is split across now (``cpu_threads``, 0 = all CPUs)."""
    return config.cpu_threads or _available_cpus()


def _work(tasks: queue.SimpleQueue) -> None:
    while True:
        kernel, args, lo, hi, done = tasks.get()
        try:
            kernel(*args, lo, hi)
            outcome = None
        except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
            outcome = e
        # Let go of the arrays before reporting, not at the next job: memory that nothing
        # refers to any more is reused by the next call (buffers.py).
        del kernel, args
        done.put(outcome)
        del done, outcome


def _ensure_workers(n: int) -> list:
    if len(_workers) < n:
        with _lock:
            while len(_workers) < n:
                tasks = queue.SimpleQueue()
                threading.Thread(target=_work, args=(tasks,), daemon=True,
                                 name=f"ftx-cpu-{len(_workers) + 1}").start()
                _workers.append(tasks)
    return _workers


def _forget_workers() -> None:
    # A forked child has the queues but not the threads, and a lock another thread may have
    # held at the fork.
    global _lock
    _lock = threading.Lock()
    _workers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def run_split(kernel, n: int, *args) -> None:
    """Run ``kernel(*args, lo, hi)`` over ``0:n`` in contiguous pieces, one per thread, and
    return when all are done (re-raising the first error).

    >>> run_split(kernel_rows, out.shape[0], x, out)   # what a generated executor calls
    """
    pieces = min(thread_count(), n)
    if pieces <= 1:
        kernel(*args, 0, n)
        return
    workers = _ensure_workers(pieces - 1)
    done = queue.SimpleQueue()
    bounds = [n * k // pieces for k in range(pieces + 1)]
    for k in range(1, pieces):
        workers[k - 1].put((kernel, args, bounds[k], bounds[k + 1], done))
    error = None
    try:
        kernel(*args, bounds[0], bounds[1])
    except BaseException as e:  # noqa: BLE001 - wait for the others before raising
        error = e
    for _ in range(pieces - 1):
        e = done.get()
        error = error or e
    if error is not None:
        raise error


# Below this much work (elements x operations in the loop) a split costs more in handing the
# pieces to threads (~10-20 µs) than it saves. Chosen on benchmarks/jit_bench.py's chain.
SPLIT_MIN_WORK = 1 << 20


def worth_splitting(shape: tuple, operations: int) -> bool:
    """Whether a fused loop over ``shape`` doing ``operations`` per element is run in pieces."""
    size = 1
    for n in shape:
        size *= n
    return len(shape) > 0 and shape[0] > 1 and size * max(operations, 1) >= SPLIT_MIN_WORK
