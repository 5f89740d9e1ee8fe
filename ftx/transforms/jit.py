"""``ftx.jit``: trace once per input signature, cache, and run the graph on a backend.

``jit(f)(*args)`` flattens the arguments, builds a signature key (tree
structure, each leaf's shape/dtype/weak type, static argument values,
backend, tracing config) and, on a miss, traces ``f`` to a jaxpr. The call then
binds ``jit_p``, a higher-order primitive carrying the jaxpr: eagerly it runs
the backend's executable; under a transform its rules transform the jaxpr and
bind ``jit_p`` again, so ``grad(jit(f))`` runs a jitted forward (returning
residuals) and a jitted backward, and ``jit(grad(f))`` one jitted program.

AOT API, as in JAX: ``jit(f).trace(*args) -> Traced``, ``.lower(*args) ->
Lowered`` (arrays or ShapeDtypeStructs), ``Lowered.compile() -> Compiled``.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import threading
import weakref

import numpy as np

from ftx.backends.numba_cuda.array import DeviceArray  # numba-free: just the array type
from ftx.core import nan_checks, pytree  # nan_checks defines the debug_nans/infs options
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import ShapedArray, ShapeDtypeStruct, get_aval
from ftx.core.config import config
from ftx.core.jaxpr import Jaxpr, eval_jaxpr
from ftx.core.primitive import Primitive, def_rule
from ftx.core.source_info import function_source_info
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import TraceDebugInfo, Tracer, _current, set_current_trace
from ftx.lax._ad_rules import instantiate

logger = logging.getLogger("ftx")

config.define("log_compiles", False,
              "log every jit compilation (trace) with the reason for the cache miss")
config.define("disable_jit", False, "run jitted functions eagerly, op by op (for debugging)")
config.define("repro_level", 0,
              "1: when a compiled program fails, save its graph and inputs, minify them and print "
              "the path of a runnable repro; 2: also check every compiled result against the "
              "reference interpreter", parse=int, env="FTX_REPRO")
config.define("default_backend", "cpu",
              "the backend of ftx.jit when none is given: 'cpu', 'cuda' (an NVIDIA GPU; "
              "arguments must be ftx.device_put on it) or 'reference'",
              parse=str, validate=lambda v: _check_backend(v))


class RetraceError(RuntimeError):
    """A jitted function traced (compiled) inside ``ftx.no_retrace()``."""


_no_retrace = threading.local()


@contextlib.contextmanager
def no_retrace():
    """Inside this block a jitted function that needs tracing raises RetraceError (for tests).

    >>> with ftx.no_retrace():
    ...     step(params, x)     # must hit the cache
    """
    old = getattr(_no_retrace, "active", False)
    _no_retrace.active = True
    try:
        yield
    finally:
        _no_retrace.active = old


# =========================================================================== backends

_BACKENDS = ("cpu", "cuda", "reference")


def _check_backend(name):
    if name not in _BACKENDS:
        raise ValueError(f"unknown ftx backend {name!r}; the backends are {', '.join(_BACKENDS)}")


def _check_placement(leaves, backend, name, tree_of):
    """jit never copies arrays between the host and a GPU behind the caller's back: a 'cuda'
    function takes DeviceArrays (and scalars), the other backends take host arrays.
    ``tree_of()`` gives the arguments' tree (to name the bad one)."""
    for i, x in enumerate(leaves):
        on_gpu = type(x) is DeviceArray
        if on_gpu == (backend == "cuda") or (not on_gpu and np.ndim(x) == 0):
            continue
        paths = [pytree.keystr(p) for p, _ in pytree.tree_flatten_with_path(
            pytree.tree_unflatten(tree_of(), list(range(len(leaves)))))[0]]
        where = f"{_arg_path(paths[i])} ({_fmt_leaf(_leaf_key(x))})"
        if on_gpu:
            raise TypeError(f"jit({name}, backend={backend!r}): {where} is a DeviceArray in GPU "
                            "memory. Copy it to the host explicitly with np.asarray(x) or "
                            "ftx.device_put(x, 'cpu'), or jit with backend='cuda'.")
        raise TypeError(f"jit({name}, backend='cuda'): {where} is a {type(x).__name__} in host "
                        "memory. Move it to the GPU once with ftx.device_put(x, 'cuda') and pass "
                        "the DeviceArray (ftx never copies arguments to the GPU at every call).")


