"""The primitives a compiled loop body computes outside fused kernels, as Numba code.

A plain executor runs these with NumPy between kernels (``np.matmul`` for ``dot_general``,
the primitive's impl for the rest). Inside a loop compiled whole (``loop_codegen.py``)
there is no Python to call back into, so each such primitive needs Numba source of its
own: one entry per primitive in ``RULES``, ``rule(ctx, eqn) -> lines`` of the body
function that compute ``eqn``'s outputs. A primitive without an entry (or an entry that
raises ``Unsupported`` for these operands) keeps the loop on the executor's path.

Contracts of the body function the lines live in: every value is an array (a rank-0
value is a 0-d array), C-contiguous, and never written after it is made, so views may
be shared. Sizes are never written into the source: ``ctx.int(n)`` stands for ``n``
(read from the tuple of sizes the loop receives), so one compiled loop serves every
shape of the same structure, as kernels do. ``dot_general`` is explicit loops, not
``np.dot``: Numba's BLAS calls would start a second BLAS thread pool next to NumPy's.
"""
from __future__ import annotations

from ftx.backends.numba_cpu import reductions
from ftx.backends.numba_cpu.elementwise import (SCALAR_EXPRESSIONS, literal, operand_dtype)
from ftx.backends.numba_cpu.elementwise import can_fuse as _elementwise_can_fuse
from ftx.core.jaxpr import Literal


class Unsupported(NotImplementedError):
    """An equation a compiled loop body cannot compute (the loop then keeps its Python path)."""


def _index(names) -> str:
    return "[" + ", ".join(names) + "]" if names else "[()]"


def _nest(loops, body, indent="    "):
    """Lines of nested ``for`` loops (``loops``: (variable, bound) pairs) around ``body``."""
    lines = []
    for var, bound in loops:
        lines.append(f"{indent}for {var} in range({bound}):")
        indent += "    "
    return lines + [indent + line for line in body]


def _kinds(eqn, kinds="fiu"):
    for v in list(eqn.invars) + list(eqn.outvars):
        if v.aval.dtype.kind not in kinds:
            raise Unsupported(f"{eqn.primitive.name} on {v.aval.dtype}")


# ----------------------------------------------------------------------- elementwise, rank 0

def _scalar_elementwise(ctx, eqn):
    """A rank-0 elementwise equation (plan() forms no group of shape ()): the same scalar
    expression a kernel would compute, stored into a 0-d array."""
    out = eqn.outvars[0]
    if out.aval.shape != () or not _elementwise_can_fuse(eqn):
        raise Unsupported(f"{eqn.primitive.name} on {out.aval.str_short()} outside a kernel")
    dtype = operand_dtype(eqn)
    expr = SCALAR_EXPRESSIONS[eqn.primitive.name](eqn, *[ctx.scalar(a, dtype) for a in eqn.invars])
    o = ctx.new(out)
    return [f"{o} = np.empty((), np.{out.aval.dtype.name})", f"{o}[()] = {expr}"]


# ----------------------------------------------------------------------- shape

def _broadcast_in_dim(ctx, eqn):
    (x,), out = eqn.invars, eqn.outvars[0]
    dims = eqn.params["broadcast_dimensions"]
    shape = out.aval.shape
    idx = [f"i{k}" for k in range(len(shape))]
    # Specialized on the broadcast pattern (which axes grow from size 1), as kernels are.
    src = [idx[d] if x.aval.shape[k] == shape[d] else "0" for k, d in enumerate(dims)]
    key = ("broadcast", x.aval.ndim, len(shape), tuple(src))

    def source(name):
        loops = [(i, f"out.shape[{k}]") for k, i in enumerate(idx)]
        return [f"def {name}(x, out):"] + _nest(loops, [f"out{_index(idx)} = x{_index(src)}"])

    return _call_into(ctx, eqn, ctx.helper(key, source), [ctx.array(x)])


def _reshape_like(ctx, eqn):
    # reshape, squeeze: a view (every body value is C-contiguous).
    out = eqn.outvars[0]
    return [f"{ctx.new(out)} = {ctx.array(eqn.invars[0])}.reshape({ctx.shape(out.aval.shape)})"]


def _transpose(ctx, eqn):
    # Made contiguous at once, so that later reshapes of it stay views.
    perm = tuple(eqn.params["permutation"])
    x = ctx.array(eqn.invars[0])
    return [f"{ctx.new(eqn.outvars[0])} = np.ascontiguousarray({x}.transpose({perm!r}))"]


# ----------------------------------------------------------------------- slicing

