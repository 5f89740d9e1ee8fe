"""Gradient transformations in the optax style: ``init(params) -> state`` and
``update(updates, state, params=None) -> (updates, state)``, pure functions over pytrees.

States are NamedTuples of arrays (pytrees), so an optimizer step can be jitted,
vmapped or checkpointed like any other function. Updates keep each parameter's
dtype: scalar hyperparameters and schedule values are cast to it, so float32
models stay float32 (and a jitted step does not retrace on its second call).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import ftx.numpy as fnp
from ftx.core.pytree import tree_leaves, tree_map

__all__ = ["GradientTransformation", "EmptyState", "TraceState", "ScaleByAdamState",
           "ScaleByScheduleState", "identity", "chain", "scale", "scale_by_schedule",
           "scale_by_learning_rate", "trace", "scale_by_adam", "add_decayed_weights",
           "clip_by_global_norm", "global_norm", "apply_updates"]


class GradientTransformation(NamedTuple):
    """A pair of pure functions: ``init(params) -> state``,
    ``update(updates, state, params=None) -> (new_updates, new_state)``.

    ``opt = optim.adam(1e-3); state = opt.init(params); updates, state = opt.update(grads,
    state, params); params = optim.apply_updates(params, updates)``.
    """
    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


class TraceState(NamedTuple):
    """The momentum buffer of ``trace``."""
    trace: Any


class ScaleByAdamState(NamedTuple):
    """Adam's step count and first/second moment estimates."""
    count: Any
    mu: Any
    nu: Any


class ScaleByScheduleState(NamedTuple):
    """The step count a schedule is evaluated at."""
    count: Any


def _count0():
    return np.zeros((), np.int32)


def _cast(value, like):
    """A scalar ``value`` in the dtype of array ``like`` (so it never promotes ``like``)."""
    dtype = fnp.asarray(like).dtype
    if isinstance(value, (int, float)):
        return np.asarray(value, dtype)
    return fnp.asarray(value).astype(dtype)


def _zeros_like(tree):
    return tree_map(lambda x: fnp.zeros_like(x), tree)


def identity() -> GradientTransformation:
    """Leaves updates unchanged: ``chain(identity(), sgd(0.1))`` is ``sgd(0.1)``."""
    return GradientTransformation(lambda params: EmptyState(),
                                  lambda updates, state, params=None: (updates, state))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies ``transforms`` in order: ``chain(clip_by_global_norm(1.0), adam(1e-3))``.

    The state is the tuple of the transforms' states.
    """
    for t in transforms:
        if not (hasattr(t, "init") and hasattr(t, "update")):
            raise TypeError(f"chain: expected GradientTransformations, got {t!r}")

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        if len(state) != len(transforms):
            raise ValueError(f"chain: the state has {len(state)} entries for "
                             f"{len(transforms)} transformations; was it made by this chain's "
                             "init?")
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


def scale(step_size: float) -> GradientTransformation:
    """Multiplies updates by ``step_size``: ``scale(-0.1)`` is plain SGD with learning rate 0.1."""
    def update(updates, state, params=None):
        return tree_map(lambda g: g * _cast(step_size, g), updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale_by_schedule(step_size_fn: Callable) -> GradientTransformation:
    """Multiplies updates by ``step_size_fn(count)``, ``count`` being the number of
    updates made before this one (0 at the first step)."""
    def init(params):
        return ScaleByScheduleState(_count0())

    def update(updates, state, params=None):
        step_size = step_size_fn(state.count)
        updates = tree_map(lambda g: g * _cast(step_size, g), updates)
        return updates, ScaleByScheduleState(fnp.asarray(state.count + 1))

    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate, *, flip_sign: bool = True) -> GradientTransformation:
    """``scale(-lr)`` for a number, ``scale_by_schedule(lambda n: -lr(n))`` for a schedule."""
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``t = g + decay * t``; updates are ``t`` (or ``g + decay * t``, Nesterov)."""
    def init(params):
        return TraceState(_zeros_like(params))

    def update(updates, state, params=None):
        f = lambda g, t: g + _cast(decay, g) * t  # noqa: E731
        new_trace = tree_map(f, updates, state.trace)
        updates = tree_map(f, updates, new_trace) if nesterov else new_trace
        return updates, TraceState(new_trace)

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                  eps_root: float = 0.0) -> GradientTransformation:
    """Adam's direction ``m_hat / (sqrt(v_hat + eps_root) + eps)`` (bias-corrected moments)."""
    def init(params):
        return ScaleByAdamState(_count0(), _zeros_like(params), _zeros_like(params))

    def update(updates, state, params=None):
        mu = tree_map(lambda g, m: (1 - _cast(b1, g)) * g + _cast(b1, g) * m, updates, state.mu)
        nu = tree_map(lambda g, v: (1 - _cast(b2, g)) * (g * g) + _cast(b2, g) * v,
                      updates, state.nu)
        count = fnp.asarray(state.count + 1)  # an array, not a NumPy scalar, when eager

        def direction(m, v):
            n = fnp.asarray(count).astype(fnp.asarray(m).dtype)
            m_hat = m / (1 - _cast(b1, m) ** n)
            v_hat = v / (1 - _cast(b2, v) ** n)
            return m_hat / (fnp.sqrt(v_hat + _cast(eps_root, v)) + _cast(eps, v))

        return tree_map(direction, mu, nu), ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay: float = 0.0, mask=None) -> GradientTransformation:
    """Adds ``weight_decay * params`` to the updates (decoupled weight decay, as in AdamW).

    ``mask``: a pytree of bools with the params' structure, or a function ``params ->
    mask``, choosing which parameters decay (e.g. not biases).
    """
    def update(updates, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights: update() needs params (weight decay "
                             "depends on them): call opt.update(grads, state, params)")
        m = mask(params) if callable(mask) else mask
        if m is None:
            return tree_map(lambda g, p: g + _cast(weight_decay, g) * p, updates, params), state
        return tree_map(lambda g, p, on: g + _cast(weight_decay, g) * p if on else g,
                        updates, params, m), state

    return GradientTransformation(lambda params: EmptyState(), update)


def global_norm(tree):
    """The norm of all leaves together: ``global_norm([np.array([3.]), np.array([4.])]) == 5``."""
    leaves = tree_leaves(tree)
    if not leaves:
        return np.zeros((), np.float32)
    total = sum(fnp.sum(fnp.real(x * fnp.conj(x))) for x in leaves)
    return fnp.sqrt(total)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescales all updates together so that their global norm is at most ``max_norm``."""
    def update(updates, state, params=None):
        norm = global_norm(updates)
        clipped = norm < max_norm

        def clip(g):
            n = _cast(norm, g)
            return fnp.where(clipped, g, (g / n) * _cast(max_norm, g))

        return tree_map(clip, updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def apply_updates(params, updates):
    """``params + updates`` leafwise, keeping each parameter's dtype. Works on Modules too."""
    def add(p, u):
        if u is None:
            return p
        p = fnp.asarray(p)
        return (p + u).astype(p.dtype)

    return tree_map(add, params, updates, is_leaf=lambda x: x is None)
