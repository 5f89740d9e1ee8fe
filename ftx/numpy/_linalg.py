"""NumPy's products and matrix helpers, written with ``dot_general`` and shape primitives.

dot, vdot, matmul, inner, outer, tensordot, einsum, kron, cross, trace, diag,
diagonal, diagflat, tril, triu, matrix_transpose, vecdot. Operands are promoted
to NumPy's result dtype first (Python scalars count as arrays here, as in
``np.dot``); contractions keep that dtype (``int32 @ int32`` is int32).
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from ftx import lax
from ftx.numpy._core import (broadcast_shapes, broadcast_to, canonicalize_axis, cast,
                             concrete_or_error, dtype_of, eager_numpy, promote_dtypes, shape_of)
from ftx.numpy._reductions import (_NoValue, _arr, _flatten, _moveaxis, _mul, _no_out, _reduce,
                                   _scalar, _slice, _sub, _sum_prod)

__all__ = [
    "dot", "vdot", "matmul", "inner", "outer", "tensordot", "einsum", "kron", "cross",
    "trace", "diag", "diagonal", "diagflat", "tril", "triu", "matrix_transpose", "vecdot",
]


def _ndim(x) -> int:
    return len(shape_of(x))


def _dot_general(a, b, contracting, batch=((), ())):
    return lax.dot_general(a, b, (contracting, batch))


def _ravel(x):
    return _flatten(x) if _ndim(x) else lax.reshape(x, (1,))


def _conj(x):
    return lax.conj(x) if dtype_of(x).kind == "c" else x


def _sum_out(x, axes):
    """Sum over ``axes`` keeping the dtype (logical or for bool), as einsum and dot do."""
    reducer = lax.reduce_or if dtype_of(x).kind == "b" else lax.reduce_sum
    return _reduce(reducer, x, tuple(sorted(axes)))


def _check_aligned(name, a, b, ia, ib):
    sa, sb = shape_of(a), shape_of(b)
    if sa[ia] != sb[ib]:
        raise ValueError(f"ftx.numpy.{name}: shapes {tuple(sa)} and {tuple(sb)} not aligned: "
                         f"{sa[ia]} (dim {ia % len(sa)}) != {sb[ib]} (dim {ib % len(sb)})")


# =========================================================================== dot family


@eager_numpy(np.dot)
def dot(a, b, out=None):
    """NumPy's ``dot``: inner product of vectors, matrix product, or a sum over
    the last axis of ``a`` and the second-to-last of ``b``. ``dot(A, v)``."""
    _no_out(out, "dot")
    a, b = promote_dtypes(_arr(a, "dot"), _arr(b, "dot"))
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return _mul(a, b)
    ib = 0 if nb == 1 else nb - 2
    _check_aligned("dot", a, b, na - 1, ib)
    return _dot_general(a, b, ((na - 1,), (ib,)))


@eager_numpy(np.vdot)
def vdot(a, b, /):
    """Dot product of the flattened arrays, conjugating the first. ``vdot(x, y)``."""
    a, b = promote_dtypes(_arr(a, "vdot"), _arr(b, "vdot"))
    a, b = _ravel(a), _ravel(b)
    if shape_of(a) != shape_of(b):
        raise ValueError(f"ftx.numpy.vdot: cannot reshape array of size {shape_of(b)[0]} into "
                         f"shape ({shape_of(a)[0]},): vector sizes must match")
    return _dot_general(_conj(a), b, ((0,), (0,)))


def _matmul(name, a, b):
    """``a @ b`` with NumPy's 1-d promotion and batch broadcasting (dtypes already equal)."""
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        raise ValueError(f"ftx.numpy.{name}: Input operand {0 if na == 0 else 1} does not have "
                         "enough dimensions (has 0, gufunc core with signature (n?,k),(k,m?)->"
                         "(n?,m?) requires 1)")
    sa, sb = shape_of(a), shape_of(b)
    if na == 1 or nb == 1:
        # A vector operand needs no reshapes: contract it directly (NumPy's 1-d promotion).
        kb = 0 if nb == 1 else nb - 2
        if sa[-1] != sb[kb]:
            raise ValueError(f"ftx.numpy.{name}: Input operand 1 has a mismatch in its core "
                             f"dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size "
                             f"{sb[kb]} is different from {sa[-1]}); shapes {tuple(sa)} and "
                             f"{tuple(sb)}")
        return _dot_general(a, b, ((na - 1,), (kb,)))
    if sa[-1] != sb[-2]:
        raise ValueError(f"ftx.numpy.{name}: Input operand 1 has a mismatch in its core dimension "
                         f"0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {sb[-2]} is "
                         f"different from {sa[-1]}); shapes {tuple(sa)} and {tuple(sb)}")
    batch_a, batch_b = tuple(sa[:-2]), tuple(sb[:-2])
    if not batch_b:  # (..., n, k) @ (k, m): contract directly, no broadcasting
        out = _dot_general(a, b, ((na - 1,), (0,)))
    elif not batch_a:  # (n, k) @ (..., k, m) gives (n, ..., m): move n next to m
        out = _dot_general(a, b, ((1,), (nb - 2,)))
        nbatch = len(batch_b)
        out = lax.transpose(out, tuple(range(1, nbatch + 1)) + (0, nbatch + 1))
    else:
        batch = broadcast_shapes(name, batch_a, batch_b)
        a = broadcast_to(a, batch + tuple(sa[-2:]), name)
        b = broadcast_to(b, batch + tuple(sb[-2:]), name)
        dims = tuple(range(len(batch)))
        out = _dot_general(a, b, ((len(batch) + 1,), (len(batch),)), (dims, dims))
    return out


