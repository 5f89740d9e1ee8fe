"""``shard``: each rank's slice of a global batch."""
from __future__ import annotations

from ftx.core import pytree
from ftx.distributed.communicator import as_communicator


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """``[start, stop)`` of ``rank``'s rows when ``n`` rows are split over ``size`` ranks.

    As ``np.array_split``: the first ``n % size`` ranks get one row more.
    """
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def shard(batch, comm=None):
    """This rank's rows of a global batch: every leaf sliced along its leading axis (views).

    >>> x_local, y_local = dist.shard((x, y))   # x: (N, ...) on every rank

    With ``N`` rows over ``size`` ranks, rank ``r`` gets a contiguous block; when
    ``size`` does not divide ``N`` the first ``N % size`` ranks get one row more
    (``np.array_split``'s split), and ranks past ``N`` get empty slices. Uneven
    shards make a per-rank *mean* weigh rows unequally: to reproduce a
    single-process mean over the global batch, sum the local losses, divide by
    the global ``N`` and ``psum`` the gradients (see
    ``examples/data_parallel_mlp.py``).
    """
    comm = as_communicator(comm)
    with_paths, tree = pytree.tree_flatten_with_path(batch)
    rows = []
    for path, leaf in with_paths:
        where = pytree.keystr(path) or "the root"
        shape = getattr(leaf, "shape", ())
        if len(shape) == 0:
            raise ValueError(f"ftx.distributed.shard: every leaf needs a leading batch axis, but "
                             f"the leaf at {where} is a scalar ({type(leaf).__name__})")
        rows.append((where, shape[0]))
    if any(n != rows[0][1] for _, n in rows):
        listing = ", ".join(f"{where}: {n}" for where, n in rows)
        raise ValueError("ftx.distributed.shard: all leaves must have the same leading (batch) "
                         f"size, got {listing}")
    if not rows:
        return batch
    start, stop = shard_bounds(rows[0][1], comm.rank, comm.size)
    return pytree.tree_unflatten(tree, [leaf[start:stop] for _, leaf in with_paths])

__all__ = ["shard", "shard_bounds"]
