"""When one rank fails, end the whole job instead of leaving the others blocked in a collective.

An MPI job hangs when one process dies with an exception while the others
wait for it inside an allreduce: the failed process finalizes MPI, which
tells ``mpirun`` nothing is wrong. Here a failure prints which rank failed
and why, then calls ``MPI_Abort``, which makes ``mpirun`` kill every rank and
exit non-zero.

Two doors, one mechanism (``abort_job``):

- ``world()`` in a job of two or more processes installs a ``sys.excepthook``
  that aborts on any exception nobody caught; nothing to do for the common case.
- ``dist.run(main, *args)`` calls ``main`` and aborts on any exception it
  raises, including ``SystemExit`` with a non-zero code (which never reaches
  the excepthook) — use it where ``sys.excepthook`` is not consulted
  (embedded interpreters, IPython) or when you replace the hook yourself.
"""
from __future__ import annotations

import sys
import traceback

_hook_installed = False


def abort_job(comm, exc: BaseException) -> None:
    """Print ``rank R of N failed`` and the traceback of ``exc`` to stderr; ``MPI_Abort(1)``."""
    header = f"ftx.distributed: rank {comm.rank} of {comm.size} failed with " \
             f"{type(exc).__name__}: {exc}"
    try:
        sys.stdout.flush()
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        sys.stderr.write(f"{header}\n{''.join(lines)}{header}; aborting all {comm.size} ranks "
                         "(MPI_Abort)\n")
        sys.stderr.flush()
    finally:
        comm.mpi_comm.Abort(1)


def abort_on_uncaught_exception(comm) -> None:
    """Make an uncaught exception in this process abort the MPI job (installed once)."""
    global _hook_installed
    if _hook_installed:
        return

    def excepthook(exc_type, exc, tb):
        abort_job(comm, exc if exc is not None else exc_type())

    sys.excepthook = excepthook
    _hook_installed = True


def run(main, *args, comm=None, **kwargs):
    """Call ``main(*args, **kwargs)``; if it raises on any rank, end every rank of the job.

    >>> if __name__ == "__main__":
    ...     dist.run(main)

    The failing rank prints ``ftx.distributed: rank R of N failed with ...`` and
    its traceback, then calls ``MPI_Abort``: ``mpirun`` stops the other ranks
    (even those blocked in a collective) and exits with a non-zero status.
    ``sys.exit(0)`` and a normal return end only this rank, as usual. In a
    world of one process exceptions propagate unchanged.
    """
    from ftx.distributed.communicator import as_communicator
    comm = as_communicator(comm)
    try:
        return main(*args, **kwargs)
    except SystemExit as e:
        if comm.size == 1 or e.code in (None, 0):
            raise
        abort_job(comm, e)
    except BaseException as e:  # KeyboardInterrupt too: the other ranks must not hang
        if comm.size == 1:  # nobody to wait for us: a plain Python traceback and exit
            raise
        abort_job(comm, e)


__all__ = ["run", "abort_job", "abort_on_uncaught_exception"]