@eager_numpy(np.matmul)
def matmul(x1, x2, /, out=None, *, dtype=None, **kwargs):
    """Matrix product with broadcasting over leading batch axes (``x1 @ x2``). ``matmul(A, B)``."""
    _no_out(out, "matmul")
    if kwargs:
        raise NotImplementedError(f"ftx.numpy.matmul: the arguments {sorted(kwargs)} are not "
                                  "supported")
    a, b = _arr(x1, "matmul"), _arr(x2, "matmul")
    if dtype is None:
        a, b = promote_dtypes(a, b)
    else:
        a, b = cast(a, dtype), cast(b, dtype)
    return _matmul("matmul", a, b)


@eager_numpy(np.inner)
def inner(a, b, /):
    """Sum over the last axes of ``a`` and ``b``. ``inner(x, y)``."""
    a, b = promote_dtypes(_arr(a, "inner"), _arr(b, "inner"))
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return _mul(a, b)
    _check_aligned("inner", a, b, na - 1, nb - 1)
    return _dot_general(a, b, ((na - 1,), (nb - 1,)))


@eager_numpy(np.outer)
def outer(a, b, out=None):
    """``outer(a, b)[i, j] = a.ravel()[i] * b.ravel()[j]``."""
    _no_out(out, "outer")
    a, b = _arr(a, "outer"), _arr(b, "outer")
    a = lax.reshape(a, (int(np.prod(shape_of(a), dtype=np.int64)), 1))
    b = lax.reshape(b, (1, int(np.prod(shape_of(b), dtype=np.int64))))
    return _mul(a, b)


def _tensordot_axes(axes, na: int, nb: int):
    try:
        axes_a, axes_b = axes
    except TypeError:
        n = operator.index(axes)
        if n < 0:
            raise ValueError(f"ftx.numpy.tensordot: axes must be non-negative, got {n}") from None
        return list(range(na - n, na)), list(range(n))
    axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
    axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"ftx.numpy.tensordot: shape-mismatch for sum (axes {axes_a} and "
                         f"{axes_b} differ in length)")
    return axes_a, axes_b


