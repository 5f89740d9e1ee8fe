"""Leaked-tracer checking: ``with ftx.checking_leaks(): ...``.

A tracer *leaks* when a transformed function stores it somewhere that outlives the transform
(a global, a list in a closure, an object attribute). Used later it raises
``UnexpectedTracerError`` far from the cause; inside this block the leak is reported as soon as
the outermost transform around it finishes, with where the tracer was created and what holds it.

How. While a block is active, ``Trace.invalidate`` (which every transform calls as it exits)
calls ``_on_trace_exit``, and tracer constructors record the user's line. When the outermost
trace exits, the traces finished so far are checked. The transforms' frames still hold tracers
in local variables then; running frames are invisible to ``gc.get_referrers``, so walking
referrers up from each tracer separates a tracer held only by plain containers and ftx objects
(running code: fine) from one reachable from a module global, a user function's closure or
defaults, or a user object (leaked). When the block exits, every trace that finished inside it
is checked again, strictly: ftx's frames have all returned, so any of its tracers still alive
is leaked, unless only an exception traceback holds it (an error the user caught).

The hooks are process-wide (all threads) while any block is active and cost nothing outside
one; inside, each outermost transform costs a few scans of the garbage collector's objects
(milliseconds).
"""
from __future__ import annotations

import collections
import functools
import gc
import sys
import types
import weakref

from ftx.core import trace as trace_module
from ftx.core.errors import UnexpectedTracerError
from ftx.core.source_info import _is_internal, current_source_info
from ftx.core.trace import Trace, Tracer


class LeakedTracerError(UnexpectedTracerError):
    """``checking_leaks`` found tracers still referenced after their transform finished.

    A subclass of ``UnexpectedTracerError``: both report the same mistake (a traced value
    escaped its transform), this one where it happens instead of where the value is next used.
    """


class checking_leaks:
    """Context manager: raise ``LeakedTracerError`` when a transform inside the block leaves
    tracers behind (stored in a global, a closure's list, an object attribute).

    >>> stash = []
    >>> with ftx.checking_leaks():
    ...     ftx.grad(lambda x: stash.append(x) or x * x)(1.0)
    LeakedTracerError: ... 1 tracer of the JVPTrace of grad for <lambda> at ...
      JVPTracer(f64[]) created at <stdin>:2 (<lambda>), held by __main__.stash[0]

    The check runs as each outermost transform exits (naming the trace, the traced function,
    the line that created each tracer and the chain of references that keeps it alive) and
    once more when the block exits. Tracing is slower inside the block (a few milliseconds per
    transform); outside it nothing is checked and nothing costs.
    """

    def __enter__(self):
        if not _blocks:
            _install()
        self._finished = []  # weak references to the traces that finished inside the block
        _blocks.append(self._finished)
        return self

    def __exit__(self, exc_type, exc, tb):
        _blocks.remove(self._finished)
        try:
            if exc_type is None:  # on an error, its traceback holds tracers: no report
                _check_finished(self._finished)
        finally:
            if not _blocks:
                _uninstall()
        return False


_blocks: list[list] = []                  # one list of finished traces per active block
_sites: dict[int, object] = {}            # id(tracer) -> SourceInfo of the line that made it
_original_inits: dict[type, object] = {}  # tracer class -> its __init__ while patched
_unchecked: list = []                     # finished inner traces, checked with the outermost


def _install() -> None:
    trace_module.on_trace_exit = _on_trace_exit
    # Tracer classes share no constructor, so the creation line is recorded by wrapping each
    # one's __init__ for the duration of the block (it walks the stack once per tracer).
    for cls in _subclasses(Tracer):
        init = cls.__dict__.get("__init__")
        if init is not None:
            _original_inits[cls] = init
            cls.__init__ = _recording_site(init)


def _uninstall() -> None:
    trace_module.on_trace_exit = None
    for cls, init in _original_inits.items():
        cls.__init__ = init
    _original_inits.clear()
    _sites.clear()
    _unchecked.clear()


