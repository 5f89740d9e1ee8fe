"""Recycled memory for the large arrays compiled executors make.

Why: a compiled training step makes the same large temporaries and outputs on every call.
glibc serves big allocations with fresh pages (mmap, or heap it trimmed back to the OS after
the last call), so every call page-faults its arrays in again. The 16-block residual model of
benchmarks/remat_bench.py took ~11,000 page faults and 20-50 ms of system time per jitted
training step that way (a step is ~50 ms), and fewer than 300 with this pool; alone, a
(128, 256) @ (256, 1024) float32 matmul takes 0.61 ms into a fresh output, 0.38 ms into a
reused one.

How: every large array an executor makes is a view of a *block* owned by this pool. A block
is idle exactly when nothing but the pool refers to the array that owns its memory: NumPy
points every view (of a view) at that owner, and buffer exports (memoryview,
torch.from_numpy, ...) hold a reference to an array, so the owner's reference count says
whether any array on the block is still alive, including outputs the caller kept. An
allocation takes an idle block of the same (page-rounded) size; when there is none, it first
gives back idle blocks of other sizes (so idle memory never adds to the peak) and then makes
a new one. Nothing is freed explicitly, and memory the caller still holds is never handed out
again.

The pool holds at most ``config.cpu_buffer_pool_bytes``; beyond that, arrays are plain
``np.empty``. ``release()`` drops every idle block, e.g. before measuring a call's peak
memory with tracemalloc (which sees a block when it is made, not when it is reused).
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

from ftx.core.config import config

MIN_BYTES = 1 << 16   # smaller arrays come from malloc's heap bins, which stay mapped
_PAGE = 4096
_ALIGN = 64           # a cache line / AVX-512 vector (NumPy's large arrays sit 16 bytes past a
                      # page: a 128x256 @ 256x1024 f32 matmul took 0.41 ms there, 0.36 aligned)

_lock = threading.Lock()
_blocks: dict = {}    # rounded size -> [(owner, start), ...]: a 1-D uint8 array and the
                      # offset of its aligned block
_pooled = [0]         # bytes held in _blocks
_capacity = [0]       # config.cpu_buffer_pool_bytes (kept current by a config watcher)
stats = {"made": 0, "reused": 0, "unpooled": 0}


def _idle_index(blocks: list, idle_count: int):
    """Index of an idle block in ``blocks``, else -1."""
    getrefcount = sys.getrefcount
    for i in range(len(blocks)):
        if getrefcount(blocks[i][0]) == idle_count:
            return i
    return -1


def _calibrate() -> int:
    """The reference count ``_idle_index`` sees for an owner only the pool holds (it depends
    on the interpreter's borrowed-reference optimizations, so measure it there), or 0 when
    reference counts cannot tell (free-threaded Python, or a count that does not move when
    another reference appears): the pool is then off."""
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return 0
    probe = [(np.empty(1, np.uint8), 0)]
    idle = next((c for c in range(1, 16) if _idle_index(probe, c) == 0), 0)
    held = [probe[0][0]]  # one more reference: the block must now look busy
    busy = _idle_index(probe, idle) == -1
    held.clear()
    return idle if idle and busy else 0


_IDLE = _calibrate()


def empty(shape: tuple, dtype, nbytes: int) -> np.ndarray:
    """An uninitialized C-contiguous array of ``shape`` and ``dtype`` (``nbytes`` its size),
    on recycled memory when it is large.

    >>> a = empty((512, 512), np.float32, 512 * 512 * 4)
    """
    if nbytes < MIN_BYTES or not _capacity[0] or not _IDLE:
        return np.empty(shape, dtype)
    size = -(-nbytes // _PAGE) * _PAGE
    with _lock:
        blocks = _blocks.get(size)
        i = _idle_index(blocks, _IDLE) if blocks else -1
        if i < 0:  # a larger idle block, wasting at most half of it
            for key in sorted(k for k in _blocks if size < k <= 2 * size):
                blocks = _blocks[key]
                i = _idle_index(blocks, _IDLE)
                if i >= 0:
                    break
        if i >= 0:
            stats["reused"] += 1
            owner, start = blocks[i]
            # the view takes its reference while the lock is held: no other thread can take it
            return owner[start:start + nbytes].view(dtype).reshape(shape)
        # Idle blocks of other sizes would only add to the peak: give their memory back
        # first (malloc usually hands it straight back for this block, already mapped).
        _drop_idle(size)
        owner = np.empty(size + _ALIGN, np.uint8)
        start = -owner.__array_interface__["data"][0] % _ALIGN
        if _pooled[0] + size > _capacity[0] and not _make_room(size):
            stats["unpooled"] += 1
        else:
            stats["made"] += 1
            _blocks.setdefault(size, []).append((owner, start))
            _pooled[0] += size
        return owner[start:start + nbytes].view(dtype).reshape(shape)


def _make_room(size: int) -> bool:
    """Drop idle blocks until ``size`` more bytes fit under the capacity (lock held)."""
    _drop_idle()
    return _pooled[0] + size <= _capacity[0]


def _drop_idle(enough: int = -1) -> int:
    """Drop idle blocks (lock held), all of them or until ``enough`` bytes are dropped."""
    freed = 0
    for key in list(_blocks):
        blocks = _blocks[key]
        while freed < enough or enough < 0:
            i = _idle_index(blocks, _IDLE)
            if i < 0:
                break
            del blocks[i]
            freed += key
        if not blocks:
            del _blocks[key]
    _pooled[0] -= freed
    return freed


def release() -> int:
    """Drop every idle block (memory still in use stays where it is) and return the bytes
    dropped.

    >>> release()
    67108864
    """
    with _lock:
        return _drop_idle()


def pooled_bytes() -> int:
    """Bytes of memory the pool holds, in use or idle."""
    return _pooled[0]


def _set_capacity(value: int) -> None:
    _capacity[0] = value
    if _pooled[0] > value:
        release()


config.watch("cpu_buffer_pool_bytes", _set_capacity)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
