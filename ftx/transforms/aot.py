"""``ftx.aot_function`` and ``ftx.aot_module``: the compiled forward and backward graphs of a
function, functorch style, for inspecting and for plugging in your own compilers.

    fwd, bwd = ftx.aot_function(loss, partition="min_cut").trace(params, x)
    print(fwd.as_text())            # primals -> outputs + saved residuals
    print(bwd.inputs)               # [residual 0: ..., cotangent of output 0]
    fwd.memory_analysis(); print(trace.log)

The function is traced once per argument signature to a jaxpr; its JVP is split by
the partitioner (``ftx.compiler.partition``: min-cut rematerialization, or
``'save_all'``) into a forward returning the primal outputs and the saved values,
and a linear part that is transposed into the backward. Each input and output of
both graphs has a descriptor (primal i, output j, residual k and where it comes
from, cotangent of output j, gradient of primal i). Calling the ``aot_function``
runs the compiled graphs, and ``ftx.grad`` of it runs the compiled backward.

Compilers are plain functions ``jaxpr -> callable(*flat_args) -> list``; by default
the graphs are compiled like ``ftx.jit`` does. The backward compiles on first use.
"""
from __future__ import annotations

import functools

import numpy as np

from ftx.compiler import partition as _partition  # defines the remat config options
from ftx.core import pytree
from ftx.core.avals import get_aval
from ftx.core.config import config
from ftx.core.jaxpr import Jaxpr, Var, eval_jaxpr
from ftx.core.source_info import function_source_info
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import TraceDebugInfo, Tracer, current_trace, set_current_trace
from ftx.transforms._remat import schedule_late


class Desc:
    """What one input or output of a derived graph is: ``primal 0 (args[0]['w'])``,
    ``residual 2: output of tanh (forward equation 5)``, ``gradient of primal 0 (...)``."""

    __slots__ = ("kind", "index", "name", "of")

    def __init__(self, kind: str, index: int, name: str = "", of: "Desc | None" = None):
        self.kind, self.index, self.name, self.of = kind, index, name, of

    def __repr__(self):
        if self.of is not None:
            return f"{self.kind} of {self.of!r}"
        if self.kind == "residual":
            return f"residual {self.index}: {self.name}"
        return f"{self.kind} {self.index}" + (f" ({self.name})" if self.name else "")

    def __eq__(self, other):
        return isinstance(other, Desc) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


def default_compiler(jaxpr: Jaxpr):
    """Compile ``jaxpr`` as ``ftx.jit`` does, on ``config.default_backend``."""
    from ftx.transforms.jit import _executable
    return _executable(jaxpr, config.default_backend)


class AOTGraph:
    """One compiled graph: ``jaxpr``, ``inputs``/``outputs`` descriptors, and ``compiled``
    (the compiler's callable, built on first use). Call it with the flat inputs."""

    def __init__(self, name: str, jaxpr: Jaxpr, inputs, outputs, compiler):
        self.name, self.jaxpr, self.inputs, self.outputs = name, jaxpr, list(inputs), list(outputs)
        self._compiler, self._compiled = compiler, None

    @property
    def compiled(self):
        if self._compiled is None:
            self._compiled = self._compiler(self.jaxpr)
        return self._compiled

    @property
    def is_compiled(self) -> bool:
        return self._compiled is not None

    def __call__(self, *flat_args) -> list:
        return list(self.compiled(*flat_args))

    def as_text(self) -> str:
        """The graph, each equation with its source line, after a list of what the inputs and
        outputs are."""
        head = [f"# {self.name}"]
        head += [f"# input {i}: {d!r}" for i, d in enumerate(self.inputs)]
        head += [f"# output {i}: {d!r}" for i, d in enumerate(self.outputs)]
        return "\n".join(head) + "\n" + self.jaxpr.pretty_print(source_info=True)

    def memory_analysis(self) -> dict:
        """Argument, output, temporary and peak bytes of one call (static estimate)."""
        from ftx.compiler.analysis import memory_analysis
        return memory_analysis(self.jaxpr)

    def __repr__(self):
        return (f"AOTGraph({self.name}: {len(self.inputs)} inputs, {len(self.outputs)} outputs, "
                f"{len(self.jaxpr.eqns)} equations)")


