"""Jacobians: ``jacfwd`` (vmap of jvp over input basis vectors), ``jacrev`` (vmap of a vjp over
output basis vectors) and ``hessian`` (``jacfwd(jacrev(f))``).

For pytree inputs and outputs the Jacobian is a "tree product": an output-shaped
tree whose leaves are input-shaped trees of arrays of shape
``out_leaf.shape + in_leaf.shape``.
"""
from __future__ import annotations

import functools

import numpy as np

from ftx.core import pytree
from ftx.core.avals import get_aval
from ftx.transforms._api_util import normalize_argnums
from ftx.transforms.batching import vmap
from ftx.transforms.jvp import jvp
from ftx.transforms.reverse import _vjp


def _std_basis(leaves):
    """Identity rows split per leaf: for leaf k, an array (N,) + leaf.shape."""
    avals = [get_aval(x) for x in leaves]
    sizes = [a.size for a in avals]
    dtype = np.result_type(*[a.dtype for a in avals]) if avals else np.float64
    eye = np.eye(sum(sizes), dtype=dtype)
    out, start = [], 0
    for a, n in zip(avals, sizes):
        out.append(eye[:, start:start + n].reshape((sum(sizes),) + a.shape).astype(a.dtype))
        start += n
    return out


def _split_last(x, in_avals, out_shape):
    """(out_shape + (N,)) -> one array per input leaf of shape out_shape + in_shape."""
    from ftx.lax.slicing import slice_in_dim
    from ftx.lax.shape import reshape
    pieces, start = [], 0
    for a in in_avals:
        piece = slice_in_dim(x, start, start + a.size, axis=len(out_shape))
        pieces.append(reshape(piece, tuple(out_shape) + a.shape))
        start += a.size
    return pieces


def _dyn_args(fun, args, argnums, name):
    nums = normalize_argnums(argnums, len(args), name)
    dyn = tuple(args[i] for i in nums)

    def f_of_dyn(*dyn_args):
        full = list(args)
        for i, a in zip(nums, dyn_args):
            full[i] = a
        return fun(*full)

    return f_of_dyn, (dyn[0] if isinstance(argnums, int) else dyn)


def _check_inexact(leaves, name):
    for x in leaves:
        a = get_aval(x)
        if a.dtype.kind not in "fc":
            raise TypeError(f"{name} requires real- or complex-valued inputs, got {a.str_short()}")


def jacfwd(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian by forward mode: one jvp per input element, batched with vmap.

    >>> ftx.jacfwd(fnp.sin)(np.arange(3.0))       # diag(cos(x))
    """
    @functools.wraps(fun)
    def jacfwd_f(*args):
        f_of_dyn, dyn = _dyn_args(fun, args, argnums, "jacfwd")
        single = isinstance(argnums, int)
        dyn_tuple = (dyn,) if single else dyn
        in_leaves, in_tree = pytree.tree_flatten(dyn_tuple)
        _check_inexact(in_leaves, "jacfwd")
        in_avals = [get_aval(x) for x in in_leaves]

        def pushfwd(*basis_leaves):
            tangents = pytree.tree_unflatten(in_tree, basis_leaves)
            return jvp(f_of_dyn, dyn_tuple, tangents, has_aux=has_aux)

        outs = vmap(pushfwd, out_axes=(None, -1, None) if has_aux else (None, -1))(
            *_std_basis(in_leaves))
        y, jac = outs[0], outs[1]
        def per_output(o, j):
            inner = pytree.tree_unflatten(in_tree, _split_last(j, in_avals, get_aval(o).shape))
            return inner[0] if single else inner

        jac_tree = pytree.tree_map(per_output, y, jac)
        return (jac_tree, outs[2]) if has_aux else jac_tree

    return jacfwd_f


def jacrev(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False):
    """The Jacobian by reverse mode: one vjp per output element, batched with vmap.

    >>> ftx.jacrev(lambda x: x ** 2)(np.arange(3.0))   # diag(2x)
    """
    @functools.wraps(fun)
    def jacrev_f(*args):
        f_of_dyn, dyn = _dyn_args(fun, args, argnums, "jacrev")
        single = isinstance(argnums, int)
        dyn_tuple = (dyn,) if single else dyn
        in_leaves, in_tree = pytree.tree_flatten(dyn_tuple)
        if not allow_int:
            _check_inexact(in_leaves, "jacrev")
        y, f_vjp, aux = _vjp(f_of_dyn, dyn_tuple, has_aux, "jacrev")
        out_leaves, out_tree = pytree.tree_flatten(y)
        out_avals = [get_aval(o) for o in out_leaves]
        # cts: (M,) + out_shape per output leaf -> per input leaf (M,) + in_shape
        pulled = vmap(lambda *cts: pytree.tree_leaves(f_vjp(pytree.tree_unflatten(out_tree, cts))))(
            *_std_basis(out_leaves))
        in_avals = [get_aval(x) for x in in_leaves]
        from ftx.lax.slicing import slice_in_dim
        from ftx.lax.shape import reshape
        per_out = []
        start = 0
        for oa in out_avals:
            blocks = [reshape(slice_in_dim(p, start, start + oa.size, axis=0), oa.shape + ia.shape)
                      for p, ia in zip(pulled, in_avals)]
            tree = pytree.tree_unflatten(in_tree, blocks)
            per_out.append(tree[0] if single else tree)
            start += oa.size
        jac_tree = pytree.tree_unflatten(out_tree, per_out)
        return (jac_tree, aux) if has_aux else jac_tree

    return jacrev_f


jacobian = jacrev


def hessian(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """``jacfwd(jacrev(fun))``: the matrix of second derivatives.

    >>> ftx.hessian(lambda x: fnp.sum(x ** 3))(np.arange(3.0))    # diag(6x)
    """
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)