def _subclasses(cls) -> list:
    found, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _recording_site(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        # Keyed by id: tracers have no __weakref__ slot. A stale entry of a dead tracer is
        # overwritten when its address is reused, since every tracer made here passes here.
        _sites[id(self)] = current_source_info()
    return __init__


def _on_trace_exit(trace: Trace) -> None:
    ref = weakref.ref(trace)
    for finished in _blocks:
        finished.append(ref)
    _unchecked.append(ref)
    if trace.parent is not None:
        # Checked with the outermost one: each check scans all objects (milliseconds), and
        # one transform can run dozens of inner traces (control flow, nested rules).
        return
    refs = list(_unchecked)
    _unchecked.clear()
    if sys.exc_info()[0] is not None:
        # An error is propagating through the transform (or being handled around it): its
        # traceback keeps tracers alive, and a leak report would hide the real error.
        return
    leaks = _find_leaks(refs, strict=False)
    if leaks:
        # One report per transform call: its traces are not checked again at the block's exit.
        for finished in _blocks:
            finished[:] = [r for r in finished if r not in refs]
        # Raised from the transform's finally block, so the traceback shows the transform call.
        raise LeakedTracerError(_message(leaks, "after its transform finished"))


def _check_finished(finished: list) -> None:
    gc.collect()  # traces sit in reference cycles (tag is self); collect the dead ones first
    leaks = _find_leaks(finished, strict=True)
    if leaks:
        raise LeakedTracerError(_message(leaks, "when the checking_leaks() block exited"))


# --- walking referrers ------------------------------------------------------------------------

_MAX_DEPTH = 12     # referrer levels walked up from a tracer
_MAX_NODES = 5000   # objects visited per check; past this the check gives up (no report)
_HOLDER = "holder"    # a leak root: a global, a user function, class or object, a user frame
_THROUGH = "through"  # a container, iterator, ftx or library object: walk up to what holds it
_DEAD_END = "dead end"  # an exception traceback's frame, or ftx's own running code: no leak

_LIBRARIES = frozenset({"builtins", "numpy", "ftx"}) | frozenset(sys.stdlib_module_names)


def _kind(obj, strict: bool, running: set) -> str:
    if isinstance(obj, types.FrameType):
        running = id(obj) in running
        user = not _is_internal(obj.f_code.co_filename)
        # Before 3.11 running frames are visible referrers too: a user's one holds a leak
        # once ftx has returned (strict); ftx's own, and finished frames kept by a
        # traceback (an error the user caught), do not.
        return _HOLDER if strict and running and user else _DEAD_END
    if isinstance(obj, dict) and _module_name(obj) is not None:
        return _HOLDER
    if isinstance(obj, (types.ModuleType, type)):
        return _HOLDER
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        code = obj.__code__
    elif isinstance(obj, (types.GeneratorType, types.CoroutineType)):
        code = getattr(obj, "gi_code", None) or obj.cr_code
    else:  # an instance: a user's class holds it; builtins, the stdlib, numpy and ftx pass
        module = getattr(type(obj), "__module__", None) or ""
        return _THROUGH if module.partition(".")[0] in _LIBRARIES else _HOLDER
    return _THROUGH if _is_internal(code.co_filename) else _HOLDER


def _running_frames() -> set:
    ids, frame = set(), sys._getframe()
    while frame is not None:
        ids.add(id(frame))
        frame = frame.f_back
    return ids


def _module_name(d: dict):
    """The name of the module whose globals ``d`` is, or None."""
    name = d.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    return name if module is not None and getattr(module, "__dict__", None) is d else None


def _find_leaks(trace_refs, strict: bool) -> list:
    """``[(trace, tracer, path)]`` for each tracer of the traces that the weak references
    ``trace_refs`` point to, if something holds it, with
    ``path`` the objects from the holder down to the tracer.

    Not strict: only a holder (global, user function or object) counts, since containers
    nobody refers to are local variables of the transform still running. Strict: those count
    too. A frame object (traceback, generator) never counts.
    """
    keep = []  # every container made here: they refer to the objects walked, so are ignored
    ignore = {id(keep)}

    def kept(container):
        keep.append(container)
        ignore.add(id(container))
        return container

    traces = kept([t for t in (ref() for ref in trace_refs) if t is not None])
    if not traces:
        return []
    trace_ids = kept({id(t) for t in traces})
    tracers = kept([r for r in kept(gc.get_referrers(*traces))
                    if isinstance(r, Tracer) and id(r._trace) in trace_ids])
    if not tracers:
        return []
    running = _running_frames()
    down = kept({id(t): None for t in tracers})  # id(node) -> the node it was reached from
    nodes = kept({id(t): t for t in tracers})
    holders = kept([])
    level = tracers
    for _ in range(_MAX_DEPTH):
        level_ids = kept({id(x) for x in level})
        held = kept(set())
        upper = kept([])
        for ref in kept(gc.get_referrers(*level)):
            if id(ref) in ignore:
                continue
            children = [id(c) for c in gc.get_referents(ref) if id(c) in level_ids]
            if not children:
                continue
            held.update(children)
            child = nodes[children[0]]
            if id(ref) in nodes:
                continue
            nodes[id(ref)], down[id(ref)] = ref, child
            kind = _kind(ref, strict, running)
            if kind == _HOLDER:
                holders.append(ref)
            elif kind == _THROUGH:
                upper.append(ref)
        if strict:  # referred to by nothing visible: a local variable of running (user) code
            holders.extend(x for x in level if id(x) not in held)
        if not upper or len(nodes) > _MAX_NODES:
            break
        level = upper
    leaks, reported = [], set()
    for holder in holders:
        path = [holder]
        while down[id(path[-1])] is not None:
            path.append(down[id(path[-1])])
        tracer = path[-1]
        if id(tracer) not in reported:
            reported.add(id(tracer))
            leaks.append((tracer._trace, tracer, path))
    return leaks


# --- the report -------------------------------------------------------------------------------

def _message(leaks, when: str) -> str:
    by_trace: dict[int, list] = {}
    for trace, tracer, path in leaks:
        by_trace.setdefault(id(trace), []).append((trace, tracer, path))
    lines = []
    for group in by_trace.values():
        trace = group[0][0]
        n = len(group)
        tracers = f"{n} tracer{'s' if n > 1 else ''}"
        lines.append(f"ftx.checking_leaks: {tracers} of {_trace_name(trace)} "
                     f"{'are' if n > 1 else 'is'} still referenced {when}:")
        for _, tracer, path in group[:5]:
            site = _sites.get(id(tracer)) or getattr(tracer, "_source_info", None)
            created = f"created at {site}" if site is not None else "created by ftx (no user line)"
            lines.append(f"  {_tracer_repr(tracer)} {created}, held by {_render_path(path)}")
        if n > 5:
            lines.append(f"  ... and {n - 5} more")
    lines.append("A transformed function stored a traced value outside itself (in a global, a "
                 "closure's list or dict, an object attribute). Traced values are placeholders "
                 "that mean nothing once the transform ends. Return the value from the function "
                 "instead (with has_aux=True under grad/value_and_grad for auxiliary values), or "
                 "store concrete values after the transformed function returns.")
    return "\n".join(lines)


def _trace_name(trace) -> str:
    debug = trace.debug
    kind = type(trace).__name__
    if debug is None:
        return f"a {kind} made inside another transform"
    return f"the {kind} of {debug.transform} for {debug.func_src}"


def _tracer_repr(tracer) -> str:
    try:
        return f"{type(tracer).__name__}({tracer.aval.str_short()})"
    except Exception:  # the report must not fail on a tracer that cannot describe itself
        return type(tracer).__name__


def _render_path(path) -> str:
    """``tests.test_x.stash[0]``, ``function f (closure variable 'cache')['x']``: the holder,
    then each access down to the tracer, as Python would spell it."""
    holder, rest = path[0], list(path[1:])
    if isinstance(holder, dict) and _module_name(holder) is not None:
        text = _module_name(holder)
    elif isinstance(holder, types.FunctionType):
        text = f"function {holder.__qualname__}"
        closure = holder.__closure__
        if len(rest) > 1 and rest[0] is closure:  # name the closure variable
            index = next(i for i, cell in enumerate(closure) if cell is rest[1])
            text += f" (closure variable {holder.__code__.co_freevars[index]!r})"
            holder, rest = rest[1], rest[2:]
    elif isinstance(holder, types.FrameType) and rest:  # a user's running function (< 3.11)
        name = next((k for k, v in holder.f_locals.items() if v is rest[0]), "?")
        code = holder.f_code
        text = f"local variable {name!r} of {code.co_name} ({code.co_filename}:{holder.f_lineno})"
        holder, rest = rest[0], rest[1:]
    elif isinstance(holder, type):
        text = f"class {holder.__qualname__}"
    elif isinstance(holder, types.ModuleType):
        text = f"module {holder.__name__}"
    elif not rest:
        text = "a local variable of running code"
    elif getattr(type(holder), "__module__", "").partition(".")[0] in _LIBRARIES:
        text = f"a local variable of running code (a {type(holder).__name__})"
    else:
        text = f"a {type(holder).__qualname__} object"
    attributes = False  # the previous step entered an object's __dict__
    for child in rest:
        if not isinstance(holder, dict) and getattr(holder, "__dict__", None) is child:
            attributes = True
        else:
            step = _access(holder, child)
            text += f".{step[2:-2]}" if attributes and step.startswith("['") else step
            attributes = False
        holder = child
    return text


def _access(parent, child) -> str:
    """How ``child`` is reached from ``parent``, as Python would spell it."""
    if isinstance(parent, dict):
        key = next((k for k, v in parent.items() if v is child), "?")
        if _module_name(parent) is not None and isinstance(key, str):
            return f".{key}"
        return f"[{key!r}]"
    if isinstance(parent, (list, tuple, collections.deque)):
        return f"[{next((i for i, v in enumerate(parent) if v is child), '?')}]"
    if isinstance(parent, types.CellType):
        return ""  # a closure cell: the variable was named by its function
    for name in _attribute_names(parent):
        try:
            if getattr(parent, name) is child:
                return f".{name}"
        except Exception:  # a property or unset slot: not this one
            continue
    return f" -> {type(child).__name__}"


def _attribute_names(obj) -> list:
    names = list(getattr(obj, "__dict__", {}) or {})
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return names + ["__closure__", "__defaults__", "__kwdefaults__", "__self__", "__func__"]
