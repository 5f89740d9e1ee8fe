"""Checks that decide whether a graph still shows a bug: backend vs the reference interpreter.

``agrees_with_reference(jaxpr, inputs, backend="cpu")`` runs ``jaxpr`` on a
backend and on the NumPy reference interpreter and compares every output
(shape, dtype, NaN/inf positions, values within a dtype-based tolerance).
A backend that raises disagrees. A check is described by a dict of literals
(``{"kind": "agrees_with_reference", "backend": "cpu", ...}``) so a repro
script can carry it; ``describe_failure(check, jaxpr, inputs)`` runs one.

A backend is a name (``"cpu"``, ``"reference"``), an import path
``"package.module:attribute"`` naming ``compile(jaxpr) -> executable``, or
such a callable itself (repros refer to it by its import path).
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import weakref

import numpy as np

from ftx.core.jaxpr import Jaxpr, subjaxprs
from ftx.core.trace import set_current_trace

__all__ = ["agrees_with_reference", "reference_eval", "as_reference", "describe_failure",
           "compare_outputs", "DEFAULT_RTOL"]

# Relative (and absolute) tolerance per dtype: compiled code may sum in another order or use
# fused multiply-adds, so a few ulps times the reduction length must pass.
DEFAULT_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4,
                np.dtype(np.float64): 1e-9, np.dtype(np.complex64): 1e-4,
                np.dtype(np.complex128): 1e-9}


# --------------------------------------------------------------------------- the reference

_reference_copies: "weakref.WeakKeyDictionary[Jaxpr, Jaxpr]" = weakref.WeakKeyDictionary()


def as_reference(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with every nested ``jit`` set to the reference backend (so evaluating it
    never touches a compiled backend). Returns ``jaxpr`` itself when it has no jit inside."""
    cached = _reference_copies.get(jaxpr)
    if cached is not None:
        return cached
    changed = False
    eqns = []
    for eqn in jaxpr.eqns:
        params = eqn.params
        if any(True for _ in subjaxprs(params)) or "backend" in params:
            new = {k: _reference_param(v) for k, v in params.items()}
            if eqn.primitive.name == "jit" and new.get("backend") != "reference":
                new["backend"] = "reference"
            if any(new[k] is not params[k] for k in params):
                params, changed = new, True
                eqn = eqn.replace(params=new)
        eqns.append(eqn)
    result = jaxpr.replace(eqns=eqns) if changed else jaxpr
    _reference_copies[jaxpr] = result
    return result


def _reference_param(value):
    if isinstance(value, Jaxpr):
        return as_reference(value)
    if isinstance(value, tuple) and any(isinstance(v, Jaxpr) for v in value):
        new = tuple(_reference_param(v) for v in value)
        return value if all(a is b for a, b in zip(new, value)) else new
    return value


def _without_consts(jaxpr: Jaxpr, inputs):
    """Backends compile closed graphs (as jit hands them over): constants become inputs."""
    if jaxpr.constvars:
        return jaxpr.consts_as_inputs(), list(jaxpr.consts) + list(inputs)
    return jaxpr, list(inputs)


def reference_eval(jaxpr: Jaxpr, inputs) -> list:
    """Outputs of ``jaxpr`` on the NumPy reference interpreter (nested jits included)."""
    from ftx.core.jaxpr import eval_jaxpr
    jaxpr, inputs = _without_consts(jaxpr, inputs)
    with set_current_trace(None):
        return [np.asarray(x) for x in eval_jaxpr(as_reference(jaxpr), *inputs)]


# --------------------------------------------------------------------------- backends

def _jit_backend(name):
    def compile_on(jaxpr):
        from ftx.transforms.jit import _compile
        return _compile(jaxpr, name)
    compile_on.__name__ = f"compile_on_{name}"
    return compile_on


def resolve_backend(backend):
    """(compile function, the name a repro writes for it or None when it has none)."""
    if callable(backend):
        module = getattr(backend, "__module__", None)
        qualname = getattr(backend, "__qualname__", "")
        path = None
        if module and module != "__main__" and "<" not in qualname:
            path = f"{module}:{qualname}"
        return backend, path
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name ('cpu'), 'module:attribute' or a callable "
                        f"compile(jaxpr) -> executable, got {backend!r}")
    if ":" in backend:
        module, _, attr = backend.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj, backend
    from ftx.transforms.jit import _check_backend
    _check_backend(backend)
    return _jit_backend(backend), backend


def run_on_backend(backend, jaxpr: Jaxpr, inputs) -> list:
    compile_fn, _ = resolve_backend(backend)
    jaxpr, inputs = _without_consts(jaxpr, inputs)
    with set_current_trace(None):
        return list(compile_fn(jaxpr)(*inputs))


# --------------------------------------------------------------------------- comparing

def _tolerance(dtype, rtol, atol):
    default = DEFAULT_RTOL.get(np.dtype(dtype), 1e-9)
    rtol = default if rtol is None else rtol
    return rtol, (rtol if atol is None else atol)


