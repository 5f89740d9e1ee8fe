"""Data-parallel ftx over MPI: the same program on every process, each with its shard of the batch.

    # mpirun -n 4 python train.py
    from ftx import distributed as dist
    comm = dist.world()                                  # comm.rank, comm.size

    @ftx.jit
    def step(params, x, y):
        g = ftx.grad(loss)(params, x, y)
        g = dist.pmean(g, comm)                          # MPI allreduce inside the compiled program
        return ftx.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, g)

    x_local, y_local = dist.shard((x, y))                # this rank's rows of the global batch

Collectives (``psum``, ``pmean``, ``pmax``, ``pmin``, ``all_gather``,
``broadcast``) mean what ``ftx.lax``'s named-axis collectives mean under
``vmap(..., axis_name=...)``, ranks standing for batch elements, and work
eagerly, under ``jit``, ``grad`` and ``vmap``. Needs the ``mpi`` extra
(``pip install "ftx[mpi]"``) and an MPI runtime; ``import ftx`` never imports
mpi4py: the first call that needs MPI does. An uncaught exception on any rank
ends the whole job (see ``run``).
"""
from ftx.distributed.collectives import all_gather, broadcast, pmax, pmean, pmin, psum
from ftx.distributed.communicator import Communicator, is_main, world
from ftx.distributed.failures import run
from ftx.distributed.sharding import shard

__all__ = ["world", "Communicator", "is_main", "psum", "pmean", "pmax", "pmin", "all_gather",
           "broadcast", "shard", "run"]
