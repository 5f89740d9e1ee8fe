"""Collectives across MPI processes: the primitives ``mpi_allreduce`` (sum/max/min),
``mpi_allgather`` and ``mpi_bcast``, and ``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``broadcast`` built on them.

They mean what the named-axis collectives of ``ftx.lax`` mean inside
``vmap(f, axis_name='i')``, with the processes of a communicator in place of
the batch elements: rank ``r`` computes what batch element ``r`` would. So a
function checked under ``vmap`` on one process runs unchanged on many, and
the rules match:

- ``psum`` is linear: its jvp is ``psum`` of the tangent and its transpose is
  ``psum`` of the cotangent. So ``grad(lambda p: psum(f(p)))`` on each rank is
  ``size`` times the local gradient (every rank's output depends on every
  rank's input), exactly as in JAX. ``pmean = psum / size`` is linear too:
  ``grad(lambda p: pmean(f(p)))`` is the *local* gradient of ``f``. To train
  on the whole batch, differentiate the local loss and ``pmean``/``psum`` the
  gradients, as ``examples/data_parallel_mlp.py`` does.
- ``pmax``/``pmin``: the tangent of the ranks that hold the extreme, averaged
  over ties. ``all_gather`` transposes to a ``psum`` of the cotangent sliced at
  this rank; ``broadcast`` to a ``psum`` of the cotangent on the root (zeros
  elsewhere).
- ``vmap`` of a collective over a batched operand is the collective on the
  whole batched array (every batch element is reduced across ranks).

Every rank must call the same collectives in the same order with the same
shapes and dtypes, as with MPI itself. Data-dependent Python branches on
``rank`` around collectives deadlock; branches inside ``ftx.lax.cond`` are fine
when every rank takes the same one.

The impls call mpi4py's buffer interface on contiguous NumPy arrays, writing
into the freshly allocated output (no staging copies). Under ``ftx.jit`` the
executor calls them between the fused kernels. They are marked ``effectful``
so graph passes never drop, merge or pre-compute them (a collective run on
some ranks only deadlocks the others).
"""
from __future__ import annotations

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.distributed.communicator import as_communicator, mpi
from ftx.lax._ad_rules import deflinear
from ftx.lax._batch_rules import bdim_to_front, defvectorized


def _contiguous(x) -> np.ndarray:
    # Python scalars become 0-d arrays; only non-contiguous arrays are copied.
    return np.asarray(x, order="C")


def _collective(name: str) -> Primitive:
    prim = Primitive(name)
    prim.effectful = True  # see the module docstring: passes must keep every call, in order
    return prim


def _same_aval(x, **params):
    return [x.strip_weak_type()]


# --------------------------------------------------------------------------- mpi_allreduce

def _allreduce_impl(x, *, op, comm):
    x = _contiguous(x)
    if x.dtype == np.float16:  # MPI has no half-precision type: reduce in float32
        wide = _allreduce_impl(x.astype(np.float32), op=op, comm=comm)[0]
        return [wide.astype(np.float16)]
    MPI = mpi()
    if x.dtype.kind == "b":  # MPI has no MAX/MIN on C bool: the max of booleans is their OR
        mpi_op = MPI.LOR if op == "max" else MPI.LAND
    else:
        mpi_op = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
    out = np.empty(x.shape, x.dtype)
    comm.mpi_comm.Allreduce(x, out, op=mpi_op)
    return [out]


def _allreduce_jvp(primals, tangents, *, op, comm):
    from ftx.lax.elementwise import convert_element_type, div, eq, mul
    (x,), (t,) = primals, tangents
    out = allreduce_p.bind1(x, op=op, comm=comm)
    if type(t) is Zero:
        return [out], [Zero.like(out)]
    if op == "sum":
        return [out], [allreduce_p.bind1(t, op="sum", comm=comm)]
    # max/min: the tangent of the ranks that attain the extreme, averaged over ties.
    hit = convert_element_type(eq(x, out), get_aval(x).dtype)
    return [out], [div(allreduce_p.bind1(mul(t, hit), op="sum", comm=comm),
                       allreduce_p.bind1(hit, op="sum", comm=comm))]


