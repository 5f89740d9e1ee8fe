"""ftx.numpy: NumPy's API for code that ftx transforms.

Outside any transform every function is NumPy itself (NumPy arrays in and out);
inside ``grad``, ``vmap``, ``make_jaxpr`` ... the same call records lax primitives
with NumPy 2's promotion and broadcasting rules. Explicit re-exports only.
"""
from ftx.numpy._constants import (  # noqa: F401
    pi, e, inf, nan, newaxis, euler_gamma, bool_, int8, int16, int32, int64, uint8, uint16,
    uint32, uint64, float16, float32, float64, complex64, complex128, intp, uintp, dtype,
    finfo, iinfo, ndarray, generic, number, integer, signedinteger, unsignedinteger,
    floating, complexfloating, inexact, issubdtype, result_type, promote_types, can_cast,
    isscalar, float0,
)
from ftx.numpy._ufuncs import (  # noqa: F401
    add, subtract, multiply, divide, true_divide, floor_divide, remainder, mod, fmod,
    divmod, power, pow, float_power, negative, positive, absolute, abs, fabs, sign,
    reciprocal, square, sqrt, cbrt, exp, exp2, expm1, log, log2, log10, log1p, logaddexp,
    logaddexp2, sin, cos, tan, arcsin, arccos, arctan, arctan2, asin, acos, atan, atan2,
    sinh, cosh, tanh, arcsinh, arccosh, arctanh, asinh, acosh, atanh, deg2rad, rad2deg,
    degrees, radians, hypot, maximum, minimum, fmax, fmin, floor, ceil, trunc, fix, rint,
    round, around, clip, sinc, heaviside, copysign, nextafter, signbit, ldexp, conjugate,
    conj, real, imag, angle, isnan, isinf, isfinite, isposinf, isneginf, isreal, iscomplex,
    nan_to_num, equal, not_equal, less, less_equal, greater, greater_equal, logical_and,
    logical_or, logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor, bitwise_not,
    bitwise_invert, invert, bitwise_count, left_shift, right_shift, bitwise_left_shift,
    bitwise_right_shift, where, isclose, allclose, array_equal, array_equiv, iscomplexobj,
    isrealobj,
)
from ftx.numpy._creation import (  # noqa: F401
    array, asarray, asanyarray, ascontiguousarray, copy, astype, zeros, ones, full, empty,
    zeros_like, ones_like, full_like, empty_like, arange, linspace, logspace, geomspace,
    eye, identity, tri, meshgrid, indices,
)
from ftx.numpy._shape import (  # noqa: F401
    reshape, ravel, transpose, permute_dims, moveaxis, swapaxes, rollaxis, squeeze,
    expand_dims, broadcast_to, broadcast_arrays, broadcast_shapes, concatenate, concat,
    stack, vstack, hstack, dstack, column_stack, row_stack, unstack, split, array_split,
    hsplit, vsplit, dsplit, tile, repeat, flip, fliplr, flipud, roll, rot90, pad,
    atleast_1d, atleast_2d, atleast_3d, ndim, shape, size, append, insert, delete,
)
from ftx.numpy._indexing import (  # noqa: F401
    getitem, at, IndexUpdateHelper, IndexUpdateRef, take, take_along_axis, nonzero,
    flatnonzero, argwhere, compress, extract, choose, select, diag_indices,
    diag_indices_from, tril_indices, triu_indices, tril_indices_from, triu_indices_from,
    unravel_index, ravel_multi_index, ix_,
)
from ftx.numpy._reductions import (  # noqa: F401
    sum, prod, mean, var, std, max, min, amax, amin, any, all, argmax, argmin, ptp, average,
    median, quantile, percentile, nansum, nanprod, nanmean, nanvar, nanstd, nanmax, nanmin,
    nanargmax, nanargmin, count_nonzero, cumsum, cumprod, cumulative_sum, cumulative_prod,
    nancumsum, nancumprod, diff, ediff1d, trapezoid,
)
from ftx.numpy._linalg import (  # noqa: F401
    dot, vdot, matmul, inner, outer, tensordot, einsum, kron, cross, trace, diag, diagonal,
    diagflat, tril, triu, matrix_transpose, vecdot,
)
from ftx.numpy._sorting import (  # noqa: F401
    sort, argsort, lexsort, searchsorted, unique,
)
from ftx.numpy import linalg  # noqa: F401,E402  (ftx.numpy.linalg, as numpy.linalg)
from ftx.numpy._array_methods import install as _install_tracer_methods

_install_tracer_methods()
