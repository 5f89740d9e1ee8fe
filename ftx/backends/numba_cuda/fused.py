"""A fusion group (``ftx.compiler.fusion.Group``) as one CUDA kernel: a grid-stride loop
that reads each input once per element, evaluates the group's equations as scalar code (one
commented line each) and writes every output.

Buffers are flat, so a read is ``in0[index]`` with an index built from the loop counters.
Each operand has a *mask* over the group's axes: True where it varies along the axis,
False where it is broadcast (a ``broadcast_in_dim`` feed or a rank-0 value). Adjacent axes on
which every operand agrees are merged, so the kernel loops over as few axes as the
broadcasting allows: a group without broadcasting is one flat loop, a bias add over rows
is a (rows, columns) loop with the column loop on the threads' x axis (coalesced).
"""
from __future__ import annotations

import math

from ftx.backends.numba_cuda import runtime
from ftx.backends.numba_cuda.elementwise import SCALAR_EXPRESSIONS, literal, operand_dtype
from ftx.backends.numba_cuda.kernels import DECORATOR, INT, np_name
from ftx.core.jaxpr import Literal


def merged_axes(masks, rank: int) -> list:
    """Groups of consecutive axes on which every mask agrees (each becomes one loop axis)."""
    groups: list = []
    for d in range(rank):
        if groups and all(m[d] == m[d - 1] for m in masks):
            groups[-1].append(d)
        else:
            groups.append([d])
    return groups


