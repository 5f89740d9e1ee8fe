"""Shape primitives on the GPU: reshape and squeeze are free (buffers are flat), the others
are *strided copies*.

One kernel template moves elements between flat buffers: output element ``(i0, i1, ...)``
goes to ``dst[dst_base + sum(i_d * dst_stride_d)]`` from ``src[src_base + sum(i_d *
src_stride_d)]``. Strides may be zero (broadcast) or negative (rev), so transpose, rev,
slice, broadcast_in_dim, concatenate (one copy per operand) and pad (a fill, then a copy
into the strided interior) are all one copy with different bases and strides. Axes that are
contiguous in both buffers are merged first, so most copies run as 1-D or 2-D loops.
"""
from __future__ import annotations

import math

from ftx.backends.numba_cuda import runtime
from ftx.backends.numba_cuda.kernels import DECORATOR, INT, np_name


def contiguous_strides(shape) -> list:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return strides[::-1]


def _unravel(rank: int, index: str, indent: str) -> list:
    """Source lines setting i0..i{rank-1} from the flat counter ``index`` (sizes n0..)."""
    if rank == 1:
        return [f"{indent}i0 = {index}"]
    lines = [f"{indent}rest = {index}"]
    for d in range(rank - 1, 0, -1):
        lines += [f"{indent}i{d} = rest % n{d}", f"{indent}rest = rest // n{d}"]
    return lines + [f"{indent}i0 = rest"]


def _copy_body(rank: int) -> str:
    ns = ", ".join(f"n{d}" for d in range(rank))
    ss = ", ".join(f"s{d}" for d in range(rank))
    ds = ", ".join(f"d{d}" for d in range(rank))
    src_index = " + ".join(f"i{d} * s{d}" for d in range(rank))
    dst_index = " + ".join(f"i{d} * d{d}" for d in range(rank))
    lines = [DECORATOR,
             f"def kernel(src, dst, src_base, dst_base, total, {ns}, {ss}, {ds}):",
             "    for f in range(cuda.grid(1), total, cuda.gridsize(1)):"]
    lines += _unravel(rank, "f", "        ")
    lines.append(f"        dst[dst_base + {dst_index}] = src[src_base + {src_index}]")
    return "\n".join(lines) + "\n"


def _merge(shape, src_strides, dst_strides):
    """Drop size-1 axes and merge axes that are contiguous in both buffers."""
    dims = [(n, s, d) for n, s, d in zip(shape, src_strides, dst_strides) if n != 1]
    merged: list = []
    for n, s, d in dims:
        if merged:
            pn, ps, pd = merged[-1]
            if ps == s * n and pd == d * n:
                merged[-1] = (pn * n, s, d)
                continue
        merged.append((n, s, d))
    return merged or [(1, 0, 0)]


class StridedCopy:
    """A launchable copy of an ``shape``-shaped block between two flat buffers."""

    def __init__(self, builder, dtype, shape, src_base, src_strides, dst_base=0,
                 dst_strides=None):
        dst_strides = contiguous_strides(shape) if dst_strides is None else dst_strides
        dims = _merge(shape, src_strides, dst_strides)
        rank = len(dims)
        self.total = math.prod(shape)
        kernel = builder.kernel(f"strided copy, rank {rank}", _copy_body(rank),
                                [dtype, dtype] + [INT] * (3 + 3 * rank))
        self.args = (int(src_base), int(dst_base), self.total, *[n for n, _, _ in dims],
                     *[s for _, s, _ in dims], *[d for _, _, d in dims])
        self.launch = kernel.launcher(*runtime.launch_1d(self.total)) if self.total else None

    def __call__(self, src, dst):
        if self.launch is not None:
            self.launch(src, dst, *self.args)


def _one_copy(builder, eqn, src_base, src_strides):
    out = eqn.outvars[0].aval
    copy = StridedCopy(builder, out.dtype, out.shape, src_base, src_strides)

    def step(x):
        y = runtime.empty(out.size, out.dtype)
        copy(x, y)
        return [y]
    return step


# --------------------------------------------------------------------------- the primitives

def lower_reshape(builder, eqn):
    return lambda x, *dims: [x]  # flat buffers: the same data under a new static shape


