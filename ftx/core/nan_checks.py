"""``debug_nans`` / ``debug_infs``: stop at the first operation that produces a NaN or an inf.

With ``ftx.config.update('debug_nans', True)`` every eagerly evaluated primitive (and every
eager ftx.numpy call) checks its floating outputs and raises ``FloatingPointError`` naming
the operation and the user's line; a jitted program that returns a NaN is re-run op by op to
find the operation; the backward pass names the forward equation whose derivative made it.
"""
from __future__ import annotations

import numpy as np

from ftx.core.config import config
from ftx.core.source_info import current_source_info

config.define("debug_nans", False, "raise FloatingPointError at the first operation that "
              "produces a NaN (eager, jit and backward passes; slow: for debugging)")
config.define("debug_infs", False, "raise FloatingPointError at the first operation that "
              "produces an infinity (like debug_nans)")


# True while either option is on; read on every eager bind, so kept as a plain global.
active = False


def _update(_value) -> None:
    global active
    active = bool(config.debug_nans or config.debug_infs)


config.watch("debug_nans", _update)
config.watch("debug_infs", _update)


def check(name: str, outs, where=None) -> None:
    """Raise FloatingPointError if any floating output of ``name`` has a NaN (or an inf)."""
    for i, out in enumerate(outs):
        arr = np.asarray(out) if not isinstance(out, np.ndarray) else out
        if arr.dtype.kind not in "fc":
            continue
        what = None
        if config.debug_nans and np.isnan(arr).any():
            what = "nan"
        elif config.debug_infs and np.isinf(arr).any():
            what = "inf"
        if what is not None:
            where = where or current_source_info()
            at = f" at {where}" if where is not None else ""
            output = f" (output {i})" if len(outs) > 1 else ""
            flag = "debug_nans" if what == "nan" else "debug_infs"
            raise FloatingPointError(f"invalid value ({what}) encountered in {name}{output}{at}. "
                                     f"Set ftx.config.update('{flag}', False) to continue.")
