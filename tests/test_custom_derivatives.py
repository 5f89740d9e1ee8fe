"""custom_jvp, custom_vjp and ftx.Function under every transform (oracles: closed forms, FD)."""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.testing import check_grads


@ftx.custom_jvp
def log1pexp(x):
    return fnp.log1p(fnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * lax.logistic(x)


def test_custom_jvp_is_numerically_stable_where_autodiff_is_not():
    naive = ftx.grad(lambda x: fnp.log1p(fnp.exp(x)))(1000.0)
    assert np.isnan(naive)  # exp overflows: inf / inf
    assert ftx.grad(log1pexp)(1000.0) == 1.0
    xs = np.array([-5.0, 0.0, 3.0])
    np.testing.assert_allclose(ftx.vmap(ftx.grad(log1pexp))(xs), 1 / (1 + np.exp(-xs)))
    np.testing.assert_allclose(ftx.jvp(log1pexp, (2.0,), (3.0,))[1], 3 / (1 + np.exp(-2.0)))


def test_custom_jvp_second_order_and_fd():
    # d2/dx2 log1pexp = logistic(x) (1 - logistic(x))
    s = 1 / (1 + np.exp(-0.3))
    np.testing.assert_allclose(ftx.grad(ftx.grad(log1pexp))(0.3), s * (1 - s))
    check_grads(log1pexp, (np.linspace(-2, 2, 5),), order=2)


def test_custom_jvp_defjvps_and_nondiff_argnums():
    @ftx.custom_jvp
    def f(x, y):
        return fnp.sin(x) * y

    f.defjvps(lambda t, ans, x, y: fnp.cos(x) * y * t, lambda t, ans, x, y: fnp.sin(x) * t)
    gx, gy = ftx.grad(f, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose([gx, gy], [np.cos(0.5) * 2, np.sin(0.5)])

    def apply(fn, x):
        return fn(x)

    app = ftx.custom_jvp(apply, nondiff_argnums=(0,))

    @app.defjvp
    def _(fn, primals, tangents):
        (x,), (t,) = primals, tangents
        return fn(x), 10.0 * t  # a deliberately different rule, to see that it is used

    assert ftx.grad(lambda x: app(fnp.sin, x))(1.0) == 10.0


def test_custom_jvp_under_make_jaxpr_and_closure():
    scale = np.float64(3.0)

    @ftx.custom_jvp
    def g(x):
        return x * scale

    g.defjvp(lambda p, t: (g(p[0]), t[0] * scale))
    jaxpr = ftx.make_jaxpr(g)(1.0)
    assert "custom_jvp_call" in str(jaxpr)
    assert ftx.grad(g)(2.0) == 3.0


def test_custom_jvp_closing_over_a_differentiated_value_is_an_error():
    def outer(w):
        @ftx.custom_jvp
        def h(x):
            return x * w

        h.defjvp(lambda p, t: (h(p[0]), t[0] * w))
        return h(2.0)

    with pytest.raises(NotImplementedError, match="closes over"):
        ftx.grad(outer)(1.0)


def test_custom_jvp_without_rule_errors():
    @ftx.custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="defjvp"):
        f(1.0)


@ftx.custom_vjp
def clip_gradient(x, lo, hi):
    return x


def _clip_fwd(x, lo, hi):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return (fnp.clip(g, lo, hi), None, None)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def test_custom_vjp_gradient_clipping():
    f = lambda x: fnp.sum(clip_gradient(x, -1.0, 1.0) * np.array([0.5, 3.0, -7.0]))
    np.testing.assert_allclose(ftx.grad(f)(np.ones(3)), [0.5, 1.0, -1.0])
    np.testing.assert_allclose(f(np.ones(3)), 0.5 + 3 - 7)  # forward is the identity
    per_example = ftx.vmap(ftx.grad(lambda x: clip_gradient(x, -1.0, 1.0) * 5.0))(np.ones(3))
    np.testing.assert_allclose(per_example, np.ones(3))


def test_custom_vjp_pytree_residuals_and_second_order():
    @ftx.custom_vjp
    def cube(x):
        return x ** 3

    cube.defvjp(lambda x: (x ** 3, {"sq": x * x, "x": x}), lambda r, g: (3.0 * r["sq"] * g,))
    np.testing.assert_allclose(ftx.grad(cube)(2.0), 12.0)
    np.testing.assert_allclose(ftx.grad(ftx.grad(cube))(2.0), 12.0)  # d/dx 3x^2 = 6x
    xs = np.linspace(0.5, 1.5, 3)
    np.testing.assert_allclose(ftx.grad(lambda x: fnp.sum(cube(x)))(xs), 3 * xs ** 2)


def test_custom_vjp_forward_mode_error_names_the_fix():
    with pytest.raises(TypeError, match="forward-mode.*custom_vjp.*custom_jvp"):
        ftx.jvp(lambda x: clip_gradient(x, -1.0, 1.0), (1.0,), (1.0,))


def test_custom_vjp_bwd_with_wrong_arity_errors():
    @ftx.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g * r[1],))
    with pytest.raises(TypeError, match="one cotangent per differentiable argument"):
        ftx.grad(f)(1.0, 2.0)


