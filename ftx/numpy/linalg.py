"""ftx.numpy.linalg: NumPy's ``linalg`` namespace for products and norms.

norm, vector_norm, matrix_norm ('fro', 1, -1, inf, -inf), matrix_power (static
exponent >= 0), and the array-API spellings of matmul, tensordot, vecdot,
outer, trace, diagonal, cross and matrix_transpose. Decompositions (and the
norms that need them: 2, -2, 'nuc') are not available yet.
"""
from __future__ import annotations

import operator

import numpy as np

from ftx import lax
from ftx.numpy import _linalg
from ftx.numpy._core import (canonicalize_axis, cast, concrete_or_error, dtype_of, eager_numpy,
                             shape_of)
from ftx.numpy._reductions import _NoValue, _arr, _extreme, _keep, _scalar

__all__ = [
    "LinAlgError", "norm", "vector_norm", "matrix_norm", "matrix_power", "matrix_transpose",
    "matmul", "tensordot", "vecdot", "outer", "trace", "diagonal", "cross",
]

LinAlgError = np.linalg.LinAlgError
_F64 = np.dtype(np.float64)


def _abs(x):
    return lax.abs(x) if dtype_of(x).kind != "b" else x


def _sq_abs(x):
    """``(conj(x) * x).real``: |x|**2 in x's real dtype."""
    if dtype_of(x).kind == "c":
        re, im = lax.real(x), lax.imag(x)
        return lax.add(lax.mul(re, re), lax.mul(im, im))
    return lax.mul(x, x)


def _sum(x, axes):
    axes = tuple(sorted(axes))
    return lax.reduce_sum(x, axes) if axes else x


def _unsupported_ord(ord, what):
    return NotImplementedError(f"ftx.numpy.linalg.norm: ord={ord!r} for {what} needs a singular "
                               "value decomposition, which ftx does not have yet")


def _vector_norm(x, ord, axis: int, keepdims: bool):
    shape = shape_of(x)
    axes = (axis,)
    if ord == np.inf:
        return _extreme("norm", _abs(x), axis, None, keepdims, 0, _NoValue, True)
    if ord == -np.inf:
        return _extreme("norm", _abs(x), axis, None, keepdims, _NoValue, _NoValue, False)
    if isinstance(ord, str):
        raise ValueError(f"ftx.numpy.linalg.norm: Invalid norm order '{ord}' for vectors")
    if ord == 0:
        real = lax.real(x) if dtype_of(x).kind == "c" else x
        nonzero = lax.convert_element_type(lax.ne(x, _scalar(0, dtype_of(x))), dtype_of(real))
        return _keep(_sum(nonzero, axes), shape, axes, keepdims)
    if ord == 1:
        return _keep(_sum(_abs(x), axes), shape, axes, keepdims)
    if ord is None or ord == 2:
        return _keep(lax.sqrt(_sum(_sq_abs(x), axes)), shape, axes, keepdims)
    absx = _abs(x)
    dt = dtype_of(absx)
    total = _sum(lax.pow(absx, _scalar(ord, dt)), axes)
    root = lax.pow(total, np.reciprocal(_scalar(ord, dt)))
    return _keep(root, shape, axes, keepdims)


def _matrix_norm(x, ord, row: int, col: int, keepdims: bool):
    shape = shape_of(x)
    if row == col:
        raise ValueError("ftx.numpy.linalg.norm: Duplicate axes given.")
    if ord in (2, -2) or ord == "nuc":
        raise _unsupported_ord(ord, "matrices")
    if ord in (1, -1):
        sums = _sum(_abs(x), (row,))
        other = col - 1 if col > row else col
        ret = _extreme("norm", sums, other, None, False, 0 if ord == 1 else _NoValue, _NoValue,
                       ord == 1)
    elif ord in (np.inf, -np.inf):
        sums = _sum(_abs(x), (col,))
        other = row - 1 if row > col else row
        ret = _extreme("norm", sums, other, None, False, 0 if ord > 0 else _NoValue, _NoValue,
                       ord > 0)
    elif ord in (None, "fro", "f"):
        ret = lax.sqrt(_sum(_sq_abs(x), (row, col)))
    else:
        raise ValueError(f"ftx.numpy.linalg.norm: Invalid norm order {ord!r} for matrices.")
    return _keep(ret, shape, (row, col), keepdims)


@eager_numpy(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, with NumPy's rules for ``ord`` and ``axis``. ``norm(A, 'fro')``."""
    x = _arr(x, "linalg.norm")
    if dtype_of(x).kind not in "fc":
        x = cast(x, _F64)
    ndim = len(shape_of(x))
    if axis is None:
        if ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1):
            flat = lax.reshape(x, (int(np.prod(shape_of(x), dtype=np.int64)),))
            ret = lax.sqrt(_sum(_sq_abs(flat), (0,)))
            return lax.reshape(ret, (1,) * ndim) if keepdims else ret
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (operator.index(axis),)
    if len(axis) == 1:
        return _vector_norm(x, ord, canonicalize_axis(axis[0], ndim, "linalg.norm"), keepdims)
    if len(axis) == 2:
        row = canonicalize_axis(axis[0], ndim, "linalg.norm")
        col = canonicalize_axis(axis[1], ndim, "linalg.norm")
        return _matrix_norm(x, ord, row, col, keepdims)
    raise ValueError(f"ftx.numpy.linalg.norm: Improper number of dimensions to norm (axis "
                     f"{axis} of an array of shape {tuple(shape_of(x))}).")