class AOTTrace:
    """``fwd, bwd = aot_function(f).trace(*args)``: the two graphs, the partitioner's log,
    and ``memory_analysis()`` of the pair."""

    def __init__(self, forward: AOTGraph, backward: AOTGraph, partition, residual_descs):
        self.forward, self.backward, self.partition = forward, backward, partition
        self.residuals = residual_descs

    def __iter__(self):
        yield self.forward
        yield self.backward

    @property
    def log(self) -> str:
        """Each saved value with its bytes and why, each recomputed equation."""
        return self.partition.log

    def memory_analysis(self) -> dict:
        """Bytes the forward saves for the backward (``residual_bytes``: computed by the
        forward, ``passthrough_bytes``: its inputs, passed through without a copy), the
        simulated peak of forward then backward, and each graph's own analysis."""
        res = _partition.residual_bytes(self.partition)
        return {"residual_bytes": res["saved"], "passthrough_bytes": res["passthrough"],
                "num_residuals": len(self.partition.saved_from),
                "simulated_peak_bytes": self.partition.memory["peak"],
                "forward": self.forward.memory_analysis(),
                "backward": self.backward.memory_analysis()}


class _Entry:
    """Everything for one argument signature."""

    def __init__(self, aot, leaves, in_tree, paths):
        from ftx.transforms.jvp import jvp_jaxpr
        from ftx.transforms.transpose import transpose_jaxpr
        store = {}

        def flat_fun(*flat):
            a, k = pytree.tree_unflatten(in_tree, flat)
            out, store["tree"] = pytree.tree_flatten(aot._fun(*a, **k))
            return out

        debug = TraceDebugInfo("aot_function", function_source_info(aot._fun))
        jaxpr = trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves], debug)
        if any(isinstance(c, Tracer) for c in jaxpr.consts):
            raise TypeError(f"aot_function: {function_source_info(aot._fun)} closes over a value "
                            "traced by an enclosing transform; pass it as an argument instead")
        self.out_tree, self.consts = store["tree"], list(jaxpr.consts)
        closed = jaxpr.consts_as_inputs()
        self.primal = closed
        n_c, n = len(self.consts), len(leaves)
        diff = [a.dtype.kind in "fc" for a in closed.in_avals[n_c:]]
        self.diff = diff
        jvp, out_nz = jvp_jaxpr(closed, [False] * n_c + diff, instantiate=True)
        n_out, n_tan = len(closed.outvars), sum(diff)
        part = _partition.partition_jaxpr(
            jvp, [False] * (n_c + n) + [True] * n_tan, partitioner=aot._partition,
            budget=aot._budget, policy=aot._policy, name=getattr(aot._fun, "__name__", "f"))
        if any(part.out_unknowns[:n_out]):
            raise AssertionError("aot_function: a primal output depends on a tangent (ftx bug)")
        self.part = part
        tangent_of = [j for j, nz in enumerate(out_nz) if nz]  # tangent k is of output j
        self.ct_outputs = [j for k, j in enumerate(tangent_of) if part.out_unknowns[n_out + k]]
        n_saved = len(part.saved_from)
        lin = part.backward
        t = transpose_jaxpr(lin, [False] * n_saved + [True] * n_tan)
        bwd = schedule_late(t, t.invars[n_saved:])

        # Descriptors.
        primal_descs = [Desc("param" if aot._params_first and i < aot._num_params else "primal",
                             i, p) for i, p in enumerate(paths)]
        out_descs = [Desc("output", j) for j in range(n_out)]
        const_descs = [Desc("constant", i) for i in range(len(part.consts) + n_c)]
        fwd_in = const_descs + primal_descs
        producer = {v: (k, e) for k, e in enumerate(part.forward.eqns) for v in e.outvars}
        res_descs = []
        for r, (kind, i) in enumerate(part.saved_from):
            if kind == "arg":
                what = f"{fwd_in[i]!r}, passed through"
            else:
                v = part.forward.outvars[i]
                k, e = producer.get(v, (None, None)) if isinstance(v, Var) else (None, None)
                what = ("a forward input" if e is None else
                        f"output of {e.primitive.name} (forward equation {k}"
                        + (f", {e.source_info}" if e.source_info else "") + ")")
            res_descs.append(Desc("residual", r, what))
        saved_outs = [d for d, (kind, _) in zip(res_descs, part.saved_from) if kind == "out"]
        self.forward = AOTGraph(f"forward of {aot.__name__}", part.forward, fwd_in,
                                out_descs + saved_outs, aot._fw_compiler)
        diff_descs = [d for d, is_diff in zip(primal_descs, diff) if is_diff]
        self.backward = AOTGraph(
            f"backward of {aot.__name__}", bwd,
            res_descs + [Desc("cotangent", j, of=out_descs[j]) for j in self.ct_outputs],
            [Desc("gradient", i, of=d) for i, d in enumerate(diff_descs)], aot._bw_compiler)
        self.trace = AOTTrace(self.forward, self.backward, part, res_descs)
        self._inference = self._linear = None
        self._fw_compiler = aot._fw_compiler
        self.call = self._differentiable_call()

    # ------------------------------------------------------------------ running

    def _fwd_args(self, leaves):
        return [*self.part.consts, *self.consts, *leaves]

    def run_primal(self, leaves) -> list:
        if _traced(leaves):
            return eval_jaxpr(self.primal, *self.consts, *leaves)
        if self._inference is None:  # no derivative wanted: the plain graph, no residuals
            self._inference = self._fw_compiler(self.primal)
        return list(self._inference(*self.consts, *leaves))

    def run_forward(self, leaves):
        args = self._fwd_args(leaves)
        outs = eval_jaxpr(self.part.forward, *args) if _traced(leaves) else self.forward(*args)
        residuals = [args[i] if kind == "arg" else outs[i] for kind, i in self.part.saved_from]
        return outs[:self.part.num_known_out], residuals

    def run_backward(self, residuals, cts) -> list:
        cts = [cts[j] for j in self.ct_outputs]
        if _traced(list(residuals) + list(cts)):
            grads = eval_jaxpr(self.backward.jaxpr, *residuals, *cts)
        else:
            grads = self.backward(*residuals, *cts)
        it = iter(grads)
        return [next(it) if d else None for d in self.diff]

    def run_linear(self, residuals, tangents) -> list:
        """Forward mode from the saved residuals: the partition's linear graph (the backward
        before transposition) maps input tangents to output tangents."""
        tans = [t for t, d in zip(tangents, self.diff) if d]
        if _traced(list(residuals) + tans):
            outs = eval_jaxpr(self.part.backward, *residuals, *tans)
        else:
            if self._linear is None:
                self._linear = self._fw_compiler(self.part.backward)
            outs = self._linear(*residuals, *tans)
        result = [np.zeros(a.shape, a.to_tangent_aval().dtype) for a in self.primal.out_avals]
        for j, t in zip(self.ct_outputs, outs):
            result[j] = t
        return result

    def _differentiable_call(self):
        from ftx.transforms.custom_derivatives import custom_vjp

        def primal(*leaves):
            return self.run_primal(list(leaves))

        def fwd(*leaves):
            return self.run_forward(list(leaves))

        def bwd(residuals, cts):
            return tuple(self.run_backward(list(residuals), list(cts)))

        def linear(residuals, tangents):
            return self.run_linear(list(residuals), list(tangents))

        call = custom_vjp(primal)
        call.defvjp(fwd, bwd)
        call.fwd_jvp = linear  # so jvp/jacfwd work too: the graph is known, unlike a user's
        return call