def _compile(jaxpr: Jaxpr, backend: str):
    """An executable ``f(*flat_args) -> list`` for ``jaxpr`` on ``backend``."""
    _check_backend(backend)
    from ftx import backends
    graph = _backend_graph(jaxpr, backend)
    if not graph.consts:
        return backends.compile(graph, backend)
    # Backends compile closed graphs: constants the passes folded or hoisted out of inlined
    # calls become leading inputs.
    return _WithConsts(backends.compile(graph.consts_as_inputs(), backend), graph.consts)


config.define("jit_passes", True,
              "optimize graphs before compiling them (inlining, DCE, CSE, constant folding, "
              "exact simplifications); turn off to rule out a pass when debugging. Applies to "
              "programs compiled afterwards; the 'reference' backend never runs the passes")
# The optimized graph per traced jaxpr (computed once, dropped with the jaxpr).
_optimized: "weakref.WeakKeyDictionary[Jaxpr, Jaxpr]" = weakref.WeakKeyDictionary()


def _backend_graph(jaxpr: Jaxpr, backend: str) -> Jaxpr:
    """The graph ``backend`` compiles for ``jaxpr``: optimized by the graph passes, except on
    the reference backend, which stays the unoptimized oracle that FTX_REPRO=2 and the
    minifier check the optimized programs against."""
    if backend == "reference" or not config.jit_passes:
        return jaxpr
    graph = _optimized.get(jaxpr)
    if graph is None:
        from ftx.compiler.passes import optimize
        try:
            graph = _optimized[jaxpr] = optimize(jaxpr)
        except Exception as e:
            if hasattr(e, "add_note"):  # Python 3.11+
                e.add_note("(raised by ftx's graph passes: ftx.config.update('jit_passes', "
                           "False) or FTX_JIT_PASSES=0 compiles without them; please report it)")
            raise
    return graph


class _WithConsts:
    """An executable of a graph whose constants are passed as its leading inputs."""

    def __init__(self, exe, consts):
        self._exe, self._consts = exe, list(consts)

    def __call__(self, *args):
        return self._exe(*self._consts, *args)

    def as_text(self) -> str:
        return (f"# the first {len(self._consts)} inputs are constants of the optimized graph\n"
                + self._exe.as_text())


# Executables per jaxpr (jaxprs are hashed by identity; dropped with the jaxpr).
_executables: "weakref.WeakKeyDictionary[Jaxpr, dict]" = weakref.WeakKeyDictionary()


def _executable(jaxpr, backend):
    per_backend = _executables.setdefault(jaxpr, {})
    exe = per_backend.get(backend)
    if exe is None:
        if config.repro_level:  # FTX_REPRO: failures (compile errors too) become repros
            from ftx.debug.repro import wrap_compile
            exe = wrap_compile(_compile, jaxpr, backend)
        else:
            exe = _compile(jaxpr, backend)
        per_backend[backend] = exe
    return exe


# =========================================================================== jit_p

def _jit_impl(*args, jaxpr, name, backend):
    return _executable(jaxpr, backend)(*args)


# The rules below derive new jaxprs (jvp, batched, forward/backward, transposed). Each is
# memoized per source jaxpr (``memo_derived``), so the derived jaxprs -- and their compiled
# executables, cached by jaxpr identity -- are built once: calling ``grad(jit(f))`` again
# traces and compiles nothing.

def _jit_jvp(primals, tangents, *, jaxpr, name, backend):
    from ftx.transforms._remat import memo_derived
    from ftx.transforms.call import _split_jvp_outs
    from ftx.transforms.jvp import jvp_jaxpr
    nonzeros = tuple(type(t) is not Zero and a.dtype.kind in "fc"
                     for t, a in zip(tangents, jaxpr.in_avals))
    new, out_nz = memo_derived(jaxpr, ("jvp", nonzeros),
                               lambda: jvp_jaxpr(jaxpr, nonzeros, instantiate=False))
    outs = jit_p.bind(*primals, *[t for t, nz in zip(tangents, nonzeros) if nz], jaxpr=new,
                      name=f"jvp({name})", backend=backend)
    return _split_jvp_outs(outs, out_nz)