@eager_numpy(np.linalg.vector_norm)
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (all axes, flattened, by default). ``vector_norm(x, ord=1)``."""
    x = _arr(x, "linalg.vector_norm")
    shape = tuple(shape_of(x))
    if axis is None:
        x, axes = lax.reshape(x, (int(np.prod(shape, dtype=np.int64)),)), tuple(range(len(shape)))
        inner = 0
    elif isinstance(axis, tuple):
        axes = tuple(canonicalize_axis(a, len(shape), "linalg.vector_norm") for a in axis)
        rest = tuple(i for i in range(len(shape)) if i not in axes)
        x = lax.transpose(x, axes + rest)
        x = lax.reshape(x, (int(np.prod([shape[i] for i in axes], dtype=np.int64)),)
                        + tuple(shape[i] for i in rest))
        inner = 0
    else:
        inner = canonicalize_axis(axis, len(shape), "linalg.vector_norm")
        axes = (inner,)
    res = norm(x, ord=ord, axis=inner)
    if keepdims:
        res = lax.reshape(res, tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return res


@eager_numpy(np.linalg.matrix_norm)
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The norm of each matrix in the last two axes. ``matrix_norm(A, ord=np.inf)``."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def _assert_stacked_square(x, name):
    shape = shape_of(x)
    if len(shape) < 2:
        raise LinAlgError(f"ftx.numpy.linalg.{name}: {len(shape)}-dimensional array given. "
                          "Array must be at least two-dimensional")
    if shape[-1] != shape[-2]:
        raise LinAlgError(f"ftx.numpy.linalg.{name}: Last 2 dimensions of the array must be "
                          f"square, got shape {tuple(shape)}")


@eager_numpy(np.linalg.matrix_power)
def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times (``n`` a static int >= 0). ``matrix_power(A, 3)``."""
    x = _arr(a, "linalg.matrix_power")
    _assert_stacked_square(x, "matrix_power")
    n = concrete_or_error(n, "the exponent", "ftx.numpy.linalg.matrix_power")
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("ftx.numpy.linalg.matrix_power: exponent must be an integer") from e
    shape, dt = tuple(shape_of(x)), dtype_of(x)
    if n == 0:
        m = shape[-1]
        eye = lax.eq(lax.broadcasted_iota(np.int32, (m, m), 0),
                     lax.broadcasted_iota(np.int32, (m, m), 1))
        eye = lax.convert_element_type(eye, dt)
        return lax.broadcast_in_dim(eye, shape, (len(shape) - 2, len(shape) - 1))
    if n < 0:
        raise NotImplementedError("ftx.numpy.linalg.matrix_power: negative exponents need a "
                                  "matrix inverse, which ftx does not have yet")
    mm = lambda p, q: _linalg._matmul("linalg.matrix_power", p, q)  # noqa: E731
    # NumPy's exact order of products (binary decomposition), so results match bit for bit.
    if n == 1:
        return x
    if n == 2:
        return mm(x, x)
    if n == 3:
        return mm(mm(x, x), x)
    z = result = None
    while n > 0:
        z = x if z is None else mm(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else mm(result, z)
    return result


@eager_numpy(np.linalg.matmul)
def matmul(x1, x2, /):
    """``x1 @ x2`` (the array-API spelling). ``linalg.matmul(A, B)``."""
    return _linalg.matmul(x1, x2)


@eager_numpy(np.linalg.tensordot)
def tensordot(x1, x2, /, *, axes=2):
    """``tensordot`` with keyword-only ``axes``. ``linalg.tensordot(A, B, axes=1)``."""
    return _linalg.tensordot(x1, x2, axes)


@eager_numpy(np.linalg.vecdot)
def vecdot(x1, x2, /, *, axis=-1):
    """``sum(conj(x1) * x2, axis)``. ``linalg.vecdot(u, v)``."""
    return _linalg.vecdot(x1, x2, axis=axis)


@eager_numpy(np.linalg.outer)
def outer(x1, x2, /):
    """Outer product of two 1-d arrays. ``linalg.outer(u, v)``."""
    a, b = _arr(x1, "linalg.outer"), _arr(x2, "linalg.outer")
    if len(shape_of(a)) != 1 or len(shape_of(b)) != 1:
        raise ValueError(f"ftx.numpy.linalg.outer: Input arrays must be one-dimensional, but "
                         f"they are x1.ndim={len(shape_of(a))} and x2.ndim={len(shape_of(b))}.")
    return _linalg.outer(a, b)


@eager_numpy(np.linalg.trace)
def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of each matrix in the last two axes. ``linalg.trace(A)``."""
    return _linalg.trace(x, offset, -2, -1, dtype)


@eager_numpy(np.linalg.diagonal)
def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of each matrix in the last two axes. ``linalg.diagonal(A)``."""
    return _linalg.diagonal(x, offset, -2, -1)


@eager_numpy(np.linalg.cross)
def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis``. ``linalg.cross(u, v)``."""
    a, b = _arr(x1, "linalg.cross"), _arr(x2, "linalg.cross")
    na = shape_of(a)[axis] if shape_of(a) else 0
    nb = shape_of(b)[axis] if shape_of(b) else 0
    if na != 3 or nb != 3:
        raise ValueError(f"ftx.numpy.linalg.cross: Both input arrays must be (arrays of) "
                         f"3-dimensional vectors, but they are {na} and {nb} dimensional instead.")
    return _linalg.cross(a, b, axis=axis)


@eager_numpy(np.linalg.matrix_transpose)
def matrix_transpose(x, /):
    """Swap the last two axes. ``linalg.matrix_transpose(A)``."""
    return _linalg.matrix_transpose(x)
