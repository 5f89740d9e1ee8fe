"""Hypothesis strategies for differential testing: arrays, and random well-typed programs.

Needs ``hypothesis`` (the ``test`` extra); ``import ftx`` never imports this module.

>>> @given(programs())
... def test_jit_agrees(program):
...     fn, args = program
...     np.testing.assert_allclose(ftx.jit(fn)(*args), fn(*args))

A program is a random composition of ftx.numpy operations (elementwise unary and binary
with broadcasting, ``where``, reductions over an axis, reshapes and transposes) over a
few input arrays. Values stay in a bounded range (every unbounded operation is followed
by ``tanh``), so results are finite and differentiable almost everywhere.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ftx.numpy as fnp


def arrays(dtypes=(np.float32, np.float64), max_dims: int = 3, max_side: int = 4,
           min_value: float = -2.0, max_value: float = 2.0):
    """NumPy arrays of the given dtypes with finite values in ``[min_value, max_value]``."""
    return st.sampled_from(dtypes).flatmap(lambda dt: hnp.arrays(
        dt, hnp.array_shapes(min_dims=0, max_dims=max_dims, max_side=max_side),
        elements=st.floats(min_value, max_value, width=np.dtype(dt).itemsize * 8,
                           allow_nan=False, allow_infinity=False)))


_UNARY = {
    "sin": fnp.sin, "cos": fnp.cos, "tanh": fnp.tanh, "neg": fnp.negative,
    "abs": fnp.abs, "square_tanh": lambda x: fnp.tanh(x * x),
    "logistic": lambda x: 1.0 / (1.0 + fnp.exp(-x)), "softplus_tanh": lambda x: fnp.tanh(
        fnp.log1p(fnp.exp(-fnp.abs(x))) + fnp.maximum(x, 0.0)),
}
_BINARY = {
    "add": fnp.add, "sub": fnp.subtract, "mul_tanh": lambda a, b: fnp.tanh(a * b),
    "maximum": fnp.maximum, "minimum": fnp.minimum,
    "where": lambda a, b: fnp.where(a > b, a, b * 0.5),
}


class Program:
    """A random program: ``fn(*args)`` and a readable description of its steps."""

    def __init__(self, steps, shapes, dtype):
        self.steps, self.shapes, self.dtype = steps, shapes, dtype

    def __call__(self, *inputs):
        values = list(inputs)
        for kind, name, operands, extra in self.steps:
            args = [values[i] for i in operands]
            if kind == "unary":
                out = _UNARY[name](args[0])
            elif kind == "binary":
                out = _BINARY[name](args[0], args[1])
            elif kind == "reduce":
                axis = extra % max(np.ndim(args[0]), 1) if np.ndim(args[0]) else None
                out = getattr(fnp, name)(args[0], axis=axis, keepdims=True)
            else:  # "transpose"
                out = fnp.transpose(args[0])
            values.append(out)
        return fnp.sum(values[-1] * values[-1]) + fnp.sum(values[len(inputs)])

    def __repr__(self):
        lines = [f"inputs: {self.shapes} {np.dtype(self.dtype).name}"]
        lines += [f"v{len(self.shapes) + i} = {kind}:{name}({', '.join(f'v{j}' for j in ops)})"
                  for i, (kind, name, ops, _) in enumerate(self.steps)]
        return "Program(\n  " + "\n  ".join(lines) + ")"


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def programs(draw, max_ops: int = 6, dtype=np.float64, max_side: int = 3):
    """``(program, args)``: a random scalar-valued program and its input arrays."""
    base = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=max_side))
    n_inputs = draw(st.integers(1, 3))
    # Inputs broadcast against the base shape: full, trailing axes, or scalars.
    shapes = [base] + [draw(st.sampled_from([base, base[1:], ()])) for _ in range(n_inputs - 1)]
    steps = []
    value_shapes = list(shapes)
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "transpose"]))
        i = draw(st.integers(0, len(value_shapes) - 1))
        if kind == "unary":
            steps.append((kind, draw(st.sampled_from(sorted(_UNARY))), (i,), None))
            value_shapes.append(value_shapes[i])
        elif kind == "binary":
            compatible = [k for k, shape in enumerate(value_shapes)
                          if _broadcastable(shape, value_shapes[i])]
            j = draw(st.sampled_from(compatible))
            steps.append((kind, draw(st.sampled_from(sorted(_BINARY))), (i, j), None))
            value_shapes.append(np.broadcast_shapes(value_shapes[i], value_shapes[j]))
        elif kind == "reduce":
            axis = draw(st.integers(0, 3))
            steps.append((kind, draw(st.sampled_from(["sum", "max", "mean"])), (i,), axis))
            shape = list(value_shapes[i])
            if shape:
                shape[axis % len(shape)] = 1
            value_shapes.append(tuple(shape))
        else:
            steps.append((kind, "T", (i,), None))
            value_shapes.append(tuple(reversed(value_shapes[i])))
    args = [draw(hnp.arrays(dtype, s, elements=st.floats(
        -2, 2, width=np.dtype(dtype).itemsize * 8, allow_nan=False, allow_infinity=False)))
            for s in shapes]
    return Program(steps, shapes, dtype), args
