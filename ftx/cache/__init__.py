"""ftx's persistent compile cache: where it lives, what it holds, and clearing it.

    >>> ftx.cache.info()
    {'directory': '/home/me/.cache/ftx', 'kernels': 12, 'index_entries': 3, 'numba_files': 24,
     'bytes': 912345}
    >>> ftx.cache.clear()          # the number of files removed
    41

From a shell: ``python -m ftx.cache info`` and ``python -m ftx.cache clear``.

In memory, compiled functions reuse the memory of their large arrays across calls (up to
``config.cpu_buffer_pool_bytes``); ``ftx.cache.release_buffers()`` gives back what no live
array uses, like ``torch.cuda.empty_cache()``.

The directory is ``FTX_CACHE_DIR`` (or ``ftx.config.update('cache_dir', ...)``), else
``$XDG_CACHE_HOME/ftx`` (``~/.cache/ftx``). Its layout, every file written by ftx (or by
Numba for ftx's kernels), each atomically (temp file + rename):

- ``kernels/ftx_kernel_<sha>.py``: generated kernel modules, named by the hash of their source;
- ``kernels/__pycache__/ftx_kernel_<sha>.*``: their bytecode and Numba's machine code
  (``.nbi`` index, ``.nbc`` data);
- ``index/<sha>.json``: compiled programs, keyed by the canonical jaxpr, input types and
  versions (see ``ftx/backends/numba_cpu/disk_index.py``).

ftx imports and runs code from this directory, so it must be private to the user: ftx
creates it with mode 0700 and refuses one that other users can write or that another user
owns.
"""
from __future__ import annotations

import os
import re
import tempfile

KERNELS = "kernels"
INDEX = "index"
_KERNEL_FILE = re.compile(r"ftx_kernel_[0-9a-f]+\.")       # modules, their temps, __pycache__
_INDEX_FILE = re.compile(r"[0-9a-f]{64}\.json($|\..*\.tmp$)")  # entries and their temps


def directory() -> str:
    """The cache directory (it may not exist yet).

    >>> ftx.cache.directory()
    '/home/me/.cache/ftx'
    """
    from ftx.core.config import config
    if config.cache_dir:
        return os.path.abspath(os.path.expanduser(config.cache_dir))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ftx")


def private_dir(name: str) -> str:
    """``<directory>/<name>``, created private to the user (mode 0700); PermissionError if it
    or the cache directory is writable by other users or owned by someone else.

    >>> ftx.cache.private_dir("kernels")
    '/home/me/.cache/ftx/kernels'
    """
    path = directory()
    _make_private(path)
    for part in os.path.normpath(name).split(os.sep):
        path = os.path.join(path, part)
        _make_private(path)
    return path


def _make_private(path: str) -> None:
    """Create directory ``path`` with mode 0700 unless it exists; check that it is private."""
    try:
        os.mkdir(path, 0o700)  # level by level: os.makedirs gives parents the umask's mode
    except FileExistsError:
        pass
    except FileNotFoundError:  # the cache directory's own parents (~/.cache) are missing
        os.makedirs(path, 0o700, exist_ok=True)
    if os.name != "posix":  # no POSIX permission bits to check
        return
    st = os.stat(path)
    if st.st_mode & 0o022:
        raise PermissionError(
            f"ftx: the cache directory {path} is writable by other users (mode "
            f"{st.st_mode & 0o777:o}); ftx imports and runs code from it, so it refuses to use "
            "it. Fix its permissions (chmod 700 it) or set FTX_CACHE_DIR to a private directory.")
    if st.st_uid != os.getuid():
        raise PermissionError(
            f"ftx: the cache directory {path} is owned by user id {st.st_uid}, not by you "
            f"({os.getuid()}); ftx imports and runs code from it, so it refuses to use it. "
            "Set FTX_CACHE_DIR to a directory of your own.")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file, or the whole new one:
    write a temp file beside it, then rename it over ``path``. Concurrent writers of the same
    content are safe (the last rename wins)."""
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _ftx_files():
    """(kind, path) for every file in the cache directory that ftx (or Numba, for ftx's
    kernels) wrote; kind is 'kernel', 'numba', 'bytecode', 'index' or 'temp'."""
    root = directory()
    kernels, index = os.path.join(root, KERNELS), os.path.join(root, INDEX)
    for folder, pattern in ((kernels, _KERNEL_FILE), (os.path.join(kernels, "__pycache__"),
                                                      _KERNEL_FILE), (index, _INDEX_FILE)):
        try:
            names = sorted(os.listdir(folder))
        except OSError:  # not created yet
            continue
        for name in names:
            path = os.path.join(folder, name)
            if not pattern.match(name) or not os.path.isfile(path) or os.path.islink(path):
                continue
            if name.endswith(".tmp"):
                kind = "temp"
            elif name.endswith(".json"):
                kind = "index"
            elif name.endswith(".py"):
                kind = "kernel"
            elif name.endswith((".nbi", ".nbc")):
                kind = "numba"
            else:
                kind = "bytecode"
            yield kind, path


def info() -> dict:
    """What the cache holds: its directory, the number of kernel modules, of compiled-program
    index entries and of Numba machine-code files, and the bytes of all of ftx's files.

    >>> ftx.cache.info()["index_entries"]
    3
    """
    counts = {"kernel": 0, "index": 0, "numba": 0}
    total = 0
    for kind, path in _ftx_files():
        if kind in counts:
            counts[kind] += 1
        try:
            total += os.path.getsize(path)
        except OSError:  # removed meanwhile
            pass
    return {"directory": directory(), "kernels": counts["kernel"],
            "index_entries": counts["index"], "numba_files": counts["numba"], "bytes": total}


def clear() -> int:
    """Remove every file ftx wrote to the cache directory (nothing else in it) and return how
    many were removed. Programs already loaded in this process keep working; the next
    process compiles again.

    >>> ftx.cache.clear()
    41
    """
    removed = 0
    for _, path in list(_ftx_files()):
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:  # another process removed it first
            pass
    root = directory()
    for folder in (os.path.join(root, KERNELS, "__pycache__"), os.path.join(root, KERNELS),
                   os.path.join(root, INDEX)):
        try:
            os.rmdir(folder)  # only if empty: a folder with other files in it stays
        except OSError:
            pass
    return removed


def release_buffers() -> int:
    """Free the memory compiled CPU functions keep for reuse that no live array uses, and
    return its size in bytes (arrays you still hold keep theirs).

    >>> ftx.cache.release_buffers()
    41943040
    """
    from ftx.backends.numba_cpu import buffers
    return buffers.release()


__all__ = ["directory", "info", "clear", "private_dir", "write_atomic", "release_buffers"]
