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

# Activation checkpointing and the AOT forward/backward split (min-cut rematerialization).
from ftx.transforms.aot import aot_function, aot_module  # noqa: E402
from ftx.transforms.checkpoint import (checkpoint, checkpoint_name, checkpoint_policies,  # noqa: E402
                                       print_saved_residuals, remat)

__all__ += ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies", "aot_function",
            "aot_module", "print_saved_residuals"]

from ftx.debug.leaks import LeakedTracerError, checking_leaks  # noqa: E402

__all__ += ["checking_leaks", "LeakedTracerError"]

# MPI collectives; mpi4py is imported only when a communicator is first needed.
from ftx import distributed  # noqa: E402

__all__ += ["distributed"]

# The persistent compile cache: ftx.cache.info() / clear(), python -m ftx.cache info|clear.
from ftx import cache  # noqa: E402

__all__ += ["cache"]

# Devices and explicit host <-> GPU transfers (ftx.jit(..., backend="cuda") takes DeviceArrays).
from ftx._devices import DeviceArray, device_put, devices  # noqa: E402

__all__ += ["DeviceArray", "device_put", "devices"]
