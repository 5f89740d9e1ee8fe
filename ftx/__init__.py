"""ftx: composable function transforms (grad, vmap, jit) for NumPy code.

    import ftx, ftx.numpy as fnp
    loss = lambda w, x: fnp.mean(fnp.tanh(x @ w) ** 2)
    g = ftx.grad(loss)(w, x)
"""
from ftx import debug, lax, nn, numpy, optim, random, scipy, tree_util
from ftx.core import ShapeDtypeStruct, config, eval_shape, make_jaxpr
from ftx.core.errors import (ConcretizationTypeError, NonConcreteBooleanIndexError,
                             TracerArrayConversionError, TracerBoolConversionError,
                             TracerIntegerConversionError, UnexpectedTracerError)
from ftx.lax.elementwise import stop_gradient
from ftx.transforms.batching import vmap
from ftx.transforms.jacobians import hessian, jacfwd, jacobian, jacrev
from ftx.transforms.jvp import jvp
from ftx.transforms.partial_eval import linearize
from ftx.transforms.reverse import grad, value_and_grad, vjp
from ftx.transforms.transpose import linear_transpose

__version__ = "0.1.0"

__all__ = [
    "debug", "lax", "nn", "numpy", "optim", "random", "scipy", "tree_util", "ShapeDtypeStruct", "config", "eval_shape", "make_jaxpr",
    "ConcretizationTypeError", "NonConcreteBooleanIndexError", "TracerArrayConversionError",
    "TracerBoolConversionError", "TracerIntegerConversionError", "UnexpectedTracerError",
    "stop_gradient", "vmap", "hessian", "jacfwd", "jacobian", "jacrev", "jvp", "linearize",
    "grad", "value_and_grad", "vjp", "linear_transpose",
]

from ftx.transforms.custom_derivatives import Function, custom_jvp, custom_vjp  # noqa: E402
from ftx.transforms.jit import RetraceError, jit, no_retrace  # noqa: E402

__all__ += ["Function", "custom_jvp", "custom_vjp", "jit", "no_retrace", "RetraceError"]
