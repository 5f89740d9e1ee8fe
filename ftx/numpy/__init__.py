"""ftx.numpy: NumPy's API for code that ftx transforms.

Outside any transform every function is NumPy itself (NumPy arrays in and out);
inside ``grad``, ``vmap``, ``jit``, ``make_jaxpr`` ... the same call records lax
primitives with NumPy 2's promotion and broadcasting rules.
"""
import importlib as _importlib

from ftx.numpy._array_methods import install as _install_tracer_methods

_MODULES = ["_constants", "_ufuncs", "_creation", "_shape", "_indexing", "_reductions",
            "_linalg", "_sorting"]
for _name in _MODULES:
    try:
        _module = _importlib.import_module(f"ftx.numpy.{_name}")
    except ModuleNotFoundError as _e:  # a family still being written
        if _e.name != f"ftx.numpy.{_name}":
            raise
        continue
    globals()[_name] = _module
    for _export in _module.__all__:
        globals()[_export] = getattr(_module, _export)

from ftx.numpy import linalg  # noqa: E402  (ftx.numpy.linalg, as numpy.linalg)

_install_tracer_methods()
