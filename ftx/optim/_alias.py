"""The common optimizers, as chains of gradient transformations (optax's definitions)."""
from __future__ import annotations

from ftx.optim._transform import (GradientTransformation, add_decayed_weights, chain,
                                  scale_by_adam, scale_by_learning_rate, trace)

__all__ = ["sgd", "momentum", "adam", "adamw"]


def sgd(learning_rate, momentum: float | None = None, nesterov: bool = False
        ) -> GradientTransformation:
    """Stochastic gradient descent, ``p -= lr * g``, with optional (Nesterov) momentum.

    ``sgd(0.1)``; ``sgd(0.1, momentum=0.9)`` keeps ``t = g + 0.9 t`` and steps by ``-lr * t``
    (``-lr * (g + 0.9 t)`` with ``nesterov=True``). ``learning_rate`` may be a schedule.
    """
    if momentum is None:
        return scale_by_learning_rate(learning_rate)
    return chain(trace(momentum, nesterov), scale_by_learning_rate(learning_rate))


def momentum(learning_rate, beta: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """SGD with momentum ``beta``: ``momentum(0.1)`` is ``sgd(0.1, momentum=0.9)``."""
    return sgd(learning_rate, momentum=beta, nesterov=nesterov)


def adam(learning_rate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         eps_root: float = 0.0) -> GradientTransformation:
    """Adam (Kingma & Ba): ``p -= lr * m_hat / (sqrt(v_hat) + eps)``. ``adam(1e-3)``."""
    return chain(scale_by_adam(b1, b2, eps, eps_root), scale_by_learning_rate(learning_rate))


def adamw(learning_rate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          eps_root: float = 0.0, weight_decay: float = 1e-4, mask=None) -> GradientTransformation:
    """Adam with decoupled weight decay: ``p -= lr * (adam_direction + weight_decay * p)``.

    ``adamw(1e-3, weight_decay=1e-2, mask=lambda p: tree_map(lambda x: x.ndim > 1, p))``
    decays only matrices. Needs ``params`` in ``update``.
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root), add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))
