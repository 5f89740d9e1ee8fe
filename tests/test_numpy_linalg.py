"""ftx.numpy's products (dot, matmul, einsum, tensordot ...), diagonal/triangle helpers and
ftx.numpy.linalg, traced (make_jaxpr -> eval_jaxpr) against NumPy as the oracle.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.errors import ConcretizationTypeError
from ftx.numpy import _linalg as L
from ftx.numpy import linalg as LA
from ftx.tree_util import tree_leaves


def traced(fn, *args):
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    outs = eval_jaxpr(jaxpr, *tree_leaves(args))
    return outs[0] if len(outs) == 1 else tuple(outs)


def assert_same(actual, expected, rtol=1e-6):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if actual.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


def normal(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- einsum

@st.composite
def contractions(draw):
    """Subscripts for a matmul-like contraction of 2 or 3 operands with random label order.

    Labels are batch (in all operands and the output), contracted (in two operands, not
    the output) and free (in one operand and maybe the output); sizes are 1..3, and the
    output is explicit or implicit.
    """
    n_ops = draw(st.integers(2, 3))
    letters = list("abcdefghijklmnop")
    sizes, terms = {}, [[] for _ in range(n_ops)]
    out = []
    for _ in range(draw(st.integers(0, 2))):  # batch labels
        c = letters.pop()
        sizes[c] = draw(st.integers(1, 3))
        for t in terms:
            t.append(c)
        out.append(c)
    for _ in range(draw(st.integers(0, 3))):  # contracted between two operands
        c = letters.pop()
        sizes[c] = draw(st.integers(1, 3))
        i, j = draw(st.lists(st.integers(0, n_ops - 1), min_size=2, max_size=2, unique=True))
        terms[i].append(c)
        terms[j].append(c)
    for k in range(n_ops):  # free labels
        for _ in range(draw(st.integers(0, 2))):
            c = letters.pop()
            sizes[c] = draw(st.integers(1, 3))
            terms[k].append(c)
            if draw(st.booleans()):
                out.append(c)
    terms = [draw(st.permutations(t)) for t in terms]
    implicit = draw(st.booleans())
    spec = ",".join("".join(t) for t in terms)
    if not implicit:
        spec += "->" + "".join(draw(st.permutations(out)))
    shapes = [tuple(sizes[c] for c in t) for t in terms]
    return spec, shapes


@settings(max_examples=30, deadline=None)
@given(case=contractions(), dtype=st.sampled_from([np.int32, np.float64]))
def test_einsum_matches_numpy_on_random_contractions(case, dtype):
    spec, shapes = case
    ops = [normal(*s, seed=i, dtype=np.float64).round().astype(dtype) if dtype == np.int32
           else normal(*s, seed=i) for i, s in enumerate(shapes)]
    assert_same(traced(lambda *xs: L.einsum(spec, *xs), *ops), np.einsum(spec, *ops))


@pytest.mark.parametrize("spec, shapes", [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(2, 2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("i...->...", [(2, 3, 4)]),
    ("...,...", [(2, 1), (3,)]), ("ij,jk->ik", [(2, 1), (3, 4)]), ("i,,j", [(2,), (), (3,)]),
    ("ab,bc,cd,de->ea", [(2, 3), (3, 4), (4, 5), (5, 2)]), (" ij , jk -> ki ", [(2, 3), (3, 4)]),
])
def test_einsum_ellipses_repeats_and_broadcasting(spec, shapes):
    ops = [normal(*s, seed=i) for i, s in enumerate(shapes)]
    assert_same(traced(lambda *xs: L.einsum(spec, *xs), *ops), np.einsum(spec, *ops))


def test_einsum_is_dot_general_for_a_matmul_and_accepts_optimize():
    a, b = normal(2, 3), normal(3, 4)
    jaxpr = ftx.make_jaxpr(lambda x, y: L.einsum("ij,jk->ik", x, y, optimize="greedy"))(a, b)
    assert [e.primitive.name for e in jaxpr.eqns] == ["dot_general"]
    jaxpr = ftx.make_jaxpr(lambda x, y: L.einsum("ij,jk->ki", x, y))(a, b)
    assert [e.primitive.name for e in jaxpr.eqns] == ["dot_general", "transpose"]


@pytest.mark.parametrize("spec, shapes, message", [
    ("ij,jk", [(2, 3)], r"name 2 operand\(s\), but 1 were given"),
    ("i$,j", [(2, 3), (3,)], r"invalid subscript '\$'"),
    ("ij->k", [(2, 3)], r"output subscript 'k' never appeared"),
    ("ij->ii", [(2, 3)], r"output subscript 'i' appears more than once"),
    ("ijk", [(2, 3)], r"operand 0 has 2 dimensions \(shape \(2, 3\)\) but its term 'ijk' names 3"),
    ("ij,jk->ik", [(2, 3), (4, 5)], r"size of label 'j' for operand 1 \(4\) does not match "
                                    r"previous terms \(3\)"),
    ("...i->i", [(2, 3)], r"no '...' ellipsis"),
    ("i..j.->i", [(2, 3)], "invalid ellipsis"),
])
def test_einsum_errors_name_the_subscripts(spec, shapes, message):
    ops = [np.ones(s) for s in shapes]
    with pytest.raises(ValueError, match=message):
        ftx.make_jaxpr(lambda *xs: L.einsum(spec, *xs))(*ops)


# --------------------------------------------------------------------------- matmul & dot

@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    a_batch = [draw(st.sampled_from([d, 1])) for d in batch][draw(st.integers(0, len(batch))):]
    b_batch = [draw(st.sampled_from([d, 1])) for d in batch][draw(st.integers(0, len(batch))):]
    a = tuple(a_batch) + (n, k) if draw(st.booleans()) else (k,)
    b = tuple(b_batch) + (k, m) if draw(st.booleans()) else (k,)
    return a, b


@settings(max_examples=30, deadline=None)
@given(shapes=matmul_shapes(), dtypes=st.sampled_from([(np.float32, np.float32),
                                                      (np.int32, np.float64), (np.bool_, np.bool_),
                                                      (np.int32, np.int32)]))
def test_matmul_broadcasts_and_promotes_like_numpy(shapes, dtypes):
    a = (normal(*shapes[0], seed=1) > 0).astype(dtypes[0])
    b = (normal(*shapes[1], seed=2) * 3).astype(dtypes[1])
    assert_same(traced(L.matmul, a, b), np.matmul(a, b))
    if len(shapes[1]) <= 2 or len(shapes[0]) <= 1:
        assert_same(traced(L.dot, a, b), np.dot(a, b))


def test_products_of_python_scalars_follow_numpy_dtypes():
    x = np.ones(3, np.float32)
    assert_same(traced(lambda v: L.dot(v, 2.0), x), np.dot(x, 2.0))  # float64: NumPy makes 2.0 an array
    assert_same(traced(lambda v: L.outer(v, 2.0), x), np.outer(x, 2.0))


def test_shape_mismatches_name_both_shapes():
    a, b = np.ones((2, 3)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(4, 5\) not aligned: 3 \(dim 1\) != 4 \(dim 0\)"):
        ftx.make_jaxpr(L.dot)(a, b)
    with pytest.raises(ValueError, match=r"matmul: .*size 4 is different from 3.*\(2, 3\) and \(4, 5\)"):
        ftx.make_jaxpr(L.matmul)(a, b)
    with pytest.raises(ValueError, match="matmul: Input operand 1 does not have enough dimensions"):
        ftx.make_jaxpr(L.matmul)(a, 2.0)
    with pytest.raises(ValueError, match=r"tensordot: shape-mismatch for sum: axis 1 of \(2, 3\) "
                                         r"and axis 0 of \(4, 5\)"):
        ftx.make_jaxpr(lambda x, y: L.tensordot(x, y, 1))(a, b)
    with pytest.raises(ValueError, match="inner"):
        ftx.make_jaxpr(L.inner)(a, b)
    with pytest.raises(ValueError, match="vecdot"):
        ftx.make_jaxpr(L.vecdot)(a, b)


def test_tensordot_forms():
    a, b = normal(2, 3, 4), normal(4, 3, 5)
    for axes in (([1, 2], [1, 0]), 1, ([2], [0]), (2, 0)):
        assert_same(traced(lambda x, y: L.tensordot(x, y, axes), a, b), np.tensordot(a, b, axes))
    assert_same(traced(lambda x, y: L.tensordot(x, y, 0), a[0, 0], b[0, 0]),
                np.tensordot(a[0, 0], b[0, 0], 0))


def test_vdot_vecdot_conjugate_the_first_argument():
    a = normal(3, 2) + 1j * normal(3, 2, seed=1)
    b = normal(3, 2, seed=2) - 1j * normal(3, 2, seed=3)
    assert_same(traced(L.vdot, a, b), np.vdot(a, b))
    assert_same(traced(lambda x, y: L.vecdot(x, y, axis=0), a, b), np.vecdot(a, b, axis=0))


def test_kron_and_cross():
    assert_same(traced(L.kron, normal(2, 3), normal(3, 1, 2)), np.kron(normal(2, 3), normal(3, 1, 2)))
    a, b = normal(4, 3), normal(3)
    assert_same(traced(L.cross, a, b), np.cross(a, b))
    assert_same(traced(lambda x, y: L.cross(x, y, axisa=0, axisb=0, axisc=0), a.T, a.T),
                np.cross(a.T, a.T, axisa=0, axisb=0, axisc=0))
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        ftx.make_jaxpr(L.cross)(np.ones(4), np.ones(3))


# --------------------------------------------------------------------------- diagonals

@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3), offset=st.integers(-4, 4),
       data=st.data(), dtype=st.sampled_from([np.bool_, np.int32, np.float64]))
def test_diagonal_trace_tril_triu_match_numpy(shape, offset, data, dtype):
    x = (normal(*shape) * 3).astype(dtype)
    ndim = len(shape)
    axis1, axis2 = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=2, max_size=2,
                                      unique_by=lambda a: a % ndim))
    assert_same(traced(lambda v: L.diagonal(v, offset, axis1, axis2), x),
                np.diagonal(x, offset, axis1, axis2))
    assert_same(traced(lambda v: L.trace(v, offset, axis1, axis2), x), np.trace(x, offset, axis1, axis2))
    assert_same(traced(lambda v: L.tril(v, offset), x), np.tril(x, offset))
    assert_same(traced(lambda v: L.triu(v, offset), x), np.triu(x, offset))


@pytest.mark.parametrize("k", [-2, 0, 1, 3])
def test_diag_and_diagflat_build_matrices(k):
    v = np.arange(1, 4, dtype=np.int32)
    assert_same(traced(lambda x: L.diag(x, k), v), np.diag(v, k))
    assert_same(traced(lambda x: L.diagflat(x, k), v.reshape(3, 1)), np.diagflat(v.reshape(3, 1), k))
    m = normal(3, 4)
    assert_same(traced(lambda x: L.diag(x, k), m), np.diag(m, k))


def test_diagonal_is_built_from_shape_primitives_only():
    jaxpr = ftx.make_jaxpr(lambda v: L.diagonal(v))(np.ones((3, 3)))
    assert {e.primitive.name for e in jaxpr.eqns} <= {"reshape", "pad", "squeeze", "transpose"}


def test_diagonal_errors_and_static_offset():
    with pytest.raises(ValueError, match="at least two dimensions"):
        ftx.make_jaxpr(L.diagonal)(np.ones(3))
    with pytest.raises(ValueError, match="axis1 and axis2 cannot be the same"):
        ftx.make_jaxpr(lambda v: L.diagonal(v, 0, 1, -1))(np.ones((2, 2)))
    with pytest.raises(ConcretizationTypeError, match="offset must be known statically"):
        ftx.make_jaxpr(lambda v, k: L.diagonal(v, k))(np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="Input must be 1- or 2-d"):
        ftx.make_jaxpr(L.diag)(np.ones((2, 2, 2)))


# --------------------------------------------------------------------------- ftx.numpy.linalg

@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.float64, np.complex128])
def test_norms_match_numpy(dtype):
    x = (normal(3, 4) * 3).astype(dtype)
    cases = [dict(), dict(ord="fro"), dict(ord=1), dict(ord=-1), dict(ord=np.inf),
             dict(ord=-np.inf), dict(axis=1), dict(ord=0, axis=0), dict(ord=3, axis=1),
             dict(ord=0.5, axis=0, keepdims=True), dict(axis=(1, 0), ord=1, keepdims=True)]
    for kw in cases:
        assert_same(traced(lambda v: LA.norm(v, **kw), x), np.linalg.norm(x, **kw), rtol=1e-5)
    assert_same(traced(lambda v: LA.vector_norm(v, axis=(1, 0), ord=np.inf, keepdims=True), x),
                np.linalg.vector_norm(x, axis=(1, 0), ord=np.inf, keepdims=True))
    assert_same(traced(lambda v: LA.matrix_norm(v, ord=-np.inf), x),
                np.linalg.matrix_norm(x, ord=-np.inf), rtol=1e-5)


def test_norm_errors():
    x = np.ones((2, 3))
    with pytest.raises(NotImplementedError, match="singular value decomposition"):
        ftx.make_jaxpr(lambda v: LA.norm(v, 2))(x)
    with pytest.raises(ValueError, match="Invalid norm order 'fro' for vectors"):
        ftx.make_jaxpr(lambda v: LA.norm(v, "fro", axis=0))(x)
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        ftx.make_jaxpr(lambda v: LA.norm(v, axis=(0, 1, 2)))(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Duplicate axes"):
        ftx.make_jaxpr(lambda v: LA.norm(v, axis=(1, -1)))(x)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8])
def test_matrix_power_matches_numpy_exactly(n):
    a = normal(2, 3, 3)
    out = traced(lambda v: LA.matrix_power(v, n), a)
    assert_same(out, np.linalg.matrix_power(a, n), rtol=0)  # same products in the same order


def test_matrix_power_errors():
    with pytest.raises(LA.LinAlgError, match="must be square"):
        ftx.make_jaxpr(lambda v: LA.matrix_power(v, 2))(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="negative exponents"):
        ftx.make_jaxpr(lambda v: LA.matrix_power(v, -1))(np.eye(2))
    with pytest.raises(TypeError, match="exponent must be an integer"):
        ftx.make_jaxpr(lambda v: LA.matrix_power(v, 1.5))(np.eye(2))


def test_array_api_spellings():
    a = normal(2, 3, 3)
    assert_same(traced(lambda v: LA.trace(v, offset=1), a), np.linalg.trace(a, offset=1))
    assert_same(traced(lambda v: LA.diagonal(v, offset=-1), a), np.linalg.diagonal(a, offset=-1))
    assert_same(traced(LA.matrix_transpose, a), np.linalg.matrix_transpose(a))
    assert_same(traced(LA.outer, a[0, 0], a[0, 1]), np.linalg.outer(a[0, 0], a[0, 1]))
    with pytest.raises(ValueError, match="one-dimensional"):
        ftx.make_jaxpr(LA.outer)(a, a)
    with pytest.raises(ValueError, match="3-dimensional vectors"):
        ftx.make_jaxpr(LA.cross)(np.ones(2), np.ones(2))


def test_matmul_operator_on_tracers():
    a, b = normal(2, 3), normal(3, 4)
    assert_same(traced(lambda x, y: x @ y, a, b), a @ b)
    assert_same(traced(lambda x: x.trace(), a), a.trace())