class Exp(ftx.Function):
    @staticmethod
    def forward(x):
        return fnp.exp(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return t * y


class ScaleTree(ftx.Function):
    """A pytree input (which torch.autograd.Function does not allow)."""

    @staticmethod
    def forward(params, x):
        return params["w"] * x + params["b"]

    @staticmethod
    def setup_context(ctx, inputs, output):
        params, x = inputs
        ctx.save_for_backward(params["w"], x)

    @staticmethod
    def backward(ctx, g):
        w, x = ctx.saved_tensors
        return {"w": fnp.sum(g * x), "b": fnp.sum(g)}, g * w


def test_function_under_grad_jacrev_vmap_and_nested_grad():
    x = np.linspace(-1, 1, 4)
    np.testing.assert_allclose(ftx.grad(lambda x: fnp.sum(Exp.apply(x)))(x), np.exp(x))
    np.testing.assert_allclose(ftx.jacrev(Exp.apply)(x), np.diag(np.exp(x)))
    np.testing.assert_allclose(ftx.vmap(ftx.grad(Exp.apply))(x), np.exp(x))
    np.testing.assert_allclose(ftx.vmap(Exp.apply)(x), np.exp(x))
    np.testing.assert_allclose(ftx.grad(ftx.grad(Exp.apply))(0.5), np.exp(0.5))
    np.testing.assert_allclose(ftx.jvp(Exp.apply, (0.5,), (2.0,))[1], 2 * np.exp(0.5))
    np.testing.assert_allclose(ftx.jacfwd(Exp.apply)(x), np.diag(np.exp(x)))


def test_function_with_pytree_inputs():
    params = {"w": np.float64(2.0), "b": np.float64(0.5)}
    x = np.arange(3.0)
    gp, gx = ftx.grad(lambda p, x: fnp.sum(ScaleTree.apply(p, x) ** 2), argnums=(0, 1))(params, x)
    y = 2 * x + 0.5
    np.testing.assert_allclose(gp["w"], np.sum(2 * y * x))
    np.testing.assert_allclose(gp["b"], np.sum(2 * y))
    np.testing.assert_allclose(gx, 2 * y * 2)


def test_function_without_jvp_or_backward_says_which_method_to_add():
    class NoJvp(ftx.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match="`jvp` staticmethod"):
        ftx.jvp(NoJvp.apply, (1.0,), (1.0,))

    class NoBackward(ftx.Function):
        @staticmethod
        def forward(x):
            return x * 2

    with pytest.raises(NotImplementedError, match="backward"):
        ftx.grad(NoBackward.apply)(1.0)


def test_function_vmap_staticmethod_is_used_for_batching():
    calls = []

    class Cube(ftx.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x ** 2

        @staticmethod
        def vmap(info, in_dims, x):
            calls.append((info.batch_size, in_dims))
            return fnp.moveaxis(x, in_dims[0], 0) ** 3, 0  # in_dims: one entry per input

    xs = np.arange(4.0)
    np.testing.assert_allclose(ftx.vmap(Cube.apply)(xs), xs ** 3)
    assert calls == [(4, (0,))]
    np.testing.assert_allclose(ftx.vmap(ftx.grad(Cube.apply))(xs), 3 * xs ** 2)
