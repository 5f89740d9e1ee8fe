"""A jaxpr as an executor: generated plain Python that allocates outputs, calls the fused
kernels and the other primitives' NumPy impls in order, and drops temporaries after their
last use.

Lowering a jaxpr gives a *program*: the executor's source, the kernels' sources, and a
recipe for each name the executor reads (a kernel, the impl of equation i, a literal, a
constant). The recipe refers to the jaxpr only by position, so a program is plain data:
it is kept in memory and in the disk index under the jaxpr's canonical key, and any equal
jaxpr (a re-trace, a new process) gets its executor without planning or code generation.

The executor is per jaxpr (its shapes are constants); the kernels it calls are
shape-generic and shared by every graph that needs them.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from ftx.backends.numba_cpu import (buffers, control_flow, disk_index, elementwise,
                                    loop_codegen, reductions, threads)
from ftx.backends.numba_cpu.kernels import kernel_source, load_kernel
from ftx.compiler.fusion import Call, Group, plan
from ftx.core.jaxpr import Jaxpr, Literal, Var

# How each compile was served, in this process (for tests and `ftx.cache` users):
# lowered = planned and generated; memory_hits / disk_hits = reused a program;
# not_indexed = lowered a jaxpr that has no canonical key (e.g. a callable in its params).
stats = {"lowered": 0, "memory_hits": 0, "disk_hits": 0, "not_indexed": 0}

_programs: dict = {}   # canonical key -> _Program
_key_locks: dict = {}  # canonical key -> the lock its (single) compilation holds
_guard = threading.Lock()


class Executable:
    """A compiled graph: call it with the flat arguments; ``source`` (the executor) and
    ``kernel_sources`` show it. ``run`` is the generated executor itself, which ``jit``'s
    cached calls invoke directly (any executable may offer such a ``run``)."""

    def __init__(self, run, source: str, kernel_sources: list[str], loops=()):
        self.run, self.source, self.kernel_sources = run, source, kernel_sources
        self.loops = dict(loops)  # executor name -> a loop compiled whole (loop_codegen)

    def __call__(self, *args):
        return self.run(*args)

    def as_text(self) -> str:
        parts = [f"# executor\n{self.source}"]
        parts += [f"# kernel {i}\n{src}" for i, src in enumerate(self.kernel_sources)]
        parts += [f"# {name}: a {loop.what} loop compiled whole\n{loop.source}"
                  for name, loop in self.loops.items()]
        return "\n\n".join(parts)


def compile_jaxpr(jaxpr: Jaxpr) -> Executable:
    """The executable of ``jaxpr``: its program from memory, else from the disk index, else
    lowered now (and stored in both). Concurrent compiles of one program lower it once.

    >>> compile_jaxpr(ftx.make_jaxpr(lambda x: x * 2.0 + 1.0)(np.ones(3)).consts_as_inputs())
    """
    key = disk_index.program_key(jaxpr)
    if key is None:
        _count("not_indexed")
        return _lower(jaxpr).instantiate(jaxpr)
    with _guard:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        program = _programs.get(key)
        if program is not None:
            _count("memory_hits")
            return program.instantiate(jaxpr)
        program = disk_index.load(key, _Program.from_json)
        if program is not None:
            _count("disk_hits")
            executable = program.instantiate(jaxpr)
        else:
            program = _lower(jaxpr)
            executable = program.instantiate(jaxpr)  # only a program that loads is stored
            disk_index.store(key, program.to_json())
        _programs[key] = program
    return executable


def _count(what: str) -> None:
    with _guard:
        stats[what] += 1


class _Program:
    """A lowered jaxpr as plain data: ``source`` (the executor), ``kernel_sources``, and
    ``recipe``: each executor global name -> where its value comes from, one of
    ``["kernel", k]`` (kernel_sources[k]), ``["impl", i]`` (equation i's NumPy impl with its
    params), ``["literal", i, j]`` (input j of equation i; i = -1: output j of the jaxpr) or
    ``["const", k]``."""

    __slots__ = ("source", "kernel_sources", "recipe", "code")

    def __init__(self, source: str, kernel_sources: list, recipe: dict):
        self.source, self.kernel_sources, self.recipe = source, kernel_sources, recipe
        self.code = compile(source, "<ftx executor>", "exec")

    def instantiate(self, jaxpr: Jaxpr) -> Executable:
        """The executor bound to ``jaxpr``'s impls, literals and constants (``jaxpr`` equals,
        canonically, the one this program was lowered from)."""
        env = {"np": np, "_split": threads.run_split, "_empty": buffers.empty}
        for name, (kind, *where) in self.recipe.items():
            if kind in ("kernel", "kernel_rows"):
                env[name] = load_kernel(self.kernel_sources[where[0]], kind)
            elif kind == "impl":
                eqn = jaxpr.eqns[where[0]]
                # control flow runs its compiled sub-jaxprs; anything else its NumPy impl
                env[name] = (control_flow.lowering(eqn, compile_jaxpr)
                             or functools.partial(eqn.primitive.impl, **eqn.params))
            elif kind == "literal":
                i, j = where
                env[name] = (jaxpr.outvars[j] if i < 0 else jaxpr.eqns[i].invars[j]).val
            else:
                env[name] = jaxpr.consts[where[0]]
        exec(self.code, env)  # noqa: S102 - our own generated code
        loops = [(name, f) for name, f in env.items() if isinstance(f, loop_codegen._CompiledLoop)]
        return Executable(env["run"], self.source, self.kernel_sources, loops)

    def to_json(self) -> dict:
        return {"source": self.source, "kernel_sources": self.kernel_sources,
                "recipe": self.recipe}

    @classmethod
    def from_json(cls, data: dict) -> "_Program":
        """The program of a disk entry; ValueError if ``data`` is not one."""
        try:
            source, kernel_sources, recipe = data["source"], data["kernel_sources"], data["recipe"]
            ok = (isinstance(source, str) and isinstance(kernel_sources, list)
                  and all(isinstance(k, str) for k in kernel_sources) and isinstance(recipe, dict)
                  and all(isinstance(r, list) and r and r[0] in _RECIPE_ARITY
                          and len(r) == _RECIPE_ARITY[r[0]] + 1
                          and all(type(i) is int for i in r[1:]) for r in recipe.values()))
            if not ok:
                raise ValueError("a field has the wrong type")
            return cls(source, kernel_sources, recipe)
        except (KeyError, TypeError, SyntaxError) as e:
            raise ValueError(f"not a compiled program: {e!r}") from None


_RECIPE_ARITY = {"kernel": 1, "kernel_rows": 1, "impl": 1, "literal": 2, "const": 1}


def _lower(jaxpr: Jaxpr) -> _Program:
    """Plan fusion, generate the kernels and the executor."""
    _count("lowered")
    steps = plan(jaxpr, can_fuse)
    # A lone exp/log/tanh/...: NumPy's AVX-512 ufunc beats a 256-bit kernel; any second
    # operation in the loop tips it the other way.
    steps = [Call(s.eqns[0]) if isinstance(s, Group) and elementwise.prefers_numpy(s) else s
             for s in steps]
    position = {id(e): i for i, e in enumerate(jaxpr.eqns)}
    names: dict = {}
    recipe: dict = {}
    lines: list[str] = []
    kernel_sources: list[str] = []
    counter = [0]

    def name_of(v, where=None):
        """The executor's name for Var ``v``; a Literal becomes a global read from position
        ``where`` (equation index, input index) of the jaxpr."""
        if isinstance(v, Literal):
            name = f"_lit{len(recipe)}"
            recipe[name] = ["literal", *where]
            return name
        n = names.get(v)
        if n is None:
            counter[0] += 1
            n = names[v] = f"t{counter[0]}"
        return n

    arg_names = [name_of(v) for v in jaxpr.invars]
    last_use = _last_uses(jaxpr, steps)
    # Inputs and constants are the caller's (constants are globals): never deleted.
    keep = {v for v in jaxpr.outvars if isinstance(v, Var)} | set(jaxpr.invars) | \
        set(jaxpr.constvars)

    for i, step in enumerate(steps):
        if isinstance(step, Group):
            source, reads = kernel_source(step)
            kernel_sources.append(source)
            kname = f"_kernel{len(kernel_sources) - 1}"
            recipe[kname] = ["kernel", len(kernel_sources) - 1]
            outs = [name_of(v) for v in step.outputs]
            for v, o in zip(step.outputs, outs):
                lines.append(f"{o} = {_allocate(v.aval)}")
            args = [_read(name_of(v, _literal_position(v, step.eqns, position)), v)
                    for v in reads] + outs
            what = ' '.join(e.primitive.name for e in step.eqns)
            if step.reduce_axes is not None:
                args += [str(n) for n in step.shape]  # a reducing kernel's loop bounds
            if step.reduce_axes is None and threads.worth_splitting(step.shape, len(step.eqns)):
                recipe[kname] = ["kernel_rows", len(kernel_sources) - 1]
                lines.append(f"_split({kname}, {step.shape[0]}, {', '.join(args)})  # {what}")
            else:
                lines.append(f"{kname}({', '.join(args)})  # {what}")
        elif (matmul := _matmul_form(step.eqn)) is not None:
            eqn = step.eqn
            lhs, rhs = (name_of(v, (position[id(eqn)], j)) for j, v in enumerate(eqn.invars))
            lhs_t, rhs_t = matmul
            out = name_of(eqn.outvars[0])
            lines.append(f"{out} = {_allocate(eqn.outvars[0].aval)}")
            lines.append(f"np.matmul({lhs}{lhs_t}, {rhs}{rhs_t}, out={out})  # dot_general")
        else:
            eqn = step.eqn
            fname = f"_call{i}"
            recipe[fname] = ["impl", position[id(eqn)]]
            ins = ", ".join(name_of(v, (position[id(eqn)], j)) for j, v in enumerate(eqn.invars))
            outs = [name_of(v) for v in eqn.outvars]
            target = ", ".join(outs) + ("," if len(outs) == 1 else "")
            lines.append(f"{target} = {fname}({ins})  # {eqn.primitive.name}" if outs
                         else f"{fname}({ins})  # {eqn.primitive.name}")
        dead = [name_of(v) for v in last_use.get(i, ()) if v not in keep]
        if dead:
            lines.append(f"del {', '.join(dead)}")

    # An output must be a fresh array, as in JAX: returning the caller's input, a cached
    # constant or the same array twice would let a later in-place write change another.
    borrowed = set(jaxpr.invars) | set(jaxpr.constvars)
    results, seen = [], set()
    for j, v in enumerate(jaxpr.outvars):
        name = name_of(v, (-1, j))
        if isinstance(v, Var) and (v in borrowed or v in seen):
            name = f"np.array({name})"
        seen.add(v)
        results.append(name)
    results = ", ".join(results)
    for k, v in enumerate(jaxpr.constvars):
        recipe[name_of(v)] = ["const", k]
    body = "\n".join("    " + line for line in lines) or "    pass"
    source = f"def run({', '.join(arg_names)}):\n{body}\n    return [{results}]\n"
    return _Program(source, kernel_sources, recipe)


def _allocate(aval) -> str:
    """The executor expression making an uninitialized array for ``aval``: large ones on
    memory recycled across calls (see buffers.py)."""
    shape, dtype = aval.shape, aval.dtype
    if aval.nbytes < buffers.MIN_BYTES:
        return f"np.empty({shape!r}, np.{dtype.name})"
    return f"_empty({shape!r}, np.{dtype.name}, {aval.nbytes})"


_MATMUL_DTYPES = frozenset(np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))


def _matmul_form(eqn):
    """For a dot_general that is a (batched) matrix product of float arrays, the suffixes
    (".T" or "") that make its operands ``np.matmul``'s (…, M, K) and (…, K, N), so the
    executor can have BLAS write into an array it allocated; else None."""
    if eqn.primitive.name != "dot_general":
        return None
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = (v.aval for v in eqn.invars)
    pet = eqn.params.get("preferred_element_type")
    if (lhs.ndim != rhs.ndim or lhs.ndim not in (2, 3) or lhs.dtype != rhs.dtype
            or lhs.dtype not in _MATMUL_DTYPES or (pet is not None and pet != lhs.dtype)
            or len(lc) != 1 or len(rc) != 1 or tuple(lb) != tuple(rb)
            or tuple(lb) != tuple(range(lhs.ndim - 2)) or 0 in lhs.shape or 0 in rhs.shape):
        return None
    last, before = lhs.ndim - 1, lhs.ndim - 2
    transpose = ".T" if lhs.ndim == 2 else ".swapaxes(1, 2)"
    lhs_t = {last: "", before: transpose}[lc[0]]
    rhs_t = {before: "", last: transpose}[rc[0]]
    return lhs_t, rhs_t


def _literal_position(atom, eqns, position):
    """(equation index, input index) of Literal ``atom`` among ``eqns``; None for a Var."""
    if isinstance(atom, Literal):
        for eqn in eqns:
            for j, a in enumerate(eqn.invars):
                if a is atom:
                    return position[id(eqn)], j
    return None


def can_fuse(eqn) -> bool:
    """Whether a kernel of this backend computes ``eqn`` inline."""
    return elementwise.can_fuse(eqn) or reductions.can_fuse(eqn)


def _read(name, v):
    # Kernels index their inputs; Python scalars and NumPy scalars become 0-d arrays.
    return name if v.aval.shape else f"np.asarray({name})"


def _last_uses(jaxpr, steps) -> dict:
    """step index -> Vars whose last reader is that step (so the executor can drop them)."""
    last: dict = {}
    for i, step in enumerate(steps):
        if isinstance(step, Group):
            vars_read = list(step.inputs)
        else:
            vars_read = [v for v in step.eqn.invars if isinstance(v, Var)]
        for v in vars_read:
            last[v] = i
    by_step: dict = {}
    for v, i in last.items():
        by_step.setdefault(i, []).append(v)
    return by_step
