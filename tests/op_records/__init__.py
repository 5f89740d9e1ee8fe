"""The op-record table: one record per ftx.numpy / ftx.lax operation.

A record names the ftx function, its NumPy reference, argument shapes, dtypes,
how to draw inputs, and tolerances. Generic tests (tests/test_op_records.py)
run every record through every oracle: eager vs NumPy, eval_jaxpr(make_jaxpr)
vs eager, check_jaxpr, abstract eval vs real output; differentiable records
also feed the gradient and vmap tests of the transforms.

Families add their records in sibling modules (elementwise.py, shape.py, ...);
``all_records()`` gathers them.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Callable

import numpy as np

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
I32, I64, U8, BOOL = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8), np.dtype(np.bool_)
C64, C128 = np.dtype(np.complex64), np.dtype(np.complex128)
FLOAT = (F32, F64)
INT = (I32, I64)
NUMERIC = (I32, F32, F64)
ALL = (BOOL, I32, I64, F32, F64)

# Default tolerances (rtol, atol) by dtype: traced compositions may round differently from NumPy.
_TOL = {F16: (2e-3, 2e-3), F32: (2e-5, 1e-6), F64: (1e-11, 1e-13), C64: (2e-5, 1e-6),
        C128: (1e-11, 1e-13)}


def _normal(rng, shape, dtype):
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -5
        return rng.integers(lo, 6, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _positive(rng, shape, dtype):
    if dtype.kind in "iu":
        return rng.integers(1, 6, size=shape).astype(dtype)
    return rng.uniform(0.5, 2.0, size=shape).astype(dtype)


def _unit(rng, shape, dtype):
    """In (-0.9, 0.9): the domain of asin/atanh, away from the poles."""
    if dtype.kind in "iu":
        return np.zeros(shape, dtype)
    return rng.uniform(-0.9, 0.9, size=shape).astype(dtype)


def _nonzero(rng, shape, dtype):
    if dtype.kind in "iu":
        x = rng.integers(1, 6, size=shape) * rng.choice([-1, 1], size=shape)
        return x.astype(dtype) if dtype.kind == "i" else np.abs(x).astype(dtype)
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dtype)


GENERATORS = {"normal": _normal, "positive": _positive, "unit": _unit, "nonzero": _nonzero}


@dataclasses.dataclass
class OpRecord:
    """One operation under test.

    fn / ref: the ftx function and its NumPy reference, called as ``fn(*args)``.
    shapes: a list of cases, each a tuple with one shape per array argument.
    dtypes: the dtypes to draw every argument in (``arg_dtypes`` fixes them per argument).
    gen: an input generator name from GENERATORS or a callable (rng, shape, dtype) -> array;
         may be a tuple with one generator per argument.
    grad: whether the op is differentiable in its floating arguments (transform tests use it);
    grad_argnums: which arguments the gradient tests perturb.
    """
    name: str
    fn: Callable
    ref: Callable
    shapes: list
    dtypes: tuple = FLOAT
    gen: object = "normal"
    arg_dtypes: tuple | None = None
    tol: dict | None = None
    grad: bool = True
    grad_argnums: tuple = (0,)

    def cases(self):
        """(id, shapes, dtype) for every shape case and dtype."""
        for shapes in self.shapes:
            for dtype in self.dtypes:
                dtype = np.dtype(dtype)
                shape_id = "_".join("x".join(map(str, s)) or "scalar" for s in shapes)
                yield f"{self.name}-{shape_id}-{dtype.name}", shapes, dtype

    def make_args(self, shapes, dtype, seed=0):
        rng = np.random.default_rng(seed)
        gens = self.gen if isinstance(self.gen, tuple) else (self.gen,) * len(shapes)
        arg_dtypes = self.arg_dtypes or (dtype,) * len(shapes)
        args = []
        for shape, gen, dt in zip(shapes, gens, arg_dtypes):
            dt = dtype if dt is None else np.dtype(dt)
            gen = GENERATORS[gen] if isinstance(gen, str) else gen
            args.append(np.asarray(gen(rng, shape, dt)))
        return args

    def tolerance(self, dtype):
        rtol, atol = _TOL.get(np.dtype(dtype), (0, 0))
        if self.tol and np.dtype(dtype) in self.tol:
            rtol, atol = self.tol[np.dtype(dtype)]
        return rtol, atol


def rec(name, fn, ref, shapes, **kwargs) -> OpRecord:
    """``rec('sin', fnp.sin, np.sin, [((3, 4),)])``: a record (shapes: one tuple per case)."""
    return OpRecord(name, fn, ref, list(shapes), **kwargs)


def all_records() -> list[OpRecord]:
    records = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        records.extend(getattr(module, "RECORDS", []))
    names = [r.name for r in records]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"duplicate op-record names: {sorted(dupes)}"
    return records
