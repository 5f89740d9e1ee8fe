"""Reverse mode: ``vjp``, ``grad``, ``value_and_grad`` = linearize + transpose."""
from __future__ import annotations

import functools

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero
from ftx.core.avals import get_aval
from ftx.core.dtypes import float0
from ftx.core.jaxpr import Jaxpr
from ftx.transforms import eager_vjp
from ftx.transforms._api_util import flatten_fun, normalize_argnums
from ftx.transforms.partial_eval import linearize_flat
from ftx.transforms.transpose import backward_pass


class VJPFunction:
    """``f_vjp(ct) -> tuple of input cotangents``, returned by ``ftx.vjp``.

    It is a pytree whose leaves are the residuals saved by the forward pass, so
    it can be passed through ``jit`` or inspected (``f_vjp.residuals``).
    """

    def __init__(self, jaxpr: Jaxpr, residuals, in_tree, in_avals, linear_inputs, out_tree,
                 out_avals):
        self.jaxpr, self.residuals = jaxpr, list(residuals)
        self.in_tree, self.in_avals, self.linear_inputs = in_tree, in_avals, linear_inputs
        self.out_tree, self.out_avals = out_tree, out_avals

    def __call__(self, ct):
        ct_flat, ct_tree = pytree.tree_flatten(ct)
        if ct_tree != self.out_tree:
            raise TypeError(f"vjp: the cotangent must have the structure of the function's "
                            f"output {self.out_tree}, got {ct_tree}")
        for i, (c, a) in enumerate(zip(ct_flat, self.out_avals)):
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise TypeError(f"vjp: cotangent {i} has shape {ca.str_short()} but the output "
                                f"has type {a.str_short()}")
        return self._pull_back(ct_flat)

    def _pull_back(self, ct_flat) -> tuple:
        """The input cotangents (a tuple, one pytree per argument) for checked flat ``ct_flat``."""
        cts = backward_pass(self.jaxpr, ct_flat, consts=self.residuals)
        return _input_cotangents(cts, self.linear_inputs, self.in_avals, self.in_tree)

    def __repr__(self):
        sizes = ", ".join(get_aval(r).str_short() for r in self.residuals)
        return f"VJPFunction(residuals=[{sizes}])"


def _vjp_flatten(f):
    aux = (f.jaxpr.replace(consts=[None] * len(f.jaxpr.consts)), f.in_tree, tuple(f.in_avals),
           tuple(f.linear_inputs), f.out_tree, tuple(f.out_avals))
    return f.residuals, _IdentityAux(aux)


def _vjp_unflatten(aux, residuals):
    jaxpr, in_tree, in_avals, linear_inputs, out_tree, out_avals = aux.value
    return VJPFunction(jaxpr, residuals, in_tree, list(in_avals), list(linear_inputs), out_tree,
                       list(out_avals))


class _IdentityAux:
    """Aux data compared by identity of the jaxpr (jaxprs are hashed by identity)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, _IdentityAux) and self.value[0] is other.value[0] \
            and self.value[1:] == other.value[1:]

    def __hash__(self):
        return hash((id(self.value[0]),) + self.value[1:])


pytree.register_pytree_node(VJPFunction, _vjp_flatten, _vjp_unflatten)


def _materialize(ct, aval):
    """A cotangent as an array of the input's tangent type (float0 zeros for integer inputs)."""
    if aval.dtype.kind not in "fc":
        return np.zeros(aval.shape, float0)
    if ct is None or type(ct) is Zero:
        return np.zeros(aval.shape, aval.dtype)
    ct_aval = get_aval(ct)
    if ct_aval is aval or ct_aval == aval:  # the usual case: nothing to convert
        # A transposed sum or broadcast is a read-only zero-stride view: hand back an array
        # the caller can write into, as every other gradient is.
        if type(ct) is np.ndarray and not ct.flags.writeable:
            return ct.copy()
        return ct
    if ct_aval.shape != aval.shape:
        from ftx.lax.shape import broadcast_in_dim
        ct = broadcast_in_dim(ct, aval.shape, ())
    if ct_aval.dtype != aval.dtype:
        from ftx.lax.elementwise import convert_element_type
        ct = convert_element_type(ct, aval.dtype)
    return ct if not isinstance(ct, (int, float, complex)) else np.asarray(ct, aval.dtype)


