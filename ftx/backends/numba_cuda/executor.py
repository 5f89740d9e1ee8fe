"""A jaxpr as a CUDA program: generated plain Python that allocates flat device buffers,
launches the fused kernels and calls the other primitives' lowerings in order, dropping
buffers after their last use. Values stay on the device from input to output.

Primitives without a CUDA lowering (``host_fallbacks()`` lists them) run their NumPy impl
on the host: their operands are copied to the host and their results back at every call,
and the first compilation that needs one warns (``HostFallbackWarning``).
"""
from __future__ import annotations

import functools
import itertools
import warnings

import numpy as np

from ftx.backends.numba_cuda import control_flow, linalg, reductions, runtime, shape, slicing
from ftx.backends.numba_cuda.array import DeviceArray
from ftx.backends.numba_cuda.elementwise import KERNEL_DTYPES, SCALAR_EXPRESSIONS, can_fuse
from ftx.backends.numba_cuda.fused import FusedKernel
from ftx.backends.numba_cuda.kernels import Kernel, np_name
from ftx.compiler.fusion import Group, plan
from ftx.core.jaxpr import Jaxpr, Literal, Var


class HostFallbackWarning(UserWarning):
    """A primitive in a CUDA-jitted function has no GPU kernel and runs on the host."""


LOWERINGS: dict = {}
for _family in (shape, reductions, linalg, slicing, control_flow):
    LOWERINGS.update(_family.LOWERINGS)
_CALLS = frozenset(control_flow.LOWERINGS)  # their operands are passed through untouched


def _has_lowering(eqn) -> bool:
    name = eqn.primitive.name
    if name not in LOWERINGS:
        return False
    if name in _CALLS:
        return True
    dtypes = [v.aval.dtype for v in itertools.chain(eqn.invars, eqn.outvars)]
    if any(d not in KERNEL_DTYPES for d in dtypes):
        return False
    if name == "dot_general" and any(d.kind == "b" for d in dtypes):
        return False
    if name == "scatter_add" and not slicing.supports_scatter_add(eqn):
        return False
    return True


def lowered_primitives() -> list:
    """Names of the primitives that run as CUDA kernels (elementwise ones fused)."""
    return sorted(set(SCALAR_EXPRESSIONS) | set(LOWERINGS))


def host_fallbacks() -> list:
    """Names of the primitives that have no CUDA lowering and run on the host."""
    from ftx.core.primitive import all_primitives
    return sorted(set(all_primitives()) - set(lowered_primitives()))


class Builder:
    """What one compilation collects: its kernels (shared by nested programs) and the
    primitives that fall back to the host."""

    def __init__(self):
        self._kernels: dict = {}
        self.host_primitives: set = set()
        self.programs: list = []   # the top-level program first, then nested ones

    def kernel(self, what: str, body: str, arg_types) -> Kernel:
        k = Kernel(what, body, arg_types)
        return self._kernels.setdefault((k.source, k.arg_types), k)

    @property
    def kernels(self) -> list:
        return list(self._kernels.values())


def _host_step(eqn):
    """Run ``eqn``'s NumPy impl on host copies of its operands (Literals stay Python
    scalars, as the reference interpreter passes them)."""
    impl = functools.partial(eqn.primitive.impl, **eqn.params)
    invars, out_avals = eqn.invars, [v.aval for v in eqn.outvars]

    def step(*buffers):
        it = iter(buffers)
        host = [v.val if isinstance(v, Literal) else runtime.to_host(next(it), v.aval.shape)
                for v in invars]
        outs = impl(*host)
        return [runtime.to_device(np.asarray(o, a.dtype)) for o, a in zip(outs, out_avals)]
    return step


