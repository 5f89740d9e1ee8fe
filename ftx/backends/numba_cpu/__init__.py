"""The Numba CPU backend: fused elementwise kernels + a generated Python executor.

Importing this package imports numba; nothing else in ftx does.
"""
from ftx.backends.numba_cpu.executor import Executable, compile_jaxpr

__all__ = ["compile_jaxpr", "Executable"]