@eager_numpy(np.tensordot)
def tensordot(a, b, axes=2):
    """Sum of products over ``axes`` (an int N: the last N of ``a`` with the first N of ``b``;
    or a pair of axis lists). ``tensordot(A, B, axes=([1], [0]))``."""
    a, b = promote_dtypes(_arr(a, "tensordot"), _arr(b, "tensordot"))
    sa, sb = shape_of(a), shape_of(b)
    axes = concrete_or_error(axes, "axes", "ftx.numpy.tensordot")
    axes_a, axes_b = _tensordot_axes(axes, len(sa), len(sb))
    axes_a = tuple(canonicalize_axis(i, len(sa), "tensordot") for i in axes_a)
    axes_b = tuple(canonicalize_axis(i, len(sb), "tensordot") for i in axes_b)
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(f"ftx.numpy.tensordot: shape-mismatch for sum: axis {i} of "
                             f"{tuple(sa)} and axis {j} of {tuple(sb)} differ")
    return _dot_general(a, b, (axes_a, axes_b))


@eager_numpy(np.vecdot)
def vecdot(x1, x2, /, *, axis=-1, out=None, dtype=None, **kwargs):
    """``sum(conj(x1) * x2, axis)`` with broadcasting of the other axes. ``vecdot(u, v)``."""
    _no_out(out, "vecdot")
    if kwargs:
        raise NotImplementedError(f"ftx.numpy.vecdot: the arguments {sorted(kwargs)} are not "
                                  "supported")
    a, b = _arr(x1, "vecdot"), _arr(x2, "vecdot")
    a, b = promote_dtypes(a, b) if dtype is None else (cast(a, dtype), cast(b, dtype))
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError("ftx.numpy.vecdot: inputs must have at least one dimension")
    a = _moveaxis(a, canonicalize_axis(axis, _ndim(a), "vecdot"), -1)
    b = _moveaxis(b, canonicalize_axis(axis, _ndim(b), "vecdot"), -1)
    n = shape_of(a)[-1]
    if shape_of(b)[-1] != n:
        raise ValueError(f"ftx.numpy.vecdot: the contracted axes differ in size ({n} and "
                         f"{shape_of(b)[-1]}; shapes {tuple(shape_of(x1))} and "
                         f"{tuple(shape_of(x2))})")
    batch = broadcast_shapes("vecdot", shape_of(a)[:-1], shape_of(b)[:-1])
    a, b = broadcast_to(a, batch + (n,), "vecdot"), broadcast_to(b, batch + (n,), "vecdot")
    dims = tuple(range(len(batch)))
    return _dot_general(_conj(a), b, ((len(batch),), (len(batch),)), (dims, dims))


# =========================================================================== einsum

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _parse_term(term: str, subscripts: str, which: str):
    """The letters of one term before and after its '...' (``None`` after when it has none)."""
    if term.count("...") > 1 or term.replace("...", "").count(".") > 0:
        raise ValueError(f"ftx.numpy.einsum: invalid ellipsis in {which} term {term!r} of "
                         f"subscripts {subscripts!r}")
    for c in term.replace("...", ""):
        if c not in _LETTERS:
            raise ValueError(f"ftx.numpy.einsum: invalid subscript {c!r} in {which} term "
                             f"{term!r} of {subscripts!r}; use letters a-z, A-Z and '...'")
    if "..." not in term:
        return list(term), None
    head, tail = term.split("...")
    return list(head), list(tail)


