"""Transforms: behaviour, nesting and error messages (oracles: closed forms, finite differences, loops)."""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.testing import check_grads, numerical_jvp


def test_grad_of_sin_is_cos():
    x = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(ftx.grad(lambda x: fnp.sum(fnp.sin(x)))(x), np.cos(x))


def test_perturbation_confusion_nested_grads():
    # d/dx [x + d/dy (x*y)] = d/dx [x + x] = 2 (a confused implementation gives 3)
    assert ftx.grad(lambda x: ftx.grad(lambda y: x * y)(1.0) + x)(2.0) == 2.0
    # d/dx (x * d/dy (x + y)) at y=1 = 1 (Siskind & Pearlmutter's example)
    f = lambda x: x * ftx.grad(lambda y: x + y)(1.0)
    assert ftx.grad(f)(3.0) == 1.0
    # jvp inside jvp: d/dx [ x * (d/dy x*y)(1) ] = 2x
    g = lambda x: x * ftx.jvp(lambda y: x * y, (1.0,), (1.0,))[1]
    assert ftx.jvp(g, (3.0,), (1.0,))[1] == 6.0


def test_higher_order_derivatives_of_sin():
    d = ftx.grad
    x = 0.7
    np.testing.assert_allclose(d(d(fnp.sin))(x), -np.sin(x))
    np.testing.assert_allclose(d(d(d(fnp.sin)))(x), -np.cos(x))
    np.testing.assert_allclose(d(d(d(d(fnp.sin))))(x), np.sin(x))


def test_grad_argnums_has_aux_and_value():
    def f(x, y, scale):
        return scale * fnp.sum(x * y), {"n": x.size}

    x, y = np.arange(3.0), np.ones(3) * 2
    (gx, gy), aux = ftx.grad(f, argnums=(0, 1), has_aux=True)(x, y, 3.0)
    np.testing.assert_allclose(gx, 3 * y)
    np.testing.assert_allclose(gy, 3 * x)
    assert aux == {"n": 3}
    (value, aux2), g = ftx.value_and_grad(f, has_aux=True)(x, y, 3.0)
    np.testing.assert_allclose(value, 3 * np.sum(x * y))
    np.testing.assert_allclose(g, 3 * y)


def test_grad_of_pytree_argument():
    params = {"w": np.arange(3.0), "b": [np.float64(1.0), np.ones(2)]}
    g = ftx.grad(lambda p: fnp.sum(p["w"] ** 2) + p["b"][0] * 3 + fnp.sum(p["b"][1]))(params)
    np.testing.assert_allclose(g["w"], 2 * params["w"])
    np.testing.assert_allclose(g["b"][0], 3.0)
    np.testing.assert_allclose(g["b"][1], np.ones(2))


def test_grad_errors():
    with pytest.raises(TypeError, match=r"scalar-output.*f64\[3\]"):
        ftx.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match=r"argument 0 has i64\[3\].*allow_int"):
        ftx.grad(lambda x: fnp.sum(x * 1.0))(np.arange(3))
    g = ftx.grad(lambda x, n: fnp.sum(x) * n, argnums=(0, 1), allow_int=True)(np.ones(2), 3)
    np.testing.assert_allclose(g[0], 3 * np.ones(2))
    assert g[1].dtype == ftx.numpy.float0


def test_jvp_errors_name_shapes():
    with pytest.raises(TypeError, match=r"argument 0 has primal f64\[3\] and tangent f64\[2\]"):
        ftx.jvp(fnp.sin, (np.ones(3),), (np.ones(2),))
    with pytest.raises(TypeError, match="tuples"):
        ftx.jvp(fnp.sin, np.ones(3), np.ones(3))


def test_jvp_with_aux_and_pytrees():
    def f(p):
        return {"y": fnp.sin(p["a"]) * p["b"]}, p["a"] * 2

    p = {"a": np.arange(3.0), "b": np.float64(2.0)}
    t = {"a": np.ones(3), "b": np.float64(0.5)}
    out, tan, aux = ftx.jvp(f, (p,), (t,), has_aux=True)
    np.testing.assert_allclose(out["y"], np.sin(p["a"]) * 2)
    np.testing.assert_allclose(tan["y"], np.cos(p["a"]) * 2 + np.sin(p["a"]) * 0.5)
    np.testing.assert_allclose(aux, p["a"] * 2)
    assert isinstance(aux, np.ndarray)  # aux carries no tracer out of the transform


def test_linearize_matches_jvp_and_does_not_recompute_primal():
    f = lambda x: fnp.sin(x) * fnp.exp(x)
    x = np.linspace(0, 1, 4)
    y, f_jvp = ftx.linearize(f, x)
    t = np.arange(4.0)
    np.testing.assert_allclose(y, f(x))
    np.testing.assert_allclose(f_jvp(t), ftx.jvp(f, (x,), (t,))[1])
    prims = {e.primitive.name for e in f_jvp.jaxpr.eqns}
    assert "sin" not in prims and "exp" not in prims  # only the linear part is kept


