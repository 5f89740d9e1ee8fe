"""ftx.distributed: MPI collectives, their rules, data-parallel training and failure handling.

Oracles: NumPy on every rank's inputs, and ftx.lax's named-axis collectives under
``vmap(axis_name='i')`` on one process (ranks standing for batch elements: the
semantics ftx.distributed promises to match).

In-process tests use a world of one process (mpi4py needed, no mpirun). The
multi-process tests run this very file as a script under ``mpirun -n 2`` and
``-n 3`` (loopback only, oversubscribed, with a timeout): each rank checks its
own results against the oracles and the training run saves its parameters for
comparison with a single-process run of the example.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import distributed as dist

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "data_parallel_mlp.py"
EXAMPLE_ARGS = ["--steps", "6", "--batch", "50", "--hidden", "16", "--dtype", "float64"]


HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")
needs_mpirun = pytest.mark.skipif(
    MPIRUN is None or not HAVE_MPI4PY,
    reason="the multi-process tests need mpi4py (pip install 'ftx[mpi]') and mpirun on PATH "
           "(Debian: apt-get install openmpi-bin)")


@functools.lru_cache(maxsize=None)
def mpi_start_problem():
    """Why MPI cannot start in a plain process here (None when it can). Asked of a child
    process: a failing MPI_Init (say Open MPI finding no ssh for its singleton daemon)
    aborts the process that calls it, which must not be pytest."""
    if not HAVE_MPI4PY:
        return "mpi4py is not installed: pip install 'ftx[mpi]'"
    code = "from mpi4py import MPI; MPI.COMM_WORLD.Barrier()"
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        # Open MPI states the cause first, between rules of dashes, before its abort banners.
        lines = [line.strip() for line in (probe.stdout + probe.stderr).splitlines()
                 if line.strip() and not line.lstrip().startswith(("-", "*", "["))]
        return "MPI does not start in this environment: " + " ".join(lines[:3])
    return None


@pytest.fixture
def world():
    """The world of this (single) process; skips when MPI cannot start here."""
    problem = mpi_start_problem()
    if problem:
        pytest.skip(problem)
    return dist.world()  # the first call imports mpi4py, which initializes MPI


# =========================================================================== the oracles

class Named:
    """ftx.lax's named-axis collectives, for use under vmap(axis_name='i')."""
    psum = staticmethod(lambda x: ftx.lax.psum(x, "i"))
    pmean = staticmethod(lambda x: ftx.lax.pmean(x, "i"))
    pmax = staticmethod(lambda x: ftx.lax.pmax(x, "i"))
    pmin = staticmethod(lambda x: ftx.lax.pmin(x, "i"))
    all_gather = staticmethod(lambda x, **kw: ftx.lax.all_gather(x, "i", **kw))


class Mpi:
    """The same collectives over MPI ranks."""
    psum, pmean, pmax, pmin, all_gather = (dist.psum, dist.pmean, dist.pmax, dist.pmin,
                                           dist.all_gather)


# Functions of one rank's x (shape (3, 4)), written against either namespace; each mixes a
# collective's output with local values so the gradient flows through the transpose rules.
def f_psum(x, c):
    return fnp.sum(fnp.sin(c.psum(x)) * x)


def f_pmean(x, c):
    return fnp.sum(c.pmean(x ** 2) * fnp.cos(x))


def f_extremes(x, c):
    return fnp.sum(c.pmax(x) * x) + fnp.sum(c.pmin(x) ** 2)


def f_gather(x, c):
    return fnp.sum(c.all_gather(x)[-1] * fnp.tanh(x)) + fnp.sum(c.all_gather(x, axis=1) ** 2)


FUNCTIONS = [f_psum, f_pmean, f_extremes, f_gather]


def rank_input(r, shape=(3, 4)):
    return np.random.default_rng(100 + r).normal(size=shape)


