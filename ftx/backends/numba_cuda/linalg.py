"""``dot_general`` on the GPU: a batched matmul ``(B, M, K) @ (B, K, N)``.

The operands are brought to that layout without copies where possible: a matrix stored
transposed (``(B, K, M)`` for the left, ``(B, N, K)`` for the right, as the transposes of
backward passes produce) is read transposed by the kernel; any other axis order is
transposed by a strided copy first. With CuPy installed the product runs on cuBLAS;
otherwise on ftx's tiled kernel: 64x64 output tiles per block of 16x16 threads, each
thread accumulating a 4x4 register tile over 16-wide shared-memory slices of K.
"""
from __future__ import annotations

import math

from ftx.backends.numba_cuda import runtime
from ftx.backends.numba_cuda.kernels import DECORATOR, INT, np_name
from ftx.backends.numba_cuda.shape import StridedCopy, contiguous_strides

TILE, SLICE, THREADS = 64, 16, 16   # output tile edge, K slice, threads per block edge
PER_THREAD = TILE // THREADS        # 4x4 outputs per thread


def _matmul_body(a_dtype, b_dtype, out_dtype, trans_a: bool, trans_b: bool) -> str:
    acc = np_name(out_dtype)
    loads_per_thread = TILE * SLICE // (THREADS * THREADS)
    lines = [DECORATOR,
             "def kernel(a, b, c, n_batch, m, n, k):",
             f"    a_tile = cuda.shared.array(({SLICE}, {TILE}), {acc})  # [k][m]",
             f"    b_tile = cuda.shared.array(({SLICE}, {TILE}), {acc})  # [k][n]",
             "    tx = cuda.threadIdx.x",
             "    ty = cuda.threadIdx.y",
             f"    t = ty * {THREADS} + tx",
             "    zero = " + f"{acc}(0)",
             "    for batch in range(cuda.blockIdx.z, n_batch, cuda.gridDim.z):",
             "        a_off = batch * m * k",
             "        b_off = batch * k * n",
             f"        for m0 in range(cuda.blockIdx.y * {TILE}, m, cuda.gridDim.y * {TILE}):",
             f"            for n0 in range(cuda.blockIdx.x * {TILE}, n, cuda.gridDim.x * {TILE}):"]
    ind = " " * 16
    acc_names = [[f"c{i}{j}" for j in range(PER_THREAD)] for i in range(PER_THREAD)]
    lines += [f"{ind}{name} = zero" for row in acc_names for name in row]
    lines.append(f"{ind}for k0 in range(0, k, {SLICE}):")
    body = ind + "    "
    # Load the slices so that consecutive threads read consecutive addresses (a constant-trip
    # loop: the compiler unrolls it).
    lines.append(f"{body}for j in range({loads_per_thread}):")
    load = body + "    "
    if trans_a:   # a stored (k, m): contiguous along m
        lines += [f"{load}mm = t % {TILE}", f"{load}kk = t // {TILE} + {THREADS * THREADS // TILE} * j",
                  f"{load}a_index = a_off + (k0 + kk) * m + m0 + mm"]
    else:         # a stored (m, k): contiguous along k
        lines += [f"{load}kk = t % {SLICE}", f"{load}mm = t // {SLICE} + {THREADS * THREADS // SLICE} * j",
                  f"{load}a_index = a_off + (m0 + mm) * k + k0 + kk"]
    lines.append(f"{load}a_tile[kk, mm] = {acc}(a[a_index]) if m0 + mm < m and k0 + kk < k else zero")
    if trans_b:   # b stored (n, k): contiguous along k
        lines += [f"{load}kk = t % {SLICE}", f"{load}nn = t // {SLICE} + {THREADS * THREADS // SLICE} * j",
                  f"{load}b_index = b_off + (n0 + nn) * k + k0 + kk"]
    else:         # b stored (k, n): contiguous along n
        lines += [f"{load}nn = t % {TILE}", f"{load}kk = t // {TILE} + {THREADS * THREADS // TILE} * j",
                  f"{load}b_index = b_off + (k0 + kk) * n + n0 + nn"]
    lines.append(f"{load}b_tile[kk, nn] = {acc}(b[b_index]) if n0 + nn < n and k0 + kk < k else zero")
    lines.append(f"{body}cuda.syncthreads()")
    lines.append(f"{body}for kk in range({SLICE}):")
    inner = body + "    "
    # Thread (tx, ty) owns rows ty + 16 i and columns tx + 16 j: a warp reads two a values
    # (broadcast) and 16 consecutive b values per step, free of bank conflicts.
    lines += [f"{inner}a{i} = a_tile[kk, ty + {THREADS * i}]" for i in range(PER_THREAD)]
    lines += [f"{inner}b{j} = b_tile[kk, tx + {THREADS * j}]" for j in range(PER_THREAD)]
    lines += [f"{inner}{acc_names[i][j]} += a{i} * b{j}"
              for i in range(PER_THREAD) for j in range(PER_THREAD)]
    lines.append(f"{body}cuda.syncthreads()")
    out_cast = np_name(out_dtype)
    for i in range(PER_THREAD):
        lines.append(f"{ind}row = m0 + ty + {THREADS * i}")
        lines.append(f"{ind}if row < m:")
        for j in range(PER_THREAD):
            lines.append(f"{ind}    col = n0 + tx + {THREADS * j}")
            lines.append(f"{ind}    if col < n:")
            lines.append(f"{ind}        c[batch * m * n + row * n + col] = "
                         f"{out_cast}({acc_names[i][j]})")
    return "\n".join(lines) + "\n"


