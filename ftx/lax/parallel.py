"""Collectives over a named batch axis: psum, pmean, pmax, pmin, all_gather, axis_index.

Inside ``vmap(f, axis_name='i')`` every batch element sees the same result of
``psum(x, 'i')`` (the sum over the axis), as in JAX. These primitives set
``uses_axis_name``: the vmap with that name handles them even when their
operands are not batched (``axis_index`` has none), and a vmap with another
name passes them through.
"""
from __future__ import annotations

import numpy as np

from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax._ad_rules import deflinear
from ftx.lax._batch_rules import moveaxis


def _unbound(name):
    def impl(*args, axis_name, **params):
        raise NameError(f"unbound axis name: {axis_name!r}. {name} must be called inside "
                        f"ftx.vmap(..., axis_name={axis_name!r}) (or a transform that binds it)")
    return impl


def _named_primitive(name: str) -> Primitive:
    prim = Primitive(name)
    prim.uses_axis_name = True
    prim.def_impl(_unbound(name))
    return prim


def _same_aval(x, **params):
    return [x.strip_weak_type()]


def _pass_through_or(rule):
    """A batching rule that handles its own axis and passes other vmaps' axes through."""
    def batch(axis_data, args, dims, *, axis_name, **params):
        if axis_name != axis_data.name:
            prim = batch.prim
            return prim.bind(*args, axis_name=axis_name, **params), list(dims)
        return rule(axis_data, args, dims, **params)
    return batch


def _def_named_batch(prim, rule):
    batch = _pass_through_or(rule)
    batch.prim = prim
    def_rule("batch", prim, batch)


# --------------------------------------------------------------------------- psum

def _psum_batch(axis_data, args, dims):
    from ftx.lax.elementwise import mul
    from ftx.lax.reductions import reduce_sum
    (x,), (d,) = args, dims
    if d is None:
        return [mul(x, np.array(axis_data.size, get_aval(x).dtype))], [None]
    return [reduce_sum(x, (d,))], [None]


psum_p = _named_primitive("psum")
psum_p.def_abstract_eval(_same_aval)
deflinear(psum_p, lambda cts, x, *, axis_name: [psum(cts[0], axis_name)])
_def_named_batch(psum_p, _psum_batch)


# --------------------------------------------------------------------------- pmax / pmin

def _pextreme(name, reduce_name):
    def batch(axis_data, args, dims):
        from ftx.lax import reductions
        (x,), (d,) = args, dims
        if d is None:
            return [x], [None]
        return [getattr(reductions, reduce_name)(x, (d,))], [None]

    def jvp(primals, tangents, *, axis_name):
        from ftx.lax.elementwise import convert_element_type, div, eq, mul
        (x,), (t,) = primals, tangents
        m = prim.bind1(x, axis_name=axis_name)
        if type(t) is Zero:
            return [m], [Zero.like(m)]
        # The tangent of the lanes that attain the extreme, averaged over ties.
        hit = convert_element_type(eq(x, m), get_aval(x).dtype)
        return [m], [div(psum(mul(t, hit), axis_name), psum(hit, axis_name))]

    prim = _named_primitive(name)
    prim.def_abstract_eval(_same_aval)
    def_rule("jvp", prim, jvp)
    prim.exempt("transpose", "not linear")
    _def_named_batch(prim, batch)
    return prim


pmax_p = _pextreme("pmax", "reduce_max")
pmin_p = _pextreme("pmin", "reduce_min")


# --------------------------------------------------------------------------- all_gather

def _all_gather_abstract_eval(x, *, axis_name, axis, axis_size):
    shape = list(x.shape)
    shape.insert(axis, axis_size)
    return [ShapedArray(tuple(shape), x.dtype)]


def _all_gather_batch(axis_data, args, dims, *, axis, axis_size):
    from ftx.lax._batch_rules import bdim_to_front
    (x,), (d,) = args, dims
    x = bdim_to_front(x, d, axis_data.size)
    return [moveaxis(x, 0, axis)], [None]


def _all_gather_transpose(cts, x, *, axis_name, axis, axis_size):
    from ftx.lax.slicing import dynamic_index_in_dim
    total = psum(cts[0], axis_name)
    return [dynamic_index_in_dim(total, axis_index(axis_name), axis, keepdims=False)]


all_gather_p = _named_primitive("all_gather")
all_gather_p.def_abstract_eval(_all_gather_abstract_eval)
deflinear(all_gather_p, _all_gather_transpose)
_def_named_batch(all_gather_p, _all_gather_batch)


# --------------------------------------------------------------------------- axis_index

def _axis_index_batch(axis_data, args, dims):
    from ftx.lax.shape import iota
    return [iota(np.int32, axis_data.size)], [0]


axis_index_p = _named_primitive("axis_index")
axis_index_p.def_abstract_eval(lambda *, axis_name: [ShapedArray((), np.int32)])
_def_named_batch(axis_index_p, _axis_index_batch)
axis_index_p.exempt("jvp", "it has no operands")
axis_index_p.exempt("transpose", "it has no operands")


# =========================================================================== user-facing API

def _size_of(axis_name) -> int:
    from ftx.core.trace import current_trace
    trace = current_trace()
    while trace is not None:
        data = getattr(trace, "axis_data", None)
        if data is not None and data.name == axis_name:
            return data.size
        trace = trace.parent
    raise NameError(f"unbound axis name: {axis_name!r}; call this inside "
                    f"ftx.vmap(..., axis_name={axis_name!r})")


def psum(x, axis_name):
    """The sum of ``x`` over the named axis: ``vmap(lambda x: psum(x, 'i'), axis_name='i')``."""
    from ftx.core import pytree
    return pytree.tree_map(lambda v: psum_p.bind1(v, axis_name=axis_name), x)


def pmean(x, axis_name):
    """The mean of ``x`` over the named axis."""
    from ftx.core import pytree
    from ftx.lax.elementwise import div
    n = _size_of(axis_name)
    return pytree.tree_map(lambda v: div(psum_p.bind1(v, axis_name=axis_name),
                                         np.array(n, get_aval(v).dtype)), x)


def pmax(x, axis_name):
    """The maximum of ``x`` over the named axis."""
    from ftx.core import pytree
    return pytree.tree_map(lambda v: pmax_p.bind1(v, axis_name=axis_name), x)


def pmin(x, axis_name):
    """The minimum of ``x`` over the named axis."""
    from ftx.core import pytree
    return pytree.tree_map(lambda v: pmin_p.bind1(v, axis_name=axis_name), x)


def all_gather(x, axis_name, *, axis: int = 0, tiled: bool = False):
    """Every batch element's ``x``, stacked along a new ``axis`` (concatenated if ``tiled``)."""
    from ftx.core import pytree
    from ftx.lax.shape import reshape
    n = _size_of(axis_name)

    def gather_one(v):
        aval = get_aval(v)
        out = all_gather_p.bind1(v, axis_name=axis_name, axis=int(axis) % (aval.ndim + 1),
                                 axis_size=n)
        if tiled:
            shape = list(aval.shape)
            shape[axis] = shape[axis] * n
            out = reshape(out, tuple(shape))
        return out

    return pytree.tree_map(gather_one, x)


def axis_index(axis_name):
    """This batch element's position along the named axis (int32)."""
    return axis_index_p.bind1(axis_name=axis_name)


__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index"]