class FusedKernel:
    """The kernel of one group plus what the executor needs to launch it."""

    def __init__(self, group, builder):
        self.group = group
        shape = group.shape
        rank = len(shape)
        names: dict = {}          # group var -> scalar variable name
        views: dict = {}          # broadcast var -> (source var, mask)
        operands: list = []       # (var, mask) read from buffers, in argument order
        body: list = []
        counter = [0]

        def operand(var, mask):
            key = (var, mask)
            if key not in operands:
                operands.append(key)
            return f"x{operands.index(key)}"

        def read(atom, dtype):
            if isinstance(atom, Literal):
                return literal(atom.val, dtype if atom.aval.weak_type else atom.aval.dtype)
            if atom in names:
                return names[atom]
            if atom in views:
                return operand(*views[atom])
            if atom.aval.shape not in (shape, ()):
                raise AssertionError(f"operand {atom.aval.str_short()} in a group of shape {shape}")
            return operand(atom, (atom.aval.shape == shape and rank > 0,) * rank)

        for eqn in group.eqns:
            out = eqn.outvars[0]
            name = eqn.primitive.name
            if name == "broadcast_in_dim":
                src = eqn.invars[0]
                if src in names:  # a no-op broadcast of a group value
                    names[out] = names[src]
                    continue
                if src in views:  # a broadcast of a broadcast feed: compose the masks
                    src, inner = views[src]
                    dims = eqn.params["broadcast_dimensions"]
                    mask = [False] * rank
                    for k, d in enumerate(dims):
                        mask[d] = inner[k]
                    views[out] = (src, tuple(mask))
                    continue
                dims = eqn.params["broadcast_dimensions"]
                mask = [False] * rank
                for k, d in enumerate(dims):
                    mask[d] = src.aval.shape[k] == shape[d]
                views[out] = (src, tuple(mask))
                continue
            dtype = operand_dtype(eqn)
            expr = SCALAR_EXPRESSIONS[name](eqn, *[read(a, dtype) for a in eqn.invars])
            counter[0] += 1
            target = names[out] = f"v{counter[0]}"
            params = ", ".join(f"{k}={v!r}" for k, v in eqn.params.items())
            cast = np_name(out.aval.dtype)
            body.append(f"{target} = {cast}({expr})  # {name}"
                        + (f"[{params}]" if params else ""))

        outputs = group.outputs
        full = (True,) * rank
        stores = []
        for k, v in enumerate(outputs):
            value = names.get(v)
            if value is None:  # a broadcast feed that is itself an output: materialize it
                value = operand(*views[v])
            stores.append((k, value))

        masks = [m for _, m in operands] + [full]
        self.axis_groups = merged_axes(masks, rank)
        self.operands = [v for v, _ in operands]
        self.outputs = list(outputs)
        merged = [tuple(m[g[0]] for g in self.axis_groups) for _, m in operands]
        self.sizes = [math.prod(shape[d] for d in g) for g in self.axis_groups]
        body_src = _kernel_body(len(self.sizes), merged, len(outputs), body, stores)
        arg_types = [v.aval.dtype for v in self.operands] + [v.aval.dtype for v in outputs] + \
            [INT] * len(self.sizes)
        what = "fused " + " ".join(e.primitive.name for e in group.eqns)
        self.kernel = builder.kernel(what, body_src, arg_types)
        n = math.prod(shape)
        if len(self.sizes) <= 1:
            self.grid, self.block = runtime.launch_1d(n) if rank else ((1,), (1,))
        else:
            cols = self.sizes[-1]
            self.grid, self.block = runtime.launch_2d(n // cols if cols else 0, cols)
        self.empty = n == 0


def _kernel_body(rank: int, masks, n_outputs: int, lines, stores) -> str:
    n_in = len(masks)
    args = [f"in{k}" for k in range(n_in)] + [f"out{k}" for k in range(n_outputs)] + \
        [f"n{d}" for d in range(rank)]
    src = [DECORATOR, f"def kernel({', '.join(args)}):"]

    def strides(mask):
        # Flat index of an operand from the loop counters i0..i{rank-1}: sum of i_d times the
        # product of the sizes of the later axes it varies along.
        terms = []
        for d in range(rank):
            if mask[d]:
                later = [f"n{e}" for e in range(d + 1, rank) if mask[e]]
                terms.append(f"i{d}" + "".join(f" * {s}" for s in later))
        return " + ".join(terms) or "0"

    def emit(indent, index_of_input, out_index):
        pad = " " * indent
        out = [f"{pad}x{k} = in{k}[{index_of_input(k)}]" for k in range(n_in)]
        out += [pad + line for line in lines]
        out += [f"{pad}out{k}[{out_index}] = {value}" for k, value in stores]
        return out

    if rank == 0:
        src.append("    if cuda.grid(1) == 0:")
        src += emit(8, lambda k: "0", "0")
    elif rank == 1:
        src.append("    for i0 in range(cuda.grid(1), n0, cuda.gridsize(1)):")
        src += emit(8, lambda k: "i0" if masks[k][0] else "0", "i0")
    else:
        last = rank - 1
        src.append("    col, row0 = cuda.grid(2)")
        src.append("    col_step, row_step = cuda.gridsize(2)")
        src.append(f"    rows = {' * '.join(f'n{d}' for d in range(last))}")
        src.append("    for row in range(row0, rows, row_step):")
        # Unravel the row counter into the outer axes (the last one varies fastest).
        if rank > 2:
            src.append("        rest = row")
            for d in range(last - 1, 0, -1):
                src.append(f"        i{d} = rest % n{d}")
                src.append(f"        rest = rest // n{d}")
            src.append("        i0 = rest")
        else:
            src.append("        i0 = row")
        for k, mask in enumerate(masks):
            # Offset of the row along the outer axes; the inner loop adds the column.
            base = strides(list(mask[:last]) + [False])
            if any(mask[:last]) and mask[last]:
                base = f"({base}) * n{last}"
            src.append(f"        base{k} = {base}")
        src.append(f"        for i{last} in range(col, n{last}, col_step):")
        src += emit(12, lambda k: f"base{k} + i{last}" if masks[k][last] else f"base{k}",
                    f"row * n{last} + i{last}")
    return "\n".join(src) + "\n"


__all__ = ["FusedKernel", "merged_axes"]