def _jit_batch(axis_data, args, dims, *, jaxpr, name, backend):
    from ftx.transforms._remat import memo_derived
    from ftx.transforms.batching import batch_jaxpr
    key = ("batch", axis_data.size, axis_data.name, tuple(dims))
    new, out_batched = memo_derived(jaxpr, key, lambda: batch_jaxpr(jaxpr, axis_data, dims,
                                                                     instantiate=False))
    outs = jit_p.bind(*args, jaxpr=new, name=f"vmap({name})", backend=backend)
    return outs, [0 if b else None for b in out_batched]


def _jit_transpose(cts, *args, jaxpr, name, backend):
    from ftx.transforms._remat import memo_derived, schedule_late
    from ftx.transforms.transpose import transpose_jaxpr
    linear = tuple(is_undefined(a) for a in args)

    def build():
        t = transpose_jaxpr(jaxpr, list(linear))
        # Recompute each forward value just before its first use, not all up front.
        return schedule_late(t, t.invars[sum(not lin for lin in linear):])

    new = memo_derived(jaxpr, ("transpose", linear), build)
    cts = [instantiate(ct) for ct in cts]
    outs = iter(jit_p.bind(*[a for a in args if not is_undefined(a)], *cts, jaxpr=new,
                           name=f"transpose({name})", backend=backend))
    return [next(outs) if lin else None for lin in linear]


def _jit_partial_eval(trace, args, *, jaxpr, name, backend):
    """Split into a jitted forward run now, returning the primal outputs and the values the
    partitioner chose to save (``ftx.compiler.partition``), and a jitted backward-facing part
    staged for the transpose, which recomputes the other residuals. Saved values that are
    inputs are passed straight to the backward, not returned by the forward."""
    from ftx.compiler.partition import partition_jaxpr
    from ftx.transforms._remat import memo_derived
    unknowns = tuple(trace.owns(a) for a in args)
    key = ("partial_eval", unknowns, config.remat_partitioner, config.activation_memory_budget)
    split = memo_derived(jaxpr, key, lambda: partition_jaxpr(jaxpr, unknowns, name=name))
    fwd_args = [*split.consts, *[a for a, u in zip(args, unknowns) if not u]]
    with set_current_trace(trace.parent):
        fwd_outs = jit_p.bind(*fwd_args, jaxpr=split.forward, name=f"fwd({name})",
                              backend=backend)
    saved = [fwd_args[i] if kind == "arg" else fwd_outs[i] for kind, i in split.saved_from]
    unknown_outs = iter(trace.stage(jit_p, [*saved, *[a for a, u in zip(args, unknowns) if u]],
                                    {"jaxpr": split.backward, "name": f"lin({name})",
                                     "backend": backend}))
    known_iter = iter(fwd_outs[:split.num_known_out])
    return [next(unknown_outs) if u else next(known_iter) for u in split.out_unknowns]


jit_p = Primitive("jit")
jit_p.def_impl(_jit_impl)
jit_p.def_abstract_eval(lambda *avals, jaxpr, name, backend: jaxpr.out_avals)
def_rule("jvp", jit_p, _jit_jvp)
def_rule("batch", jit_p, _jit_batch)
def_rule("transpose", jit_p, _jit_transpose)
def_rule("partial_eval", jit_p, _jit_partial_eval)


# =========================================================================== the jit wrapper

class _Entry:
    """A cached trace: the closure-converted jaxpr, its constants and the output tree."""

    __slots__ = ("jaxpr", "consts", "out_tree", "in_avals", "run", "single_output")

    def __init__(self, jaxpr, consts, out_tree, in_avals):
        self.jaxpr, self.consts, self.out_tree, self.in_avals = jaxpr, consts, out_tree, in_avals
        self.run = None  # the executable, once compiled for this entry's backend
        self.single_output = pytree.treedef_is_leaf(out_tree)


class _NotFast(Exception):
    pass


_WEAK_SCALARS = (float, int, bool, complex)