class Program:
    """One jaxpr as generated Python over flat device buffers: ``run_buffers(*inputs)``."""

    def __init__(self, jaxpr: Jaxpr, builder: Builder):
        self.jaxpr = jaxpr
        self._constants: list = []      # device buffers, made at the first call
        self._host_constants: list = []
        self._ready = False
        builder.programs.append(self)
        self.source, self._run = self._generate(jaxpr, builder)

    def _constant(self, value, dtype) -> str:
        self._host_constants.append(np.asarray(value, dtype))
        return f"_c[{len(self._host_constants) - 1}]"

    def _generate(self, jaxpr, builder):
        env: dict = {"np": np, "_empty": runtime.empty, "_c": self._constants}
        names: dict = {}
        lines: list = []
        counter = itertools.count(1)

        def name_of(v):
            if isinstance(v, Literal):
                return self._constant(v.val, v.aval.dtype)
            if v not in names:
                names[v] = f"t{next(counter)}"
            return names[v]

        args = [name_of(v) for v in jaxpr.invars]
        for v, c in zip(jaxpr.constvars, jaxpr.consts):
            lines.append(f"{name_of(v)} = {self._constant(c, v.aval.dtype)}")
        steps = plan(jaxpr, can_fuse)
        last_use = _last_uses(steps)
        keep = {v for v in jaxpr.outvars if isinstance(v, Var)} | set(jaxpr.invars)
        for i, step in enumerate(steps):
            if isinstance(step, Group):
                self._emit_group(step, builder, env, lines, name_of)
            else:
                self._emit_call(step.eqn, builder, env, lines, name_of)
            dead = [names[v] for v in last_use.get(i, ()) if v not in keep and v in names]
            if dead:
                lines.append(f"del {', '.join(dead)}")
        results = ", ".join(name_of(v) for v in jaxpr.outvars)
        body = "\n".join("    " + line for line in lines) or "    pass"
        source = f"def run({', '.join(args)}):\n{body}\n    return [{results}]\n"
        exec(compile(source, "<ftx cuda executor>", "exec"), env)  # noqa: S102 - generated
        return source, env["run"]

    def _emit_group(self, group, builder, env, lines, name_of):
        fk = FusedKernel(group, builder)
        kname = f"_k{len([k for k in env if k.startswith('_k')])}"
        outs = [name_of(v) for v in fk.outputs]
        for v, o in zip(fk.outputs, outs):
            lines.append(f"{o} = _empty({v.aval.size}, {np_name(v.aval.dtype)})")
        names = " ".join(e.primitive.name for e in group.eqns)
        if fk.empty:
            lines.append(f"# (empty) {names}")
            return
        env[kname] = _LazyLaunch(fk.kernel, fk.grid, fk.block)
        call_args = [name_of(v) for v in fk.operands] + outs + [str(n) for n in fk.sizes]
        lines.append(f"{kname}({', '.join(call_args)})  # {names}")

    def _emit_call(self, eqn, builder, env, lines, name_of):
        name = eqn.primitive.name
        sname = f"_s{len([k for k in env if k.startswith('_s')])}"
        outs = [name_of(v) for v in eqn.outvars]
        target = ", ".join(outs) + ("," if len(outs) == 1 else "")
        params = ", ".join(f"{k}={v!r}" for k, v in eqn.params.items()
                           if not isinstance(v, (Jaxpr, tuple)) or k.endswith("s"))
        comment = f"  # {name}" + (f"[{params}]" if params and len(params) < 80 else "")
        if not eqn.outvars[0].aval.shape and can_fuse(eqn):
            # A scalar elementwise equation: a one-thread kernel of one fused equation.
            group = Group(())
            group.eqns = [eqn]
            group.inputs = [v for v in eqn.invars if isinstance(v, Var)]
            group.outputs = list(eqn.outvars)
            self._emit_group(group, builder, env, lines, name_of)
            return
        if _has_lowering(eqn):
            env[sname] = LOWERINGS[name](builder, eqn)
            ins = ", ".join(name_of(v) for v in eqn.invars)
        else:
            builder.host_primitives.add(name)
            env[sname] = _host_step(eqn)
            ins = ", ".join(name_of(v) for v in eqn.invars if isinstance(v, Var))
            comment += "  (on the host)"
        lines.append(f"{target} = {sname}({ins}){comment}")

    def _prepare(self):
        self._constants[:] = [runtime.to_device(c) for c in self._host_constants]
        self._ready = True

    def run_buffers(self, *buffers) -> list:
        if not self._ready:
            self._prepare()
        return self._run(*buffers)