def compare_outputs(outs, refs, rtol=None, atol=None) -> str | None:
    """None when ``outs`` match ``refs``; otherwise a sentence naming the first output that differs."""
    if len(outs) != len(refs):
        return f"the backend returned {len(outs)} outputs, the reference {len(refs)}"
    for i, (o, r) in enumerate(zip(outs, refs)):
        o, r = np.asarray(o), np.asarray(r)
        what = f"output {i} ({_type_str(r)})"
        if o.shape != r.shape:
            return f"{what}: the backend returned shape {o.shape}, the reference {r.shape}"
        if o.dtype != r.dtype:
            return f"{what}: the backend returned dtype {o.dtype}, the reference {r.dtype}"
        if r.dtype.kind not in "fc":
            bad = o != r
            if np.any(bad):
                idx = tuple(int(k) for k in np.argwhere(bad)[0])
                return (f"{what}: {int(bad.sum())} of {r.size} elements differ; at index {idx} "
                        f"the backend gave {o[idx].item()!r}, the reference {r[idx].item()!r}")
            continue
        rt, at = _tolerance(r.dtype, rtol, atol)
        nan_o, nan_r = np.isnan(o), np.isnan(r)
        finite = ~(nan_o | nan_r | np.isinf(o) | np.isinf(r))
        with np.errstate(all="ignore"):
            err = np.abs(o.astype(np.complex128 if r.dtype.kind == "c" else np.float64)
                         - r.astype(np.complex128 if r.dtype.kind == "c" else np.float64))
            close = err <= at + rt * np.abs(r)
        bad = (nan_o != nan_r) | (~finite & ~(nan_o & nan_r) & (o != r)) | (finite & ~close)
        if np.any(bad):
            # report the worst element: the first bad one may be a tiny, unrelated error
            score = np.where(bad, np.where(finite, err, np.inf), -1.0)
            idx = np.unravel_index(int(np.argmax(score)), r.shape) if r.ndim else ()
            idx = tuple(int(k) for k in idx)
            worst = float(np.max(np.where(finite & bad, err, 0))) if np.any(finite) else 0.0
            return (f"{what}: {int(bad.sum())} of {r.size} elements differ (max abs error "
                    f"{worst:.3g}, rtol {rt:g}); at index {idx} the backend gave "
                    f"{o[idx].item()!r}, the reference {r[idx].item()!r}")
    return None


def _type_str(x) -> str:
    from ftx.core.dtypes import short_name
    return f"{short_name(x.dtype)}[{','.join(map(str, x.shape))}]"


# --------------------------------------------------------------------------- checks as data

_recording: contextvars.ContextVar = contextvars.ContextVar("ftx_debug_checks", default=None)


@contextlib.contextmanager
def recording_checks():
    """Collect the check descriptions that ftx.debug checks run inside this block."""
    seen: list = []
    token = _recording.set(seen)
    try:
        yield seen
    finally:
        _recording.reset(token)


def _record(check: dict) -> None:
    seen = _recording.get()
    if seen is not None and check not in seen:
        seen.append(check)


def reference_mismatch(jaxpr: Jaxpr, inputs, backend="cpu", *, rtol=None, atol=None):
    """None when ``backend`` agrees with the reference on ``jaxpr(*inputs)``, else why not."""
    refs = reference_eval(jaxpr, inputs)
    try:
        outs = run_on_backend(backend, jaxpr, inputs)
    except Exception as e:  # noqa: BLE001 - any backend error is a disagreement
        return f"the backend raised {type(e).__name__}: {e}"
    return compare_outputs(outs, refs, rtol, atol)


def agrees_with_reference(jaxpr: Jaxpr, inputs, backend="cpu", *, rtol=None, atol=None) -> bool:
    """True when ``backend`` computes what the reference interpreter computes on ``inputs``.

    >>> debug.minify(f, args, fails=lambda j, i: not debug.agrees_with_reference(j, i, "cpu"))

    A backend error counts as disagreement. Tolerances default per dtype
    (``DEFAULT_RTOL``); NaNs must appear at the same positions.
    """
    _, path = resolve_backend(backend)
    _record({"kind": "agrees_with_reference", "backend": path, "rtol": rtol, "atol": atol})
    return reference_mismatch(jaxpr, inputs, backend, rtol=rtol, atol=atol) is None


def backend_raises(jaxpr: Jaxpr, inputs, backend="cpu", error: str | None = None) -> bool:
    """True when ``backend`` raises (an exception whose type is named ``error``, if given)."""
    _, path = resolve_backend(backend)
    _record({"kind": "raises", "backend": path, "error": error})
    return _raise_description(jaxpr, inputs, backend, error) is not None


def _raise_description(jaxpr, inputs, backend, error):
    try:
        run_on_backend(backend, jaxpr, inputs)
    except Exception as e:  # noqa: BLE001
        if error is None or type(e).__name__ == error:
            return f"the backend raised {type(e).__name__}: {e}"
        return None
    return None


def describe_failure(check: dict, jaxpr: Jaxpr, inputs) -> str | None:
    """Run the check described by ``check`` (a dict of literals); None when it passes."""
    _record(dict(check))
    kind = check.get("kind")
    if check.get("backend") is None:
        raise ValueError(f"the check {check!r} names no backend that a repro can import")
    if kind == "agrees_with_reference":
        return reference_mismatch(jaxpr, inputs, check["backend"], rtol=check.get("rtol"),
                                  atol=check.get("atol"))
    if kind == "raises":
        return _raise_description(jaxpr, inputs, check["backend"], check.get("error"))
    raise ValueError(f"unknown check kind {kind!r} in {check!r}")


def check_fails(check: dict):
    """The predicate ``fails(jaxpr, inputs)`` of a check description (records itself too)."""
    def fails(jaxpr, inputs):
        return describe_failure(check, jaxpr, inputs) is not None
    fails.__name__ = f"fails_{check.get('kind')}"
    return fails