def lower_transpose(builder, eqn):
    x = eqn.invars[0].aval
    strides = contiguous_strides(x.shape)
    return _one_copy(builder, eqn, 0, [strides[p] for p in eqn.params["permutation"]])


def lower_rev(builder, eqn):
    x = eqn.invars[0].aval
    strides = contiguous_strides(x.shape)
    base = 0
    for d in eqn.params["dimensions"]:
        base += (x.shape[d] - 1) * strides[d]
        strides[d] = -strides[d]
    return _one_copy(builder, eqn, base, strides)


def lower_slice(builder, eqn):
    x = eqn.invars[0].aval
    p = eqn.params
    steps = p["strides"] or (1,) * x.ndim
    strides = contiguous_strides(x.shape)
    base = sum(s * st for s, st in zip(p["start_indices"], strides))
    return _one_copy(builder, eqn, base, [st * k for st, k in zip(strides, steps)])


def lower_broadcast_in_dim(builder, eqn):
    x = eqn.invars[0].aval
    shape = eqn.params["shape"]
    x_strides = contiguous_strides(x.shape)
    strides = [0] * len(shape)
    for k, d in enumerate(eqn.params["broadcast_dimensions"]):
        if x.shape[k] == shape[d]:
            strides[d] = x_strides[k]
    return _one_copy(builder, eqn, 0, strides)


def lower_concatenate(builder, eqn):
    out = eqn.outvars[0].aval
    axis = eqn.params["dimension"]
    dst_strides = contiguous_strides(out.shape)
    copies, offset = [], 0
    for v in eqn.invars:
        shape = v.aval.shape
        copies.append(StridedCopy(builder, out.dtype, shape, 0, contiguous_strides(shape),
                                  offset * dst_strides[axis], dst_strides))
        offset += shape[axis]

    def step(*xs):
        y = runtime.empty(out.size, out.dtype)
        for copy, x in zip(copies, xs):
            copy(x, y)
        return [y]
    return step


def _fill_body() -> str:
    return f'''{DECORATOR}
def kernel(value, dst, total):
    v = value[0]
    for f in range(cuda.grid(1), total, cuda.gridsize(1)):
        dst[f] = v
'''


class Fill:
    """``dst[:] = value[0]`` for a one-element device buffer ``value``."""

    def __init__(self, builder, dtype, total):
        kernel = builder.kernel("fill", _fill_body(), [dtype, dtype, INT])
        self.total = total
        self.launch = kernel.launcher(*runtime.launch_1d(total)) if total else None

    def __call__(self, value, dst):
        if self.launch is not None:
            self.launch(value, dst, self.total)