class _LazyLaunch:
    """A kernel launch whose Numba launcher is made at the first call (building an executor
    loads no kernel module, so it works where no GPU is present)."""

    __slots__ = ("kernel", "grid", "block", "_launch")

    def __init__(self, kernel, grid, block):
        self.kernel, self.grid, self.block, self._launch = kernel, grid, block, None

    def __call__(self, *args):
        if self._launch is None:
            self._launch = self.kernel.launcher(self.grid, self.block)
        self._launch(*args)


def _last_uses(steps) -> dict:
    """step index -> Vars whose last reader is that step."""
    last: dict = {}
    for i, step in enumerate(steps):
        reads = step.inputs if isinstance(step, Group) else step.eqn.invars
        for v in reads:
            if isinstance(v, Var):
                last[v] = i
    by_step: dict = {}
    for v, i in last.items():
        by_step.setdefault(i, []).append(v)
    return by_step


def build_program(jaxpr: Jaxpr, builder: Builder) -> Program:
    return Program(jaxpr, builder)


# --------------------------------------------------------------------------- the executable

_warned: set = set()
_CACHE_LIMIT = 256


class Executable:
    """A compiled graph for the CUDA backend: call it with DeviceArrays (and Python scalars);
    it returns DeviceArrays. ``kernels`` lists every generated kernel; ``as_text()`` shows
    the executor and the kernel sources."""

    def __init__(self, jaxpr: Jaxpr):
        self.builder = Builder()
        self.program = Program(jaxpr, self.builder)
        self.in_avals = [v.aval for v in jaxpr.invars]
        self.out_avals = [v.aval for v in jaxpr.outvars]
        self._host_inputs: dict = {}  # host value key -> (value, device buffer)
        new = self.builder.host_primitives - _warned
        if new:
            _warned.update(new)
            warnings.warn(
                f"ftx.jit(backend='cuda'): {', '.join(sorted(new))} "
                f"{'has' if len(new) == 1 else 'have'} no CUDA kernel and run{'s' if len(new) == 1 else ''} "
                "on the host: their operands are copied to the host and their results back at "
                "every call. ftx.backends.numba_cuda.host_fallbacks() lists every such primitive.",
                HostFallbackWarning, stacklevel=4)

    @property
    def kernels(self) -> list:
        return self.builder.kernels

    def __call__(self, *args):
        buffers = [x._buffer if type(x) is DeviceArray else self._host_input(x, a)
                   for x, a in zip(args, self.in_avals)]
        outs = self.program.run_buffers(*buffers)
        return [DeviceArray(b, a.shape, a.dtype) for b, a in zip(outs, self.out_avals)]

    def _host_input(self, x, aval):
        """A device copy of a host value: jit's constants and Python scalars (learning rates)
        arrive at every call, so their copies are kept (keyed by identity for arrays, by
        value for scalars)."""
        if isinstance(x, np.ndarray):
            key = ("array", id(x))
        elif isinstance(x, (bool, int, float, np.generic)) and x == x and x != 0:
            key = ("scalar", type(x), x, aval.dtype)
        else:
            return runtime.to_device(np.asarray(x, aval.dtype))
        hit = self._host_inputs.get(key)
        if hit is not None and (key[0] == "scalar" or hit[0] is x):
            return hit[1]
        if len(self._host_inputs) >= _CACHE_LIMIT:
            self._host_inputs.clear()
        buf = runtime.to_device(np.asarray(x, aval.dtype))
        self._host_inputs[key] = (x, buf)
        return buf

    def as_text(self) -> str:
        parts = [f"# executor\n{self.program.source}"]
        parts += [f"# nested executor\n{p.source}" for p in self.builder.programs[1:]]
        parts += [f"# kernel {i}: {k.what}\n{k.source}" for i, k in enumerate(self.kernels)]
        return "\n\n".join(parts)


def compile_jaxpr(jaxpr: Jaxpr) -> Executable:
    """An executable for ``jaxpr`` on the GPU (DeviceUnavailableError if none can run)."""
    runtime.require_device()
    return Executable(jaxpr)


__all__ = ["Executable", "compile_jaxpr", "lowered_primitives", "host_fallbacks",
           "HostFallbackWarning", "Builder", "Program", "build_program"]
