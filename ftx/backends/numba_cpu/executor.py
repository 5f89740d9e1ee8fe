"""A jaxpr as an executor: generated plain Python that allocates outputs, calls the fused
kernels and the other primitives' NumPy impls in order, and drops temporaries after their
last use.

The executor is per jaxpr (its shapes are constants); the kernels it calls are
shape-generic and shared by every graph that needs them.
"""
from __future__ import annotations

import functools

import numpy as np

from ftx.backends.numba_cpu import elementwise
from ftx.backends.numba_cpu.kernels import kernel_source, load_kernel
from ftx.compiler.fusion import Group, plan
from ftx.core.jaxpr import Jaxpr, Literal, Var


class Executable:
    """A compiled graph: call it with the flat arguments; ``source`` and ``kernels`` show it."""

    def __init__(self, run, source: str, kernel_sources: list[str]):
        self.run, self.source, self.kernel_sources = run, source, kernel_sources

    def __call__(self, *args):
        return self.run(*args)

    def as_text(self) -> str:
        parts = [f"# executor\n{self.source}"]
        parts += [f"# kernel {i}\n{src}" for i, src in enumerate(self.kernel_sources)]
        return "\n\n".join(parts)


def compile_jaxpr(jaxpr: Jaxpr) -> Executable:
    """Plan fusion, generate and load the kernels, generate the executor."""
    steps = plan(jaxpr, elementwise.can_fuse)
    names: dict = {}
    env: dict = {"np": np}
    lines: list[str] = []
    kernel_sources: list[str] = []
    counter = [0]

    def name_of(v):
        if isinstance(v, Literal):
            key = f"_lit{len(env)}"
            env[key] = v.val
            return key
        n = names.get(v)
        if n is None:
            counter[0] += 1
            n = names[v] = f"t{counter[0]}"
        return n

    arg_names = [name_of(v) for v in jaxpr.invars]
    last_use = _last_uses(jaxpr, steps)
    keep = {v for v in jaxpr.outvars if isinstance(v, Var)} | set(jaxpr.invars)

    for i, step in enumerate(steps):
        if isinstance(step, Group):
            source, reads = kernel_source(step)
            kernel_sources.append(source)
            kname = f"_kernel{len(kernel_sources) - 1}"
            env[kname] = load_kernel(source)
            outs = [name_of(v) for v in step.outputs]
            for v, o in zip(step.outputs, outs):
                lines.append(f"{o} = np.empty({v.aval.shape!r}, np.{v.aval.dtype.name})")
            args = ", ".join([_read(name_of(v), v) for v in reads] + outs)
            lines.append(f"{kname}({args})  # {' '.join(e.primitive.name for e in step.eqns)}")
        else:
            eqn = step.eqn
            fname = f"_call{i}"
            env[fname] = functools.partial(eqn.primitive.impl, **eqn.params)
            ins = ", ".join(name_of(v) for v in eqn.invars)
            outs = [name_of(v) for v in eqn.outvars]
            target = ", ".join(outs) + ("," if len(outs) == 1 else "")
            lines.append(f"{target} = {fname}({ins})  # {eqn.primitive.name}" if outs
                         else f"{fname}({ins})  # {eqn.primitive.name}")
        dead = [name_of(v) for v in last_use.get(i, ()) if v not in keep]
        if dead:
            lines.append(f"del {', '.join(dead)}")

    results = ", ".join(name_of(v) for v in jaxpr.outvars)
    consts = jaxpr.constvars
    if consts:
        env.update({name_of(v): c for v, c in zip(consts, jaxpr.consts)})
    body = "\n".join("    " + line for line in lines) or "    pass"
    source = f"def run({', '.join(arg_names)}):\n{body}\n    return [{results}]\n"
    exec(compile(source, "<ftx executor>", "exec"), env)  # noqa: S102 - our own generated code
    return Executable(env["run"], source, kernel_sources)


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