def _allreduce_transpose(cts, x, *, op, comm):
    if op != "sum":
        raise TypeError(f"mpi_allreduce with op={op!r} is not linear and cannot be transposed; "
                        "only its tangents (sums) appear in a backward pass")
    (ct,) = cts
    if type(ct) is Zero:
        return [None]
    return [allreduce_p.bind1(ct, op="sum", comm=comm)]


allreduce_p = _collective("mpi_allreduce")
allreduce_p.def_impl(_allreduce_impl)
allreduce_p.def_abstract_eval(_same_aval)
def_rule("jvp", allreduce_p, _allreduce_jvp)
def_rule("transpose", allreduce_p, _allreduce_transpose)
defvectorized(allreduce_p)  # elementwise across ranks: the batch axis is just another axis


# --------------------------------------------------------------------------- mpi_allgather

def _allgather_impl(x, *, axis, comm):
    x = _contiguous(x)
    MPI = mpi()
    out = np.empty((comm.size,) + x.shape, x.dtype)
    # As raw bytes: works for every dtype (float16 and bool included) and copies nothing.
    comm.mpi_comm.Allgather([x, MPI.BYTE], [out, MPI.BYTE])
    if axis == 0:
        return [out]
    return [np.ascontiguousarray(np.moveaxis(out, 0, axis))]


def _allgather_abstract_eval(x, *, axis, comm):
    shape = list(x.shape)
    shape.insert(axis, comm.size)
    return [ShapedArray(tuple(shape), x.dtype)]


def _allgather_transpose(cts, x, *, axis, comm):
    from ftx.lax.slicing import index_in_dim
    (ct,) = cts
    if type(ct) is Zero:
        return [None]
    total = allreduce_p.bind1(ct, op="sum", comm=comm)
    return [index_in_dim(total, comm.rank, axis, keepdims=False)]


def _allgather_batch(axis_data, args, dims, *, axis, comm):
    (x,), (d,) = args, dims
    x = bdim_to_front(x, d, axis_data.size)
    return [allgather_p.bind1(x, axis=axis + 1, comm=comm)], [0]


allgather_p = _collective("mpi_allgather")
allgather_p.def_impl(_allgather_impl)
allgather_p.def_abstract_eval(_allgather_abstract_eval)
deflinear(allgather_p, _allgather_transpose)
def_rule("batch", allgather_p, _allgather_batch)


# --------------------------------------------------------------------------- mpi_bcast

def _bcast_impl(x, *, root, comm):
    x = _contiguous(x)
    MPI = mpi()
    if comm.rank == root:  # the root only sends: its own array is the result, uncopied
        comm.mpi_comm.Bcast([x, MPI.BYTE], root=root)
        return [x]
    out = np.empty(x.shape, x.dtype)
    comm.mpi_comm.Bcast([out, MPI.BYTE], root=root)
    return [out]


def _bcast_transpose(cts, x, *, root, comm):
    (ct,) = cts
    if type(ct) is Zero:
        return [None]
    # Every rank joins the sum (so the backward pass has the same collectives everywhere);
    # only the root's input reached the outputs, so the others get explicit zeros, not None.
    total = allreduce_p.bind1(ct, op="sum", comm=comm)
    if comm.rank == root:
        return [total]
    aval = get_aval(total)
    return [np.zeros(aval.shape, aval.dtype)]


bcast_p = _collective("mpi_bcast")
bcast_p.def_impl(_bcast_impl)
bcast_p.def_abstract_eval(_same_aval)
deflinear(bcast_p, _bcast_transpose)
defvectorized(bcast_p)


# =========================================================================== user-facing API

def _check_reducible(name, x, op):
    aval = get_aval(x)
    kind = aval.dtype.kind
    if kind == "b" and op == "sum":
        raise TypeError(f"ftx.distributed.{name}: MPI cannot sum booleans ({aval.str_short()}); "
                        f"convert first, e.g. dist.{name}(x.astype(np.int32))")
    if kind == "c" and op != "sum":
        raise TypeError(f"ftx.distributed.{name}: complex numbers have no order "
                        f"({aval.str_short()}); reduce their real or absolute part instead")
    if kind not in "biufc":
        raise TypeError(f"ftx.distributed.{name}: unsupported dtype {aval.dtype} "
                        f"({aval.str_short()}); collectives take boolean, integer, "
                        "floating and complex arrays")


