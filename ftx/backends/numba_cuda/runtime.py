"""The CUDA runtime as ftx uses it: finding numba's CUDA target (with errors that say what is
missing), flat device buffers, host<->device copies and launch configurations.

Every buffer is a flat, contiguous 1-D Numba device array; shapes live in the executor.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ftx.backends.numba_cuda.array import DeviceArray, DeviceUnavailableError

INSTALL_HINT = 'pip install "ftx[cuda]"  (numba-cuda with the CUDA 13 toolchain wheels)'

# Threads per block of the 1-D/2-D elementwise and copy kernels, and the most blocks a
# grid-stride kernel launches (enough to fill an H100's 132 SMs many times over; the loops
# cover any size).
BLOCK_THREADS = 256
MAX_BLOCKS = 4096


def numba_cuda():
    """The ``numba.cuda`` module, or DeviceUnavailableError saying how to install it."""
    try:
        from numba import cuda
    except ImportError as e:
        raise DeviceUnavailableError(f"ftx's CUDA backend needs numba's CUDA target, which "
                                     f"could not be imported ({e}). Install it with "
                                     f"{INSTALL_HINT}.") from e
    return cuda


def simulating() -> bool:
    """Whether Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``, set before import)."""
    from numba import config
    return bool(config.ENABLE_CUDASIM)


@functools.lru_cache(maxsize=None)
def _device_problem() -> str | None:
    cuda = numba_cuda()
    if simulating():
        return None
    if not cuda.is_available():
        detail = ""
        try:
            err = cuda.cuda_error()
            detail = f" ({' '.join(str(err).split())})" if err else ""
        except Exception:  # noqa: BLE001 - only decorates the message
            pass
        return (f"no usable CUDA GPU: the NVIDIA driver reports no device or is missing{detail}. "
                "Run on a machine with an NVIDIA GPU and driver, or use backend='cpu'.")
    try:
        from numba.cuda.cudadrv import nvvm
        nvvm.NVVM()  # loads libnvvm: the compiler of every kernel
    except Exception as e:  # noqa: BLE001 - NvvmSupportError, DynamicLibNotFoundError, ...
        return (f"the CUDA toolkit's compiler library (libnvvm) was not found ({e}). Install "
                f"it with {INSTALL_HINT}, or point CUDA_HOME at a CUDA toolkit.")
    return None


def require_device() -> None:
    """Raise DeviceUnavailableError naming what is missing, unless kernels can run here
    (a real GPU with driver and toolkit, or the simulator)."""
    problem = _device_problem()
    if problem is not None:
        raise DeviceUnavailableError(f"ftx: the CUDA backend cannot run here: {problem}")


def device_name(index: int = 0) -> str:
    return f"cuda:{index}"


# --------------------------------------------------------------------------- buffers

def empty(size: int, dtype):
    return numba_cuda().device_array(size, dtype)


def to_device(host) -> object:
    """A flat device buffer holding a copy of ``host`` (any array-like)."""
    host = np.ascontiguousarray(host)
    return numba_cuda().to_device(host.reshape(host.size))


def to_host(buffer, shape) -> np.ndarray:
    return buffer.copy_to_host().reshape(shape)


def from_host(x, dtype=None, device: str = "cuda:0") -> DeviceArray:
    """``x`` (array-like) copied to the device as a DeviceArray."""
    host = np.asarray(x, dtype=dtype)
    return DeviceArray(to_device(host), host.shape, host.dtype, device)


# --------------------------------------------------------------------------- launch shapes

def _pow2_at_least(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def launch_1d(n: int) -> tuple:
    """(grid, block) for a grid-stride loop over ``n`` elements."""
    threads = min(BLOCK_THREADS, _pow2_at_least(max(n, 1)))
    return (min(MAX_BLOCKS, max(1, math.ceil(n / threads))),), (threads,)


def launch_2d(rows: int, cols: int) -> tuple:
    """(grid, block) for a loop over ``rows`` x ``cols`` (x runs along the contiguous cols).

    A block covers a power-of-two number of columns and enough rows to make 256 threads, so
    a warp spans several short rows rather than idling on one."""
    bx = min(BLOCK_THREADS, _pow2_at_least(max(cols, 1)))
    by = min(BLOCK_THREADS // bx, _pow2_at_least(max(rows, 1)))
    gx = min(MAX_BLOCKS, max(1, math.ceil(cols / bx)))
    gy = min(65535, max(1, MAX_BLOCKS // gx), max(1, math.ceil(rows / by)))
    return (gx, gy), (bx, by)


__all__ = ["numba_cuda", "simulating", "require_device", "empty", "to_device", "to_host",
           "from_host", "launch_1d", "launch_2d", "DeviceUnavailableError", "INSTALL_HINT"]
