"""``gather`` and ``scatter_add`` on the GPU.

ftx's gather indexes ``k`` consecutive axes starting at ``axis`` with ``k`` index arrays of
one shape S, so an operand is viewed as ``(lead, D1..Dk, trail)`` and the output as
``(lead, S, trail)``: one thread per output element combines the k indices into a position
(clamped, or checked and filled). ``scatter_add`` copies the operand and adds each update
with an atomic add, so repeated indices accumulate; with floats the order of those additions
(and so the last bits) can vary from run to run. The other scatters (last write wins, mul,
min, max) run on the host.
"""
from __future__ import annotations

import math

import numpy as np

from ftx.backends.numba_cuda import runtime
from ftx.backends.numba_cuda.elementwise import literal
from ftx.backends.numba_cuda.kernels import DECORATOR, INT
from ftx.backends.numba_cuda.shape import copy_buffer
from ftx.lax.slicing import default_fill_value

# Dtypes numba's cuda.atomic.add accepts.
ATOMIC_ADD_DTYPES = frozenset(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64,
                                                    np.float32, np.float64))


def _position_lines(index_dtypes, mode: str, indent: str) -> list:
    """Source lines computing ``pos`` (the flat position among D1..Dk) and ``ok`` (all
    indices in range) from ``s`` (the position in the index arrays)."""
    lines = [f"{indent}pos = 0", f"{indent}ok = True"]
    for j, dtype in enumerate(index_dtypes):
        lines.append(f"{indent}j{j} = idx{j}[s]")
        if dtype.kind == "u":  # compare in the unsigned type: huge values must not wrap
            lines.append(f"{indent}j{j} = np.int64(j{j} if j{j} < np.{dtype.name}(dim{j}) "
                         f"else np.{dtype.name}(dim{j}))")
        else:
            lines.append(f"{indent}j{j} = np.int64(j{j})")
        if mode == "clip":
            lines += [f"{indent}j{j} = j{j} if j{j} < dim{j} - 1 else dim{j} - 1",
                      f"{indent}j{j} = j{j} if j{j} > 0 else 0"]
        else:
            lines.append(f"{indent}ok = ok and j{j} >= 0 and j{j} < dim{j}")
        lines.append(f"{indent}pos = pos * dim{j} + j{j}")
    return lines


def _gather_body(index_dtypes, mode: str, fill: str) -> str:
    k = len(index_dtypes)
    idx = ", ".join(f"idx{j}" for j in range(k))
    dims = ", ".join(f"dim{j}" for j in range(k))
    lines = [DECORATOR,
             f"def kernel(operand, {idx}, out, total, n_index, n_trail, n_pos, {dims}):",
             "    for f in range(cuda.grid(1), total, cuda.gridsize(1)):",
             "        t = f % n_trail",
             "        rest = f // n_trail",
             "        s = rest % n_index",
             "        lead = rest // n_index"]
    lines += _position_lines(index_dtypes, mode, "        ")
    read = "operand[(lead * n_pos + pos) * n_trail + t]"
    if mode == "clip":
        lines.append(f"        out[f] = {read}")
    else:
        lines.append(f"        out[f] = {read} if ok else {fill}")
    return "\n".join(lines) + "\n"


def _view(eqn, n_indices):
    operand = eqn.invars[0].aval
    axis = eqn.params["axis"]
    index_shape = eqn.invars[-1].aval.shape
    dims = operand.shape[axis:axis + n_indices]
    return (math.prod(operand.shape[:axis]), math.prod(index_shape),
            math.prod(operand.shape[axis + n_indices:]), dims)


def lower_gather(builder, eqn):
    operand, out = eqn.invars[0].aval, eqn.outvars[0].aval
    indices = eqn.invars[1:]
    mode, fill_value = eqn.params["mode"], eqn.params["fill_value"]
    _, n_index, n_trail, dims = _view(eqn, len(indices))
    fill = np.asarray(default_fill_value(operand.dtype) if fill_value is None else fill_value)
    if fill.dtype.kind == "c" and operand.dtype.kind != "c":
        fill = fill.real
    fill_src = literal(fill.astype(operand.dtype), operand.dtype)
    index_dtypes = [v.aval.dtype for v in indices]
    empty_dims = 0 in dims  # nothing to read: clip gives zeros, fill gives the fill value
    kernel = builder.kernel(f"gather {mode}, {len(indices)} indices",
                            _gather_body(index_dtypes, mode, fill_src),
                            [operand.dtype, *index_dtypes, out.dtype] + [INT] * (4 + len(dims)))
    launch = kernel.launcher(*runtime.launch_1d(out.size)) if out.size and not empty_dims \
        else None
    constant = (0 if mode == "clip" else fill.astype(operand.dtype)) if empty_dims else None

    def step(x, *index_bufs):
        if constant is not None:
            return [runtime.to_device(np.full(out.size, constant, out.dtype))]
        y = runtime.empty(out.size, out.dtype)
        if launch is not None:
            launch(x, *index_bufs, y, out.size, n_index, n_trail, math.prod(dims), *dims)
        return [y]
    return step


def _scatter_add_body(index_dtypes, mode: str) -> str:
    k = len(index_dtypes)
    idx = ", ".join(f"idx{j}" for j in range(k))
    dims = ", ".join(f"dim{j}" for j in range(k))
    mode = "clip" if mode == "clip" else "drop"
    lines = [DECORATOR,
             f"def kernel(updates, {idx}, out, total, n_index, n_trail, n_pos, {dims}):",
             "    for f in range(cuda.grid(1), total, cuda.gridsize(1)):",
             "        t = f % n_trail",
             "        rest = f // n_trail",
             "        s = rest % n_index",
             "        lead = rest // n_index"]
    lines += _position_lines(index_dtypes, mode, "        ")
    add = "cuda.atomic.add(out, (lead * n_pos + pos) * n_trail + t, updates[f])"
    lines.append(f"        {add}" if mode == "clip" else f"        if ok:\n            {add}")
    return "\n".join(lines) + "\n"


def lower_scatter_add(builder, eqn):
    operand, updates = eqn.invars[0].aval, eqn.invars[1].aval
    indices = eqn.invars[2:]
    mode = eqn.params["mode"]
    _, n_index, n_trail, dims = _view(eqn, len(indices))
    index_dtypes = [v.aval.dtype for v in indices]
    kernel = builder.kernel(f"scatter_add {mode}, {len(indices)} indices",
                            _scatter_add_body(index_dtypes, mode),
                            [updates.dtype, *index_dtypes, operand.dtype] +
                            [INT] * (4 + len(dims)))
    launch = kernel.launcher(*runtime.launch_1d(updates.size)) \
        if updates.size and 0 not in dims else None

    def step(x, u, *index_bufs):
        y = copy_buffer(x, operand.size, operand.dtype)
        if launch is not None:
            launch(u, *index_bufs, y, updates.size, n_index, n_trail, math.prod(dims), *dims)
        return [y]
    return step


def supports_scatter_add(eqn) -> bool:
    return eqn.invars[0].aval.dtype in ATOMIC_ADD_DTYPES


LOWERINGS = {"gather": lower_gather, "scatter_add": lower_scatter_add}

__all__ = ["LOWERINGS", "supports_scatter_add", "ATOMIC_ADD_DTYPES"]
