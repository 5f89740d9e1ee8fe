"""The persistent compile cache: the program index (memory and disk), kernels reused across
shapes and processes, corrupt entries, concurrent processes and threads, ftx.cache info/clear.

Oracles: NumPy for every result; the files on disk; ``executor.stats`` (how each compile was
served) and Numba's own dispatcher statistics (``cache_hits``/``cache_misses``) for whether
anything was lowered or compiled.
"""
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import disk_index, executor, kernels
from ftx.core.avals import ShapedArray
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Var, eval_jaxpr

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache directory, and a process that has compiled nothing yet (no programs or
    kernels in memory), so every program comes from the disk or is lowered now."""
    monkeypatch.setattr(executor, "_programs", {})
    monkeypatch.setattr(kernels, "_loaded", {})
    root = tmp_path / "cache"
    with ftx.config.override(cache_dir=str(root)):
        yield root


def forget_memory(monkeypatch):
    """As if this were a new process: drop the programs and kernels held in memory."""
    monkeypatch.setattr(executor, "_programs", {})
    monkeypatch.setattr(kernels, "_loaded", {})


def stats_delta(before):
    return {k: executor.stats[k] - before[k] for k in before}


def numba_counts():
    """(cache hits, cache misses = compilations) over the kernels loaded in this process."""
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels.loaded_dispatchers())
    misses = sum(sum(k.stats.cache_misses.values()) for k in kernels.loaded_dispatchers())
    return hits, misses


def entries(root):
    return sorted((root / "index").glob("*.json"))


def affine_relu(x, y):
    return fnp.maximum(x * 1.5 - y, 0.25) + y


def affine_relu_np(x, y):
    return np.maximum(x * 1.5 - y, 0.25) + y


X = np.linspace(-2, 2, 12).reshape(3, 4)
Y = np.linspace(1, 0, 4)


# --------------------------------------------------------------------------- in one process

def test_a_program_is_lowered_once_then_served_from_memory_then_from_disk(cache, monkeypatch):
    before = dict(executor.stats)
    np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    assert stats_delta(before) == {"lowered": 1, "memory_hits": 0, "disk_hits": 0,
                                   "not_indexed": 0}
    assert len(entries(cache)) == 1

    # The same program traced again (a new jit object): no lowering.
    np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    assert stats_delta(before)["memory_hits"] == 1 and stats_delta(before)["lowered"] == 1

    # Nothing in memory: the program comes from the index, its kernels from Numba's cache.
    forget_memory(monkeypatch)
    np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    assert stats_delta(before) == {"lowered": 1, "memory_hits": 1, "disk_hits": 1,
                                   "not_indexed": 0}
    hits, misses = numba_counts()
    assert hits >= 1 and misses == 0


def test_static_arguments_are_part_of_the_program(cache):
    f = ftx.jit(lambda x, k: x * k + 1.0, static_argnums=1)
    before = dict(executor.stats)
    np.testing.assert_allclose(f(X, 2.0), X * 2.0 + 1.0)
    np.testing.assert_allclose(f(X, 3.0), X * 3.0 + 1.0)
    assert stats_delta(before)["lowered"] == 2 and len(entries(cache)) == 2
    f.clear_cache()  # trace both again: the programs are known
    np.testing.assert_allclose(f(X, 3.0), X * 3.0 + 1.0)
    np.testing.assert_allclose(f(X, 2.0), X * 2.0 + 1.0)
    assert stats_delta(before)["lowered"] == 2 and stats_delta(before)["memory_hits"] == 2


def test_a_new_shape_retraces_but_compiles_no_kernel(cache):
    f = ftx.jit(affine_relu)
    f(X, Y)
    loaded, (hits, misses) = kernels.compile_count, numba_counts()
    for n in (1, 5, 64):
        x = np.linspace(-1, 1, 4 * n).reshape(n, 4)
        np.testing.assert_allclose(f(x, Y), affine_relu_np(x, Y))
    assert f._cache_size() == 4 and len(entries(cache)) == 4  # a program per shape ...
    assert kernels.compile_count == loaded                     # ... the same kernels,
    assert numba_counts() == (hits, misses)                    # compiled once
    assert all(len(m.kernel.signatures) == 1 for m in kernels._loaded.values())


def test_the_key_tells_apart_what_changes_the_program():
    def key(f, *args):
        return disk_index.program_key(ftx.make_jaxpr(f)(*args))

    x32, x64 = np.ones(3, np.float32), np.ones(3)
    base = key(lambda x: x * 2.0, x64)
    assert key(lambda x: x * 2.0, x64) == base                  # deterministic
    assert key(lambda y: y * 2.0, x64) == base                  # names do not matter
    assert key(lambda x: x * 3.0, x64) != base                  # literal value
    assert key(lambda x: x * np.float32(2.0), x64) != base      # literal type
    assert key(lambda x: x * 2.0, x32) != base                  # input dtype
    assert key(lambda x: x * 2.0, np.ones(4)) != base           # input shape
    assert key(lambda x: x * 0.0, x64) != key(lambda x: x * -0.0, x64)  # exact floats
    m = np.ones((2, 3))
    assert key(lambda x: fnp.sum(x, axis=0), m) != key(lambda x: fnp.sum(x, axis=1), m)


def test_constants_and_literals_anywhere_survive_the_disk_entry(cache, monkeypatch):
    c = np.arange(3.0)

    def f(x):
        return (x * 2.0 + c, 3.0, fnp.cumsum(x + 1.0) @ c, fnp.sort(x) + c,
                fnp.broadcast_to(5.0, (2, 3)))

    jaxpr = ftx.make_jaxpr(f)(np.ones(3))  # closed: `c` is a constant of the graph
    x = np.array([3.0, 1.0, 2.0])
    expected = eval_jaxpr(jaxpr, x)
    fresh = executor.compile_jaxpr(jaxpr)(x)
    forget_memory(monkeypatch)
    before = dict(executor.stats)
    from_disk = executor.compile_jaxpr(jaxpr)(x)
    assert stats_delta(before)["disk_hits"] == 1
    for a, b, e in zip(fresh, from_disk, expected):
        np.testing.assert_array_equal(a, e)
        np.testing.assert_array_equal(b, e)


def test_a_jaxpr_with_a_callable_is_compiled_but_not_indexed(cache, capsys):
    a, b = Var(ShapedArray((3,), np.float64)), Var(ShapedArray((3,), np.float64))
    custom = Jaxpr([], [a], [b], [JaxprEqn(ftx.lax.neg_p, [a], [b], {"hook": print})])
    assert disk_index.program_key(custom) is None

    before = dict(executor.stats)
    f = ftx.jit(lambda x: ftx.debug.print("x0={}", x[0]) or x * 2.0)
    np.testing.assert_allclose(f(X[0]), X[0] * 2.0)
    assert "x0=" in capsys.readouterr().out
    assert stats_delta(before)["not_indexed"] == 1 and entries(cache) == []


# --------------------------------------------------------------------------- corruption

def _compile_then_forget(monkeypatch):
    ftx.jit(affine_relu)(X, Y)
    forget_memory(monkeypatch)


@pytest.mark.parametrize("damage", ["truncate", "garble_source"])
def test_a_corrupt_index_entry_is_rebuilt_with_a_warning(cache, monkeypatch, damage):
    _compile_then_forget(monkeypatch)
    (path,) = entries(cache)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[:len(text) // 2])
    else:  # still valid JSON: only the checksum can tell
        path.write_text(text.replace("np.empty", "np.zeros", 1))
    before = dict(executor.stats)
    with pytest.warns(RuntimeWarning, match="compile cache entry .* is corrupt"):
        np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    assert stats_delta(before)["lowered"] == 1
    entry = json.loads(path.read_text())  # rewritten whole
    assert entry["checksum"] == disk_index._checksum(entry["program"])


def test_a_corrupt_kernel_module_is_rebuilt_with_a_warning(cache, monkeypatch):
    _compile_then_forget(monkeypatch)
    for path in (cache / "kernels").glob("ftx_kernel_*.py"):
        path.write_bytes(b"\xff\x00 garbage(")
    with pytest.warns(RuntimeWarning, match="cached kernel .* was corrupt"):
        np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_corrupt_numba_machine_code_is_recompiled_with_a_warning(cache, monkeypatch, suffix):
    _compile_then_forget(monkeypatch)
    files = list((cache / "kernels" / "__pycache__").glob("ftx_kernel_*" + suffix))
    assert files
    for path in files:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 3] if suffix == ".nbi" else b"\x80\x05garbage")
    with pytest.warns(RuntimeWarning, match="Numba's cached machine code .* is corrupt"):
        np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    # The recompiled code was saved: the next process (here: forgetting again) loads it.
    forget_memory(monkeypatch)
    np.testing.assert_allclose(ftx.jit(affine_relu)(X, Y), affine_relu_np(X, Y))
    hits, misses = numba_counts()
    assert hits >= 1 and misses == 0


# --------------------------------------------------------------------------- the directory

def test_the_cache_directory_is_created_private(cache):
    ftx.jit(affine_relu)(X, Y)
    for folder in (cache, cache / "kernels", cache / "kernels" / "__pycache__", cache / "index"):
        assert os.stat(folder).st_mode & 0o077 == 0


def test_a_cache_directory_writable_by_others_or_owned_by_another_user_is_refused(
        tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "_loaded", {})
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with ftx.config.override(cache_dir=str(shared)):
        with pytest.raises(PermissionError, match="writable by other users.*FTX_CACHE_DIR"):
            ftx.jit(lambda x: x * 13.0 - 5.0)(np.ones(2))
    os.chmod(shared, 0o700)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(shared).st_uid + 1)
    with ftx.config.override(cache_dir=str(shared)):
        with pytest.raises(PermissionError, match="owned by user id"):
            ftx.jit(lambda x: x * 13.0 - 5.0)(np.ones(2))


def test_info_and_clear_count_and_remove_only_ftx_files(cache):
    ftx.jit(affine_relu)(X, Y)
    ftx.jit(lambda x: x * 0.5 + 4.0)(X)
    info = ftx.cache.info()
    assert info["directory"] == str(cache)
    assert info["index_entries"] == 2 == len(entries(cache))
    assert info["kernels"] == len(list((cache / "kernels").glob("ftx_kernel_*.py"))) >= 2
    assert info["numba_files"] >= 2 * info["kernels"]  # an .nbi and an .nbc per kernel
    assert info["bytes"] > 0
    (cache / "notes.txt").write_text("mine")
    (cache / "kernels" / "helper.py").write_text("mine")
    assert ftx.cache.clear() >= info["index_entries"] + info["kernels"] + info["numba_files"]
    assert ftx.cache.info() == {"directory": str(cache), "kernels": 0, "index_entries": 0,
                                "numba_files": 0, "bytes": 0}
    assert (cache / "notes.txt").read_text() == "mine"
    assert (cache / "kernels" / "helper.py").read_text() == "mine"


def test_the_command_line(tmp_path):
    env = dict(os.environ, FTX_CACHE_DIR=str(tmp_path))
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / ("0" * 64 + ".json")).write_text("{}")
    result = subprocess.run([sys.executable, "-m", "ftx.cache", "info"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"directory: {tmp_path}" in result.stdout and "index_entries: 1" in result.stdout
    assert "Warning" not in result.stderr
    from ftx.cache.__main__ import main
    with ftx.config.override(cache_dir=str(tmp_path)):
        assert main(["clear"]) == 0
    assert not (tmp_path / "index").exists()


# --------------------------------------------------------------------------- processes

_PROGRAM = """
    import json, numpy as np, ftx, ftx.numpy as fnp
    from ftx.backends.numba_cpu import executor, kernels
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    out = ftx.jit(lambda x: fnp.maximum(x * 2.5 - 1.0, -0.5))(x)
    assert np.array_equal(out, np.maximum(x * 2.5 - 1.0, -0.5)), out
    print(json.dumps(dict(executor.stats, kernels=kernels.compile_count,
        numba_hits=sum(sum(k.stats.cache_hits.values()) for k in kernels.loaded_dispatchers()),
        numba_misses=sum(sum(k.stats.cache_misses.values()) for k in kernels.loaded_dispatchers()))))
