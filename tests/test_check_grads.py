"""Tests for the proposed ftx.testing.check_grads (order=2 default, FD-based reverse check,
messages naming mode/order/seed). Oracle: deliberately wrong custom rules must be caught."""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.testing import check_grads

X = np.linspace(0.1, 1.0, 3)


def test_correct_rules_pass_to_order_two_by_default():
    check_grads(lambda x: fnp.sum(fnp.tanh(x) * fnp.sin(x)), (X,))


def test_wrong_jvp_rule_is_caught_with_a_clear_message():
    @ftx.custom_jvp
    def f(x):
        return fnp.sin(x)
    f.defjvp(lambda p, t: (f(p[0]), t[0] * fnp.cos(p[0]) * 1.01))
    with pytest.raises(AssertionError, match=r"forward mode \(jvp\) of f .*seed 0"):
        check_grads(f, (X,), order=1, modes=("fwd",))


def test_wrong_vjp_rule_of_a_reverse_only_function_is_caught():
    @ftx.custom_vjp
    def g(x):
        return fnp.sin(x)
    g.defvjp(lambda x: (fnp.sin(x), x), lambda x, ct: (ct * fnp.cos(x) * 1.01,))
    with pytest.raises(AssertionError, match=r"reverse mode of g .*<vjp\(u\), v>"):
        check_grads(g, (X,), order=1, modes=("rev",))


def test_wrong_second_derivative_is_named_as_such():
    @ftx.custom_jvp
    def h(x):
        return fnp.sin(x)
    # first derivative right, its own derivative wrong (cos computed through a stop_gradient)
    h.defjvp(lambda p, t: (h(p[0]), t[0] * ftx.lax.stop_gradient(fnp.cos(p[0]))))
    with pytest.raises(AssertionError, match="order 2"):
        check_grads(h, (X,), order=2, modes=("fwd",))