def _fast_signature(x, leaves):
    """A hashable structure-and-types key for plain containers of NumPy arrays and Python
    scalars, collecting leaves in tree_flatten order; _NotFast for anything else. Calls that
    hit the cache avoid building a PyTreeDef."""
    t = type(x)
    if t is np.ndarray:
        leaves.append(x)
        return (x.shape, x.dtype)
    if t is tuple or t is list:
        return (t, tuple([_fast_signature(e, leaves) for e in x]))
    if t is dict:
        keys = sorted(x)
        return (dict, tuple(keys), tuple([_fast_signature(x[k], leaves) for k in keys]))
    if t in _WEAK_SCALARS:
        leaves.append(x)
        return t
    if x is None:
        return None
    if t is DeviceArray:
        leaves.append(x)
        return (x.shape, x.dtype, x.device)
    raise _NotFast


# The options a cached call depends on, as one hashable value kept current by watchers (the
# hot path reads one global instead of several options). Under debug_nans/debug_infs the
# fast cache is bypassed: those calls recheck their outputs.
_call_config = [None]


def _update_call_config(_value=None):
    _call_config[0] = (config.default_backend, config.enable_checks,
                       config.debug_nans or config.debug_infs)


def _watch_call_config():
    for name in ("default_backend", "enable_checks", "debug_nans", "debug_infs"):
        config.watch(name, _update_call_config)


_watch_call_config()


def _direct_call(exe, consts):
    """``exe`` with ``consts`` bound, calling the backend's generated function directly where
    it exposes one (``exe.run``): one Python frame less on every cached call."""
    fn = getattr(exe, "run", None) or exe
    return functools.partial(fn, *consts) if consts else fn


def _leaf_key(x):
    if isinstance(x, Tracer):
        a = x.aval
        return (a.shape, a.dtype, a.weak_type)
    if type(x) is np.ndarray:  # the common case, without building an aval
        return (x.shape, x.dtype, False)
    if type(x) is DeviceArray:  # the key says where the array lives
        return (x.shape, x.dtype, False, x.device)
    a = get_aval(x) if not isinstance(x, ShapeDtypeStruct) else x
    return (a.shape, np.dtype(a.dtype), a.weak_type)


def _hashable_static(value, where):
    try:
        hash(value)
    except TypeError as e:
        raise TypeError(f"jit: non-hashable static arguments are not supported: {where} is a "
                        f"{type(value).__name__} ({e}). Make it hashable (a tuple instead of a "
                        "list, a frozen dataclass), or pass it as a regular (traced) argument.") \
            from None
    return value