def test_vjp_function_is_a_pytree_of_residuals():
    f = lambda x: fnp.sin(x) * x
    x = np.linspace(0, 1, 3)
    y, f_vjp = ftx.vjp(f, x)
    leaves, tree = ftx.tree_util.tree_flatten(f_vjp)
    assert leaves and all(isinstance(leaf, np.ndarray) for leaf in leaves)
    rebuilt = ftx.tree_util.tree_unflatten(tree, leaves)
    (ct,) = rebuilt(np.ones(3))
    np.testing.assert_allclose(ct, np.cos(x) * x + np.sin(x))
    with pytest.raises(TypeError, match="cotangent"):
        f_vjp(np.ones(4))


def test_linear_transpose():
    f = lambda x, y: (2.0 * x - y, x)
    f_t = ftx.linear_transpose(f, np.ones(3), np.ones(3))
    ct_x, ct_y = f_t((np.arange(3.0), np.ones(3)))
    np.testing.assert_allclose(ct_x, 2 * np.arange(3.0) + 1)
    np.testing.assert_allclose(ct_y, -np.arange(3.0))
    with pytest.raises(TypeError, match="floating"):
        ftx.linear_transpose(lambda n: n, np.ones(2, np.int32))


def test_stop_gradient():
    assert ftx.grad(lambda x: ftx.stop_gradient(x) * x)(3.0) == 3.0
    assert ftx.grad(lambda x: lax.stop_gradient(x ** 2))(3.0) == 0.0


def test_tracer_reprs_show_transform_and_values():
    seen = []

    def f(x):
        seen.append(repr(x))
        return x * 2

    ftx.jvp(f, (1.5,), (1.0,))
    assert seen[-1] == "JVPTracer(primal=1.5, tangent=1.0)"
    ftx.vmap(f)(np.arange(2.0))
    assert seen[-1].startswith("BatchTracer(val=array([0., 1.]), batch_dim=0)")


def test_leaked_tracer_from_grad():
    leaked = []

    def f(x):
        leaked.append(x * 2)
        return x * 3

    ftx.grad(f)(1.0)
    with pytest.raises(ftx.UnexpectedTracerError, match="grad"):
        fnp.sin(leaked[0]) + 1


# --------------------------------------------------------------------------- vmap

def test_vmap_in_axes_out_axes_and_pytrees():
    xs = np.arange(12.0).reshape(3, 4)
    w = np.arange(4.0)
    out = ftx.vmap(lambda x, w: x * w, in_axes=(1, None), out_axes=1)(xs.T, w)
    np.testing.assert_allclose(out, (xs * w).T)
    tree_out = ftx.vmap(lambda p: {"s": p["a"] + p["b"]}, in_axes=({"a": 0, "b": None},))(
        {"a": xs, "b": w})
    np.testing.assert_allclose(tree_out["s"], xs + w)
    neg = ftx.vmap(lambda x: x * 2, in_axes=-1, out_axes=-1)(xs)
    np.testing.assert_allclose(neg, xs * 2)


def test_vmap_nested_and_axis_size():
    xs = np.arange(6.0).reshape(2, 3)
    out = ftx.vmap(ftx.vmap(lambda x: x * x))(xs)
    np.testing.assert_allclose(out, xs * xs)
    const = ftx.vmap(lambda: np.float64(1.0) * 2, in_axes=(), axis_size=3)()
    np.testing.assert_allclose(const, np.full(3, 2.0))