def _traced(values) -> bool:
    # Concrete arrays run the compiled graphs even inside a transform's rule (the values
    # are known there); tracers replay the jaxprs into the transform.
    return any(isinstance(v, Tracer) for v in values)


class AOTFunction:
    """What ``aot_function`` returns: call it like the function; ``.trace(*args)`` gives the
    forward and backward graphs for those argument types."""

    def __init__(self, fun, fw_compiler, bw_compiler, partition, memory_budget, policy,
                 num_params=0):
        functools.update_wrapper(self, fun)
        if not hasattr(self, "__name__"):
            self.__name__ = type(fun).__name__
        self._fun = fun
        self._fw_compiler = fw_compiler or default_compiler
        self._bw_compiler = bw_compiler or self._fw_compiler
        if partition is not None:
            _partition._check_partitioner(partition)
        if memory_budget is not None:
            _partition._check_budget(memory_budget)
        self._partition, self._budget, self._policy = partition, memory_budget, policy
        self._params_first, self._num_params = num_params > 0, num_params
        self._entries: dict = {}

    def _entry(self, args, kwargs):
        leaves_paths, in_tree = pytree.tree_flatten_with_path((args, kwargs))
        leaves = [x for _, x in leaves_paths]
        key = (in_tree, tuple(_leaf_key(x) for x in leaves))
        entry = self._entries.get(key)
        if entry is None:
            paths = [_name(p, self._num_params, i) for i, (p, _) in enumerate(leaves_paths)]
            with set_current_trace(None):  # trace at top level: the graphs must not close over
                entry = self._entries[key] = _Entry(self, leaves, in_tree, paths)  # tracers
        return entry, leaves

    def trace(self, *args, **kwargs) -> AOTTrace:
        """The forward and backward graphs for these argument types (nothing is compiled)."""
        return self._entry(args, kwargs)[0].trace

    def __call__(self, *args, **kwargs):
        entry, leaves = self._entry(args, kwargs)
        if current_trace() is None:  # nothing to differentiate: the plain compiled graph
            outs = entry.run_primal(leaves)
        else:
            outs = entry.call(*leaves)
        return pytree.tree_unflatten(entry.out_tree, list(outs))

    def __repr__(self):
        return f"aot_function({function_source_info(self._fun)})"