def _slice(ctx, eqn):
    x = eqn.invars[0]
    p = eqn.params
    strides = p["strides"] or (1,) * x.aval.ndim
    parts = [f"{ctx.int(s)}:{ctx.int(e)}:{ctx.int(st)}"
             for s, e, st in zip(p["start_indices"], p["limit_indices"], strides)]
    sl = "[" + ", ".join(parts) + "]" if parts else "[...]"
    return [f"{ctx.new(eqn.outvars[0])} = np.ascontiguousarray({ctx.array(x)}{sl})"]


def _clamped(ctx, starts, shape, sizes):
    """Expressions of the start indices clamped so the window fits (JAX semantics)."""
    return [f"min(max(int({ctx.scalar(s)}), 0), {ctx.int(n - k)})"
            for s, n, k in zip(starts, shape, sizes)]


def _dynamic_slice(ctx, eqn):
    x, *starts = eqn.invars
    sizes = eqn.params["slice_sizes"]
    lines, names = [], []
    for s, k in zip(_clamped(ctx, starts, x.aval.shape, sizes), sizes):
        names.append(ctx.temp())
        lines.append(f"{names[-1]} = {s}")
    sl = ", ".join(f"{s}:{s} + {ctx.int(k)}" for s, k in zip(names, sizes)) or "..."
    return lines + [f"{ctx.new(eqn.outvars[0])} = np.ascontiguousarray({ctx.array(x)}[{sl}])"]


def _dynamic_update_slice(ctx, eqn):
    x, update, *starts = eqn.invars
    sizes = update.aval.shape
    o = ctx.new(eqn.outvars[0])
    lines = [f"{o} = {ctx.array(x)}.copy()"]
    names = []
    for s in _clamped(ctx, starts, x.aval.shape, sizes):
        names.append(ctx.temp())
        lines.append(f"{names[-1]} = {s}")
    sl = ", ".join(f"{s}:{s} + {ctx.int(k)}" for s, k in zip(names, sizes)) or "..."
    return lines + [f"{copy_into(ctx, len(sizes))}({o}[{sl}], {ctx.array(update)})"]


def copy_into(ctx, rank) -> str:
    """The name of a helper ``(dst, src)`` copying ``src`` into the same-shape ``dst``: an
    explicit loop, because Numba's broadcasting ``dst[...] = src`` compiles its shape-error
    formatting (string machinery, seconds of compile time)."""
    idx = [f"i{k}" for k in range(rank)]

    def source(name):
        loops = [(i, f"src.shape[{k}]") for k, i in enumerate(idx)]
        return [f"def {name}(dst, src):"] + _nest(loops, [f"dst{_index(idx)} = src{_index(idx)}"])

    return ctx.helper(("copy", rank), source)


# ----------------------------------------------------------------------- reductions

# The reductions a loop body computes outside a fused group: sum, prod, max, min, with the
# accumulators (combining expression, identity) the fused kernels use.
_REDUCERS = ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min")


def _reduce(ctx, eqn):
    """A reduction no kernel fused (its operand is not computed in the body's group)."""
    _kinds(eqn)
    (x,), out = eqn.invars, eqn.outvars[0]
    axes = tuple(eqn.params["axes"])
    dt = out.aval.dtype
    accumulator = reductions.ACCUMULATORS[eqn.primitive.name]
    idx = [f"i{k}" for k in range(x.aval.ndim)]
    kept = [i for k, i in enumerate(idx) if k not in axes]
    key = (eqn.primitive.name, x.aval.ndim, axes, x.aval.dtype.name, dt.name)

    def source(name):
        loops = [(i, f"x.shape[{k}]") for k, i in enumerate(idx)]
        acc = f"out{_index(kept)}"
        step = accumulator.row.format(out=acc, x=f"np.{dt.name}(x{_index(idx)})")
        # (no out.fill: Numba has none for 0-d arrays)
        init = [f"j{k}" for k in range(len(kept))]
        init_loops = [(j, f"out.shape[{k}]") for k, j in enumerate(init)]
        return ([f"def {name}(x, out):"]
                + _nest(init_loops,
                        [f"out{_index(init)} = {literal(accumulator.identity_for(dt), dt)}"])
                + _nest(loops, [f"{acc} = {step}"]))

    return _call_into(ctx, eqn, ctx.helper(key, source), [ctx.array(x)])


# ----------------------------------------------------------------------- dot_general

