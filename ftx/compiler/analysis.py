"""Static estimates over a jaxpr: floating-point work and memory (for ``Compiled``).

Estimates, not measurements: elementwise ops cost one flop per output element,
transcendentals are counted separately, ``dot_general`` costs 2·M·N·K, and
sub-jaxprs (control flow, calls) are counted once per execution of their body
where the trip count is static.
"""
from __future__ import annotations

import math

from ftx.core.jaxpr import Jaxpr, Literal, subjaxprs

TRANSCENDENTAL = {"exp", "exp2", "log", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos",
                   "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sqrt", "rsqrt",
                   "cbrt", "logistic", "erf", "erfc", "lgamma", "digamma", "pow", "atan2",
                   "cumlogsumexp"}
NO_FLOPS = {"reshape", "broadcast_in_dim", "transpose", "squeeze", "rev", "concatenate", "pad",
             "slice", "dynamic_slice", "dynamic_update_slice", "gather", "iota",
             "convert_element_type", "stop_gradient", "select_n", "copy"}


def _size(aval) -> int:
    return math.prod(aval.shape)


def _bytes(aval) -> int:
    return _size(aval) * aval.dtype.itemsize


def _dot_flops(eqn) -> int:
    (lc, _), (lb, _) = eqn.params["dimension_numbers"]
    lhs = eqn.invars[0].aval
    k = math.prod(lhs.shape[i] for i in lc)
    return 2 * _size(eqn.outvars[0].aval) * k


def _trip_count(eqn) -> int:
    return int(eqn.params.get("length", 1) or 1)


def cost_analysis(jaxpr: Jaxpr) -> dict:
    """``{'flops', 'transcendentals', 'bytes accessed'}`` for one evaluation of ``jaxpr``."""
    flops = transcendentals = bytes_accessed = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        out_elems = sum(_size(v.aval) for v in eqn.outvars)
        subs = list(subjaxprs(eqn.params))
        if subs:
            trips = _trip_count(eqn)
            for sub in subs[:1] if name == "cond" else subs:
                inner = cost_analysis(sub)
                flops += trips * inner["flops"]
                transcendentals += trips * inner["transcendentals"]
                bytes_accessed += trips * inner["bytes accessed"]
            continue
        if name == "dot_general":
            flops += _dot_flops(eqn)
        elif name.startswith("reduce_") or name.startswith("cum") or name.startswith("arg"):
            flops += sum(_size(v.aval) for v in eqn.invars if not isinstance(v, Literal))
        elif name not in NO_FLOPS:
            flops += out_elems
        if name in TRANSCENDENTAL:
            transcendentals += out_elems
        bytes_accessed += sum(_bytes(v.aval) for v in eqn.invars if not isinstance(v, Literal))
        bytes_accessed += sum(_bytes(v.aval) for v in eqn.outvars)
    return {"flops": float(flops), "transcendentals": float(transcendentals),
            "bytes accessed": float(bytes_accessed)}


def memory_analysis(jaxpr: Jaxpr) -> dict:
    """Argument, output and temporary bytes, and the peak of live bytes when every
    intermediate is freed after its last use (the executor's policy)."""
    argument = sum(_bytes(v.aval) for v in jaxpr.invars) + \
        sum(_bytes(v.aval) for v in jaxpr.constvars)
    outvars = [v for v in jaxpr.outvars if not isinstance(v, Literal)]
    output = sum(_bytes(v.aval) for v in outvars)
    last_use = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if not isinstance(v, Literal):
                last_use[v] = i
    keep = set(outvars) | set(jaxpr.invars) | set(jaxpr.constvars)
    live = temp_total = peak = 0
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.outvars:
            live += _bytes(v.aval)
            if v not in keep:
                temp_total += _bytes(v.aval)
        peak = max(peak, live)
        for v in set(eqn.invars):
            if not isinstance(v, Literal) and last_use.get(v) == i and v not in keep \
                    and v not in jaxpr.invars:
                live -= _bytes(v.aval)
    return {"argument_size_in_bytes": argument, "output_size_in_bytes": output,
            "temp_size_in_bytes": temp_total, "peak_memory_in_bytes": argument + peak}
