"""Reductions on the GPU: reduce_{sum,prod,max,min,and,or,xor}, argmax/argmin and the
cumulative scans.

An operand is viewed as ``(outer, reduced, inner)`` (reduced axes that are not adjacent are
first moved together by a transpose copy). A block owns ``bx`` inner positions (threads
along x, so reads coalesce when ``inner`` is large) and reduces its share of the reduced
axis with ``by`` threads along y, each accumulating a strided run sequentially, then a
shared-memory tree over y. When there are too few blocks to fill the GPU, the reduced axis is
split over ``gridDim.z``; each split writes a partial result and a second launch of the same
kernel reduces the partials. Every launch shape depends only on the array shape, so results
are deterministic: the same inputs give the same bits on every run.
"""
from __future__ import annotations

import math

import numpy as np

from ftx.backends.numba_cuda import runtime
from ftx.backends.numba_cuda.elementwise import literal, maximum, minimum
from ftx.backends.numba_cuda.kernels import DECORATOR, INT, np_name
from ftx.backends.numba_cuda.shape import StridedCopy, contiguous_strides

TREE = 256            # threads per reduction block (bx * by), a power of two
TARGET_BLOCKS = 1024  # split the reduced axis until about this many blocks run
MIN_PER_THREAD = 8    # ... but keep at least this many elements per thread

# How each reduction combines two partial results (names, not computations: see maximum).
_COMBINE = {
    "reduce_sum": lambda a, b: f"{a} + {b}", "reduce_prod": lambda a, b: f"{a} * {b}",
    "reduce_max": maximum, "reduce_min": minimum,
    "reduce_and": lambda a, b: f"{a} & {b}", "reduce_or": lambda a, b: f"{a} | {b}",
    "reduce_xor": lambda a, b: f"{a} ^ {b}",
}


def identity(name: str, dtype) -> object:
    dtype = np.dtype(dtype)
    if name in ("reduce_sum", "reduce_or", "reduce_xor"):
        return 0
    if name == "reduce_prod":
        return 1
    if name == "reduce_and":
        return True if dtype.kind == "b" else (-1 if dtype.kind == "i" else np.iinfo(dtype).max)
    big = name == "reduce_min"
    if dtype.kind == "f":
        return np.inf if big else -np.inf
    if dtype.kind == "b":
        return big
    info = np.iinfo(dtype)
    return info.max if big else info.min


def _reduce_body(name: str, dtype) -> str:
    t = np_name(dtype)
    combine = _COMBINE[name]
    init = literal(identity(name, dtype), dtype)
    return f'''{DECORATOR}
def kernel(x, out, n_outer, n_red, n_inner):
    tile = cuda.shared.array({TREE}, {t})
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    bx = cuda.blockDim.x
    by = cuda.blockDim.y
    split = cuda.blockIdx.z
    chunk = (n_red + cuda.gridDim.z - 1) // cuda.gridDim.z
    r_lo = split * chunk
    r_hi = r_lo + chunk if r_lo + chunk < n_red else n_red
    # The o and inner-base loops depend only on the block, so every thread of a block runs
    # the same iterations and meets the same syncthreads.
    for o in range(cuda.blockIdx.y, n_outer, cuda.gridDim.y):
        for i_base in range(cuda.blockIdx.x * bx, n_inner, cuda.gridDim.x * bx):
            i = i_base + tx
            acc = {init}
            if i < n_inner:
                for r in range(r_lo + ty, r_hi, by):
                    value = x[(o * n_red + r) * n_inner + i]
                    acc = {t}({combine("acc", "value")})
            tile[ty * bx + tx] = acc
            cuda.syncthreads()
            step = by // 2
            while step > 0:
                if ty < step:
                    mine = tile[ty * bx + tx]
                    other = tile[(ty + step) * bx + tx]
                    tile[ty * bx + tx] = {t}({combine("mine", "other")})
                cuda.syncthreads()
                step //= 2
            if ty == 0 and i < n_inner:
                out[(split * n_outer + o) * n_inner + i] = tile[tx]
            cuda.syncthreads()
'''


