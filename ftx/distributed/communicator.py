"""The MPI side of ftx.distributed: loading mpi4py, ``Communicator`` and ``world()``.

mpi4py is imported (which initializes MPI) by the first call that needs a
communicator, never by ``import ftx``: code that only imports ftx pays nothing
and needs no MPI library.
"""
from __future__ import annotations

from ftx.core import pytree

INSTALL_HINT = ('ftx.distributed needs mpi4py and an MPI library: pip install "ftx[mpi]", and an '
                "MPI runtime such as Open MPI (Debian/Ubuntu: apt-get install openmpi-bin; add "
                "libopenmpi-dev if pip has to build mpi4py from source)")

_MPI = None
_world = None


def mpi():
    """The ``mpi4py.MPI`` module; a clear ImportError saying what to install when it is missing."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError(f"{INSTALL_HINT}. Importing mpi4py failed: {e}") from e
        except (OSError, RuntimeError) as e:  # mpi4py is there but finds no MPI library
            raise ImportError(f"{INSTALL_HINT}. mpi4py could not load an MPI library: {e}") from e
        _MPI = MPI
    return _MPI


@pytree.register_static  # a jit argument without leaves: part of the cache key, never traced
class Communicator:
    """A group of processes that run collectives together: ``.rank``, ``.size``, ``.mpi_comm``.

    >>> comm = dist.world()
    >>> print(f"process {comm.rank} of {comm.size}")

    Collectives take one as ``comm`` (``None`` means ``world()``); an mpi4py
    intra-communicator (e.g. from ``comm.mpi_comm.Split(color)``) works as well.
    It is stored in the traced graph, so it is hashable and two are equal when
    they wrap the same MPI communicator; passed to a jitted function it is a
    static argument (a pytree without leaves).
    """

    __slots__ = ("mpi_comm", "rank", "size")

    def __init__(self, mpi_comm):
        MPI = mpi()
        if not isinstance(mpi_comm, MPI.Intracomm):
            raise TypeError(f"ftx.distributed: expected an mpi4py intra-communicator (such as "
                            f"MPI.COMM_WORLD), got {type(mpi_comm).__name__}")
        self.mpi_comm = mpi_comm
        self.rank = mpi_comm.Get_rank()
        self.size = mpi_comm.Get_size()

    def __eq__(self, other):
        return type(other) is Communicator and self.mpi_comm == other.mpi_comm

    def __hash__(self):
        return hash(self.mpi_comm.py2f())

    def __repr__(self):
        name = self.mpi_comm.Get_name() or "Communicator"
        return f"{name}(rank={self.rank}, size={self.size})"


def world() -> Communicator:
    """All the processes of this job (``MPI_COMM_WORLD``): ``world().rank``, ``world().size``.

    >>> comm = dist.world()       # under `mpirun -n 4 python train.py`: size 4
    >>> comm.rank, comm.size

    Run without ``mpirun`` it is a world of one process (rank 0, size 1). In a
    job of two or more processes the first call also makes an uncaught exception
    on any rank end the whole job (see ``ftx.distributed.run``).
    """
    global _world
    if _world is None:
        comm = Communicator(mpi().COMM_WORLD)
        if comm.size > 1:
            from ftx.distributed.failures import abort_on_uncaught_exception
            abort_on_uncaught_exception(comm)
        _world = comm
    return _world


def as_communicator(comm) -> Communicator:
    """``None`` -> ``world()``; a Communicator as is; an mpi4py communicator wrapped."""
    if comm is None:
        return world()
    if type(comm) is Communicator:
        return comm
    return Communicator(comm)


def is_main(comm=None) -> bool:
    """True on rank 0 only: ``if dist.is_main(): print(loss)`` logs once per job."""
    return as_communicator(comm).rank == 0


__all__ = ["Communicator", "world", "is_main", "as_communicator", "mpi", "INSTALL_HINT"]