"""


def _start(cache_dir):
    env = dict(os.environ, FTX_CACHE_DIR=str(cache_dir))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_PROGRAM)], env=env,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process):
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_a_second_process_lowers_and_compiles_nothing(tmp_path):
    first = _finish(_start(tmp_path))
    assert first["lowered"] == 1 and first["disk_hits"] == 0 and first["numba_misses"] >= 1
    second = _finish(_start(tmp_path))
    assert second["lowered"] == 0 and second["disk_hits"] == 1
    assert second["numba_misses"] == 0 and second["numba_hits"] == first["numba_misses"]


def test_two_processes_compiling_the_same_program_at_once(tmp_path):
    both = [_start(tmp_path), _start(tmp_path)]
    results = [_finish(p) for p in both]  # each checked its own output against NumPy
    assert all(r["disk_hits"] + r["lowered"] == 1 for r in results)
    (path,) = (tmp_path / "index").glob("*.json")
    with ftx.config.override(cache_dir=str(tmp_path)):
        key = path.name[:-len(".json")]
        assert disk_index.load(key, executor._Program.from_json) is not None  # whole, valid
    assert not list(tmp_path.rglob("*.tmp"))


# --------------------------------------------------------------------------- threads

def test_threads_calling_one_jitted_function_at_once(cache):
    traces = []

    def body(x, y):
        traces.append(1)
        return fnp.minimum(x * y + 0.75, 2.0) - y

    f = ftx.jit(body)
    inputs = [(np.full((5, 3), float(i)), np.linspace(0, 1, 3) + i) for i in range(8)]
    results = [None] * len(inputs)
    start = threading.Barrier(len(inputs))
    before = dict(executor.stats)

    def worker(i):
        start.wait()  # all make their first call together
        results[i] = f(*inputs[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (x, y), out in zip(inputs, results):
        np.testing.assert_allclose(out, np.minimum(x * y + 0.75, 2.0) - y)
    assert len(traces) == 1  # one trace: the other threads waited for it ...
    assert stats_delta(before)["lowered"] == 1  # one program ...
    hits, misses = numba_counts()
    assert misses == len(kernels._loaded) and hits == 0  # ... each kernel compiled once
    assert all(len(m.kernel.signatures) == 1 for m in kernels._loaded.values())
