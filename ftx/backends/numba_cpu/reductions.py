"""Reductions fused into the loop nest of their elementwise producers.

Mirrors ``ftx/lax/reductions.py`` for the reductions a kernel accumulates
inline: sums and products of real numbers. The accumulating add/multiply is a
tiny helper compiled with ``fastmath={"reassoc"}``: LLVM inlines it with that
flag on the one instruction, which is what lets it vectorize the reduction with
several partial sums (about 4x NumPy's speed on L2-resident data) while every
other instruction of the kernel keeps strict IEEE semantics.

max/min (NaN-propagating) and and/or do not vectorize this way yet: they stay
NumPy calls, which are faster than a scalar loop.
"""
from __future__ import annotations

# Helpers the kernels of reduction groups call (appended to the kernel prelude).
PRELUDE = '''
@numba.njit(fastmath={"reassoc"}, error_model="numpy")
def _acc_add(a, b):  # reassociable so the reduction loop vectorizes (see reductions.py)
    return a + b


@numba.njit(fastmath={"reassoc"}, error_model="numpy")
def _acc_mul(a, b):
    return a * b
'''

# primitive -> (accumulating helper, plain operator, identity)
ACCUMULATORS = {
    "reduce_sum": ("_acc_add", "+", 0),
    "reduce_prod": ("_acc_mul", "*", 1),
}


def can_fuse(eqn) -> bool:
    """Whether a kernel accumulates ``eqn`` (a reduction) inline."""
    if eqn.primitive.name not in ACCUMULATORS:
        return False
    x = eqn.invars[0].aval
    return x.dtype.kind in "iuf" and supported_axes(eqn.params["axes"], x.ndim)


def is_suffix(axes, rank) -> bool:
    """Whether ``axes`` are the innermost ``len(axes)`` axes (accumulated in a register)."""
    return tuple(axes) == tuple(range(rank - len(axes), rank))


def supported_axes(axes, rank) -> bool:
    """Kernels accumulate either over the innermost axes (a scalar per output element) or over
    axes that leave the innermost one alone (a vector of partial results per row)."""
    return is_suffix(axes, rank) or (rank - 1) not in axes