def _einsum_labels(subscripts: str, shapes):
    """Per-operand label lists and the output label list.

    Letters label themselves; the axes under '...' get labels ``('...', j)`` with j
    counted from the right, so they line up across operands as in broadcasting.
    """
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1:
        raise ValueError(f"ftx.numpy.einsum: subscripts {subscripts!r} have more than one '->'")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"ftx.numpy.einsum: subscripts {subscripts!r} name {len(terms)} "
                         f"operand(s), but {len(shapes)} were given")
    labels, n_ell = [], 0
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        head, tail = _parse_term(term, subscripts, f"input {k}")
        if tail is None:
            if len(head) != len(shape):
                raise ValueError(f"ftx.numpy.einsum: operand {k} has {len(shape)} dimensions "
                                 f"(shape {tuple(shape)}) but its term {term!r} names "
                                 f"{len(head)} in {subscripts!r}")
            labels.append(head)
            continue
        k_ell = len(shape) - len(head) - len(tail)
        if k_ell < 0:
            raise ValueError(f"ftx.numpy.einsum: operand {k} (shape {tuple(shape)}) has fewer "
                             f"dimensions than its term {term!r} names in {subscripts!r}")
        n_ell = builtins.max(n_ell, k_ell)
        # Ellipsis axes align on the right, as in broadcasting: label them from the end.
        labels.append(head + [("...", k_ell - i) for i in range(k_ell)] + tail)
    ell = [("...", n_ell - i) for i in range(n_ell)]
    if not arrow:
        counts = {}
        for ls in labels:
            for label in ls:
                if isinstance(label, str):
                    counts[label] = counts.get(label, 0) + 1
        out = ell + sorted(label for label, c in counts.items() if c == 1)
    else:
        head, tail = _parse_term(output, subscripts, "output")
        out = head if tail is None else head + ell + tail
        if tail is None and n_ell:
            raise ValueError(f"ftx.numpy.einsum: output has more dimensions than subscripts "
                             f"given in einstein sum, but no '...' ellipsis provided to "
                             f"broadcast the extra dimensions ({subscripts!r})")
        seen = set()
        for label in out:
            if label in seen:
                raise ValueError(f"ftx.numpy.einsum: output subscript {label!r} appears more "
                                 f"than once in {subscripts!r}")
            seen.add(label)
            if isinstance(label, str) and not builtins.any(label in ls for ls in labels):
                raise ValueError(f"ftx.numpy.einsum: output subscript {label!r} never appeared "
                                 f"in an input of {subscripts!r}")
    return labels, out


def _label_sizes(subscripts, labels, shapes) -> dict:
    sizes = {}
    for k, (ls, shape) in enumerate(zip(labels, shapes)):
        for label, d in zip(ls, shape):
            prev = sizes.get(label, 1)
            if d != 1 and prev != 1 and d != prev:
                name = "..." if isinstance(label, tuple) else label
                raise ValueError(f"ftx.numpy.einsum: size of label {name!r} for operand {k} "
                                 f"({d}) does not match previous terms ({prev}) in "
                                 f"{subscripts!r}; shapes "
                                 f"{', '.join(str(tuple(s)) for s in shapes)}")
            sizes[label] = d if prev == 1 else prev
    return sizes


def _dedupe_labels(x, labels):
    """Repeated labels within one operand take the diagonal (``'ii->i'``)."""
    while True:
        seen = {}
        repeat = None
        for i, label in enumerate(labels):
            if label in seen:
                repeat = (seen[label], i)
                break
            seen[label] = i
        if repeat is None:
            return x, labels
        i, j = repeat
        if shape_of(x)[i] != shape_of(x)[j]:
            raise ValueError(f"ftx.numpy.einsum: repeated subscript {labels[i]!r} has sizes "
                             f"{shape_of(x)[i]} and {shape_of(x)[j]} in one operand")
        x = _diagonal(x, 0, i, j)
        labels = [l for k, l in enumerate(labels) if k not in (i, j)] + [labels[i]]


def _broadcast_labels(x, labels, sizes):
    """Grow size-1 axes to the label's full size (einsum broadcasts them, as NumPy does)."""
    shape = shape_of(x)
    full = tuple(sizes[label] for label in labels)
    return x if tuple(shape) == full else broadcast_to(x, full, "einsum")


