"""``ld``: the scalar math library generated CUDA kernels call (``ld.expf(x)``, ``ld.exp(x)``).

On a GPU it is ``numba.cuda.libdevice`` (NVIDIA's device math library: ``expf`` for float32,
``exp`` for float64). In Numba's CUDA simulator kernels run as plain Python, where libdevice
does not exist and Python's ``math`` raises on domain errors, so ``ld`` is a namespace of
NumPy functions under the same names, with the same IEEE results (NaN, inf, no exceptions).
The same generated source therefore runs on both.
"""
from __future__ import annotations

import math
import types

import numpy as np


def _round_half_away(x):
    t = np.trunc(x)
    return t + np.sign(x) if abs(x - t) >= 0.5 else t


def _lgamma(x):
    try:
        return type(x)(math.lgamma(x))
    except (ValueError, OverflowError):  # poles (0, -1, ...) and huge x: +inf, as C lgamma
        return type(x)(np.inf)


def _erf(x):
    return type(x)(math.erf(x))


def _erfc(x):
    return type(x)(math.erfc(x))


def _rsqrt(x):
    return type(x)(1) / np.sqrt(x)


# libdevice name (float64 spelling) -> the NumPy function with the same meaning.
_NUMPY_EQUIVALENTS = {
    "exp": np.exp, "exp2": np.exp2, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh,
    "acosh": np.arccosh, "atanh": np.arctanh, "sqrt": np.sqrt, "rsqrt": _rsqrt, "cbrt": np.cbrt,
    "floor": np.floor, "ceil": np.ceil, "rint": np.rint, "round": _round_half_away,
    "erf": _erf, "erfc": _erfc, "lgamma": _lgamma, "pow": np.power, "atan2": np.arctan2,
    "fmod": np.fmod, "nextafter": np.nextafter,
}
FUNCTIONS = tuple(_NUMPY_EQUIVALENTS)  # every libdevice function a kernel may call


def _simulator_namespace():
    ns = types.SimpleNamespace()
    for name, fn in _NUMPY_EQUIVALENTS.items():
        setattr(ns, name, fn)
        setattr(ns, name + "f", fn)  # the float32 spelling
    return ns


def _load():
    from numba import config
    if config.ENABLE_CUDASIM:
        return _simulator_namespace()
    from numba.cuda import libdevice
    return libdevice


ld = _load()

__all__ = ["ld", "FUNCTIONS"]
