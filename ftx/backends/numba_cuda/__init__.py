"""The Numba CUDA backend: fused elementwise kernels, reductions, copies, gathers and a
tiled matmul as generated ``@cuda.jit`` kernels, driven by a generated Python executor that
keeps every value in GPU memory.

Importing this package imports no numba; ``compile_jaxpr`` loads the CUDA stack.
"""
from ftx.backends.numba_cuda.array import DeviceArray, DeviceUnavailableError


def compile_jaxpr(jaxpr):
    """An executable for ``jaxpr`` on the GPU (DeviceUnavailableError when none can run)."""
    from ftx.backends.numba_cuda.executor import compile_jaxpr as compile_for_cuda
    return compile_for_cuda(jaxpr)


def host_fallbacks() -> list:
    """Names of the primitives without a CUDA kernel: they run on the host (with a copy of
    their operands each way) and the first compilation that uses one warns."""
    from ftx.backends.numba_cuda.executor import host_fallbacks as names
    return names()


def lowered_primitives() -> list:
    """Names of the primitives that run as CUDA kernels."""
    from ftx.backends.numba_cuda.executor import lowered_primitives as names
    return names()


__all__ = ["DeviceArray", "DeviceUnavailableError", "compile_jaxpr", "host_fallbacks",
           "lowered_primitives"]