@eager_numpy(np.einsum)
def einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe",
           optimize=False):
    """Einstein summation: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

    Implicit outputs, ``...`` and repeated labels work as in NumPy. Operands are
    contracted pairwise from left to right with ``dot_general`` (``optimize`` is
    accepted and ignored); labels used by no later operand are summed first.
    """
    _no_out(out, "einsum")
    if not isinstance(subscripts, str):
        raise NotImplementedError("ftx.numpy.einsum: only the subscripts-string form is "
                                  "supported under a transform (not operand/sublist pairs)")
    ops = [_arr(x, "einsum") for x in operands]
    if not ops:
        raise ValueError("ftx.numpy.einsum: at least one operand is required")
    ops = promote_dtypes(*ops) if dtype is None else [cast(x, dtype) for x in ops]
    shapes = [shape_of(x) for x in ops]
    labels, out_labels = _einsum_labels(subscripts, shapes)
    sizes = _label_sizes(subscripts, labels, shapes)
    terms = [_dedupe_labels(x, ls) for x, ls in zip(ops, labels)]

    def needed_after(k):
        used = set(out_labels)
        for _, ls in terms[k + 1:]:
            used.update(ls)
        return used

    def sum_unused(x, ls, keep):
        drop = [i for i, label in enumerate(ls) if label not in keep]
        if drop:
            x = _sum_out(x, drop)
            ls = [label for i, label in enumerate(ls) if i not in drop]
        return x, ls

    acc, acc_labels = terms[0]
    for k in range(1, len(terms)):
        x, ls = terms[k]
        keep = needed_after(k)
        x, ls = sum_unused(x, ls, keep | set(acc_labels))
        acc, acc_labels = sum_unused(acc, acc_labels, keep | set(ls))
        acc = _broadcast_labels(acc, acc_labels, sizes)
        x = _broadcast_labels(x, ls, sizes)
        shared = [label for label in acc_labels if label in ls]
        batch = [label for label in shared if label in keep]
        contract = [label for label in shared if label not in keep]
        acc = _dot_general(acc, x,
                           (tuple(acc_labels.index(l) for l in contract),
                            tuple(ls.index(l) for l in contract)),
                           (tuple(acc_labels.index(l) for l in batch),
                            tuple(ls.index(l) for l in batch)))
        acc_labels = (batch + [l for l in acc_labels if l not in shared]
                      + [l for l in ls if l not in shared])
    acc, acc_labels = sum_unused(acc, acc_labels, set(out_labels))
    acc = _broadcast_labels(acc, acc_labels, sizes)
    perm = tuple(acc_labels.index(label) for label in out_labels)
    return acc if perm == tuple(range(len(perm))) else lax.transpose(acc, perm)


# =========================================================================== kron, cross


