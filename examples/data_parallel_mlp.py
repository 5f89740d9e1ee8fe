"""Data-parallel training of an MLP over MPI: each process trains on its shard of one global batch.

    mpirun -n 4 python examples/data_parallel_mlp.py --steps 100
    python examples/data_parallel_mlp.py --steps 100          # one process: the same parameters

(Set ``OMP_NUM_THREADS=1`` when the processes fill the machine's cores: BLAS
threads of several ranks competing for the same cores slow small matmuls down
many times over.)

Every rank builds the same global batch (same seed) and keeps its rows with
``dist.shard``. The loss of a shard is the *sum* of its squared errors divided
by the global batch size, so the ``psum`` of the shard gradients is exactly the
gradient of the mean loss over the whole batch, for any number of ranks, even
one that does not divide the batch (then the first ranks get one row more).
The parameters start from rank 0's initialization (``dist.broadcast``), and the
allreduce runs inside the jitted step, between its compiled kernels.

``--out params.npz`` saves the trained parameters (rank 0 writes them);
the last line printed gives the time per step.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import ftx
import ftx.numpy as fnp
from ftx import distributed as dist


def init_params(rng, sizes, dtype):
    """One (w, b) pair per layer, scaled so tanh units start in their linear range."""
    return [(rng.normal(0.0, 1.0 / np.sqrt(m), (m, n)).astype(dtype), np.zeros(n, dtype))
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for w, b in params[:-1]:
        x = fnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def make_dataset(seed, n, sizes, dtype):
    """A regression problem from a random 'teacher' network, the same on every rank."""
    rng = np.random.default_rng(seed)
    teacher = init_params(rng, sizes, dtype)
    x = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = np.asarray(predict(teacher, x)) + 0.01 * rng.normal(size=(n, sizes[-1])).astype(dtype)
    return x, y.astype(dtype)


def make_step(global_batch: int, learning_rate: float, comm):
    def shard_loss(params, x, y):
        # Sum over this shard / global size: the shards' losses add up to the global mean.
        return fnp.sum((predict(params, x) - y) ** 2) / global_batch

    @ftx.jit
    def step(params, x, y):
        loss, grads = ftx.value_and_grad(shard_loss)(params, x, y)
        loss, grads = dist.psum((loss, grads), comm)  # MPI_Allreduce inside the compiled step
        params = ftx.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return params, loss

    return step


def train(steps=100, batch=256, sizes=(16, 64, 64, 1), learning_rate=0.1, dtype="float32",
          seed=0, log_every=0, comm=None):
    """Train for ``steps`` steps; returns (params, losses, seconds per step after the first)."""
    comm = comm if comm is not None else dist.world()
    x, y = make_dataset(seed, batch, sizes, dtype)
    x_local, y_local = dist.shard((x, y), comm)
    params = dist.broadcast(init_params(np.random.default_rng(seed + 1), sizes, dtype), comm)
    step = make_step(batch, learning_rate, comm)
    losses = []
    start = None
    for i in range(steps):
        if i == 1:  # the first step traces and compiles
            start = time.perf_counter()
        params, loss = step(params, x_local, y_local)
        losses.append(float(loss))
        if log_every and i % log_every == 0 and dist.is_main(comm):
            print(f"step {i:4d}   loss {losses[-1]:.6f}", flush=True)
    per_step = (time.perf_counter() - start) / (steps - 1) if steps > 1 else float("nan")
    return params, losses, per_step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256, help="global batch size")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--out", help="save the trained parameters to this .npz (rank 0)")
    args = parser.parse_args(argv)
    comm = dist.world()
    sizes = (16, args.hidden, args.hidden, 1)
    params, losses, per_step = train(args.steps, args.batch, sizes, args.lr, args.dtype,
                                     log_every=max(args.steps // 5, 1), comm=comm)
    if dist.is_main(comm):
        print(f"{comm.size} process(es), global batch {args.batch}: loss {losses[0]:.6f} -> "
              f"{losses[-1]:.6f} in {args.steps} steps")
        if args.out:
            np.savez(args.out, *[a for layer in params for a in layer])
        print(f"ms_per_step {1e3 * per_step:.3f}")


if __name__ == "__main__":
    dist.run(main)