_LEAF_TYPES = (np.ndarray, float, int, bool, complex)  # pytree leaves, cheaply recognised


def _input_cotangents(cts, linear_inputs, in_avals, in_tree) -> tuple:
    """The cotangents ``cts`` of the linear inputs as one pytree per argument, with zeros (or
    float0 zeros) for the others. ``in_tree`` None: each argument is one leaf."""
    flat = [None] * len(in_avals)
    for i, ct in zip(linear_inputs, cts):
        flat[i] = ct
    flat = [_materialize(ct, a) for ct, a in zip(flat, in_avals)]
    if in_tree is None:
        return tuple(flat)
    args, _ = pytree.tree_unflatten(in_tree, flat)
    return tuple(args)


def _linearize_args(fun, primals, has_aux, name, linear_mask=None, check_inputs=None,
                     tape=False):
    """Linearize ``fun`` at the pytree arguments ``primals``: ``(res, in_tree, in_avals, store)``
    with ``res`` a LinearizeResult over the flat inputs and ``store`` the output structure.
    ``check_inputs(in_avals)``, if given, vets the flat input types before anything is traced.
    ``tape``: the caller only pulls cotangents back (``res.pull_back``), so at top level the
    eager tape (eager_vjp) may do the work instead of a linear jaxpr."""
    if tape and all(type(p) in _LEAF_TYPES for p in primals):
        flat, in_tree = list(primals), None  # arrays only (eager grad): nothing to flatten
    else:
        flat, in_tree = pytree.tree_flatten((tuple(primals), {}))
    in_avals = [get_aval(x) for x in flat]
    if check_inputs is not None:
        check_inputs(in_avals)
    flat_fun, store = flatten_fun(fun, in_tree, has_aux, name)
    if tape and linear_mask is None and eager_vjp.applies():
        res = eager_vjp.linearize_on_tape(flat_fun, flat, in_avals, transform=name,
                                          fun_for_debug=fun,
                                          num_linear_out=lambda: store.num_out)
        return res, in_tree, in_avals, store
    res = linearize_flat(flat_fun, flat, linear_mask=linear_mask, transform=name,
                         fun_for_debug=fun, num_linear_out=lambda: store.num_out,
                         avals=in_avals)
    return res, in_tree, in_avals, store


def _vjp(fun, primals, has_aux, name, linear_mask=None):
    """vjp of ``fun`` at ``primals``: ``(out, f_vjp, aux)``."""
    res, in_tree, in_avals, store = _linearize_args(fun, primals, has_aux, name, linear_mask)
    n = store.num_out
    outs = res.primals_out[:n]
    jaxpr = res.jaxpr
    f_vjp = VJPFunction(Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, jaxpr.eqns,
                              [None] * len(jaxpr.consts), jaxpr.debug_info),
                        jaxpr.consts, in_tree, in_avals, res.linear_inputs, store.out_tree,
                        [get_aval(o) for o in outs])
    aux = pytree.tree_unflatten(store.aux_tree, res.primals_out[n:]) if has_aux else None
    return pytree.tree_unflatten(store.out_tree, outs), f_vjp, aux


def vjp(fun, *primals, has_aux: bool = False):
    """``(fun(*primals), f_vjp)``: ``f_vjp(ct)`` pulls an output cotangent back to the inputs.

    >>> y, f_vjp = ftx.vjp(fnp.sin, 0.5)
    >>> f_vjp(1.0)          # (cos(0.5),)

    With ``has_aux=True`` returns ``(out, f_vjp, aux)``.
    """
    out, f_vjp, aux = _vjp(fun, primals, has_aux, "vjp")
    return (out, f_vjp, aux) if has_aux else (out, f_vjp)


