"""debug_nans / debug_infs: the first operation producing a NaN/inf is named, with its line."""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax


@pytest.fixture
def debug_nans():
    with ftx.config.override(debug_nans=True):
        yield


def test_eager_nan_names_the_function_and_line(debug_nans):
    with pytest.raises(FloatingPointError, match=r"nan.*ftx\.numpy\.log at .*test_debug_nans"):
        fnp.log(np.array([-1.0, 1.0]))
    with pytest.raises(FloatingPointError, match=r"nan.*in sqrt"):
        lax.sqrt(np.array([-4.0]))
    np.testing.assert_allclose(fnp.log(np.e), 1.0)  # no NaN, no error


def test_nan_in_a_backward_pass_names_the_forward_line(debug_nans):
    def f(x):
        return fnp.sum(fnp.where(x > 0, fnp.sqrt(x), 0.0))  # the classic where-gradient NaN

    with pytest.raises(FloatingPointError) as info:
        ftx.grad(f)(np.array([0.0, 1.0]))
    msg = str(info.value)
    assert "backward pass" in msg and "test_debug_nans.py" in msg


def test_nan_in_a_jitted_program_is_localized(debug_nans):
    f = ftx.jit(lambda x: fnp.log(x) * 2.0 + 1.0)
    np.testing.assert_allclose(f(np.array([1.0])), [1.0])
    with pytest.raises(FloatingPointError, match=r"nan.*log.*test_debug_nans"):
        f(np.array([-1.0]))


def test_debug_infs_catches_division_by_zero():
    with ftx.config.override(debug_infs=True):
        with pytest.raises(FloatingPointError, match=r"inf.*divide.*debug_infs"):
            fnp.true_divide(1.0, np.array([0.0]))
    # Off by default: NumPy semantics (inf, no error).
    assert np.isinf(fnp.true_divide(1.0, np.array([0.0]))).all()