def named_reference(f, xs):
    """f's value and gradient on every 'rank' (row of xs), with vmap's named axis."""
    return ftx.vmap(ftx.value_and_grad(functools.partial(f, c=Named)), axis_name="i")(xs)


# =========================================================================== multi-process checks
# Run on every rank by `python tests/test_distributed.py all OUTDIR` under mpirun.

def check_collectives_against_numpy(comm):
    n, r = comm.size, comm.rank
    xs = np.stack([rank_input(i) for i in range(n)])
    x = xs[r]
    close = np.testing.assert_allclose
    close(dist.psum(x), xs.sum(0), rtol=1e-12)
    close(dist.pmean({"a": x})["a"], xs.mean(0), rtol=1e-12)
    close(dist.pmax(x), xs.max(0))
    close(dist.pmin(x), xs.min(0))
    close(dist.all_gather(x), xs)
    close(dist.all_gather(x, axis=2), np.moveaxis(xs, 0, 2))
    close(dist.all_gather(x, axis=-1, tiled=True), np.concatenate(list(xs), axis=-1))
    close(dist.broadcast(x, root=n - 1), xs[-1])
    ints = np.arange(5, dtype=np.int32) * (r + 1)
    assert dist.psum(ints).dtype == np.int32
    np.testing.assert_array_equal(dist.psum(ints), np.arange(5) * sum(range(1, n + 1)))
    halves = np.full(3, r + 0.5, np.float16)
    assert dist.pmax(halves).dtype == np.float16 and dist.pmax(halves)[0] == n - 0.5
    assert bool(dist.pmax(np.array(r == n - 1))) and bool(dist.pmin(np.array(r == 0))) == (n == 1)
    # jit on the default backend (Numba in the 2-process run: MPI between kernels) and reference
    step = ftx.jit(lambda v: fnp.tanh(dist.psum(v * 2.0)) + v)
    close(step(x), np.tanh(2 * xs.sum(0)) + x, rtol=1e-12)
    ref_step = ftx.jit(lambda v: dist.all_gather(v * 2.0), backend="reference")
    close(ref_step(x), 2 * xs)
    # shard: np.array_split's blocks, as views
    batch = {"x": np.arange(7 * 2).reshape(7, 2), "y": np.arange(7)}
    mine = dist.shard(batch)
    np.testing.assert_array_equal(mine["y"], np.array_split(np.arange(7), n)[r])
    assert np.shares_memory(mine["x"], batch["x"])