def _reduce(name, op, x, comm):
    comm = as_communicator(comm)

    def one(v):
        _check_reducible(name, v, op)
        return allreduce_p.bind1(v, op=op, comm=comm)

    return pytree.tree_map(one, x)


def psum(x, comm=None):
    """The sum of ``x`` over every rank of ``comm`` (MPI_Allreduce); ``x`` may be a pytree.

    >>> total = dist.psum(local_count)           # every rank gets the same total
    >>> grads = dist.psum(grads)                 # inside ftx.jit too

    Its gradient is ``psum`` of the cotangent (see the module docstring).
    """
    return _reduce("psum", "sum", x, comm)


def pmean(x, comm=None):
    """The mean of ``x`` over the ranks of ``comm``: ``psum(x) / size``; ``x`` may be a pytree.

    >>> grads = dist.pmean(ftx.grad(loss)(params, x_local, y_local))

    ``grad`` of ``pmean(f(p))`` is the local gradient of ``f``: average gradients
    (as above) rather than differentiating an averaged loss.
    """
    from ftx.lax.elementwise import div
    comm = as_communicator(comm)
    return pytree.tree_map(
        lambda v: div(_reduce("pmean", "sum", v, comm), np.array(comm.size, get_aval(v).dtype)),
        x)


def pmax(x, comm=None):
    """The elementwise maximum of ``x`` over the ranks of ``comm``; ``x`` may be a pytree.

    >>> worst = dist.pmax(loss)
    """
    return _reduce("pmax", "max", x, comm)


def pmin(x, comm=None):
    """The elementwise minimum of ``x`` over the ranks of ``comm``; ``x`` may be a pytree.

    >>> best = dist.pmin(loss)
    """
    return _reduce("pmin", "min", x, comm)


def all_gather(x, comm=None, *, axis: int = 0, tiled: bool = False):
    """Every rank's ``x``, stacked in rank order along a new ``axis`` (concatenated if ``tiled``).

    >>> dist.all_gather(np.array([rank]))               # [[0], [1], [2]] on 3 ranks
    >>> dist.all_gather(np.array([rank]), tiled=True)   # [0, 1, 2]

    Gathering along axis 0 copies nothing beyond MPI's own transfer.
    """
    from ftx.lax.shape import reshape
    comm = as_communicator(comm)

    def one(v):
        aval = get_aval(v)
        # tiled: ``axis`` names an existing axis to concatenate along; else where the new one goes.
        n_axes = aval.ndim if tiled else aval.ndim + 1
        if not -n_axes <= axis < n_axes:
            raise ValueError(f"ftx.distributed.all_gather: axis={axis} is out of range for "
                             f"{aval.str_short()} with tiled={tiled} (valid: {-n_axes}.."
                             f"{n_axes - 1})")
        ax = axis % n_axes
        out = allgather_p.bind1(v, axis=ax, comm=comm)
        if tiled:  # merge the new rank axis into the one after it: a concatenation
            shape = list(aval.shape)
            shape[ax] *= comm.size
            out = reshape(out, tuple(shape))
        return out

    return pytree.tree_map(one, x)


def broadcast(x, comm=None, root: int = 0):
    """``root``'s ``x`` on every rank (MPI_Bcast); the others' values only give shape and dtype.

    >>> params = dist.broadcast(params)   # start every rank from rank 0's initialization

    Its gradient sends the sum of every rank's cotangent to ``root``'s input.
    """
    comm = as_communicator(comm)
    root = int(root)
    if not 0 <= root < comm.size:
        raise ValueError(f"ftx.distributed.broadcast: root={root} is not a rank of a "
                         f"communicator of size {comm.size} (ranks 0..{comm.size - 1})")

    def one(v):
        if get_aval(v).dtype.kind not in "biufc":
            raise TypeError(f"ftx.distributed.broadcast: unsupported dtype {get_aval(v).dtype}")
        return bcast_p.bind1(v, root=root, comm=comm)

    return pytree.tree_map(one, x)


__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "broadcast",
           "allreduce_p", "allgather_p", "bcast_p"]
