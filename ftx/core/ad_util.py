"""Values that differentiation and batching rules exchange: symbolic zeros, undefined
primals (the linear inputs of a transpose rule) and the "not batched" marker.
"""
from __future__ import annotations

from ftx.core.avals import ShapedArray, get_aval


class Zero:
    """A tangent or cotangent known to be zero: costs nothing until instantiated."""

    __slots__ = ("_aval", "_of")

    def __init__(self, aval: ShapedArray):
        self._aval, self._of = aval, None

    @staticmethod
    def like(x) -> "Zero":
        """The zero tangent of value ``x`` (float0 for integer ``x``)."""
        z = Zero.__new__(Zero)
        z._aval, z._of = None, x  # the aval is computed only if someone asks for it
        return z

    @property
    def aval(self) -> ShapedArray:
        if self._aval is None:
            self._aval = get_aval(self._of).to_tangent_aval()
            self._of = None
        return self._aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """Marks a linear input of a transpose rule: only its type is known."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def aval_of(x) -> ShapedArray:
    """The aval of a value, a Zero or an UndefinedPrimal."""
    return x.aval if type(x) in (Zero, UndefinedPrimal) else get_aval(x)


# A batching rule's dimension for an operand that has no batch axis.
not_mapped = None
