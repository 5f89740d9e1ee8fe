"""The core: abstract values, tracing, primitives and their rule tables, the jaxpr IR.

It knows no particular primitive, transform or backend, and imports without numba.
"""
from ftx.core import dtypes
from ftx.core.avals import ShapedArray, ShapeDtypeStruct, get_aval, is_array_like
from ftx.core.config import config
from ftx.core.errors import (ConcretizationTypeError, JaxprTypeError, MissingRuleError,
                             NonConcreteBooleanIndexError, TracerArrayConversionError,
                             TracerBoolConversionError, TracerIntegerConversionError,
                             UnexpectedTracerError)
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal, Var, check_jaxpr, eval_jaxpr, pp_jaxpr
from ftx.core.primitive import (RULE_KINDS, RULES, Primitive, all_primitives, def_rule,
                                get_rule, rule_coverage)
from ftx.core.staging import (JaxprTrace, JaxprTracer, eval_shape, make_jaxpr,
                              trace_to_jaxpr)
from ftx.core.trace import (Trace, TraceDebugInfo, Tracer, current_trace,
                            register_tracer_methods, set_current_trace)