def lower_pad(builder, eqn):
    x, out = eqn.invars[0].aval, eqn.outvars[0].aval
    fill = Fill(builder, out.dtype, out.size)
    # Input element i of an axis lands at lo + i * (interior + 1); negative lo/hi crop.
    dst_full = contiguous_strides(out.shape)
    src_full = contiguous_strides(x.shape)
    shape, src_base, dst_base, src_strides, dst_strides = [], 0, 0, [], []
    for d, (lo, _, interior) in enumerate(eqn.params["padding_config"]):
        step = interior + 1
        n = x.shape[d]
        first = 0 if lo >= 0 else -(lo // step)          # ceil(-lo / step): lands at >= 0
        last_pos = out.shape[d] - 1 - lo
        last = min(n - 1, last_pos // step) if last_pos >= 0 else -1
        count = max(0, last - first + 1)
        shape.append(count)
        src_base += first * src_full[d]
        dst_base += (lo + first * step) * dst_full[d]
        src_strides.append(src_full[d])
        dst_strides.append(step * dst_full[d])
    copy = StridedCopy(builder, out.dtype, tuple(shape), src_base, src_strides,
                       dst_base, dst_strides) if math.prod(shape) else None

    def step(x_buf, value):
        y = runtime.empty(out.size, out.dtype)
        fill(value, y)
        if copy is not None:
            copy(x_buf, y)
        return [y]
    return step


def _iota_body(dtype) -> str:
    return f'''{DECORATOR}
def kernel(dst, total, inner, size):
    for f in range(cuda.grid(1), total, cuda.gridsize(1)):
        dst[f] = {np_name(dtype)}((f // inner) % size)
'''


def lower_iota(builder, eqn):
    out = eqn.outvars[0].aval
    p = eqn.params
    dim = p["dimension"]
    inner = math.prod(out.shape[dim + 1:])
    kernel = builder.kernel(f"iota {out.dtype.name}", _iota_body(out.dtype),
                            [out.dtype, INT, INT, INT])
    launch = kernel.launcher(*runtime.launch_1d(out.size)) if out.size else None

    def step():
        y = runtime.empty(out.size, out.dtype)
        if launch is not None:
            launch(y, out.size, inner, out.shape[dim])
        return [y]
    return step


# --------------------------------------------------------------------------- dynamic slices
# The start indices are device scalars (computed by earlier kernels), so the kernel reads and
# clamps them itself (into [0, operand size - slice size], as lax does): no copy to the host.

def _dynamic_body(rank: int, update: bool) -> str:
    starts = ", ".join(f"start{d}" for d in range(rank))
    ns = ", ".join(f"n{d}" for d in range(rank))       # the slice (update) shape
    bigs = ", ".join(f"big{d}" for d in range(rank))   # the operand shape
    lines = [DECORATOR, f"def kernel(src, dst, {starts}, total, {ns}, {bigs}):"]
    for d in range(rank):
        lines += [f"    s{d} = np.int64(start{d}[0])",
                  f"    s{d} = s{d} if s{d} < big{d} - n{d} else big{d} - n{d}",
                  f"    s{d} = s{d} if s{d} > 0 else 0"]
    lines.append("    for f in range(cuda.grid(1), total, cuda.gridsize(1)):")
    lines += _unravel(rank, "f", "        ")
    big_index = "0"
    for d in range(rank):
        big_index = f"({big_index}) * big{d} + s{d} + i{d}"
    if update:  # src is the update (slice-shaped), dst the operand-shaped output
        lines.append(f"        dst[{big_index}] = src[f]")
    else:
        lines.append(f"        dst[f] = src[{big_index}]")
    return "\n".join(lines) + "\n"


def lower_dynamic_slice(builder, eqn):
    x, out = eqn.invars[0].aval, eqn.outvars[0].aval
    rank = x.ndim
    if rank == 0:
        return lambda x_buf: [x_buf]
    kernel = builder.kernel(f"dynamic_slice, rank {rank}",
                            _dynamic_body(rank, update=False),
                            [x.dtype, x.dtype] + [v.aval.dtype for v in eqn.invars[1:]] +
                            [INT] * (1 + 2 * rank))
    launch = kernel.launcher(*runtime.launch_1d(out.size)) if out.size else None

    def step(x_buf, *starts):
        y = runtime.empty(out.size, out.dtype)
        if launch is not None:
            launch(x_buf, y, *starts, out.size, *out.shape, *x.shape)
        return [y]
    return step


def lower_dynamic_update_slice(builder, eqn):
    x, u = eqn.invars[0].aval, eqn.invars[1].aval
    rank = x.ndim
    kernel = builder.kernel(f"dynamic_update_slice, rank {rank}",
                            _dynamic_body(rank, update=True),
                            [x.dtype, x.dtype] + [v.aval.dtype for v in eqn.invars[2:]] +
                            [INT] * (1 + 2 * rank)) if rank else None
    launch = kernel.launcher(*runtime.launch_1d(u.size)) if rank and u.size else None

    def step(x_buf, u_buf, *starts):
        if rank == 0:
            return [u_buf]
        y = copy_buffer(x_buf, x.size, x.dtype)
        if launch is not None:
            launch(u_buf, y, *starts, u.size, *u.shape, *x.shape)
        return [y]
    return step


def copy_buffer(buf, size, dtype):
    """A new device buffer with the contents of ``buf`` (a device-to-device copy)."""
    y = runtime.empty(size, dtype)
    if size:
        y.copy_to_device(buf)
    return y


LOWERINGS = {
    "reshape": lower_reshape, "squeeze": lower_reshape, "transpose": lower_transpose,
    "rev": lower_rev, "slice": lower_slice, "broadcast_in_dim": lower_broadcast_in_dim,
    "concatenate": lower_concatenate, "pad": lower_pad, "iota": lower_iota,
    "dynamic_slice": lower_dynamic_slice, "dynamic_update_slice": lower_dynamic_update_slice,
}

__all__ = ["LOWERINGS", "StridedCopy", "Fill", "contiguous_strides", "copy_buffer"]
