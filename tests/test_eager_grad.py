"""The machinery eager grad leans on: shared avals, the user's line on linear equations,
dot_general's outer-product path, pytree leaf fast paths, and grad's output check."""
import collections

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.core import pytree
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.dtypes import float0
from ftx.transforms.reverse import vjp


def test_array_avals_are_shared_and_compare_like_fresh_ones():
    a, b = get_aval(np.ones((2, 3))), get_aval(np.zeros((2, 3)))
    assert a is b  # one aval per (shape, dtype)
    fresh = ShapedArray((2, 3), np.float64)
    assert a == fresh and hash(a) == hash(fresh)
    assert get_aval(np.ones((2, 3), np.float32)) != a
    assert get_aval(np.ones(3, np.int32)).to_tangent_aval() == ShapedArray((3,), float0)
    assert a.to_tangent_aval() == a
    assert get_aval(2.0) == ShapedArray((), np.float64, weak_type=True)


def test_linear_equations_carry_the_users_line():
    def f(x):
        y = fnp.sin(x) * 3.0  # the line the derivative equations must name
        return fnp.sum(y)

    _, f_vjp = vjp(f, np.arange(3.0))
    eqns = f_vjp.jaxpr.eqns
    assert eqns, "the linear jaxpr has equations"
    for eqn in eqns:
        assert eqn.source_info is not None
        assert eqn.source_info.filename == __file__
        assert eqn.source_info.function == "f"


def test_jvp_under_make_jaxpr_names_the_users_line():
    def g(x):
        return fnp.tanh(x) ** 2

    jaxpr = ftx.make_jaxpr(lambda x: ftx.jvp(g, (x,), (x,)))(np.ones(3))
    assert all(e.source_info.function == "g" for e in jaxpr.eqns)
    assert "test_eager_grad.py" in jaxpr.pretty_print(source_info=True)


@pytest.mark.parametrize("lhs_shape, rhs_shape", [((3,), (4,)), ((2, 3), (4,)), ((3,), (2, 4))])
def test_dot_general_without_contraction_is_the_outer_product(lhs_shape, rhs_shape):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=lhs_shape), rng.normal(size=rhs_shape)
    out = lax.dot_general(x, y, (((), ()), ((), ())))
    np.testing.assert_allclose(out, np.einsum(x, [0, 1][:x.ndim], y, [2, 3][:y.ndim]))
    # ... and through a traced graph (the reference interpreter runs the same impl).
    jaxpr = ftx.make_jaxpr(lambda a, b: lax.dot_general(a, b, (((), ()), ((), ()))))(x, y)
    np.testing.assert_allclose(ftx.core.eval_jaxpr(jaxpr, x, y)[0], out)


def test_matmul_gradient_matches_the_hand_written_one():
    rng = np.random.default_rng(1)
    W, b, v = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3)
    gW, gb, gv = ftx.grad(lambda W, b, v: fnp.sum(fnp.tanh(W @ v + b) ** 2),
                          argnums=(0, 1, 2))(W, b, v)
    t = np.tanh(W @ v + b)
    d = 2 * t * (1 - t ** 2)
    np.testing.assert_allclose(gW, np.outer(d, v))
    np.testing.assert_allclose(gb, d)
    np.testing.assert_allclose(gv, W.T @ d)


def test_flatten_fast_path_keeps_nodes_inside_sequences():
    Point = collections.namedtuple("Point", "x y")
    tree = (np.ones(2), [None, Point(1.0, (2, {"k": 3}))], 4)
    leaves, treedef = pytree.tree_flatten(tree)
    assert [type(x) for x in leaves] == [np.ndarray, float, int, int, int]
    rebuilt = pytree.tree_unflatten(treedef, leaves)
    assert isinstance(rebuilt[1][1], Point) and rebuilt[1][0] is None
    assert rebuilt[1][1].y == (2, {"k": 3})
    # is_leaf still stops the descent inside sequences.
    leaves, _ = pytree.tree_flatten(tree, is_leaf=lambda x: isinstance(x, Point))
    assert isinstance(leaves[1], Point)


def test_grad_of_a_one_element_tuple_is_refused_with_its_structure():
    with pytest.raises(TypeError, match=r"scalar-output.*f64\[\] inside PyTreeDef\(\(\*,\)\)"):
        ftx.grad(lambda x: (fnp.sum(x),))(np.ones(3))
    with pytest.raises(TypeError, match=r"real- or complex-valued output.*i64\[\]"):
        ftx.grad(lambda x: fnp.sum(x).astype(np.int64))(np.ones(3))


def test_gradients_are_writable_arrays():
    # The transpose of a sum is a zero-stride broadcast view; the caller gets a real array.
    x = np.arange(3.0)
    for g in (ftx.grad(lambda x: fnp.sum(x))(x),
              ftx.vjp(lambda x: fnp.sum(x), x)[1](1.0)[0],
              ftx.grad(lambda x: fnp.mean(x[None, :] + x[:, None]))(x)):
        g[0] += 1.0  # would raise "assignment destination is read-only"
        assert g.strides == (8,)
