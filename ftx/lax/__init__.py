"""ftx.lax: the primitive operations, in the style of jax.lax."""
import importlib as _importlib

from ftx.lax.elementwise import *  # noqa: F401,F403
from ftx.lax.shape import *  # noqa: F401,F403

for _name in ["slicing", "reductions", "cumulative", "linalg", "sorting", "parallel", "debugging"]:
    try:
        _module = _importlib.import_module(f"ftx.lax.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name != f"ftx.lax.{_name}":
            raise
        continue
    for _export in getattr(_module, "__all__", [n for n in dir(_module) if not n.startswith("_")]):
        globals()[_export] = getattr(_module, _export)
