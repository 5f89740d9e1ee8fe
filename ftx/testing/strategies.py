"""Hypothesis strategies for differential testing: arrays, and random well-typed programs.

Needs ``hypothesis`` (the ``test`` extra); ``import ftx`` never imports this module.

>>> @given(programs())
... def test_jit_agrees(program):
...     fn, args = program
...     np.testing.assert_allclose(ftx.jit(fn)(*args), fn(*args))

``programs()``: a random composition of ftx.numpy operations (elementwise unary and binary
with broadcasting, ``where``, reductions over an axis, reshapes and transposes) over a
few float input arrays. Values stay in a bounded range (every unbounded operation is
followed by ``tanh``), so results are finite and differentiable almost everywhere.

``typed_programs()``: programs over float, integer and boolean arrays with NumPy's
promotion (Python scalars included), basic and advanced indexing, gathers and scatters
(``x.at[i].add``) with constant and traced indices, reductions over axis tuples, shape
operations, matmul, and control flow (``cond``, ``fori_loop``, ``scan``, ``while_loop``).
Each is kept as Python source (``program.source``), so a failure prints runnable code.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ftx.lax as lax
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


# ============================================================================ typed programs

class TypedProgram:
    """A random program over ftx.numpy / ftx.lax, kept as the Python source it runs.

    ``program.outputs(*inputs)`` returns every value the program computes (a tuple);
    ``program(*inputs)`` is a float64 scalar of its floating values, for gradients.
    ``program.source`` is a function definition that needs only ``fnp``, ``lax``, ``np``.
    ``smooth`` programs have no kink that a floating input reaches (no ``abs``, ``max``,
    comparison or float-to-int cast of such a value) and no ``while_loop`` (which reverse mode
    cannot go through), so gradients exist and finite differences are reliable.
    """

    def __init__(self, lines, inputs, out_dtypes, smooth: bool):
        self.lines, self.inputs, self.out_dtypes = list(lines), list(inputs), list(out_dtypes)
        self.smooth = smooth
        n = len(self.inputs)
        params = ", ".join(f"v{i}" for i in range(n))
        body = [f"    {name} = {expr}" for name, expr in self.lines]
        outs = ", ".join(name for name, _ in self.lines)
        self.source = "\n".join([f"def program({params}):", *body, f"    return ({outs},)"])
        namespace = dict(_NAMESPACE)
        exec(compile(self.source, "<ftx.testing typed program>", "exec"), namespace)
        self.outputs = namespace["program"]
        # The loss weights every floating output differently, so no two can cancel.
        self._float_outputs = [k for k, dt in enumerate(self.out_dtypes) if dt.kind == "f"]

    def __call__(self, *inputs):
        outs = self.outputs(*inputs)
        total = 0.0
        for k in self._float_outputs:
            total = total + fnp.sum(fnp.tanh(outs[k] * (1.0 + 0.25 * k))).astype(fnp.float64)
        return total

    def __repr__(self):
        types = ", ".join(f"v{i}: {np.dtype(dt).name}{list(shape)}"
                          for i, (shape, dt) in enumerate(self.inputs))
        return f"TypedProgram({types})\n{self.source}"


_NAMESPACE = {"fnp": fnp, "lax": lax, "np": np}


def _values_of(draw, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        elements = st.floats(-2, 2, width=dtype.itemsize * 8, allow_nan=False,
                             allow_infinity=False)
    elif dtype.kind == "i":
        elements = st.integers(-3, 3)
    else:
        elements = st.booleans()
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _literal(a: np.ndarray) -> str:
    return f"np.array({a.tolist()!r}, dtype=np.{a.dtype.name})"


# Each generator gets (draw, values, smooth) and returns (template, operand indices) or None
# when it does not apply; templates name operands {0}, {1} and are Python expressions.
# A template's "kinks" mark it non-smooth when one of its operands is floating.

_UNARY_TEMPLATES = [  # (template, operand kinds, smooth)
    ("fnp.sin({0})", "fi", True), ("fnp.tanh({0})", "fi", True),
    ("fnp.exp(fnp.tanh({0}))", "fi", True), ("-{0}", "fi", True),
    ("fnp.tanh({0} * {0})", "f", True), ("2.0 - {0}", "fi", True),
    ("{0} + 1.5", "fib", True), ("{0} * 2", "i", True), ("{0} * 0.5", "f", True),
    ("fnp.abs({0})", "fi", False), ("fnp.sign({0})", "fi", False), ("fnp.floor({0})", "f", False),
    ("{0} > 0.25", "fib", False), ("fnp.logical_not({0})", "b", True), ("~{0}", "bi", True),
    ("fnp.remainder({0}, 3)", "i", True), ("{0} ** 2", "i", True), ("fnp.square({0})", "i", True),
    ("fnp.tanh({0}) ** 3", "f", True), ("fnp.square(fnp.tanh({0}))", "f", True),
    ("fnp.power(fnp.exp(fnp.tanh({0})), 1.5)", "f", True), ("fnp.clip({0}, -1, 1)", "fi", False),
    ("{0}.astype(fnp.float64)", "fib", True), ("{0}.astype(fnp.float32)", "ib", True),
    ("{0}.astype(fnp.float32)", "f", False), ("{0}.astype(fnp.int32)", "fb", False),
    ("{0}.astype(fnp.bool_)", "fi", False),
]

_BINARY_TEMPLATES = [  # (template, accepts(kind_a, kind_b), smooth)
    ("{0} + {1}", lambda a, b: True, True),
    ("{0} - {1}", lambda a, b: not (a == b == "b"), True),
    ("fnp.tanh({0} * {1})", lambda a, b: "f" in (a, b), True),
    ("fnp.clip({0} * {1}, -8, 8)", lambda a, b: a in "ib" and b in "ib" and a + b != "bb", True),
    ("{0} / (2.5 + fnp.tanh({1}))", lambda a, b: b != "b", True),
    ("{0} // (fnp.abs({1}) + 1)", lambda a, b: a == b == "i", True),
    ("{0} ^ {1}", lambda a, b: a in "ib" and b in "ib", True),
    ("fnp.maximum({0}, {1})", lambda a, b: True, False),
    ("fnp.minimum({0}, {1})", lambda a, b: True, False),
    ("fnp.where({0} > {1}, {0}, {1})", lambda a, b: True, False),
    ("{0} < {1}", lambda a, b: True, False), ("{0} == {1}", lambda a, b: True, False),
    ("fnp.logical_or({0}, {1})", lambda a, b: True, False),
]


def _smooth_ok(smooth, template_smooth, *operands) -> bool:
    return template_smooth or not smooth or all(v.dtype.kind != "f" for v in operands)


def _unary(draw, values, smooth):
    i = draw(st.integers(0, len(values) - 1))
    v = values[i]
    options = [t for t, kinds, ok in _UNARY_TEMPLATES
               if v.dtype.kind in kinds and _smooth_ok(smooth, ok, v)]
    return (draw(st.sampled_from(options)), (i,)) if options else None


def _binary(draw, values, smooth):
    i = draw(st.integers(0, len(values) - 1))
    partners = [j for j, w in enumerate(values) if _broadcastable(values[i].shape, w.shape)]
    j = draw(st.sampled_from(partners))
    a, b = values[i], values[j]
    options = [t for t, accepts, ok in _BINARY_TEMPLATES
               if accepts(a.dtype.kind, b.dtype.kind) and _smooth_ok(smooth, ok, a, b)]
    return (draw(st.sampled_from(options)), (i, j)) if options else None


_SCANS_ALONG_AXIS = [  # (function, operand kinds, smooth): cumulative and sorting ops
    ("fnp.cumsum", "fi", True), ("fnp.cumprod", "f", True), ("fnp.sort", "fib", False),
    ("fnp.argsort", "fib", False),
]


def _along_axis(draw, values, smooth):
    candidates = [i for i, v in enumerate(values) if v.ndim >= 1]
    if not candidates:
        return None
    i = draw(st.sampled_from(candidates))
    v = values[i]
    options = [f for f, kinds, ok in _SCANS_ALONG_AXIS
               if v.dtype.kind in kinds and _smooth_ok(smooth, ok, v)]
    if not options:
        return None
    fn = draw(st.sampled_from(options))
    axis = draw(st.integers(-v.ndim, v.ndim - 1))
    # Sorting is stable, so equal values (common in shrunk examples) have one right order.
    extra = ", stable=True" if fn in ("fnp.sort", "fnp.argsort") else ""
    return f"{fn}({{0}}, axis={axis}{extra})", (i,)


_REDUCTIONS = [  # (function, operand kinds, smooth, takes an axis tuple)
    ("fnp.sum", "fib", True, True), ("fnp.mean", "fib", True, True),
    ("fnp.prod", "f", True, True),
    ("fnp.max", "fib", False, True), ("fnp.min", "fib", False, True),
    ("fnp.any", "fib", False, True), ("fnp.all", "ib", True, True),
    ("fnp.argmax", "fib", False, False), ("fnp.argmin", "fib", False, False),
]


def _reduction(draw, values, smooth):
    i = draw(st.integers(0, len(values) - 1))
    v = values[i]
    options = [(f, tuples) for f, kinds, ok, tuples in _REDUCTIONS
               if v.dtype.kind in kinds and _smooth_ok(smooth, ok, v)]
    if not options:
        return None
    fn, tuples = draw(st.sampled_from(options))
    nd = v.ndim
    axes = [None] + list(range(-nd, nd))
    if tuples and nd >= 2:
        axes.append(tuple(sorted(draw(st.sets(st.integers(0, nd - 1), min_size=2, max_size=nd)))))
    axis = draw(st.sampled_from(axes))
    keepdims = draw(st.booleans())
    return f"{fn}({{0}}, axis={axis!r}, keepdims={keepdims})", (i,)


def _shape_op(draw, values, smooth):
    i = draw(st.integers(0, len(values) - 1))
    v = values[i]
    nd, shape = v.ndim, v.shape
    options = ["fnp.reshape({0}, (-1,))", f"fnp.expand_dims({{0}}, {draw(st.integers(0, nd))})",
               f"fnp.broadcast_to({{0}}, {(2,) + shape!r})"]
    if nd >= 1:
        ax = draw(st.integers(-nd, nd - 1))
        options += [f"fnp.transpose({{0}}, {tuple(draw(st.permutations(range(nd))))!r})",
                    f"fnp.flip({{0}}, axis={ax})",
                    f"fnp.concatenate([{{0}}, {{0}} * 2], axis={ax})"]
        if shape[ax] == 1:
            options.append(f"fnp.squeeze({{0}}, axis={ax})")
    if nd >= 2:
        options.append("fnp.swapaxes({0}, 0, -1)")
    return draw(st.sampled_from(options)), (i,)


def _basic_index(draw, shape) -> str:
    parts = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "full"]))
        if kind == "int":
            parts.append(str(draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            step = draw(st.sampled_from([1, 2, -1]))
            start = draw(st.integers(-n, n - 1))
            stop = draw(st.sampled_from([None] + list(range(-n, n + 1))))
            if len(range(n)[slice(start, stop, step)]) == 0:
                stop = None  # keep the selection non-empty
            parts.append(f"{start}:{'' if stop is None else stop}{'' if step == 1 else f':{step}'}")
        else:
            parts.append(":")
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "None")
    elif len(parts) < len(shape) and draw(st.booleans()):
        parts = ["..."] + parts[1:]
    return ", ".join(parts)


def _index_array(draw, n, unique=False) -> np.ndarray:
    if unique:
        k = draw(st.integers(1, n))
        return np.array(draw(st.permutations(range(n)))[:k], dtype=np.int32)
    shape = draw(st.sampled_from([(2,), (3,), (2, 2)]))
    return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape)))), dtype=np.int32).reshape(shape)


def _traced_index(draw, values, n, smooth):
    """An index computed inside the program (argmax of another value), or None."""
    j = draw(st.integers(0, len(values) - 1))
    if not _smooth_ok(smooth, False, values[j]):
        return None
    return f"fnp.argmax(fnp.ravel({{1}})) % {n}", j


def _indexing(draw, values, smooth):
    candidates = [i for i, v in enumerate(values) if v.ndim >= 1]
    if not candidates:
        return None
    i = draw(st.sampled_from(candidates))
    v = values[i]
    n, nd = v.shape[0], v.ndim
    kind = draw(st.sampled_from(["basic", "gather", "take", "traced", "scatter", "traced_set"]))
    if kind == "basic":
        return f"{{0}}[{_basic_index(draw, v.shape)}]", (i,)
    if kind == "gather":
        if nd >= 2 and draw(st.booleans()):  # along the second axis, after a full slice
            return f"{{0}}[:, {_literal(_index_array(draw, v.shape[1]))}]", (i,)
        return f"{{0}}[{_literal(_index_array(draw, n))}]", (i,)
    if kind == "take":
        ax = draw(st.integers(0, nd - 1))
        return f"fnp.take({{0}}, {_literal(_index_array(draw, v.shape[ax]))}, axis={ax})", (i,)
    if kind == "traced":
        traced = _traced_index(draw, values, n, smooth)
        return None if traced is None else (f"{{0}}[{traced[0]}]", (i, traced[1]))
    if kind == "scatter":
        modes = [m for m, kinds, ok in [("add", "fi", True), ("set", "fib", True),
                                        ("max", "fi", False), ("min", "fi", False)]
                 if v.dtype.kind in kinds and _smooth_ok(smooth, ok, v)]
        if not modes:
            return None
        mode = draw(st.sampled_from(modes))
        idx = _index_array(draw, n, unique=(mode == "set"))
        j = draw(st.integers(0, len(values) - 1))
        if draw(st.booleans()):  # one value for every index, from another array
            update = "fnp.sum({1}).astype({0}.dtype)"
        else:  # one row per index, from the array itself
            update = f"{{1}}[{_literal(idx[::-1])}]" if values[j].shape == v.shape else None
            update = update or "fnp.mean({1}).astype({0}.dtype)"
        return f"fnp.at({{0}})[{_literal(idx)}].{mode}({update})", (i, j)
    traced = _traced_index(draw, values, n, smooth)  # traced_set: a dynamic update
    if traced is None:
        return None
    return f"fnp.at({{0}})[{traced[0]}].set({{0}}[0] * 2)", (i, traced[1])


_CONDS = {"f": [("lambda x: fnp.sin(x)", "lambda x: x * 0.5"),
                ("lambda x: fnp.tanh(x) * 2.0", "lambda x: -x")],
          "i": [("lambda x: x + 1", "lambda x: x * 2 - 1")],
          "b": [("lambda x: ~x", "lambda x: x")]}
_LOOPS = {  # the loop index is an integer array: promotion would change the carry's type
    "f": "lax.fori_loop(0, 3, lambda i, c: fnp.tanh(c * 0.9 + i * 0.1).astype(c.dtype), {0})",
    "i": "lax.fori_loop(0, 3, lambda i, c: ((c * 2 + i) % 7).astype(c.dtype), {0})"}
_SCANS = {"f": "lax.scan(lambda c, r: (fnp.tanh(c * 0.5 + r), c * r), {0}[0] * 0.0, {0})",
          "i": "lax.scan(lambda c, r: ((c + r) % 5, c - r), {0}[0] * 0, {0})"}
_WHILES = {"f": "lax.while_loop(lambda s: (s[0] < 4) & (fnp.sum(s[1]) < 2.5), "
                "lambda s: (s[0] + 1, s[1] + 0.5), (0, {0}))[1]",
           "i": "lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, (s[1] * 3 + 1) % 11), "
                "(0, {0}))[1]"}


def _control_flow(draw, values, smooth):
    i = draw(st.integers(0, len(values) - 1))
    v = values[i]
    kind = v.dtype.kind
    options = ["cond", "switch"] + (["fori", "while"] if kind in "fi" else [])
    options += ["scan"] if kind in "fi" and v.ndim >= 1 else []
    if smooth:
        options = [o for o in options if o != "while"]  # reverse mode cannot go through it
    choice = draw(st.sampled_from(options))
    if choice == "switch":  # the branch index: an integer computed from another value
        indices = [j for j, w in enumerate(values) if _smooth_ok(smooth, False, w)]
        if not indices:
            return None
        j = draw(st.sampled_from(indices))
        branches = ", ".join(f for pair in _CONDS[kind] for f in pair)
        n = 2 * len(_CONDS[kind])
        return (f"lax.switch(fnp.sum({{1}}).astype(fnp.int32) % {n}, [{branches}], {{0}})",
                (i, j))
    if choice == "cond":
        j = draw(st.integers(0, len(values) - 1))
        # A threshold no shrunk input sits on, so a finite-difference step never flips it.
        true_fun, false_fun = draw(st.sampled_from(_CONDS[kind]))
        return f"lax.cond(fnp.sum({{1}}) > 0.123, {true_fun}, {false_fun}, {{0}})", (i, j)
    if choice == "fori":
        return _LOOPS[kind], (i,)
    if choice == "scan":
        return f"{_SCANS[kind]}[{draw(st.sampled_from([0, 1]))}]", (i,)
    return _WHILES[kind], (i,)


def _matmul(draw, values, smooth):
    candidates = [i for i, v in enumerate(values) if v.ndim >= 1 and v.dtype.kind in "fi"]
    if not candidates:
        return None
    i = draw(st.sampled_from(candidates))
    v = values[i]
    if v.ndim >= 2 and draw(st.booleans()):
        return "fnp.tanh({0} @ fnp.swapaxes({0}, -1, -2))", (i,)
    m = draw(st.integers(1, 3))
    entries = draw(st.lists(st.sampled_from([-1.0, -0.5, 0.25, 0.5, 1.0]),
                            min_size=v.shape[-1] * m, max_size=v.shape[-1] * m))
    matrix = np.array(entries, v.dtype if v.dtype.kind == "f" else np.int32).reshape(-1, m)
    return f"{{0}} @ {_literal(matrix)}", (i,)


_GENERATORS = [_unary, _unary, _binary, _binary, _reduction, _along_axis, _shape_op, _indexing,
               _indexing, _control_flow, _matmul]
_MAX_SIZE = 64  # elements per value: programs stay cheap to run, trace and compile


@st.composite
def typed_programs(draw, max_ops: int = 8, max_side: int = 3, smooth: bool = False,
                   dtypes=(np.float64, np.float32, np.int32, np.int64, np.bool_)):
    """``(program, args)``: a random ``TypedProgram`` and its inputs (the first is floating).

    >>> @given(typed_programs())
    ... def test_jit(p):
    ...     program, args = p
    ...     for got, want in zip(ftx.jit(program.outputs)(*args), program.outputs(*args)): ...

    The program is built step by step on the drawn inputs, evaluating each operation
    eagerly (so every later operation fits the shapes and dtypes it meets). ``smooth=True``
    keeps floating values away from kinks (see ``TypedProgram``) and from float32.
    """
    if smooth:
        dtypes = tuple(d for d in dtypes if np.dtype(d) != np.float32)
    float_dtypes = [d for d in dtypes if np.dtype(d).kind == "f"] or [np.float64]
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=max_side))
    specs = [(base, draw(st.sampled_from(float_dtypes)))]
    for _ in range(draw(st.integers(0, 2))):
        shape = draw(st.sampled_from([base, base[1:], (), tuple(1 if draw(st.booleans()) else n
                                                                for n in base)]))
        specs.append((shape, draw(st.sampled_from(dtypes))))
    inputs = [_values_of(draw, shape, dt) for shape, dt in specs]
    values, lines = list(inputs), []
    for _ in range(draw(st.integers(min(2, max_ops), max_ops))):
        made = None
        for _attempt in range(3):  # a generator may not apply to the values at hand
            made = made or draw(st.sampled_from(_GENERATORS))(draw, values, smooth)
        if made is None:
            continue
        template, operands = made
        fn = eval(f"lambda {', '.join(f'a{k}' for k in range(len(operands)))}: "  # noqa: S307
                  + template.format(*(f"a{k}" for k in range(len(operands)))), dict(_NAMESPACE))
        out = np.asarray(fn(*[values[k] for k in operands]))
        if out.size > _MAX_SIZE or (out.dtype.kind == "f" and not np.all(np.isfinite(out))):
            continue
        lines.append((f"v{len(values)}", template.format(*(f"v{k}" for k in operands))))
        values.append(out)
    if not lines:  # at least one operation
        lines.append((f"v{len(values)}", "fnp.sin(v0)"))
        values.append(np.sin(values[0]))
    program = TypedProgram(lines, specs, [v.dtype for v in values[len(inputs):]], smooth)
    return program, inputs
