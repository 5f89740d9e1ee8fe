"""The graph-level index of the persistent cache: a canonical key of (jaxpr, input types,
backend, versions) -> the lowered program, so a known program in a new process skips fusion
planning and code generation, and its kernels load their machine code from Numba's cache.

The key is the sha256 of a canonical form of the jaxpr: variables numbered in order of
appearance, every aval, literal and parameter written exactly (floats in hex, arrays by
dtype, shape and content hash), plus the versions of Python, NumPy, Numba and ftx and a
fingerprint of the code that lowers jaxprs. A jaxpr holding something with no exact
canonical form (a callable in its params, a tracer) gets no key and is simply not indexed.

An entry is ``<cache>/index/<key>.json``: JSON only, never pickle, written atomically, with
a checksum of its content. A truncated or garbled entry is reported by a warning and
rebuilt; so is one whose key or checksum does not match.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import sys
import warnings

import numpy as np

from ftx.core.avals import ShapedArray
from ftx.core.jaxpr import Jaxpr, Literal

FORMAT = 1  # of the entries; part of the key


class NotCanonical(Exception):
    """A jaxpr holds a value with no exact, process-independent text form."""


def program_key(jaxpr: Jaxpr) -> str | None:
    """The index key of ``jaxpr`` (64 hex digits), or None when it cannot be indexed.

    >>> program_key(ftx.make_jaxpr(lambda x: x * 2.0)(np.ones(3)))
    '5be1...'
    """
    try:
        canonical = _canon_jaxpr(jaxpr)
    except NotCanonical:
        return None
    text = json.dumps([_versions(), canonical], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _versions() -> list:
    """What besides the jaxpr decides the lowered program: the lowering code itself (hashed,
    so an edit without a version bump cannot serve stale code) and the library versions."""
    import numba

    import ftx
    code = hashlib.sha256()
    for package in ("ftx.backends.numba_cpu", "ftx.compiler"):
        folder = os.path.dirname(sys.modules[package].__file__)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    code.update(name.encode() + b"\0" + f.read() + b"\0")
    return [FORMAT, "numba_cpu", ftx.__version__, code.hexdigest(), sys.version,
            np.__version__, numba.__version__]


# --------------------------------------------------------------------------- canonical form

def _canon_jaxpr(jaxpr: Jaxpr) -> list:
    names: dict = {}

    def atom(v):
        if isinstance(v, Literal):
            return ["lit", _canon_value(v.val), _canon_aval(v.aval)]
        n = names.get(v)
        if n is None:
            n = names[v] = len(names)
        return n

    def binder(v):
        return [atom(v), _canon_aval(v.aval)]

    consts = [[binder(v), _canon_value(c)] for v, c in zip(jaxpr.constvars, jaxpr.consts)]
    invars = [binder(v) for v in jaxpr.invars]
    eqns = [[e.primitive.name, [atom(a) for a in e.invars], [binder(v) for v in e.outvars],
             [[k, _canon_value(p)] for k, p in e.params.items()]] for e in jaxpr.eqns]
    return ["jaxpr", consts, invars, eqns, [atom(v) for v in jaxpr.outvars]]


def _canon_aval(aval) -> list:
    if type(aval) is not ShapedArray:
        raise NotCanonical(f"aval {aval!r}")
    return [list(aval.shape), aval.dtype.str, aval.weak_type]


def _canon_value(x) -> list:
    """An exact, tagged JSON form of a parameter or literal value; NotCanonical otherwise."""
    t = type(x)
    if x is None or t in (bool, int, str):
        return [t.__name__, x]
    if t is float:
        return ["float", x.hex()]
    if t is complex:
        return ["complex", x.real.hex(), x.imag.hex()]
    if isinstance(x, np.dtype):
        return ["dtype", x.str, x.name]
    if isinstance(x, type) and issubclass(x, np.generic):
        return ["scalar_type", np.dtype(x).str]
    if isinstance(x, (np.generic, np.ndarray)):
        a = np.asarray(x)
        if a.dtype.hasobject:
            raise NotCanonical(f"object array {x!r}")
        digest = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
        return [t.__name__, a.dtype.str, list(a.shape), digest]
    if isinstance(x, Jaxpr):
        return _canon_jaxpr(x)
    if isinstance(x, enum.Enum):
        return ["enum", _type_name(t), x.name]
    if isinstance(x, slice):
        return ["slice", _canon_value(x.start), _canon_value(x.stop), _canon_value(x.step)]
    if isinstance(x, (tuple, list)):  # named tuples keep their type's name
        tag = t.__name__ if t in (tuple, list) else _type_name(t)
        return [tag, [_canon_value(e) for e in x]]
    if t is dict:
        return ["dict", [[_canon_value(k), _canon_value(v)] for k, v in x.items()]]
    if t is frozenset:
        return ["frozenset", sorted((_canon_value(e) for e in x), key=json.dumps)]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return ["dataclass", _type_name(t),
                [[f.name, _canon_value(getattr(x, f.name))] for f in dataclasses.fields(x)]]
    raise NotCanonical(f"a {t.__name__}")  # callables, tracers, arbitrary objects


def _type_name(t) -> str:
    return f"{t.__module__}.{t.__qualname__}"


# --------------------------------------------------------------------------- entries

def _entry_path(key: str) -> str:
    from ftx.cache import INDEX, private_dir
    return os.path.join(private_dir(INDEX), key + ".json")


def _checksum(program: dict) -> str:
    return hashlib.sha256(json.dumps(program, sort_keys=True).encode()).hexdigest()


def load(key: str, parse):
    """``parse(program)`` of the entry stored under ``key``, or None if there is none. A
    corrupt entry (bad JSON, a key or checksum that does not match, ``parse`` raising
    ValueError) gives a RuntimeWarning and None: the caller rebuilds it and stores it again."""
    path = _entry_path(key)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        entry = json.loads(data.decode("utf-8"))
        if not (isinstance(entry, dict) and entry.get("format") == FORMAT
                and entry.get("key") == key and isinstance(entry.get("program"), dict)):
            raise ValueError("its format or key does not match")
        if entry.get("checksum") != _checksum(entry["program"]):
            raise ValueError("its checksum does not match its content")
        return parse(entry["program"])
    except ValueError as e:  # (invalid JSON and undecodable bytes are ValueErrors too)
        warnings.warn(f"ftx: the compile cache entry {path} is corrupt ({e}); rebuilding it",
                      RuntimeWarning, stacklevel=3)
        return None


def store(key: str, program: dict) -> None:
    """Write ``program`` (JSON data) as the entry for ``key``, atomically. A failed write
    (a full disk) only warns: the program works, the next process lowers it again."""
    from ftx.cache import write_atomic
    entry = {"format": FORMAT, "key": key, "checksum": _checksum(program), "program": program}
    path = _entry_path(key)
    try:
        write_atomic(path, json.dumps(entry, indent=1))
    except OSError as e:
        warnings.warn(f"ftx: could not write the compile cache entry {path} ({e}); the next "
                      "process will compile this program again", RuntimeWarning, stacklevel=3)


__all__ = ["program_key", "load", "store", "NotCanonical", "FORMAT"]
