"""Learning-rate schedules (optax's): functions ``count -> value`` of the step count.

Pass one wherever a learning rate is expected: ``adam(cosine_decay(1e-3, 1000))``.
They are written with ftx.numpy, so ``count`` may be traced (inside ``ftx.jit``);
given a Python int they return a NumPy scalar.
"""
from __future__ import annotations

import math

import ftx.numpy as fnp

__all__ = ["constant", "linear", "exponential_decay", "cosine_decay", "warmup_cosine_decay",
           "piecewise_constant", "join_schedules", "constant_schedule", "linear_schedule",
           "cosine_decay_schedule", "warmup_cosine_decay_schedule", "piecewise_constant_schedule"]


def constant(value):
    """``constant(0.1)(n) == 0.1`` for every step ``n``."""
    def schedule(count):
        return value
    return schedule


def linear(init_value, end_value, transition_steps: int, transition_begin: int = 0):
    """From ``init_value`` to ``end_value`` linearly over ``transition_steps`` steps starting
    at ``transition_begin``, constant outside. ``linear(0.0, 1.0, 10)(5) == 0.5``."""
    if transition_steps <= 0:
        return constant(init_value)

    def schedule(count):
        n = fnp.clip(fnp.asarray(count) - transition_begin, 0, transition_steps)
        frac = 1 - n / transition_steps
        return (init_value - end_value) * frac + end_value
    return schedule


def exponential_decay(init_value, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False, end_value=None):
    """``init_value * decay_rate ** ((n - transition_begin) / transition_steps)`` after
    ``transition_begin`` (``init_value`` before); ``staircase`` floors the exponent;
    ``end_value`` bounds the result. ``exponential_decay(1.0, 10, 0.5)(20) == 0.25``."""
    if transition_steps <= 0:
        raise ValueError(f"exponential_decay: transition_steps must be positive, got "
                         f"{transition_steps}")
    if transition_begin < 0:
        raise ValueError(f"exponential_decay: transition_begin must be >= 0, got "
                         f"{transition_begin}")

    def schedule(count):
        steps = fnp.asarray(count) - transition_begin
        p = steps / transition_steps
        if staircase:
            p = fnp.floor(p)
        value = fnp.where(steps <= 0, init_value, init_value * fnp.power(decay_rate, p))
        if end_value is not None:
            bound = fnp.maximum if decay_rate < 1.0 else fnp.minimum
            value = bound(value, end_value)
        return value
    return schedule


def cosine_decay(init_value, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0):
    """``init_value * ((1 - alpha) * c ** exponent + alpha)`` with
    ``c = (1 + cos(pi * min(n, decay_steps) / decay_steps)) / 2``: from ``init_value`` down to
    ``alpha * init_value`` at ``decay_steps``. ``cosine_decay(1.0, 10)(5) == 0.5``."""
    if decay_steps <= 0:
        raise ValueError(f"cosine_decay: decay_steps must be positive, got {decay_steps}")

    def schedule(count):
        n = fnp.minimum(fnp.asarray(count), decay_steps)
        c = 0.5 * (1 + fnp.cos(math.pi * n / decay_steps))
        return init_value * ((1 - alpha) * c ** exponent + alpha)
    return schedule


def join_schedules(schedules, boundaries):
    """``schedules[i]`` from ``boundaries[i - 1]`` on, each counting from its boundary.

    ``join_schedules([linear(0, 1, 10), constant(1.0)], [10])`` warms up, then holds.
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join_schedules: need one boundary fewer than schedules, got "
                         f"{len(schedules)} schedules and {len(boundaries)} boundaries")

    def schedule(count):
        count = fnp.asarray(count)
        out = schedules[0](count)
        for boundary, s in zip(boundaries, schedules[1:]):
            out = fnp.where(count < boundary, out, s(count - boundary))
        return out
    return schedule


def warmup_cosine_decay(init_value, peak_value, warmup_steps: int, decay_steps: int,
                        end_value=0.0, exponent: float = 1.0):
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then cosine
    decay to ``end_value`` at step ``decay_steps`` (counted from 0, warm-up included)."""
    if decay_steps <= warmup_steps:
        raise ValueError(f"warmup_cosine_decay: decay_steps ({decay_steps}) must exceed "
                         f"warmup_steps ({warmup_steps})")
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    return join_schedules([linear(init_value, peak_value, warmup_steps),
                           cosine_decay(peak_value, decay_steps - warmup_steps, alpha, exponent)],
                          [warmup_steps])


def piecewise_constant(init_value, boundaries_and_scales=None):
    """``init_value`` multiplied by ``scale`` once the count reaches each ``boundary``.

    ``piecewise_constant(0.1, {100: 0.1, 200: 0.1})`` is 0.1, then 0.01 from step 100, then
    0.001 from step 200.
    """
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in items:
        if boundary < 0:
            raise ValueError(f"piecewise_constant: boundaries must be >= 0, got {boundary}")

    def schedule(count):
        count = fnp.asarray(count)
        value = init_value
        for boundary, scale in items:
            value = fnp.where(count < boundary, value, value * scale)
        return value
    return schedule


# optax's names
constant_schedule = constant
linear_schedule = linear
cosine_decay_schedule = cosine_decay
warmup_cosine_decay_schedule = warmup_cosine_decay
piecewise_constant_schedule = piecewise_constant
