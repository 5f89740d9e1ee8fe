"""Every op record against every forward oracle.

- eager ftx (NumPy twin or lax composition) vs the NumPy reference: values, dtype, shape;
- the traced graph: check_jaxpr passes and eval_jaxpr on NumPy equals eager;
- abstract evaluation (eval_shape) equals the real output's shape and dtype.
"""
import numpy as np
import pytest

import ftx
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.tree_util import tree_leaves
from tests.op_records import all_records

RECORDS = all_records()
CASES = [pytest.param(r, shapes, dtype, id=case_id)
         for r in RECORDS for case_id, shapes, dtype in r.cases()]


def _assert_close(actual, expected, record, what):
    actual_leaves, expected_leaves = tree_leaves(actual), tree_leaves(expected)
    assert len(actual_leaves) == len(expected_leaves), what
    for a, e in zip(actual_leaves, expected_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
        assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
        if a.dtype.kind in "fc":
            rtol, atol = record.tolerance(a.dtype)
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(a, e, err_msg=what)


@pytest.mark.parametrize("record, shapes, dtype", CASES)
def test_eager_matches_numpy(record, shapes, dtype):
    args = record.make_args(shapes, dtype)
    expected = record.ref(*args)
    actual = record.fn(*args)
    for leaf in tree_leaves(actual):
        assert isinstance(leaf, (np.ndarray, np.generic)), type(leaf)
    _assert_close(actual, expected, record, "eager vs NumPy")


@pytest.mark.parametrize("record, shapes, dtype", CASES)
def test_traced_graph_matches_eager(record, shapes, dtype):
    args = record.make_args(shapes, dtype)
    jaxpr = ftx.make_jaxpr(record.fn)(*args)
    check_jaxpr(jaxpr)
    traced = eval_jaxpr(jaxpr, *tree_leaves(args))
    eager = tree_leaves(record.fn(*args))
    _assert_close(traced, eager, record, f"eval_jaxpr vs eager\n{jaxpr}")


@pytest.mark.parametrize("record, shapes, dtype", CASES)
def test_abstract_eval_matches_output(record, shapes, dtype):
    args = record.make_args(shapes, dtype)
    structs = tree_leaves(ftx.eval_shape(record.fn, *args))
    outs = tree_leaves(record.fn(*args))
    assert [(s.shape, s.dtype) for s in structs] == [(np.shape(o), np.asarray(o).dtype) for o in outs]
