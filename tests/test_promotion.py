"""NumPy 2 dtype promotion and broadcasting under tracing, against NumPy itself (hypothesis)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ftx
import ftx.numpy as fnp
from ftx.core import eval_jaxpr

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]
PY_SCALARS = [True, 3, -2, 2.5, 1.5 + 0.5j]
BINARY = [fnp.add, fnp.multiply, fnp.maximum, fnp.equal, fnp.less, fnp.true_divide]


def _value(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "c":
        return (rng.integers(1, 5, shape) + 1j * rng.integers(1, 5, shape)).astype(dtype)
    return rng.integers(1, 5, shape).astype(dtype)


def _traced(fn, *args):
    jaxpr = ftx.make_jaxpr(fn)(*args)
    return eval_jaxpr(jaxpr, *args)[0], jaxpr.out_avals[0]


@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), hnp.mutually_broadcastable_shapes(
    num_shapes=2, max_dims=3, max_side=3), st.sampled_from(BINARY))
def test_array_array_promotion_and_broadcasting_match_numpy(d1, d2, shapes, op):
    x, y = _value(d1, shapes.input_shapes[0], 0), _value(d2, shapes.input_shapes[1], 1)
    if op is fnp.less and (np.dtype(d1).kind == "c" or np.dtype(d2).kind == "c"):
        return
    expected = getattr(np, op.__name__)(x, y)
    out, aval = _traced(op, x, y)
    assert aval.dtype == expected.dtype and aval.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-3)


@given(st.sampled_from(DTYPES), st.sampled_from(PY_SCALARS), st.sampled_from(BINARY[:3]),
       st.booleans())
def test_python_scalars_are_weak_as_in_numpy(dtype, scalar, op, scalar_first):
    x = _value(dtype, (3,), 0)
    args = (scalar, x) if scalar_first else (x, scalar)
    try:
        expected = getattr(np, op.__name__)(*args)
    except (OverflowError, TypeError) as e:  # e.g. uint8 + (-2): NumPy refuses, so must ftx
        try:
            ftx.make_jaxpr(lambda a: op(*((scalar, a) if scalar_first else (a, scalar))))(x)
        except type(e):
            return
        raise AssertionError(f"NumPy raised {e!r} but ftx did not")
    out, aval = _traced(lambda a: op(*((scalar, a) if scalar_first else (a, scalar))), x)
    assert aval.dtype == expected.dtype, (aval.dtype, expected.dtype)
    np.testing.assert_allclose(out, expected, rtol=1e-3)


def test_result_type_matches_numpy_for_all_pairs():
    for d1 in DTYPES:
        for d2 in DTYPES:
            assert fnp.result_type(np.zeros(1, d1), np.zeros(1, d2)) == np.result_type(d1, d2)
        for s in PY_SCALARS:
            assert fnp.result_type(np.zeros(1, d1), s) == np.result_type(np.zeros(1, d1), s)