def _pow2_at_most(n: int) -> int:
    return 1 << (max(1, int(n)).bit_length() - 1)


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def reduce_launch(n_outer: int, n_red: int, n_inner: int, allow_split: bool = True):
    """(grid, block, splits) for a reduction of an (outer, reduced, inner) view."""
    bx = min(32, _pow2_at_least(max(n_inner, 1)))
    by_max = TREE // bx
    gx = min(runtime.MAX_BLOCKS, max(1, math.ceil(n_inner / bx)))
    gy = min(65535, max(1, n_outer))
    splits = 1
    if allow_split:
        most = max(1, n_red // (by_max * MIN_PER_THREAD))
        splits = max(1, min(most, TARGET_BLOCKS // (gx * gy), 1024))
        splits = math.ceil(n_red / math.ceil(n_red / splits)) if n_red else 1
    chunk = math.ceil(n_red / splits) if n_red else 1
    by = min(by_max, _pow2_at_least(chunk))
    return (gx, gy, splits), (bx, by), splits


class Reduce:
    """``out[o, i] = op over r of x[o, r, i]`` for one (op, dtype) and static sizes."""

    def __init__(self, builder, name, dtype, n_outer, n_red, n_inner):
        kernel = builder.kernel(f"{name} {dtype.name}", _reduce_body(name, dtype),
                                [dtype, dtype, INT, INT, INT])
        self.dtype, self.sizes = dtype, (n_outer, n_red, n_inner)
        grid, block, self.splits = reduce_launch(n_outer, n_red, n_inner)
        self.empty = n_outer * n_inner == 0
        if self.empty:
            return
        self.first = kernel.launcher(grid, block)
        if self.splits > 1:  # partials (splits, outer*inner) -> out: reduce over the splits
            grid2, block2, _ = reduce_launch(1, self.splits, n_outer * n_inner, False)
            self.second = kernel.launcher(grid2, block2)

    def __call__(self, x, out):
        if self.empty:
            return
        n_outer, n_red, n_inner = self.sizes
        if self.splits == 1:
            self.first(x, out, n_outer, n_red, n_inner)
            return
        partial = runtime.empty(self.splits * n_outer * n_inner, self.dtype)
        self.first(x, partial, n_outer, n_red, n_inner)
        self.second(partial, out, 1, self.splits, n_outer * n_inner)


def outer_reduced_inner(shape, axes):
    """(outer, reduced, inner) sizes if the reduced axes are adjacent once size-1 axes are
    ignored, else None."""
    kinds = [d in axes for d, n in enumerate(shape) if n != 1]
    sizes = [n for n in shape if n != 1]
    runs = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
    if runs.count(True) > 1:
        return None
    if True not in runs:
        return math.prod(sizes), 1, 1
    first = kinds.index(True)
    last = len(kinds) - 1 - kinds[::-1].index(True)
    return (math.prod(sizes[:first]), math.prod(sizes[first:last + 1]),
            math.prod(sizes[last + 1:]))


def _gather_reduced_axes(builder, x, axes):
    """A copy step that moves the reduced axes after the kept ones, and the new view."""
    kept = [d for d in range(x.ndim) if d not in axes]
    perm = kept + list(axes)
    strides = contiguous_strides(x.shape)
    shape = tuple(x.shape[p] for p in perm)
    copy = StridedCopy(builder, x.dtype, shape, 0, [strides[p] for p in perm])
    n_red = math.prod(x.shape[a] for a in axes)
    return copy, (math.prod(x.shape[d] for d in kept), n_red, 1)


def lower_reduce(builder, eqn):
    x, out = eqn.invars[0].aval, eqn.outvars[0].aval
    axes = eqn.params["axes"]
    view = outer_reduced_inner(x.shape, axes)
    copy = None
    if view is None:
        copy, view = _gather_reduced_axes(builder, x, axes)
    reduce = Reduce(builder, eqn.primitive.name, x.dtype, *view)

    def step(x_buf):
        if copy is not None:
            moved = runtime.empty(x.size, x.dtype)
            copy(x_buf, moved)
            x_buf = moved
        y = runtime.empty(out.size, out.dtype)
        reduce(x_buf, y)
        return [y]
    return step


# --------------------------------------------------------------------------- argmax / argmin

def _beats(v1: str, i1: str, v2: str, i2: str, name: str) -> str:
    """Whether (v2, i2) wins over (v1, i1): the first NaN, else the first extreme value."""
    better = f"{v2} > {v1}" if name == "argmax" else f"{v2} < {v1}"
    return (f"(({v1} == {v1} or {i2} < {i1}) if {v2} != {v2} else "
            f"(False if {v1} != {v1} else ({better} or ({v2} == {v1} and {i2} < {i1}))))")


def _arg_body(name: str, dtype, index_dtype) -> str:
    t, it = np_name(dtype), np_name(index_dtype)
    return f'''{DECORATOR}
def kernel(x, out, n_outer, n_red, n_inner):
    vals = cuda.shared.array({TREE}, {t})
    idxs = cuda.shared.array({TREE}, np.int64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    bx = cuda.blockDim.x
    by = cuda.blockDim.y
    for o in range(cuda.blockIdx.y, n_outer, cuda.gridDim.y):
        for i_base in range(cuda.blockIdx.x * bx, n_inner, cuda.gridDim.x * bx):
            i = i_base + tx
            best = np.int64(-1)  # -1: this thread has seen nothing
            v1 = x[0]
            if i < n_inner:
                for r in range(ty, n_red, by):
                    v2 = x[(o * n_red + r) * n_inner + i]
                    if best < 0 or {_beats("v1", "best", "v2", "r", name)}:
                        v1 = v2
                        best = r
            vals[ty * bx + tx] = v1
            idxs[ty * bx + tx] = best
            cuda.syncthreads()
            step = by // 2
            while step > 0:
                if ty < step:
                    k = ty * bx + tx
                    j = (ty + step) * bx + tx
                    v1 = vals[k]
                    i1 = idxs[k]
                    v2 = vals[j]
                    i2 = idxs[j]
                    if i2 >= 0 and (i1 < 0 or {_beats("v1", "i1", "v2", "i2", name)}):
                        vals[k] = v2
                        idxs[k] = i2
                cuda.syncthreads()
                step //= 2
            if ty == 0 and i < n_inner:
                out[o * n_inner + i] = {it}(idxs[tx])
            cuda.syncthreads()
'''


def lower_arg_reduce(builder, eqn):
    x, out = eqn.invars[0].aval, eqn.outvars[0].aval
    (axis,) = eqn.params["axes"]
    n_outer = math.prod(x.shape[:axis])
    n_inner = math.prod(x.shape[axis + 1:])
    n_red = x.shape[axis]
    name = eqn.primitive.name
    kernel = builder.kernel(f"{name} {x.dtype.name} -> {out.dtype.name}",
                            _arg_body(name, x.dtype, out.dtype), [x.dtype, out.dtype] + [INT] * 3)
    # No split of the reduced axis: the index of a partial would need a second kernel.
    grid, block, _ = reduce_launch(n_outer, n_red, n_inner, allow_split=False)
    launch = kernel.launcher(grid[:2], block) if out.size else None

    def step(x_buf):
        y = runtime.empty(out.size, out.dtype)
        if launch is not None:
            launch(x_buf, y, n_outer, n_red, n_inner)
        return [y]
    return step


# --------------------------------------------------------------------------- cumulative scans

_SCAN_COMBINE = {"cumsum": _COMBINE["reduce_sum"], "cumprod": _COMBINE["reduce_prod"],
                 "cummax": maximum, "cummin": minimum}


def _scan_body(name: str, dtype, reverse: bool) -> str:
    t = np_name(dtype)
    combine = _SCAN_COMBINE[name]("acc", "value")
    first, rest = ("n_axis - 1", "range(n_axis - 2, -1, -1)") if reverse else ("0", "range(1, n_axis)")
    return f'''{DECORATOR}
def kernel(x, out, n_outer, n_axis, n_inner):
    # One thread per line along the scanned axis; neighbouring threads take neighbouring
    # inner positions, so their reads coalesce.
    for line in range(cuda.grid(1), n_outer * n_inner, cuda.gridsize(1)):
        base = (line // n_inner) * n_axis * n_inner + line % n_inner
        acc = x[base + ({first}) * n_inner]
        out[base + ({first}) * n_inner] = acc
        for a in {rest}:
            value = x[base + a * n_inner]
            acc = {t}({combine})
            out[base + a * n_inner] = acc
'''


def lower_cumulative(builder, eqn):
    x = eqn.invars[0].aval
    axis, reverse = eqn.params["axis"], eqn.params["reverse"]
    name = eqn.primitive.name
    sizes = (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:]))
    kernel = builder.kernel(f"{name}{' reverse' if reverse else ''} {x.dtype.name}",
                            _scan_body(name, x.dtype, reverse), [x.dtype, x.dtype] + [INT] * 3)
    launch = kernel.launcher(*runtime.launch_1d(sizes[0] * sizes[2])) if x.size else None

    def step(x_buf):
        y = runtime.empty(x.size, x.dtype)
        if launch is not None:
            launch(x_buf, y, *sizes)
        return [y]
    return step


LOWERINGS = {name: lower_reduce for name in _COMBINE}
LOWERINGS.update({"argmax": lower_arg_reduce, "argmin": lower_arg_reduce})
LOWERINGS.update({name: lower_cumulative for name in _SCAN_COMBINE})

__all__ = ["LOWERINGS", "Reduce", "reduce_launch", "outer_reduced_inner", "identity"]
