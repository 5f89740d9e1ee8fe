"""Devices and explicit transfers: ``ftx.devices()`` and ``ftx.device_put(x, device)``.

Arrays move between the host and a GPU only when you say so: ``device_put(x, "cuda")``
copies NumPy arrays (or a whole pytree of them) to the GPU once, functions jitted with
``backend="cuda"`` take and return those DeviceArrays, and ``np.asarray(x)`` or
``device_put(x, "cpu")`` copies one back.

    >>> params = ftx.device_put(params, "cuda")
    >>> step = ftx.jit(train_step, backend="cuda")
    >>> params, loss = step(params, xd, yd)
    >>> float(loss)
"""
from __future__ import annotations

import numpy as np

from ftx.backends.numba_cuda.array import DeviceArray, DeviceUnavailableError
from ftx.core import dtypes, pytree
from ftx.core.trace import Tracer


class Device:
    """One place arrays live: ``Device('cpu', 0)`` or ``Device('cuda', 0)``; prints as
    ``cuda:0``."""

    __slots__ = ("platform", "id")

    def __init__(self, platform: str, id: int = 0):  # noqa: A002 - JAX's attribute name
        self.platform, self.id = platform, int(id)

    def __str__(self):
        return f"{self.platform}:{self.id}"

    def __repr__(self):
        return f"Device({self.platform!r}, {self.id})"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.platform, self.id) == (other.platform, other.id)

    def __hash__(self):
        return hash((self.platform, self.id))


def devices(platform: str | None = None) -> list:
    """The devices ftx can use: the CPU, then each CUDA GPU (none when numba's CUDA target,
    a GPU or its driver is missing). ``devices('cuda')`` lists only GPUs.

    >>> ftx.devices()
    [Device('cpu', 0), Device('cuda', 0)]
    """
    if platform not in (None, "cpu", "cuda"):
        raise ValueError(f"ftx.devices: unknown platform {platform!r}; use 'cpu' or 'cuda'")
    found = [Device("cpu", 0)] if platform in (None, "cpu") else []
    if platform in (None, "cuda"):
        found += [Device("cuda", i) for i in range(_gpu_count())]
    return found


def _gpu_count() -> int:
    try:
        from ftx.backends.numba_cuda import runtime
        runtime.require_device()
        return len(runtime.numba_cuda().gpus)
    except DeviceUnavailableError:
        return 0


def _parse(device) -> Device:
    if isinstance(device, Device):
        return device
    if isinstance(device, str):
        platform, _, index = device.partition(":")
        if platform in ("cpu", "cuda") and (not index or index.isdigit()):
            return Device(platform, int(index or 0))
    raise ValueError(f"ftx.device_put: unknown device {device!r}; use 'cpu', 'cuda', "
                     "'cuda:<index>' or an element of ftx.devices()")


def device_put(x, device="cuda"):
    """Copy ``x`` (an array, scalar or pytree of them) to ``device``.

    ``device_put(x, "cuda")`` returns DeviceArrays (leaves already on that GPU are kept, not
    copied); ``device_put(x, "cpu")`` returns NumPy arrays. Inside a traced function it
    returns its input (placement is decided by the jit backend).

    >>> xd = ftx.device_put(np.arange(3.0), "cuda")
    >>> ftx.device_put(xd, "cpu")
    array([0., 1., 2.])
    """
    target = _parse(device)
    if target.platform == "cuda":
        from ftx.backends.numba_cuda import runtime
        runtime.require_device()
        if target.id != 0:
            raise ValueError(f"ftx.device_put: only cuda:0 is supported, got {target}")
    return pytree.tree_map(lambda leaf: _put(leaf, target), x)


def _put(x, target: Device):
    if isinstance(x, Tracer):
        return x
    if target.platform == "cpu":
        return np.asarray(x)
    if type(x) is DeviceArray and x.device == str(target):
        return x
    from ftx.backends.numba_cuda import runtime
    host = np.asarray(x)
    dtypes.check_supported(host.dtype, "ftx.device_put")
    return runtime.from_host(host, device=str(target))


__all__ = ["Device", "devices", "device_put", "DeviceArray", "DeviceUnavailableError"]
