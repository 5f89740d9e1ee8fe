"""ftx.nn: modules as pytrees, layers, activations, initializers and losses.

    import numpy as np, ftx
    from ftx import nn, random
    model = nn.MLP(2, 3, width_size=32, depth=2, key=random.key(0))
    logits = model(np.ones((8, 2), np.float32))                      # (8, 3)
    loss = lambda m, x, y: nn.softmax_cross_entropy(m(x), y)
    grads = ftx.grad(loss)(model, x, y)                              # an MLP of gradients

Modules are immutable dataclass pytrees (see ``Module``): transform them like any
pytree, update them with ``.replace`` or ``tree_at``. For PyTorch-style code,
``make_functional``/``functional_call`` work with a ``{name: array}`` dict of
parameters, and ``stack_modules`` builds ensembles to ``vmap`` over.
"""
from ftx.nn import initializers
from ftx.nn._activations import (elu, gelu, identity, leaky_relu, log_sigmoid, log_softmax,
                                 logsumexp, one_hot, relu, relu6, sigmoid, silu, softmax,
                                 softplus, swish, tanh)
from ftx.nn._layers import (MLP, Conv, Conv1d, Conv2d, Conv3d, Dropout, Embedding, Lambda,
                            LayerNorm, Linear, Sequential)
from ftx.nn._losses import mse, softmax_cross_entropy
from ftx.nn._module import (Module, field, functional_call, make_functional, named_parameters,
                            stack_modules, static_field, tree_at, unstack_modules)

__all__ = [
    "initializers",
    "Module", "field", "static_field", "tree_at", "make_functional", "functional_call",
    "named_parameters", "stack_modules", "unstack_modules",
    "Linear", "MLP", "Conv", "Conv1d", "Conv2d", "Conv3d", "LayerNorm", "Embedding", "Dropout",
    "Sequential", "Lambda",
    "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "sigmoid", "tanh",
    "softplus", "log_sigmoid", "softmax", "log_softmax", "logsumexp", "one_hot", "identity",
    "softmax_cross_entropy", "mse",
]