def matmul_launch(n_batch: int, m: int, n: int) -> tuple:
    grid = (min(runtime.MAX_BLOCKS, max(1, math.ceil(n / TILE))),
            min(65535, max(1, math.ceil(m / TILE))), min(65535, max(1, n_batch)))
    return grid, (THREADS, THREADS)


class Matmul:
    """``c[b] = op(a[b]) @ op(b[b])`` on flat buffers, with static sizes and layouts."""

    def __init__(self, builder, a_dtype, b_dtype, out_dtype, n_batch, m, n, k,
                 trans_a=False, trans_b=False):
        self.sizes = (n_batch, m, n, k)
        self.trans = (trans_a, trans_b)
        self.out_dtype = out_dtype
        what = (f"matmul {a_dtype.name}{'.T' if trans_a else ''} @ "
                f"{b_dtype.name}{'.T' if trans_b else ''} -> {out_dtype.name}")
        kernel = builder.kernel(what, _matmul_body(a_dtype, b_dtype, out_dtype, trans_a, trans_b),
                                [a_dtype, b_dtype, out_dtype] + [INT] * 4)
        self.cublas = _cupy() if a_dtype == b_dtype == out_dtype and \
            out_dtype.kind == "f" else None
        self.launch = kernel.launcher(*matmul_launch(n_batch, m, n)) if m * n * n_batch else None

    def __call__(self, a, b, c):
        if self.launch is None:
            return
        n_batch, m, n, k = self.sizes  # k == 0 gives zeros: the accumulators start at zero
        if self.cublas is not None:
            _cupy_matmul(self.cublas, a, b, c, self.sizes, self.trans)
        else:
            self.launch(a, b, c, n_batch, m, n, k)


def _cupy():
    """CuPy (for cuBLAS) when it is installed and a real GPU runs, else None."""
    if runtime.simulating():
        return None
    try:
        import cupy
    except Exception:  # noqa: BLE001 - ImportError, or a CuPy built for another CUDA
        return None
    return cupy


def _cupy_matmul(cupy, a, b, c, sizes, trans):
    n_batch, m, n, k = sizes
    # Zero-copy views of Numba's buffers (CUDA array interface); both libraries use the
    # legacy default stream, so the product is ordered after the kernels that wrote a and b.
    a3 = cupy.asarray(a)
    b3 = cupy.asarray(b)
    a3 = a3.reshape(n_batch, k, m).transpose(0, 2, 1) if trans[0] else a3.reshape(n_batch, m, k)
    b3 = b3.reshape(n_batch, n, k).transpose(0, 2, 1) if trans[1] else b3.reshape(n_batch, k, n)
    cupy.matmul(a3, b3, out=cupy.asarray(c).reshape(n_batch, m, n))


def _operand_layout(shape, batch, free, contract, free_first: bool):
    """How to read one operand as (batch, free, contract) [free_first] or (batch, contract,
    free): (transposed?, None) when its axes already lie in one of the two orders the kernel
    reads, else (False, permutation for a copy)."""
    natural = list(batch) + (list(free) + list(contract) if free_first else
                             list(contract) + list(free))
    swapped = list(batch) + (list(contract) + list(free) if free_first else
                             list(free) + list(contract))
    identity = list(range(len(shape)))
    if natural == identity:
        return False, None
    if swapped == identity:
        return True, None
    return False, natural


def lower_dot_general(builder, eqn):
    lhs, rhs = eqn.invars[0].aval, eqn.invars[1].aval
    out = eqn.outvars[0].aval
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    n_batch = math.prod(lhs.shape[d] for d in lb)
    m = math.prod(lhs.shape[d] for d in lf)
    n = math.prod(rhs.shape[d] for d in rf)
    k = math.prod(lhs.shape[d] for d in lc)
    trans_a, perm_a = _operand_layout(lhs.shape, lb, lf, lc, free_first=True)
    trans_b, perm_b = _operand_layout(rhs.shape, rb, rf, rc, free_first=False)
    copies = []
    for aval, perm in ((lhs, perm_a), (rhs, perm_b)):
        if perm is None:
            copies.append(None)
            continue
        strides = contiguous_strides(aval.shape)
        copies.append(StridedCopy(builder, aval.dtype, tuple(aval.shape[p] for p in perm), 0,
                                  [strides[p] for p in perm]))
    matmul = Matmul(builder, lhs.dtype, rhs.dtype, out.dtype, n_batch, m, n, k, trans_a, trans_b)

    def step(a, b):
        operands = []
        for buf, aval, copy in ((a, lhs, copies[0]), (b, rhs, copies[1])):
            if copy is not None:
                moved = runtime.empty(aval.size, aval.dtype)
                copy(buf, moved)
                buf = moved
            operands.append(buf)
        c = runtime.empty(out.size, out.dtype)
        matmul(*operands, c)
        return [c]
    return step


LOWERINGS = {"dot_general": lower_dot_general}

__all__ = ["LOWERINGS", "Matmul", "matmul_launch"]
