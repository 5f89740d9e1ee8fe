"""Constants, dtypes and dtype utilities re-exported from NumPy (so ``fnp.float32`` works)."""
import numpy as np

__all__ = [
    "pi", "e", "inf", "nan", "newaxis", "euler_gamma",
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "intp", "uintp",
    "dtype", "finfo", "iinfo", "ndarray", "generic", "number", "integer", "signedinteger",
    "unsignedinteger", "floating", "complexfloating", "inexact", "issubdtype", "result_type",
    "promote_types", "can_cast", "isscalar", "float0",
]

pi, e, inf, nan, newaxis, euler_gamma = np.pi, np.e, np.inf, np.nan, None, np.euler_gamma
bool_, int8, int16, int32, int64 = np.bool_, np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128, intp, uintp = np.complex64, np.complex128, np.intp, np.uintp
dtype, finfo, iinfo, ndarray, generic = np.dtype, np.finfo, np.iinfo, np.ndarray, np.generic
number, integer, signedinteger, unsignedinteger = np.number, np.integer, np.signedinteger, np.unsignedinteger
floating, complexfloating, inexact = np.floating, np.complexfloating, np.inexact
issubdtype, promote_types, can_cast = np.issubdtype, np.promote_types, np.can_cast

from ftx.core.dtypes import float0  # noqa: E402


def result_type(*arrays_and_dtypes):
    """NumPy 2's result dtype; traced arrays count as arrays of their dtype."""
    from ftx.numpy._core import result_type as _result_type
    return _result_type(*arrays_and_dtypes)


def isscalar(element) -> bool:
    """True for Python/NumPy scalars (a traced 0-d array is not a scalar, as in NumPy for 0-d arrays)."""
    return np.isscalar(element)
