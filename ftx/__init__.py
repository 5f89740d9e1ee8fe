"""ftx: composable function transforms for NumPy code."""
from ftx import lax, numpy, tree_util
from ftx.core import (ShapeDtypeStruct, config, eval_shape, make_jaxpr)
from ftx.core.errors import (ConcretizationTypeError, NonConcreteBooleanIndexError,
                             TracerArrayConversionError, TracerBoolConversionError,
                             TracerIntegerConversionError, UnexpectedTracerError)
