"""ftx.optim: optimizers as pure functions over pytrees, in the style of optax.

    from ftx import optim
    opt = optim.chain(optim.clip_by_global_norm(1.0),
                      optim.adamw(optim.warmup_cosine_decay(0.0, 1e-3, 100, 1000)))
    state = opt.init(params)

    @ftx.jit
    def step(params, state, x, y):
        loss, grads = ftx.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, loss

``params`` may be any pytree of arrays, ftx.nn modules included. Each optimizer
is a ``GradientTransformation(init, update)``; ``chain`` composes them; a
learning rate may be a number or a schedule (a function of the step count).
"""
from ftx.optim._alias import adam, adamw, momentum, sgd
from ftx.optim._schedules import (constant, constant_schedule, cosine_decay,
                                  cosine_decay_schedule, exponential_decay, join_schedules,
                                  linear, linear_schedule, piecewise_constant,
                                  piecewise_constant_schedule, warmup_cosine_decay,
                                  warmup_cosine_decay_schedule)
from ftx.optim._transform import (EmptyState, GradientTransformation, ScaleByAdamState,
                                  ScaleByScheduleState, TraceState, add_decayed_weights,
                                  apply_updates, chain, clip_by_global_norm, global_norm,
                                  identity, scale, scale_by_adam, scale_by_learning_rate,
                                  scale_by_schedule, trace)

__all__ = [
    "sgd", "momentum", "adam", "adamw",
    "GradientTransformation", "EmptyState", "TraceState", "ScaleByAdamState",
    "ScaleByScheduleState", "identity", "chain", "scale", "scale_by_schedule",
    "scale_by_learning_rate", "trace", "scale_by_adam", "add_decayed_weights",
    "clip_by_global_norm", "global_norm", "apply_updates",
    "constant", "linear", "exponential_decay", "cosine_decay", "warmup_cosine_decay",
    "piecewise_constant", "join_schedules", "constant_schedule", "linear_schedule",
    "cosine_decay_schedule", "warmup_cosine_decay_schedule", "piecewise_constant_schedule",
]