def _leaf_key(x):
    a = get_aval(x)
    return (a.shape, a.dtype, a.weak_type)


def _name(path, num_params, i) -> str:
    text = pytree.keystr(path)
    if num_params and text.startswith("[0][0]"):  # aot_module: the module is argument 0
        return "module" + text[6:]
    if text.startswith("[0]"):
        return "args" + text[3:]
    return "kwargs" + text[3:]


def aot_function(fun, fw_compiler=None, bw_compiler=None, partition=None, *,
                 memory_budget=None, policy=None) -> AOTFunction:
    """The compiled forward and backward of ``fun``, functorch's ``aot_function``.

    >>> fwd, bwd = ftx.aot_function(f, partition="min_cut").trace(x, w)
    >>> print(bwd.as_text())
    >>> g = ftx.grad(lambda x: ftx.aot_function(f)(x, w))(x)   # runs the compiled graphs

    ``fw_compiler``/``bw_compiler``: ``jaxpr -> callable(*flat_args) -> list`` (default:
    compile as ``ftx.jit``; ``bw_compiler`` defaults to ``fw_compiler``). ``partition``:
    'min_cut' (save the cheapest values, recompute elementwise chains), 'save_all'
    (default: ``ftx.config.remat_partitioner``, 'min_cut'), or your own function
    ``(forward_jaxpr, num_outputs) -> the Vars to save`` (``forward_jaxpr`` returns the
    primal outputs then every value the backward reads; what you do not save is recomputed,
    except side effects and random bits, which are always saved).
    ``memory_budget`` in [0, 1]: trade more recomputation for a lower simulated peak
    (default ``ftx.config.activation_memory_budget``). ``policy``: a checkpoint policy
    (``ftx.checkpoint_policies``) imposed on every equation as a hard constraint.
    Forward mode (``jvp``, ``jacfwd``) runs the partition's linear graph on the residuals.
    """
    if not callable(fun):
        raise TypeError(f"aot_function: expected a function, got {type(fun).__name__}")
    return AOTFunction(fun, fw_compiler, bw_compiler, partition, memory_budget, policy)


class AOTModule:
    """``aot_module(model)``: call it like the model, with its parameters as inputs of the
    compiled graphs (descriptors ``param 0 (module.layers[0].weight)``). A pytree whose
    child is the model, so ``ftx.grad`` with respect to it gives the parameters' gradients."""

    def __init__(self, module, aot):
        self.module, self._aot = module, aot

    def __call__(self, *args, **kwargs):
        return self._aot(self.module, *args, **kwargs)

    def trace(self, *args, **kwargs) -> AOTTrace:
        return self._aot.trace(self.module, *args, **kwargs)

    def __repr__(self):
        return f"aot_module({type(self.module).__name__})"


pytree.register_pytree_node(AOTModule, lambda m: ([m.module], m._aot),
                            lambda aot, children: AOTModule(children[0], aot))


def aot_module(module, fw_compiler=None, bw_compiler=None, partition=None, *,
               memory_budget=None, policy=None) -> AOTModule:
    """``aot_function`` for a callable pytree module (``ftx.nn.Module``): its parameters are
    inputs of the forward and backward graphs.

    >>> m = ftx.aot_module(model)
    >>> fwd, bwd = m.trace(x)
    >>> grads = ftx.grad(lambda m, x: fnp.sum(m(x)))(m, x).module
    """
    if not callable(module):
        raise TypeError(f"aot_module: expected a callable module, got {type(module).__name__}")
    num_params = len(pytree.tree_leaves(module))

    def apply(mod, *args, **kwargs):
        return mod(*args, **kwargs)

    apply.__name__ = type(module).__name__
    aot = AOTFunction(apply, fw_compiler, bw_compiler, partition, memory_budget, policy,
                      num_params=num_params)
    return AOTModule(module, aot)


__all__ = ["aot_function", "aot_module", "AOTFunction", "AOTModule", "AOTGraph", "AOTTrace",
           "Desc", "default_compiler"]
