"""ftx.distributed: allreduce overhead at gradient sizes, and scaling of the data-parallel example.

    PYTHONPATH=. python benchmarks/mpi_bench.py            # launches mpirun itself

Part 1 runs on 2 processes: the time of one allreduce of a float32 array of
typical gradient sizes, through mpi4py directly (the floor), ``dist.psum``
eagerly and inside ``ftx.jit``; then the gradient pytree of a 784-1024-1024-10
MLP, leaf by leaf (what ``dist.psum(grads)`` does) and packed into one buffer.
Part 2 trains ``examples/data_parallel_mlp.py``'s model on 1 and 2 processes
(one BLAS thread each) and prints ms per step and the speedup, and for 2
processes the same run with ``psum`` replaced by the identity (no
communication: the compute part of a step). Best of several
repeats; on a shared 2-core machine expect noise, and no speedup beyond 2
processes.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import timeit

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def best(fn, number, repeat=7):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def timed_collectively(comm, fn, number):
    """Seconds per call, the slowest rank's best: every rank starts each repeat together."""
    def one():
        comm.mpi_comm.Barrier()
        for _ in range(number):
            fn()
    from ftx import distributed as dist
    return float(dist.pmax(np.array(best(one, 1) / number), comm))


def allreduce_worker():
    import ftx
    from ftx import distributed as dist
    comm = dist.world()
    rows = []
    for n in (1_000, 10_000, 100_000, 1_000_000, 4_000_000):
        x = np.random.default_rng(comm.rank).normal(size=n).astype(np.float32)
        out = np.empty_like(x)
        number = max(3, 20_000_000 // (n * 50))
        raw = timed_collectively(comm, lambda: comm.mpi_comm.Allreduce(x, out), number)
        eager = timed_collectively(comm, lambda: dist.psum(x), number)
        jitted = ftx.jit(lambda v: dist.psum(v))
        jit_t = timed_collectively(comm, lambda: jitted(x), number)
        copy = best(lambda: np.add(x, 0.0, out=out), number)
        rows.append((f"{n:>9,} f32 ({n * 4 / 1e6:.3g} MB)", raw, eager, jit_t, copy))

    sizes = [(784, 1024), (1024,), (1024, 1024), (1024,), (1024, 10), (10,)]
    grads = [np.random.default_rng(i).normal(size=s).astype(np.float32)
             for i, s in enumerate(sizes)]
    total = sum(g.size for g in grads)
    per_leaf = timed_collectively(comm, lambda: dist.psum(grads), 5)
    packed_out = np.empty(total, np.float32)

    def packed():
        flat = np.concatenate([g.ravel() for g in grads])
        comm.mpi_comm.Allreduce(flat, packed_out)
        return np.split(packed_out, np.cumsum([g.size for g in grads])[:-1])

    packed_t = timed_collectively(comm, packed, 5)
    if comm.rank == 0:
        print(f"{'allreduce on ' + str(comm.size) + ' processes':<28} {'mpi4py':>10} "
              f"{'dist.psum':>10} {'jit(psum)':>10} {'np.add copy':>12}")
        for name, *ts in rows:
            print(f"{name:<28} " + " ".join(f"{1e6 * t:>9.1f}µs" for t in ts[:3])
                  + f" {1e6 * ts[3]:>10.1f}µs")
        print(f"\nMLP 784-1024-1024-10 gradient ({total:,} f32, 6 leaves): "
              f"dist.psum leaf by leaf {1e3 * per_leaf:.2f} ms, packed into one allreduce "
              f"{1e3 * packed_t:.2f} ms")


def mpirun_cmd(n):
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("mpi_bench: no mpirun on PATH (Debian: apt-get install openmpi-bin)")
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout
    cmd = [mpirun, "-n", str(n)]
    if "Open MPI" in version:
        cmd += ["--oversubscribe", "--mca", "btl", "self,vader" if " 4." in version else "self,sm"]
    return cmd


def run(cmd, n_label):
    # One BLAS thread per process, as usual with MPI: threads of several ranks fighting over
    # the same cores make small matmuls 10-100x slower.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"mpi_bench: {n_label} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def main():
    print(f"mpi_bench: {os.cpu_count()} CPUs; times are the best of 7 repeats (slowest rank)\n")
    print(run(mpirun_cmd(2) + [sys.executable, __file__, "--allreduce-worker"], "allreduce"))
    print("data_parallel_mlp.py: 16-256-256-1 MLP (70k parameters), float32, jit, 40 steps, one "
          "BLAS thread per process;\n'local only' is the same run with psum replaced by the "
          "identity (each rank trains alone): the compute share of a step")
    print(f"{'global batch':>12} {'processes':>10} {'ms/step':>9} {'speedup':>8} "
          f"{'local only':>11}")
    for batch in (1024, 8192):
        base = None
        for n in (1, 2):
            ms = {}
            for mode in ("allreduce", "local") if n > 1 else ("allreduce",):
                cmd = mpirun_cmd(n) + [sys.executable, __file__, "--train-worker", str(batch), mode]
                ms[mode] = min(float(run(cmd, f"{n} processes")) for _ in range(5))
            base = base or ms["allreduce"]
            local = f"{ms['local']:>8.2f} ms" if "local" in ms else ""
            print(f"{batch:>12} {n:>10} {ms['allreduce']:>9.2f} {base / ms['allreduce']:>7.2f}x "
                  f"{local:>11}")


def train_worker(batch: int, mode: str):
    """Train the example on this rank; rank 0 prints the slowest rank's ms per step."""
    import importlib.util

    import ftx.distributed as dist
    spec = importlib.util.spec_from_file_location("example", REPO / "examples" /
                                                  "data_parallel_mlp.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    if mode == "local":  # no communication: what the step costs without the allreduce
        dist.psum = lambda x, comm=None: x
    comm = dist.world()
    _, _, per_step = example.train(40, batch, (16, 256, 256, 1), comm=comm)
    slowest = float(dist.pmax(np.array(per_step), comm))
    if comm.rank == 0:
        print(1e3 * slowest)

if __name__ == "__main__":
    if "--allreduce-worker" in sys.argv:
        allreduce_worker()
    elif "--train-worker" in sys.argv:
        train_worker(int(sys.argv[2]), sys.argv[3])
    else:
        main()