def test_vmap_errors_name_arguments_and_sizes():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3: args\[0\].*size 4: args\[1\]"):
        ftx.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="axis 2"):
        ftx.vmap(lambda a: a, in_axes=2)(np.ones((3, 4)))
    with pytest.raises(ValueError, match="at least one non-None"):
        ftx.vmap(lambda a: a, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        ftx.vmap(lambda a, b: a, in_axes=(0,))(np.ones(3), np.ones(3))


def test_vmap_chunk_size_gives_the_same_result():
    xs = np.random.default_rng(0).normal(size=(10, 3))
    f = lambda x: fnp.tanh(x) * 2.0
    np.testing.assert_allclose(ftx.vmap(f, chunk_size=3)(xs), ftx.vmap(f)(xs))
    np.testing.assert_allclose(ftx.vmap(f, chunk_size=3, out_axes=1)(xs), np.tanh(xs).T * 2)


def test_vmap_of_grad_and_grad_of_vmap():
    xs = np.linspace(-1, 1, 5)
    per = ftx.vmap(ftx.grad(lambda x: fnp.sin(x) * x))(xs)
    np.testing.assert_allclose(per, np.cos(xs) * xs + np.sin(xs))
    g = ftx.grad(lambda w: fnp.sum(ftx.vmap(lambda x: fnp.sin(w * x))(xs)))(0.3)
    np.testing.assert_allclose(g, np.sum(np.cos(0.3 * xs) * xs))


# --------------------------------------------------------------------------- jacobians

def test_jacobians_and_hessian_of_elementwise_functions():
    x = np.linspace(0.1, 1, 4)
    f = lambda x: fnp.sin(x) * x
    expected = np.diag(np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(ftx.jacfwd(f)(x), expected)
    np.testing.assert_allclose(ftx.jacrev(f)(x), expected)
    H = ftx.hessian(lambda x: fnp.sum(x ** 3))(x)
    np.testing.assert_allclose(H, np.diag(6 * x))


def test_jacobian_of_pytrees_is_a_tree_product():
    def f(p):
        return {"u": p["a"] * 2.0, "v": p["a"] * p["b"]}

    p = {"a": np.arange(2.0), "b": np.float64(3.0)}
    for jac in (ftx.jacfwd(f)(p), ftx.jacrev(f)(p)):
        np.testing.assert_allclose(jac["u"]["a"], 2 * np.eye(2))
        np.testing.assert_allclose(jac["u"]["b"], np.zeros(2))
        np.testing.assert_allclose(jac["v"]["a"], 3 * np.eye(2))
        np.testing.assert_allclose(jac["v"]["b"], p["a"])


def test_check_grads_catches_a_wrong_rule():
    from ftx.core.primitive import Primitive
    from ftx.lax._ad_rules import defjvp
    from ftx.lax._batch_rules import defvectorized
    bad_p = Primitive("test_bad_sin")
    bad_p.def_impl(lambda x: [np.sin(x)])
    bad_p.def_abstract_eval(lambda x: [x.strip_weak_type()])
    defjvp(bad_p, lambda g, ans, x: lax.mul(g, lax.sin(x)))  # wrong: should be cos
    defvectorized(bad_p)
    with pytest.raises(AssertionError):
        check_grads(lambda x: bad_p.bind1(x), (np.linspace(0.1, 1, 3),), order=1)


def test_numerical_jvp_helper_is_central_difference():
    out = numerical_jvp(lambda x: x ** 3, (np.float64(2.0),), (np.float64(1.0),), 1e-3)
    np.testing.assert_allclose(out, 12.0, rtol=1e-6)


# --------------------------------------------------------------------------- named axes

def test_collectives_inside_vmap_match_numpy():
    xs = np.array([1.0, 4.0, 2.0, 3.0])
    np.testing.assert_allclose(ftx.vmap(lambda x: lax.psum(x, "i"), axis_name="i")(xs),
                               np.full(4, xs.sum()))
    np.testing.assert_allclose(ftx.vmap(lambda x: x - lax.pmean(x, "i"), axis_name="i")(xs),
                               xs - xs.mean())
    np.testing.assert_allclose(ftx.vmap(lambda x: lax.pmax(x, "i"), axis_name="i")(xs), 4.0)
    np.testing.assert_allclose(ftx.vmap(lambda x: lax.pmin(x, "i"), axis_name="i")(xs), 1.0)
    np.testing.assert_array_equal(ftx.vmap(lambda x: lax.axis_index("i"), axis_name="i")(xs),
                                  np.arange(4))
    gathered = ftx.vmap(lambda x: lax.all_gather(x, "i"), axis_name="i")(xs)
    np.testing.assert_allclose(gathered, np.tile(xs, (4, 1)))


def test_nested_vmaps_with_two_axis_names():
    xs = np.arange(6.0).reshape(2, 3)
    out = ftx.vmap(ftx.vmap(lambda x: lax.psum(x, "inner") + 10 * lax.psum(x, "outer"),
                            axis_name="inner"), axis_name="outer")(xs)
    expected = xs.sum(1, keepdims=True) + 10 * xs.sum(0, keepdims=True)
    np.testing.assert_allclose(out, expected)


def test_collectives_compose_with_grad():
    xs = np.array([0.5, -1.0, 2.0])

    def loss(w):  # sum over lanes of (w*x - mean(w*x))^2
        centered = ftx.vmap(lambda x: w * x - lax.pmean(w * x, "i"), axis_name="i")(xs)
        return fnp.sum(centered ** 2)

    expected = 2 * w_grad_reference(xs)
    np.testing.assert_allclose(ftx.grad(loss)(1.5), expected * 1.5, rtol=1e-10)
    per_lane = ftx.vmap(ftx.grad(lambda w, x: w * lax.psum(x * w, "i")), in_axes=(None, 0),
                        axis_name="i")(2.0, xs)
    # As in JAX, psum transposes to psum: lane k gets d/dw_k of sum_i f_i, where
    # f_i = w_i * psum_j(x_j w_j): S + x_k * sum_i w_i, with S = psum(x w) = 2 * sum(x).
    np.testing.assert_allclose(per_lane, xs.sum() * 2.0 + xs * (3 * 2.0))


def w_grad_reference(xs):
    c = xs - xs.mean()
    return np.sum(c * c)


def test_unbound_axis_name_is_a_clear_error():
    with pytest.raises(NameError, match="unbound axis name: 'j'"):
        ftx.vmap(lambda x: lax.psum(x, "j"), axis_name="i")(np.ones(3))
