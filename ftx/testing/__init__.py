"""Public testing utilities: gradient checks against finite differences.

``check_grads(f, args, order=2)`` checks forward mode against central finite
differences along a random direction, and reverse mode against forward mode by
the inner-product identity ``<vjp(u), v> == <u, jvp(v)>``, recursively up to
``order`` (so second derivatives are checked too), as JAX's and autograd's do.
"""
from __future__ import annotations

import numpy as np

from ftx.core import pytree

_DEFAULT_TOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 2e-2,
                np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 2e-2,
                np.dtype(np.complex128): 1e-5}


def _tol(leaves, given):
    if given is not None:
        return given
    return max((_DEFAULT_TOL.get(np.asarray(x).dtype, 1e-5) for x in leaves), default=1e-5)


def _random_like(rng, x):
    x = np.asarray(x)
    if x.dtype.kind not in "fc":  # integer values get (ignored) zero tangents/cotangents
        return np.zeros(x.shape, x.dtype)
    if x.dtype.kind == "c":
        return (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(x.dtype)
    return rng.standard_normal(x.shape).astype(x.dtype)


def _inner(xs, ys):
    total = 0.0
    for x, y in zip(pytree.tree_leaves(xs), pytree.tree_leaves(ys)):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind not in "fc" or y.dtype.kind not in "fc":  # float0 (integer) parts
            continue
        total += float(np.real(np.vdot(x.astype(np.complex128).ravel(),
                                       y.astype(np.complex128).ravel())))
    return total


def _add(xs, ys, scale):
    return pytree.tree_map(lambda x, y: np.asarray(x + scale * y, np.asarray(x).dtype), xs, ys)


def numerical_jvp(f, args, tangents, eps):
    """(f(x + eps t) - f(x - eps t)) / (2 eps), leaf by leaf (integer outputs: zeros)."""
    plus = f(*_add(args, tangents, eps))
    minus = f(*_add(args, tangents, -eps))

    def diff(p, m):
        p, m = np.asarray(p), np.asarray(m)
        if p.dtype.kind not in "fc":
            return np.zeros(p.shape)
        return (p - m) / (2 * eps)

    return pytree.tree_map(diff, plus, minus)


def _assert_close(a, b, atol, rtol, what):
    for x, y in zip(pytree.tree_leaves(a), pytree.tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind not in "fc":  # integer outputs have float0 tangents: nothing to compare
            continue
        np.testing.assert_allclose(x, y, atol=atol, rtol=rtol, err_msg=what)


def check_jvp(f, args, atol=None, rtol=None, eps=1e-4, seed=0):
    """ftx.jvp(f) against central finite differences along a random direction."""
    from ftx.transforms.jvp import jvp
    rng = np.random.default_rng(seed)
    tangents = pytree.tree_map(lambda x: _random_like(rng, x), args)
    tol = _tol(pytree.tree_leaves(args), atol)
    _, t_out = jvp(f, args, tangents)
    expected = numerical_jvp(f, args, tangents, eps)
    _assert_close(t_out, expected, tol, tol if rtol is None else rtol, "jvp vs finite differences")


def check_vjp(f, args, atol=None, rtol=None, eps=1e-4, seed=0, what="f"):
    """<vjp(u), v> == <u, J v> for random directions u, v.

    J v comes from forward mode (the identity then holds to rounding, and forward
    mode is itself checked against finite differences by ``check_jvp``); for
    reverse-only functions (a custom_vjp without a forward rule) it comes from
    central finite differences.
    """
    from ftx.transforms.jvp import jvp
    from ftx.transforms.reverse import vjp
    rng = np.random.default_rng(seed + 1)
    v = pytree.tree_map(lambda x: _random_like(rng, x), args)
    out, f_vjp = vjp(f, *args)
    u = pytree.tree_map(lambda x: _random_like(rng, x), out)
    ct_in = f_vjp(u)
    lhs = _inner(ct_in, v)
    try:
        j_v, how = jvp(f, args, v)[1], "forward mode"
    except TypeError:  # no forward rule (custom_vjp): finite differences instead
        j_v, how = numerical_jvp(f, args, v, eps), f"central finite differences (eps={eps})"
    rhs = _inner(u, j_v)
    tol = _tol(pytree.tree_leaves(args), atol)
    scale = max(1.0, abs(lhs), abs(rhs))
    if abs(lhs - rhs) > tol * scale:
        raise AssertionError(
            f"check_grads: reverse mode of {what} is wrong: along random directions u (outputs) "
            f"and v (inputs) (seed {seed}), <vjp(u), v> = {lhs!r} but <u, J v> by {how} = "
            f"{rhs!r}; they differ by {abs(lhs - rhs):.3g}, "
            f"more than the tolerance {tol:g} x {scale:.3g}")


def check_jvp_named(f, args, atol, rtol, eps, seed, what):
    try:
        check_jvp(f, args, atol, rtol, eps, seed)
    except AssertionError as e:
        raise AssertionError(f"check_grads: forward mode (jvp) of {what} is wrong along a random "
                             f"direction (seed {seed}), compared with central finite differences "
                             f"(eps={eps}):\n{e}") from None


def check_grads(f, args, order: int = 2, modes=("fwd", "rev"), atol=None, rtol=None, eps=1e-4,
                seed=0):
    """Check derivatives of ``f`` at ``args`` up to ``order``, in forward and/or reverse mode.

    >>> check_grads(fnp.sin, (np.linspace(0, 1, 3),), order=2)

    Forward mode is compared with central finite differences along a random
    direction; reverse mode by the inner-product identity <vjp(u), v> == <u, J v>
    with J v from finite differences. Higher orders check the derivative functions
    themselves (jvp of jvp, vjp of vjp). A failure names the mode, the order and the
    seed of the random directions.
    """
    _check_grads(f, tuple(args), order, tuple(modes), atol, rtol, eps, seed,
                 getattr(f, "__name__", "f"), 1)


def _check_grads(f, args, order, modes, atol, rtol, eps, seed, what, level):
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {mode!r}")
    label = what if level == 1 else f"{what} (derivative of order {level})"
    if "fwd" in modes:
        check_jvp_named(f, args, atol, rtol, eps, seed, label)
    if "rev" in modes:
        check_vjp(f, args, atol, rtol, eps, seed, label)
    if order > 1:
        rng = np.random.default_rng(seed + order)
        if "fwd" in modes:
            from ftx.transforms.jvp import jvp
            t = pytree.tree_map(lambda x: _random_like(rng, x), args)
            _check_grads(lambda *a: jvp(f, a, t)[1], args, order - 1, ("fwd",), atol, rtol,
                         eps, seed, f"jvp({what})", level + 1)
        if "rev" in modes:
            from ftx.transforms.reverse import vjp
            out = f(*args)
            u = pytree.tree_map(lambda x: _random_like(rng, x), out)
            _check_grads(lambda *a: vjp(f, *a)[1](u), args, order - 1, ("rev",), atol, rtol,
                         eps, seed, f"vjp({what})", level + 1)
