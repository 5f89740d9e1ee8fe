"""Backends turn an optimized jaxpr into an executable ``f(*flat_args) -> list``.

- ``reference``: the NumPy interpreter (``eval_jaxpr``), the oracle.
- ``cpu``: fused Numba kernels called from generated Python (``ftx.backends.numba_cpu``).
- ``cuda``: the same plan as Numba CUDA kernels; values stay on the GPU (``numba_cuda``).
"""
from __future__ import annotations


def compile(jaxpr, backend: str):  # noqa: A001 - the natural name
    """An executable for ``jaxpr`` on ``backend``."""
    if backend == "cpu":
        try:
            from ftx.backends import numba_cpu
        except ImportError as e:  # numba missing: say so rather than failing obscurely
            raise ImportError("ftx's 'cpu' backend needs numba (pip install numba), or use "
                              "ftx.jit(..., backend='reference')") from e
        return numba_cpu.compile_jaxpr(jaxpr)
    if backend == "cuda":
        from ftx.backends import numba_cuda
        return numba_cuda.compile_jaxpr(jaxpr)
    from ftx.backends.reference import compile_jaxpr
    return compile_jaxpr(jaxpr)
