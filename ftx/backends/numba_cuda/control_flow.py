"""Calls and control flow on the GPU: the sub-jaxprs are compiled for CUDA too, and a short
host loop drives them, so the carried values never leave the device.

- ``jit``, ``closed_call``, ``custom_jvp_call``, ``custom_vjp_call``, ``checkpoint``: the
  called jaxpr as a nested program (custom rules and remat policies only matter to
  transforms, which have already run).
- ``cond``: the branch index is copied to the host (one scalar), then one branch runs.
- ``while``: the predicate is copied to the host after every step.
- ``scan``: each step reads its slice of ``xs`` in place and copies its ``ys`` into place.
"""
from __future__ import annotations

import numpy as np

from ftx.backends.numba_cuda import runtime


def _program(builder, jaxpr):
    from ftx.backends.numba_cuda.executor import build_program
    return build_program(jaxpr, builder)


def _read_scalar(buf):
    return buf.copy_to_host()[0]


def lower_call(builder, eqn):
    jaxpr = eqn.params["jaxpr"] if "jaxpr" in eqn.params else eqn.params["call_jaxpr"]
    program = _program(builder, jaxpr)
    return program.run_buffers


def lower_cond(builder, eqn):
    branches = [_program(builder, b) for b in eqn.params["branches"]]
    last = len(branches) - 1

    def step(index, *operands):
        i = int(np.clip(_read_scalar(index), 0, last))
        return branches[i].run_buffers(*operands)
    return step


def lower_while(builder, eqn):
    p = eqn.params
    cond = _program(builder, p["cond_jaxpr"])
    body = _program(builder, p["body_jaxpr"])
    n_cond, n_body, max_steps = p["cond_nconsts"], p["body_nconsts"], p["max_steps"]

    def step(*args):
        cond_consts, body_consts = args[:n_cond], args[n_cond:n_cond + n_body]
        carry = list(args[n_cond + n_body:])
        steps = 0
        while (max_steps is None or steps < max_steps) and \
                _read_scalar(cond.run_buffers(*cond_consts, *carry)[0]):
            carry = body.run_buffers(*body_consts, *carry)
            steps += 1
        return carry
    return step


def lower_scan(builder, eqn):
    p = eqn.params
    body = _program(builder, p["jaxpr"])
    n_consts, n_carry, length, reverse = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
    x_avals = [v.aval for v in eqn.invars[n_consts + n_carry:]]
    y_avals = [v.aval for v in eqn.outvars[n_carry:]]
    x_sizes = [a.size // length if length else 0 for a in x_avals]
    y_sizes = [a.size // length if length else 0 for a in y_avals]

    def step(*args):
        consts = args[:n_consts]
        carry = list(args[n_consts:n_consts + n_carry])
        xs = args[n_consts + n_carry:]
        ys = [runtime.empty(a.size, a.dtype) for a in y_avals]
        for i in (range(length - 1, -1, -1) if reverse else range(length)):
            x_slices = [x[i * n:(i + 1) * n] for x, n in zip(xs, x_sizes)]
            outs = body.run_buffers(*consts, *carry, *x_slices)
            carry = outs[:n_carry]
            for y, n, o in zip(ys, y_sizes, outs[n_carry:]):
                if n:
                    y[i * n:(i + 1) * n].copy_to_device(o)
        return carry + ys
    return step


LOWERINGS = {"jit": lower_call, "closed_call": lower_call, "custom_jvp_call": lower_call,
             "custom_vjp_call": lower_call, "checkpoint": lower_call,
             "name": lambda builder, eqn: lambda x: [x],  # a label for remat policies
             "cond": lower_cond, "while": lower_while, "scan": lower_scan}

__all__ = ["LOWERINGS"]