class Jitted:
    """What ``ftx.jit(f)`` returns: call it like ``f``; ``.trace/.lower`` for the AOT API."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(),
                 backend=None):
        functools.update_wrapper(self, fun)
        if not hasattr(self, "__name__"):  # a callable object rather than a function
            self.__name__ = type(fun).__name__
        self._fun = fun
        self._static_argnums = (static_argnums,) if isinstance(static_argnums, int) \
            else tuple(static_argnums)
        self._static_argnames = (static_argnames,) if isinstance(static_argnames, str) \
            else tuple(static_argnames)
        # NumPy arrays cannot be aliased across calls safely; donation is accepted and ignored.
        self._donate_argnums = donate_argnums
        if backend is not None:
            _check_backend(backend)
        self._backend = backend
        self._cache: dict = {}
        self._fast_cache: dict = {}  # fast key -> (run, single_output, out_tree)
        self._lock = threading.Lock()
        self._trace_locks: dict = {}  # signature -> the lock its first trace holds

    def __get__(self, obj, objtype=None):  # jit on a method binds like a function
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        return f"ftx.jit({function_source_info(self._fun)})"

    # ----------------------------------------------------------------- signature

    def _split(self, args, kwargs):
        n = len(args)
        static_nums = {i % n if i < 0 else i for i in self._static_argnums if -n <= i < n}
        for i in self._static_argnums:
            if not -n <= i < n:
                raise ValueError(f"jit: static_argnums={self._static_argnums} names argument {i}, "
                                 f"but {self.__name__} was called with {n} positional arguments")
        static = tuple((i, _hashable_static(args[i], f"argument {i}")) for i in sorted(static_nums))
        static_kw = tuple(sorted((k, _hashable_static(v, f"argument {k!r}"))
                                 for k, v in kwargs.items() if k in self._static_argnames))
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        return static, static_kw, dyn_args, dyn_kwargs

    def _key(self, args, kwargs):
        static, static_kw, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, tree = pytree.tree_flatten((dyn_args, dyn_kwargs))
        backend = self._backend or config.default_backend
        key = (tree, tuple(_leaf_key(x) for x in leaves), static, static_kw, backend,
               config.enable_checks)
        return key, leaves, tree, static, static_kw, backend

    # ----------------------------------------------------------------- tracing

    def _trace(self, args, kwargs, leaves, in_tree, static, static_kw):
        if getattr(_no_retrace, "active", False):
            raise RetraceError(f"{self.__name__} was traced inside ftx.no_retrace(): its cache "
                               "had no entry for these argument types")
        static_map = dict(static)
        n = len(args)
        static_kwargs = dict(static_kw)
        store = {}

        def flat_fun(*flat):
            dyn_args, dyn_kwargs = pytree.tree_unflatten(in_tree, flat)
            it = iter(dyn_args)
            full = [static_map[i] if i in static_map else next(it) for i in range(n)]
            out = self._fun(*full, **dyn_kwargs, **static_kwargs)
            out_leaves, store["tree"] = pytree.tree_flatten(out)
            return out_leaves

        in_avals = [_aval_for_trace(x) for x in leaves]
        debug = TraceDebugInfo("jit", function_source_info(self._fun))
        jaxpr = trace_to_jaxpr(flat_fun, in_avals, debug)
        return _Entry(jaxpr.consts_as_inputs(), list(jaxpr.consts), store["tree"], in_avals)

    def _lookup(self, args, kwargs):
        key, leaves, tree, static, static_kw, backend = self._key(args, kwargs)
        entry = self._cache.get(key)
        if entry is None:
            # Threads missing on the same signature at once trace it once: the others wait
            # for the first. (Reentrant: tracing may call this function again.)
            with self._lock:
                key_lock = self._trace_locks.setdefault(key, threading.RLock())
            with key_lock:
                entry = self._cache.get(key)
                if entry is None:
                    if config.log_compiles:
                        logger.warning(self._explain_miss(key))
                    entry = self._trace(args, kwargs, leaves, tree, static, static_kw)
                    # Closed-over tracers of an enclosing transform are valid only during
                    # this call.
                    if not any(isinstance(c, Tracer) for c in entry.consts):
                        with self._lock:
                            self._cache[key] = entry
        return entry, leaves, backend

    def _explain_miss(self, key) -> str:
        where = function_source_info(self._fun)
        if not self._cache:
            return f"Compiling {self.__name__} ({where}): first call for these argument types"
        tree, leaf_keys, static, static_kw, backend, checks = key

        def differences(old):
            o_tree, o_leaves, o_static, o_static_kw, o_backend, o_checks = old
            diffs = []
            if o_tree != tree:
                diffs.append(f"the argument structure changed from {o_tree} to {tree}")
            else:
                paths = [pytree.keystr(p) for p, _ in pytree.tree_flatten_with_path(
                    pytree.tree_unflatten(tree, list(range(len(leaf_keys)))))[0]]
                for path, a, b in zip(paths, o_leaves, leaf_keys):
                    if a != b:
                        diffs.append(f"{_arg_path(path)} was {_fmt_leaf(a)} and is now "
                                     f"{_fmt_leaf(b)}")
            if o_static != static or o_static_kw != static_kw:
                diffs.append(f"static arguments changed from {dict(o_static + o_static_kw)} to "
                             f"{dict(static + static_kw)}")
            if o_backend != backend:
                diffs.append(f"the backend changed from {o_backend!r} to {backend!r}")
            if o_checks != checks:
                diffs.append("the enable_checks config changed")
            return diffs

        closest = min((differences(old) for old in self._cache), key=len)
        return (f"Compiling {self.__name__} ({where}) for new argument types; all "
                f"{len(self._cache)} previously seen signatures differ. Against the closest: "
                + "; ".join(closest))

    # ----------------------------------------------------------------- calling

    def __call__(self, *args, **kwargs):
        if not kwargs and not self._static_argnums and _current.get() is None \
                and not config.disable_jit:
            # The hot path: plain arrays, no transform around us. Every step here is paid on
            # each call, so it builds one flat key without recursion when it can.
            leaves = args
            sig = [_call_config[0]]
            for a in args:
                if type(a) is np.ndarray:
                    sig.append(a.shape)
                    sig.append(a.dtype)
                else:
                    leaves = []
                    try:
                        sig = [_call_config[0], _fast_signature(args, leaves)]
                    except _NotFast:
                        sig = None
                    break
            fast_key = tuple(sig) if sig is not None else None
            hit = self._fast_cache.get(fast_key) if sig is not None else None
            if hit is not None:
                run, single_output, out_tree = hit
                outs = run(*leaves)
                return outs[0] if single_output else pytree.tree_unflatten(out_tree, outs)
        else:
            if config.disable_jit:
                return self._fun(*args, **kwargs)
            fast_key = None
        entry, leaves, backend = self._lookup(args, kwargs)
        if _current.get() is None:
            _check_placement(leaves, backend, self.__name__, lambda: self._key(args, kwargs)[2])
            if entry.run is None:
                entry.run = _executable(entry.jaxpr, backend)
            if fast_key is not None and not _call_config[0][2] and entry in self._cache.values():
                self._fast_cache[fast_key] = (_direct_call(entry.run, entry.consts),
                                              entry.single_output, entry.out_tree)
            outs = entry.run(*entry.consts, *leaves)
            if config.debug_nans or config.debug_infs:
                _recheck_nans(entry, leaves, outs, self.__name__)
        else:
            outs = jit_p.bind(*entry.consts, *leaves, jaxpr=entry.jaxpr, name=self.__name__,
                              backend=backend)
        return pytree.tree_unflatten(entry.out_tree, outs)

    def clear_cache(self) -> None:
        """Forget every cached trace (the next call traces again)."""
        with self._lock:
            self._cache.clear()
            self._fast_cache.clear()
            self._trace_locks.clear()

    def _cache_size(self) -> int:
        """How many signatures are cached (for tests that count compiles)."""
        return len(self._cache)

    # ----------------------------------------------------------------- AOT

    def trace(self, *args, **kwargs) -> "Traced":
        """Trace for these argument types (arrays or ShapeDtypeStructs) without running."""
        entry, leaves, backend = self._lookup(args, kwargs)
        return Traced(self, entry, backend)

    def lower(self, *args, **kwargs) -> "Lowered":
        """``jit(f).lower(ShapeDtypeStruct((256, 784), np.float32)).compile()``."""
        return self.trace(*args, **kwargs).lower()


def _recheck_nans(entry, leaves, outs, name):
    """debug_nans under jit: if the compiled program returned a NaN/inf, run it again op by op
    on the reference interpreter so the failing operation and its line are named."""
    try:
        nan_checks.check(f"the output of jit({name})", outs)
    except FloatingPointError:
        with set_current_trace(None):
            eval_jaxpr(entry.jaxpr, *entry.consts, *leaves)  # raises at the first bad equation
        raise


def _aval_for_trace(x):
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype, x.weak_type)
    return get_aval(x)


def _arg_path(path: str) -> str:
    # paths look like [0][1]['w'] for ((args), {kwargs}): name them as the user wrote them
    if path.startswith("[0]"):
        rest = path[3:]
        i = rest[1:rest.index("]")] if rest.startswith("[") else "?"
        return f"argument {i}{rest[rest.index(']') + 1:] if ']' in rest else ''}"
    if path.startswith("[1]"):
        return f"keyword argument {path[3:]}"
    return path


def _fmt_leaf(k) -> str:
    shape, dtype, weak = k[:3]
    from ftx.core.dtypes import short_name
    return (f"{short_name(dtype)}[{','.join(map(str, shape))}]" + (" (weak)" if weak else "")
            + (f" on {k[3]}" if len(k) > 3 else ""))


class Traced:
    """``jit(f).trace(*args)``: the traced jaxpr and the output types."""

    def __init__(self, jitted, entry, backend):
        self._jitted, self._entry, self._backend = jitted, entry, backend

    @property
    def jaxpr(self) -> Jaxpr:
        return self._entry.jaxpr

    @property
    def out_info(self):
        return pytree.tree_unflatten(self._entry.out_tree, [
            ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in self._entry.jaxpr.out_avals])

    def lower(self) -> "Lowered":
        return Lowered(self._jitted, self._entry, self._backend)


class Lowered:
    """A program ready to compile; ``.as_text()`` shows its graph."""

    def __init__(self, jitted, entry, backend):
        self._jitted, self._entry, self._backend = jitted, entry, backend

    def as_text(self) -> str:
        """The graph that will be compiled (after the graph passes), with each equation's
        source line."""
        return _backend_graph(self._entry.jaxpr, self._backend).pretty_print(source_info=True)

    def compile(self) -> "Compiled":
        return Compiled(self._jitted, self._entry, self._backend)

    def cost_analysis(self) -> dict:
        from ftx.compiler.analysis import cost_analysis
        return cost_analysis(_backend_graph(self._entry.jaxpr, self._backend))


class Compiled:
    """A compiled program for one signature: call it, inspect it.

    Calling it with other argument types raises a TypeError listing each mismatch.
    """

    def __init__(self, jitted, entry, backend):
        self._jitted, self._entry, self._backend = jitted, entry, backend
        self._run = _executable(entry.jaxpr, backend)

    @property
    def in_avals(self):
        return list(self._entry.in_avals)

    @property
    def out_info(self):
        return Traced(self._jitted, self._entry, self._backend).out_info

    def __call__(self, *args, **kwargs):
        key, leaves, tree, static, static_kw, backend = self._jitted._key(args, kwargs)
        expected = self._entry.in_avals
        mismatches = []
        if len(leaves) != len(expected):
            mismatches.append(f"expected {len(expected)} array arguments, got {len(leaves)}")
        for i, (x, a) in enumerate(zip(leaves, expected)):
            k = _leaf_key(x)
            if k[0] != a.shape or k[1] != a.dtype:
                mismatches.append(f"argument {i} compiled with {a.str_short()} and called with "
                                  f"{_fmt_leaf(k)}")
        if mismatches:
            raise TypeError("Argument types differ from the types for which this computation was "
                            "compiled. The mismatches are:\n  " + "\n  ".join(mismatches))
        _check_placement(leaves, backend, self._jitted.__name__, lambda: tree)
        outs = self._run(*self._entry.consts, *leaves)
        return pytree.tree_unflatten(self._entry.out_tree, outs)

    def as_text(self) -> str:
        """What runs: the generated executor and kernel sources (Numba), or the graph."""
        exe = self._run
        while hasattr(exe, "__wrapped__"):
            exe = exe.__wrapped__
        return exe.as_text()

    def cost_analysis(self) -> dict:
        """Estimated ``flops``, ``transcendentals`` and ``bytes accessed`` of one call."""
        from ftx.compiler.analysis import cost_analysis
        return cost_analysis(_backend_graph(self._entry.jaxpr, self._backend))

    def memory_analysis(self) -> dict:
        """Argument, output and temporary bytes, and the peak live bytes of one call."""
        from ftx.compiler.analysis import memory_analysis
        return memory_analysis(_backend_graph(self._entry.jaxpr, self._backend))


def jit(fun=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), backend=None):
    """Trace ``fun`` once per input signature and run it as one compiled program.

    >>> step = ftx.jit(ftx.value_and_grad(loss))
    >>> @ftx.jit
    ... def f(x): return fnp.tanh(x) * 2.0

    ``static_argnums``/``static_argnames`` are passed as Python values (they must
    be hashable; a new value traces again). ``backend``: 'cpu' (default),
    'cuda' (arguments are DeviceArrays from ``ftx.device_put(x, 'cuda')``; results
    stay on the GPU) or 'reference'. ``donate_argnums`` is accepted for JAX compatibility (NumPy
    arrays are never overwritten).
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_argnums=donate_argnums,
                                 backend=backend)
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, backend)


__all__ = ["jit", "jit_p", "no_retrace", "RetraceError", "Jitted", "Traced", "Lowered", "Compiled"]
