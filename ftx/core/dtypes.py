"""Dtypes and NumPy 2 type promotion, with weak types for Python scalars.

ftx follows NumPy's own promotion rules (NEP 50): a Python scalar is *weak*, so
``float32_array * 2.0`` stays float32 while ``int32_array + float32_array`` is
float64 exactly as NumPy says. A traced value remembers whether it came from a
Python scalar (``weak_type``) so tracing promotes exactly like eager NumPy.
"""
from __future__ import annotations

import functools

import numpy as np

# The dtype of tangents/cotangents of integer and boolean values: an empty
# struct, as in JAX, so a zero "gradient" of an int input costs no memory.
float0 = np.dtype([("float0", np.void, 0)])

bool_ = np.dtype(np.bool_)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)

# Python scalar type -> (the dtype NumPy gives it, a weak stand-in value).
# A weak value takes part in np.result_type as a Python scalar, which is how
# NumPy 2 gives it "weak" semantics; only its kind matters, never its size.
_PY_SCALAR_DTYPES = {
    bool: np.dtype(np.bool_),
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}
_WEAK_STANDIN = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}

_SHORT_NAMES = {
    "bool": "bool", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "float16": "f16", "float32": "f32", "float64": "f64",
    "complex64": "c64", "complex128": "c128",
}

SUPPORTED_KINDS = frozenset("biufc")


def short_name(dtype) -> str:
    """``short_name(np.float32) == 'f32'``: the dtype as printed in jaxprs."""
    dtype = np.dtype(dtype)
    if dtype == float0:
        return "float0"
    return _SHORT_NAMES.get(dtype.name, dtype.name)


def python_scalar_dtype(x) -> np.dtype | None:
    """The dtype NumPy gives a Python scalar, or None if ``x`` is not one."""
    return _PY_SCALAR_DTYPES.get(type(x))


def result_type(*dtypes_and_weak) -> tuple[np.dtype, bool]:
    """Promote ``(dtype, weak_type)`` pairs the way NumPy 2 promotes values.

    ``result_type((np.float32, False), (np.float64, True)) == (float32, False)``:
    the weak float64 (a Python float) does not widen the float32 array.
    The result is weak only if every input is weak.
    """
    try:
        return _result_type_cached(dtypes_and_weak)
    except TypeError:  # an unhashable dtype-like: compute directly
        return _result_type(dtypes_and_weak)


@functools.lru_cache(maxsize=4096)
def _result_type_cached(dtypes_and_weak):
    # Tracing promotes on every operation; the answer depends only on the dtypes.
    return _result_type(dtypes_and_weak)


def _result_type(dtypes_and_weak):
    args = []
    all_weak = True
    for dtype, weak in dtypes_and_weak:
        dtype = np.dtype(dtype)
        if weak:
            args.append(_WEAK_STANDIN[dtype.kind])
        else:
            all_weak = False
            args.append(dtype)
    if all_weak:
        # Weak values promote among themselves by kind (bool < int < float < complex).
        kinds = "biufc"
        kind = max((np.dtype(d).kind for d, _ in dtypes_and_weak), key=kinds.index)
        return _PY_SCALAR_DTYPES[{"b": bool, "i": int, "u": int, "f": float, "c": complex}[kind]], True
    return np.result_type(*args), False


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_inexact(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_integer(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype) -> bool:
    return np.dtype(dtype).kind == "b"


def to_inexact(dtype) -> np.dtype:
    """The floating dtype an operation like ``sin`` or ``mean`` computes in (NumPy's choice)."""
    dtype = np.dtype(dtype)
    # NumPy computes sin(int8) in float16 and sin(int32) in float64.
    return dtype if dtype.kind in "fc" else np.dtype(np.result_type(dtype, np.float16))


def tangent_dtype(dtype) -> np.dtype:
    """Tangents of float/complex values share their dtype; ints and bools get ``float0``."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else float0


def check_supported(dtype, what: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind not in SUPPORTED_KINDS and dtype != float0:
        raise TypeError(f"{what}: dtype {dtype} is not supported by ftx "
                        "(use bool, integer, floating or complex dtypes)")
    return dtype