@eager_numpy(np.kron)
def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b``. ``kron(np.eye(2), B)``."""
    a, b = _arr(a, "kron"), _arr(b, "kron")
    na, nb = _ndim(a), _ndim(b)
    if na < nb:  # NumPy gives a at least b's rank
        a, na = lax.reshape(a, (1,) * (nb - na) + tuple(shape_of(a))), nb
    if na == 0 or nb == 0:
        return _mul(a, b)
    sa = tuple(shape_of(a))
    sb = (1,) * (na - nb) + tuple(shape_of(b))
    b = lax.reshape(b, sb)
    # Interleave: a's axes at even positions, b's at odd ones, then merge the pairs.
    a = lax.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b = lax.reshape(b, tuple(d for s in sb for d in (1, s)))
    return lax.reshape(_mul(a, b), tuple(x * y for x, y in zip(sa, sb)))


@eager_numpy(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors) along the given axes. ``cross(u, v)``."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _arr(a, "cross"), _arr(b, "cross")
    if _ndim(a) < 1 or _ndim(b) < 1:
        raise ValueError("ftx.numpy.cross: At least one array has zero dimension")
    a = _moveaxis(a, canonicalize_axis(axisa, _ndim(a), "cross"), -1)
    b = _moveaxis(b, canonicalize_axis(axisb, _ndim(b), "cross"), -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"ftx.numpy.cross: incompatible dimensions for cross product "
                         f"(dimension must be 2 or 3), got shapes {tuple(shape_of(a))} and "
                         f"{tuple(shape_of(b))}")
    a, b = promote_dtypes(a, b)
    a_ = [lax.squeeze(_slice(a, i, i + 1, _ndim(a) - 1), (_ndim(a) - 1,)) for i in range(na)]
    b_ = [lax.squeeze(_slice(b, i, i + 1, _ndim(b) - 1), (_ndim(b) - 1,)) for i in range(nb)]
    c2 = _sub(_mul(a_[0], b_[1]), _mul(a_[1], b_[0]))
    if na == 2 and nb == 2:  # the z component only, as NumPy
        return c2
    if na == 2:
        c0, c1 = _mul(a_[1], b_[2]), lax.neg(_mul(a_[0], b_[2]))
    elif nb == 2:
        c0, c1 = lax.neg(_mul(a_[2], b_[1])), _mul(a_[2], b_[0])
    else:
        c0 = _sub(_mul(a_[1], b_[2]), _mul(a_[2], b_[1]))
        c1 = _sub(_mul(a_[2], b_[0]), _mul(a_[0], b_[2]))
    shape = broadcast_shapes("cross", shape_of(c0), shape_of(c1), shape_of(c2))
    parts = [lax.expand_dims(broadcast_to(c, shape, "cross"), (len(shape),)) for c in (c0, c1, c2)]
    out = lax.concatenate(parts, len(shape))
    return _moveaxis(out, len(shape), canonicalize_axis(axisc, len(shape) + 1, "cross"))


# =========================================================================== diagonals, triangles


def _diagonal(x, offset: int, axis1: int, axis2: int):
    """The ``offset`` diagonal of axes (axis1, axis2), appended as the last axis.

    Only shape primitives: crop to the diagonal's square block, flatten it to
    length d*m, pad by d so it reshapes to (d, m + 1), and take column 0.
    """
    shape = shape_of(x)
    rest = [i for i in range(len(shape)) if i not in (axis1, axis2)]
    perm = rest + [axis1, axis2]
    if perm != list(range(len(shape))):
        x = lax.transpose(x, perm)
    r, c = len(shape) - 2, len(shape) - 1
    if offset >= 0:
        x = _slice(x, offset, None, c)
    else:
        x = _slice(x, -offset, None, r)
    n, m = shape_of(x)[r], shape_of(x)[c]
    d = builtins.min(n, m)
    batch = tuple(shape[i] for i in rest)
    if d == 0:
        return lax.reshape(_slice(_slice(x, 0, 0, r), 0, 0, c), batch + (0,))
    x = _slice(x, 0, d, r)
    flat = lax.reshape(x, batch + (d * m,))
    zero = _scalar(0, dtype_of(x))
    flat = lax.pad(flat, zero, [(0, 0, 0)] * len(batch) + [(0, d, 0)])
    grid = lax.reshape(flat, batch + (d, m + 1))
    return lax.squeeze(_slice(grid, 0, 1, c), (c,))


@eager_numpy(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal over ``axis1``/``axis2``, as the last axis. ``diagonal(A, 1)``."""
    x = _arr(a, "diagonal")
    ndim = _ndim(x)
    if ndim < 2:
        raise ValueError("ftx.numpy.diagonal: diag requires an array of at least two dimensions")
    ax1 = canonicalize_axis(axis1, ndim, "diagonal")
    ax2 = canonicalize_axis(axis2, ndim, "diagonal")
    if ax1 == ax2:
        raise ValueError("ftx.numpy.diagonal: axis1 and axis2 cannot be the same")
    offset = operator.index(concrete_or_error(offset, "offset", "ftx.numpy.diagonal"))
    return _diagonal(x, offset, ax1, ax2)


