"""Every differentiable op record through the transforms, against independent oracles.

- forward and reverse derivatives, first and second order, against central finite
  differences and the inner-product identity (ftx.testing.check_grads), in float64;
- vmap over every valid in_axes against a Python loop stacked with np.stack.
"""
import itertools

import numpy as np
import pytest

import ftx
from ftx.testing import check_grads
from ftx.tree_util import tree_leaves
from tests.op_records import F64, all_records

RECORDS = all_records()


def _float64_case(record):
    """The first shape case of the record in float64 (or its first dtype when it has no float64)."""
    for case_id, shapes, dtype in record.cases():
        if dtype == F64:
            return case_id, shapes, dtype
    return next(iter(record.cases()))


GRAD_CASES = [pytest.param(r, *(_float64_case(r)[1:]), id=_float64_case(r)[0])
              for r in RECORDS if r.grad and F64 in [np.dtype(d) for d in r.dtypes]]


def _partial(record, args):
    """The record's function of its differentiable arguments only (others closed over)."""
    nums = [i for i in record.grad_argnums if i < len(args)]

    def f(*dyn):
        full = list(args)
        for i, a in zip(nums, dyn):
            full[i] = a
        return record.fn(*full)

    return f, tuple(args[i] for i in nums)


@pytest.mark.parametrize("record, shapes, dtype", GRAD_CASES)
def test_gradients_match_finite_differences(record, shapes, dtype):
    args = record.make_args(shapes, dtype, seed=1)
    f, dyn = _partial(record, args)
    check_grads(f, dyn, order=2, atol=1e-4, rtol=1e-4)


def _vmap_cases():
    for r in RECORDS:
        case_id, shapes, dtype = next(iter(r.cases()))
        nargs = len(shapes)
        if nargs > 3:
            continue
        # Every combination of "batched along axis a" / "not batched" for each argument,
        # with at least one argument batched; axes may be negative.
        choices = [[None] + [a for a in range(-len(s) - 1, len(s) + 1) if a in (0, -1, len(s))]
                   for s in shapes]
        for axes in itertools.product(*choices):
            if all(a is None for a in axes):
                continue
            yield pytest.param(r, shapes, dtype, axes, id=f"{case_id}-in_axes={axes}")


@pytest.mark.parametrize("record, shapes, dtype, in_axes", list(_vmap_cases()))
def test_vmap_matches_a_loop(record, shapes, dtype, in_axes):
    batch = 3
    rng_args = [record.make_args(shapes, dtype, seed=s) for s in range(batch)]
    batched_args = []
    for i, axis in enumerate(in_axes):
        if axis is None:
            batched_args.append(rng_args[0][i])
        else:
            batched_args.append(np.stack([a[i] for a in rng_args], axis=axis))
    out = ftx.vmap(record.fn, in_axes=tuple(in_axes))(*batched_args)
    per_example = [record.fn(*[a[i] if axis is not None else rng_args[0][i]
                               for i, axis in enumerate(in_axes)])
                   for a in rng_args]
    for j, leaf in enumerate(tree_leaves(out)):
        expected = np.stack([np.asarray(tree_leaves(p)[j]) for p in per_example])
        leaf = np.asarray(leaf)
        assert leaf.shape == expected.shape and leaf.dtype == expected.dtype, (leaf.shape, expected.shape)
        rtol, atol = record.tolerance(leaf.dtype)
        if leaf.dtype.kind in "fc":
            np.testing.assert_allclose(leaf, expected, rtol=max(rtol, 1e-6), atol=max(atol, 1e-6),
                                       equal_nan=True)
        else:
            np.testing.assert_array_equal(leaf, expected)