def value_and_grad(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False):
    """``value_and_grad(f)(*args) == (f(*args), grad(f)(*args))``; with has_aux ``((value, aux), grad)``.

    >>> ftx.value_and_grad(lambda x: x ** 2)(3.0)     # (9.0, 6.0)
    """
    if holomorphic:
        raise NotImplementedError("value_and_grad: holomorphic=True is not supported yet")

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        nums = normalize_argnums(argnums, len(args), "grad")
        # Differentiate only the chosen arguments: close over the others.
        dyn = tuple([args[i] for i in nums])

        def check_inputs(in_avals):
            if allow_int:
                return
            for a in in_avals:
                if a.dtype.kind not in "fc":
                    for i in nums:  # find the argument to name in the error
                        _check_differentiable(args[i], i, allow_int)

        def f_of_dyn(*dyn_args):
            full = list(args)
            for i, a in zip(nums, dyn_args):
                full[i] = a
            return fun(*full, **kwargs)

        f_of_dyn.__wrapped__ = fun  # messages name the user's function, not this closure
        # vjp without the VJPFunction: linearize, then transpose with a cotangent of one.
        res, in_tree, in_avals, store = _linearize_args(f_of_dyn, dyn, has_aux, "grad",
                                                        check_inputs=check_inputs, tape=True)
        n = store.num_out
        out = pytree.tree_unflatten(store.out_tree, res.primals_out[:n])
        out_aval = _check_scalar_output(out, store.out_tree, fun)
        cts = res.pull_back([np.array(1, out_aval.dtype)])
        grads = _input_cotangents(cts, res.linear_inputs, in_avals, in_tree)
        grads = grads[0] if isinstance(argnums, int) else grads
        if has_aux:
            return (out, pytree.tree_unflatten(store.aux_tree, res.primals_out[n:])), grads
        return out, grads

    return value_and_grad_f


def grad(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False):
    """The gradient of a scalar-output function with respect to argument(s) ``argnums``.

    >>> ftx.grad(lambda x: fnp.sum(x ** 2))(np.arange(3.0))     # [0., 2., 4.]

    ``argnums`` an int or a tuple (then a tuple of gradients); ``has_aux=True``:
    ``fun`` returns ``(loss, aux)`` and grad returns ``(g, aux)``; ``allow_int``:
    integer inputs get float0 zero gradients instead of an error.
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


def _check_scalar_output(out, out_tree, fun):
    """The aval of ``out`` (of structure ``out_tree``) if it is one real or complex scalar;
    a TypeError naming what it is otherwise."""
    is_leaf = pytree.treedef_is_leaf(out_tree)
    if is_leaf:
        aval = get_aval(out)
        if aval.shape == () and aval.dtype.kind in "fc":  # the usual case
            return aval
    leaves = pytree.tree_leaves(out)
    name = getattr(fun, "__name__", "the function")
    if len(leaves) != 1 or get_aval(leaves[0]).shape != () or not is_leaf:
        shapes = ", ".join(get_aval(x).str_short() for x in leaves) or "nothing"
        if len(leaves) == 1 and get_aval(leaves[0]).shape == ():
            shapes = f"{shapes} inside {out_tree}"  # e.g. a 1-tuple: JAX refuses it too
        raise TypeError(f"grad requires a scalar-output function, but {name} returned {shapes}. "
                        "Reduce the output (e.g. fnp.sum or fnp.mean), or use ftx.vjp or "
                        "ftx.jacrev for non-scalar outputs.")
    aval = get_aval(leaves[0])
    if aval.dtype.kind not in "fc":
        raise TypeError(f"grad requires a real- or complex-valued output, but {name} returned "
                        f"{aval.str_short()}")
    return aval


def _check_differentiable(arg, i, allow_int):
    for leaf in pytree.tree_leaves(arg):
        aval = get_aval(leaf)
        if aval.dtype.kind not in "fc" and not allow_int:
            raise TypeError(f"grad requires real- or complex-valued inputs (input dtype that is a "
                            f"sub-dtype of np.floating or np.complexfloating), but argument {i} "
                            f"has {aval.str_short()}. Pass allow_int=True to get float0 zero "
                            "gradients for integer inputs, or convert the input to float.")

