"""Loss functions. ``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'`` (per example)."""
from __future__ import annotations

import ftx.numpy as fnp
from ftx.nn._activations import log_softmax, one_hot

__all__ = ["softmax_cross_entropy", "mse"]


def _reduce(losses, reduction: str, name: str):
    if reduction == "mean":
        return fnp.mean(losses)
    if reduction == "sum":
        return fnp.sum(losses)
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def softmax_cross_entropy(logits, labels, *, axis: int = -1, reduction: str = "mean"):
    """Cross-entropy between ``softmax(logits)`` and ``labels``, computed stably.

    ``labels`` are either integer class indices (shape ``logits.shape`` without ``axis``)
    or probabilities / one-hot rows (``logits.shape``), told apart by dtype:
    ``softmax_cross_entropy(logits, np.array([0, 2]))``. Per example it is
    ``-sum(p * log_softmax(logits), axis)``; integer labels out of range contribute 0.
    """
    logits = fnp.asarray(logits)
    labels = fnp.asarray(labels)
    if logits.ndim == 0:
        raise ValueError("softmax_cross_entropy: logits must have a class axis, got a scalar")
    logp = log_softmax(logits, axis=axis)
    if labels.dtype.kind in "iu":
        expected = tuple(s for i, s in enumerate(logits.shape) if i != axis % logits.ndim)
        if tuple(labels.shape) != expected:
            raise ValueError(f"softmax_cross_entropy: integer labels must have shape {expected} "
                             f"(logits {tuple(logits.shape)} without axis {axis}), got "
                             f"{tuple(labels.shape)}")
        labels = one_hot(labels, logits.shape[axis], dtype=logp.dtype, axis=axis)
    elif tuple(labels.shape) != tuple(logits.shape):
        raise ValueError(f"softmax_cross_entropy: probability labels must have the logits' shape "
                         f"{tuple(logits.shape)}, got {tuple(labels.shape)}; integer class "
                         f"labels need an integer dtype")
    losses = -fnp.sum(labels * logp, axis=axis)
    return _reduce(losses, reduction, "softmax_cross_entropy")


def mse(predictions, targets, *, reduction: str = "mean"):
    """The squared error ``(predictions - targets) ** 2``, averaged by default.

    ``mse(np.array([1., 2.]), np.array([1., 4.])) == 2.0``; shapes broadcast.
    """
    diff = fnp.asarray(predictions) - fnp.asarray(targets)
    return _reduce(diff * diff, reduction, "mse")
