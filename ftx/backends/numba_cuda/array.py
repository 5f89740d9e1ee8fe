"""``DeviceArray``: an array that lives in GPU memory, what the CUDA backend takes and returns.

It holds a flat, contiguous Numba device buffer plus the logical shape and dtype: every
buffer the backend allocates is flat, so reshapes are free and kernels index with plain
integer arithmetic. Importing this module imports no numba (jit checks argument types
against ``DeviceArray`` without loading the CUDA stack).

    >>> xd = ftx.device_put(np.ones((2, 3), np.float32), "cuda")
    >>> xd.shape, xd.dtype, xd.device
    ((2, 3), dtype('float32'), 'cuda:0')
    >>> np.asarray(xd)             # copies to the host
"""
from __future__ import annotations

import math

import numpy as np

from ftx.core.avals import ShapedArray, register_aval_handler


class DeviceUnavailableError(RuntimeError):
    """The CUDA backend was asked for but cannot run here (no numba CUDA target, no GPU or
    driver, or no CUDA toolkit); the message says which and how to fix it."""


class DeviceArray:
    """An immutable array in the memory of a CUDA device.

    ``np.asarray(x)`` copies it to the host; ``block_until_ready()`` waits for the kernels
    that compute it. Pass it to functions jitted with ``backend='cuda'``; a CPU function
    refuses it (copy it back explicitly with ``np.asarray`` or ``ftx.device_put(x, 'cpu')``).
    """

    __slots__ = ("_buffer", "shape", "dtype", "device", "__weakref__")

    def __init__(self, buffer, shape, dtype, device: str = "cuda:0"):
        self._buffer = buffer          # flat Numba device array of math.prod(shape) elements
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.device = device

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d DeviceArray")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        host = self._buffer.copy_to_host().reshape(self.shape)
        return host if dtype is None else host.astype(dtype, copy=False)

    def block_until_ready(self) -> "DeviceArray":
        """Wait until every kernel that writes this array has finished; returns ``self``."""
        from numba import cuda
        cuda.synchronize()
        return self

    def item(self):
        """The value of a one-element array as a Python scalar (copies to the host)."""
        return np.asarray(self).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a DeviceArray with shape {self.shape} is "
                             "ambiguous; copy it to the host (np.asarray) and use .any()/.all()")
        return bool(self.item())

    def __repr__(self):
        body = np.array2string(np.asarray(self), separator=", ", prefix="DeviceArray(")
        return f"DeviceArray({body}, dtype={self.dtype.name}, device='{self.device}')"

    def __iter__(self):
        raise TypeError("iterating over a DeviceArray would copy it element by element; copy "
                        "it to the host once with np.asarray(x)")

    def __getitem__(self, index):
        raise TypeError("DeviceArray does not support indexing outside a jitted function; "
                        "index inside ftx.jit(..., backend='cuda'), or copy to the host with "
                        "np.asarray(x)[...]")


def _device_array_aval(x: DeviceArray) -> ShapedArray:
    return ShapedArray(x.shape, x.dtype, False)


register_aval_handler(DeviceArray, _device_array_aval)

__all__ = ["DeviceArray", "DeviceUnavailableError"]