def check_rules_against_vmap(comm):
    """Each rank's value and gradient equal batch element `rank` of the named-axis version."""
    n, r = comm.size, comm.rank
    xs = np.stack([rank_input(i) for i in range(n)])
    for f in FUNCTIONS:
        want_v, want_g = named_reference(f, xs)
        mpi_f = functools.partial(f, c=Mpi)
        for name, run in [("eager", ftx.value_and_grad(mpi_f)),
                          ("jit", ftx.jit(ftx.value_and_grad(mpi_f), backend="reference")),
                          ("grad of jit", ftx.value_and_grad(ftx.jit(mpi_f, backend="reference")))]:
            v, g = run(xs[r])
            np.testing.assert_allclose(v, want_v[r], rtol=1e-10, err_msg=f"{f.__name__} {name}")
            np.testing.assert_allclose(g, want_g[r], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{f.__name__} {name}")
        # forward mode: jvp along a direction that differs per rank
        ts = np.stack([rank_input(i + 50) for i in range(n)])
        want_t = ftx.vmap(lambda x, t: ftx.jvp(functools.partial(f, c=Named), (x,), (t,))[1],
                          axis_name="i")(xs, ts)
        np.testing.assert_allclose(ftx.jvp(mpi_f, (xs[r],), (ts[r],))[1], want_t[r], rtol=1e-10)
        # second order: Hessian-vector products (jvp of grad)
        want_h = ftx.vmap(lambda x, t: ftx.jvp(ftx.grad(functools.partial(f, c=Named)), (x,),
                                               (t,))[1], axis_name="i")(xs, ts)
        np.testing.assert_allclose(ftx.jvp(ftx.grad(mpi_f), (xs[r],), (ts[r],))[1], want_h[r],
                                   rtol=1e-9, atol=1e-12, err_msg=f"hvp of {f.__name__}")
    # vmap over a local batch: batch element b of every rank reduces together
    batch = np.stack([rank_input(i, (5, 3, 4)) for i in range(n)])  # (ranks, B, 3, 4)
    for f in FUNCTIONS:
        per_b = ftx.vmap(ftx.vmap(ftx.grad(functools.partial(f, c=Named)), axis_name="i"),
                         in_axes=1, out_axes=1)(batch)
        got = ftx.vmap(ftx.grad(functools.partial(f, c=Mpi)))(batch[r])
        np.testing.assert_allclose(got, per_b[r], rtol=1e-10, atol=1e-12,
                                   err_msg=f"vmap of {f.__name__}")
    # broadcast's gradient: the root's input collects every rank's cotangent
    root = n - 1
    g = ftx.grad(lambda v: fnp.sum(dist.broadcast(v, root=root) ** 2) * (r + 1))(xs[r])
    want = 2 * xs[root] * sum(range(1, n + 1)) if r == root else np.zeros_like(xs[r])
    np.testing.assert_allclose(g, want, rtol=1e-12)


def load_example():
    spec = importlib.util.spec_from_file_location("data_parallel_mlp", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(mode: str, out_dir: str):
    comm = dist.world()
    if mode == "all":
        check_collectives_against_numpy(comm)
        check_rules_against_vmap(comm)
        print(f"rank {comm.rank}: collectives and rules agree with the oracles", flush=True)
        load_example().main([*EXAMPLE_ARGS, "--out", os.path.join(out_dir, "params.npz")])
    elif mode in ("fail", "fail_in_run"):
        step = ftx.jit(lambda v: dist.psum(v) * 2.0, backend="reference")
        step(np.ones(3))

        def main():
            if comm.rank == 1:  # the others are waiting for rank 1 inside the allreduce
                raise RuntimeError("injected failure in the step on rank 1")
            step(np.ones(3))

        dist.run(main) if mode == "fail_in_run" else main()
        print(f"rank {comm.rank}: should not get here", flush=True)


def mpirun(n: int, mode: str, out_dir, backend: str = "reference", timeout: float = 150):
    """Run this file on ``n`` processes over loopback; (returncode, stdout + stderr)."""
    version = subprocess.run([MPIRUN, "--version"], capture_output=True, text=True).stdout
    # One BLAS thread per rank: the ranks already oversubscribe the cores.
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               FTX_DEFAULT_BACKEND=backend, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [MPIRUN, "-n", str(n)]
    if "Open MPI" in version or "OpenRTE" in version:
        shared_memory = "vader" if " 4." in version or " 3." in version else "sm"
        cmd += ["--oversubscribe"]
        # CI runs as root; loopback only; no cross-process memory mapping (often not
        # permitted in containers), plain shared-memory copies instead.
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_btl=f"self,{shared_memory}", OMPI_MCA_oob_tcp_if_include="lo",
                   **{f"OMPI_MCA_btl_{shared_memory}_single_copy_mechanism": "none"})
    cmd += [sys.executable, __file__, mode, str(out_dir)]
    # A session of its own, so that a hung job is killed whole (mpirun and every rank).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"`{' '.join(cmd)}` hung for {timeout} s; its output:\n{output}")
    return proc.returncode, output


# =========================================================================== multi-process tests

@pytest.fixture(scope="module")
def single_process_params(tmp_path_factory):
    if mpi_start_problem():
        pytest.skip(mpi_start_problem())
    out = tmp_path_factory.mktemp("one") / "params.npz"
    load_example().main([*EXAMPLE_ARGS, "--out", str(out)])
    return dict(np.load(out))


@needs_mpirun
# 3 processes do not divide the batch of 50. Loading the Numba executor's kernels costs each
# process ~4 s on 2 cores, so one run uses it (jit's default backend) and the other the
# reference interpreter, which calls the same impls.
@pytest.mark.parametrize("n, backend", [(2, "cpu"), (3, "reference")])
def test_collectives_rules_and_training_on_n_processes(n, backend, tmp_path,
                                                       single_process_params):
    rc, output = mpirun(n, "all", tmp_path, backend)
    assert rc == 0, output
    for r in range(n):
        assert f"rank {r}: collectives and rules agree with the oracles" in output, output
    params = dict(np.load(tmp_path / "params.npz"))
    assert params.keys() == single_process_params.keys()
    for k in params:
        np.testing.assert_allclose(params[k], single_process_params[k], rtol=1e-10, atol=1e-12)
    # and training moved the parameters (the comparison is not between two initializations)
    init = load_example().init_params(np.random.default_rng(1), (16, 16, 16, 1), "float64")
    assert not np.allclose(params["arr_0"], init[0][0])


@needs_mpirun
@pytest.mark.parametrize("mode", ["fail", "fail_in_run"])
def test_a_failing_rank_ends_the_job_naming_the_rank(mode, tmp_path):
    rc, output = mpirun(2, mode, tmp_path, timeout=60)
    assert rc != 0, output
    assert "ftx.distributed: rank 1 of 2 failed with RuntimeError: injected failure" in output
    assert "should not get here" not in output


# =========================================================================== in-process: one rank

def test_world_of_one_process(world):
    comm = world
    assert (comm.rank, comm.size) == (0, 1) and dist.is_main()
    assert comm == dist.world() and hash(comm) == hash(dist.world())
    from mpi4py import MPI
    assert dist.Communicator(MPI.COMM_WORLD) == comm
    assert "rank=0, size=1" in repr(comm)


def test_collectives_of_one_process_are_the_identity_or_a_new_axis(world):
    x = rank_input(0)
    for op in (dist.psum, dist.pmean, dist.pmax, dist.pmin, dist.broadcast):
        np.testing.assert_array_equal(op(x), x)
    np.testing.assert_array_equal(dist.all_gather(x), x[None])
    assert dist.all_gather(x, axis=-1).shape == (3, 4, 1)
    np.testing.assert_array_equal(dist.all_gather(x, tiled=True), x)
    assert dist.psum(2.0) == 2.0 and dist.psum(np.float16(1.5)).dtype == np.float16
    out = dist.psum({"w": x, "b": [np.arange(3)]})
    np.testing.assert_array_equal(out["b"][0], np.arange(3))


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_rules_match_the_named_axis_versions_for_one_process(f, world):
    x = rank_input(0)
    want_v, want_g = named_reference(f, x[None])
    for run in (ftx.value_and_grad(functools.partial(f, c=Mpi)),
                ftx.jit(ftx.value_and_grad(functools.partial(f, c=Mpi)), backend="reference")):
        v, g = run(x)
        np.testing.assert_allclose(v, want_v[0], rtol=1e-12)
        np.testing.assert_allclose(g, want_g[0], rtol=1e-12)


def test_transposes_are_collectives_in_the_backward_pass(world):
    x = rank_input(0)
    for f, prims in [(lambda v: fnp.sum(dist.psum(v) ** 2), ["mpi_allreduce"] * 2),
                     (lambda v: fnp.sum(dist.all_gather(v) ** 2),
                      ["mpi_allgather", "mpi_allreduce"]),
                     (lambda v: fnp.sum(dist.broadcast(v) ** 2), ["mpi_bcast", "mpi_allreduce"])]:
        jaxpr = ftx.make_jaxpr(ftx.grad(f))(x)
        names = [e.primitive.name for e in jaxpr.eqns if e.primitive.name.startswith("mpi_")]
        assert names == prims, jaxpr
        assert all(e.primitive.effectful for e in jaxpr.eqns if e.primitive.name in prims)


def test_vmap_of_a_collective_reduces_the_batched_array(world):
    xs = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(ftx.vmap(dist.psum)(xs), xs)
    np.testing.assert_array_equal(ftx.vmap(dist.all_gather, in_axes=1)(xs), xs.T[:, None])
    jaxpr = ftx.make_jaxpr(ftx.vmap(dist.pmax))(xs)
    (eqn,) = jaxpr.eqns
    assert eqn.primitive.name == "mpi_allreduce" and eqn.invars[0].aval.shape == (5, 3)


def test_a_jitted_collective_runs_between_kernels(world):
    x = rank_input(0)
    f = ftx.jit(lambda v: fnp.tanh(dist.psum(v * 2.0) + 1.0))
    np.testing.assert_allclose(f(x), np.tanh(2 * x + 1), rtol=1e-12)
    text = f.lower(x).compile().as_text()
    assert "# mpi_allreduce" in text
    # a communicator passed to a jitted function is static: no leaves, part of the cache key
    g = ftx.jit(lambda v, comm: dist.psum(v, comm) * comm.size)
    np.testing.assert_array_equal(g(x, world), x)
    g(x, world)
    assert g._cache_size() == 1


def test_run_in_a_world_of_one_lets_exceptions_through(world):
    assert dist.run(lambda a, b=0: a + b, 1, b=2) == 3

    def fails():
        raise KeyError("no such layer")

    with pytest.raises(KeyError, match="no such layer"):
        dist.run(fails)


def test_bad_input_errors_name_the_operation_and_the_fix(world):
    with pytest.raises(TypeError, match=r"psum: MPI cannot sum booleans .*astype\(np.int32\)"):
        dist.psum(np.array([True]))
    with pytest.raises(TypeError, match="pmax: complex numbers have no order"):
        dist.pmax(np.ones(2, np.complex128))
    with pytest.raises(ValueError, match="root=3 is not a rank of a communicator of size 1"):
        dist.broadcast(np.ones(2), root=3)
    with pytest.raises(ValueError, match=r"all_gather: axis=2 is out of range for f64\[3\]"):
        dist.all_gather(np.ones(3), axis=2)
    with pytest.raises(ValueError, match=r"same leading \(batch\) size, got \[0\]: 4, \[1\]: 3"):
        dist.shard((np.ones(4), np.ones(3)))
    with pytest.raises(ValueError, match="leading batch axis"):
        dist.shard({"lr": 0.1})
    with pytest.raises(TypeError, match="intra-communicator"):
        dist.psum(np.ones(2), comm="world")


def test_shard_bounds_split_like_numpy():
    from ftx.distributed.sharding import shard_bounds
    for n in (0, 1, 5, 7, 12):
        for size in (1, 2, 3, 4, 8):
            blocks = np.array_split(np.arange(n), size)
            for r in range(size):
                start, stop = shard_bounds(n, r, size)
                np.testing.assert_array_equal(np.arange(n)[start:stop], blocks[r])


def test_missing_mpi4py_is_a_clear_import_error(monkeypatch):
    from ftx.distributed import communicator
    monkeypatch.setattr(communicator, "_MPI", None)
    monkeypatch.setattr(communicator, "_world", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `import mpi4py` fail
    with pytest.raises(ImportError, match=r'pip install "ftx\[mpi\]".*openmpi-bin'):
        dist.world()


def test_import_ftx_does_not_import_mpi4py():
    code = "import sys, ftx; ftx.distributed.psum; assert 'mpi4py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))


if __name__ == "__main__":  # one rank of a multi-process test (see mpirun above)
    _script(sys.argv[1], sys.argv[2])