def _dot_general(ctx, eqn):
    _kinds(eqn)
    lhs, rhs = eqn.invars
    out = eqn.outvars[0]
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    key = ("dot_general", tuple(lc), tuple(rc), tuple(lb), tuple(rb), lhs.aval.ndim,
           rhs.aval.ndim, out.aval.dtype.name)

    def source(name):
        return _dot_source(name, tuple(lc), tuple(rc), tuple(lb), tuple(rb), lhs.aval.ndim,
                           rhs.aval.ndim, out.aval.dtype)

    return _call_into(ctx, eqn, ctx.helper(key, source), [ctx.array(lhs), ctx.array(rhs)])


def _dot_source(name, lc, rc, lb, rb, lnd, rnd, dtype):
    """Loops computing ``out[batch, lhs free, rhs free]``, accumulated in ``dtype``.

    The loop order keeps the innermost loop contiguous in memory so LLVM vectorizes it:
    when the rhs's last axis is a free one, ``out[.., j] += lhs[.., k] * rhs[.., k, j]``
    with j innermost (no reassociation needed); otherwise a dot product over k into a
    register, reassociable (``_acc_add``) so it vectorizes with partial sums.
    """
    lf = [a for a in range(lnd) if a not in lc and a not in lb]
    rf = [a for a in range(rnd) if a not in rc and a not in rb]
    nb, nl = len(lb), len(lf)

    def operand_index(nd, contract, batch, free, free_var):
        return [f"b{batch.index(a)}" if a in batch else f"k{contract.index(a)}" if a in contract
                else f"{free_var}{free.index(a)}" for a in range(nd)]

    li, ri = operand_index(lnd, lc, lb, lf, "i"), operand_index(rnd, rc, rb, rf, "j")
    b_loops = [(f"b{m}", f"out.shape[{m}]") for m in range(nb)]
    i_loops = [(f"i{m}", f"out.shape[{nb + m}]") for m in range(nl)]
    j_loops = [(f"j{m}", f"out.shape[{nb + nl + m}]") for m in range(len(rf))]
    k_loops = [(f"k{m}", f"lhs.shape[{a}]") for m, a in enumerate(lc)]
    o = "out" + _index([v for v, _ in b_loops + i_loops + j_loops])
    cast = f"np.{dtype.name}"
    a, b = f"{cast}(lhs{_index(li)})", f"{cast}(rhs{_index(ri)})"
    zero = literal(0, dtype)
    if not lc:  # an outer product
        body = _nest(b_loops + i_loops + j_loops, [f"{o} = {a} * {b}"])
    elif rf and rf[-1] == rnd - 1:
        inner = (_nest(j_loops, [f"{o} = {zero}"], "")
                 + _nest(k_loops, [f"a = {a}"] + _nest(j_loops, [f"{o} += a * {b}"], ""), ""))
        body = _nest(b_loops + i_loops, inner)
    else:
        add = "_acc_add" if dtype.kind == "f" else ""
        inner = ([f"acc = {zero}"] + _nest(k_loops, [f"acc = {add}(acc, {a} * {b})"], "")
                 + [f"{o} = acc"])
        body = _nest(b_loops + i_loops + j_loops, inner)
    return [f"def {name}(lhs, rhs, out):"] + body


# ----------------------------------------------------------------------- the table

def _call_into(ctx, eqn, helper, args):
    """Allocate ``eqn``'s output and let ``helper(*args, out)`` fill it."""
    out = eqn.outvars[0]
    o = ctx.new(out)
    return [f"{o} = np.empty({ctx.shape(out.aval.shape)}, np.{out.aval.dtype.name})",
            f"{helper}({', '.join(args)}, {o})"]


RULES = {
    "broadcast_in_dim": _broadcast_in_dim, "reshape": _reshape_like, "squeeze": _reshape_like,
    "transpose": _transpose, "slice": _slice, "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice, "dot_general": _dot_general,
    **{name: _reduce for name in _REDUCERS},
    **{name: _scalar_elementwise for name in SCALAR_EXPRESSIONS},
}


def lines_for(ctx, eqn) -> list:
    """The body lines computing ``eqn``; ``Unsupported`` if a compiled body cannot.

    ``lines_for(ctx, <dot_general f64[32,32] f64[32]>)`` allocates the f64[32] output and
    calls a generated matrix-vector helper.
    """
    rule = RULES.get(eqn.primitive.name)
    if rule is None:
        raise Unsupported(f"no compiled-loop implementation of {eqn.primitive.name}")
    if any(isinstance(a, Literal) and a.aval.shape != () for a in eqn.invars):
        raise Unsupported(f"{eqn.primitive.name} with an array literal operand")
    if any(v.aval.dtype.kind == "c" for v in list(eqn.invars) + list(eqn.outvars)):
        raise Unsupported(f"{eqn.primitive.name} on complex numbers")
    return rule(ctx, eqn)