@eager_numpy(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal (NumPy's sum dtypes). ``trace(A)``."""
    _no_out(out, "trace")
    d = diagonal(a, offset, axis1, axis2)
    return _sum_prod("trace", d, _ndim(d) - 1, dtype, None, False, _NoValue, _NoValue, True)


def _diag_matrix(v, k: int):
    """A square matrix with the 1-d ``v`` on diagonal ``k`` (shape primitives only)."""
    n = shape_of(v)[0]
    size = n + builtins.abs(k)
    zero = _scalar(0, dtype_of(v))
    if n == 0:
        return np.zeros((size, size), dtype_of(v))
    # v as a column, padded to (n, n+1) and read back row-major as (n, n): v lands on the diagonal.
    col = lax.pad(lax.reshape(v, (n, 1)), zero, [(0, 0, 0), (0, n, 0)])
    flat = _slice(lax.reshape(col, (n * (n + 1),)), 0, n * n, 0)
    square = lax.reshape(flat, (n, n))
    if k == 0:
        return square
    pads = [(0, k, 0), (k, 0, 0)] if k > 0 else [(-k, 0, 0), (0, -k, 0)]
    return lax.pad(square, zero, pads)


@eager_numpy(np.diag)
def diag(v, k=0):
    """A 1-d ``v`` becomes a matrix with ``v`` on diagonal ``k``; a 2-d one gives its diagonal."""
    v = _arr(v, "diag")
    k = operator.index(concrete_or_error(k, "k", "ftx.numpy.diag"))
    if _ndim(v) == 1:
        return _diag_matrix(v, k)
    if _ndim(v) == 2:
        return _diagonal(v, k, 0, 1)
    raise ValueError(f"ftx.numpy.diag: Input must be 1- or 2-d, got shape {tuple(shape_of(v))}")


@eager_numpy(np.diagflat)
def diagflat(v, k=0):
    """``diag(v.ravel(), k)``: a matrix with the flattened input on diagonal ``k``."""
    v = _arr(v, "diagflat")
    k = operator.index(concrete_or_error(k, "k", "ftx.numpy.diagflat"))
    return _diag_matrix(_ravel(v), k)


def _triangle(name, m, k, lower: bool):
    x = _arr(m, name)
    k = operator.index(concrete_or_error(k, "k", f"ftx.numpy.{name}"))
    shape = tuple(shape_of(x))
    if not shape:
        raise ValueError(f"ftx.numpy.{name}: input must be at least 1-d")
    rows, cols = (shape[-1], shape[-1]) if len(shape) == 1 else shape[-2:]
    out_shape = shape if len(shape) >= 2 else (rows, cols)
    i = lax.broadcasted_iota(np.int64, (rows, cols), 0)
    j = lax.broadcasted_iota(np.int64, (rows, cols), 1)
    i_k = lax.add(i, _scalar(k, np.int64))
    keep = lax.ge(i_k, j) if lower else lax.le(i_k, j)  # tril: j <= i + k; triu: j >= i + k
    if out_shape != (rows, cols):
        keep = lax.broadcast_in_dim(keep, out_shape, (len(out_shape) - 2, len(out_shape) - 1))
    x = broadcast_to(x, out_shape, name)
    return lax.select_n(keep, _scalar(0, dtype_of(x)), x)


@eager_numpy(np.tril)
def tril(m, k=0):
    """Zero the elements above diagonal ``k`` of the last two axes. ``tril(A, -1)``."""
    return _triangle("tril", m, k, True)


@eager_numpy(np.triu)
def triu(m, k=0):
    """Zero the elements below diagonal ``k`` of the last two axes. ``triu(A, 1)``."""
    return _triangle("triu", m, k, False)


@eager_numpy(np.matrix_transpose)
def matrix_transpose(x, /):
    """Swap the last two axes. ``matrix_transpose(A)`` has shape ``A.shape[:-2] + (n, m)``."""
    x = _arr(x, "matrix_transpose")
    ndim = _ndim(x)
    if ndim < 2:
        raise ValueError(f"ftx.numpy.matrix_transpose: Input array must be at least "
                         f"2-dimensional, got shape {tuple(shape_of(x))}")
    return lax.transpose(x, tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))
