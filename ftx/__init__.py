"""ftx: composable function transforms for NumPy code."""
from ftx import tree_util
from ftx.core import config, make_jaxpr, eval_shape, ShapeDtypeStruct
