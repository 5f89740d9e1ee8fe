"""What the benchmark scripts share: the headline side channel that ``run.py`` reads, and the
thread setting that makes PyTorch comparable with NumPy.

A script calls ``record(case, library, value, unit)`` for each number that belongs in the
headline table of ``benchmarks/RESULTS.md``. With ``FTX_BENCH_JSON=path`` in the environment
(``run.py`` sets it) each call appends one JSON line to that file; without it, nothing
happens, so the scripts still run on their own and only print their tables.

    >>> record("gelu*sigmoid chain, 4M f32", "ftx", 4.86, "ms", variant="jit")
"""
from __future__ import annotations

import json
import os

ENV = "FTX_BENCH_JSON"


def record(case: str, library: str, value: float, unit: str, variant: str = "") -> None:
    """Append one headline number (lower is better) to ``$FTX_BENCH_JSON``, if it is set.

    ``case`` names the row of the headline table, ``library`` its column ("ftx", "NumPy",
    "JAX", "PyTorch", "autograd"); ``variant`` says how the library ran it ("jit",
    "eager", "torch.compile") when it ran it more than one way: the table shows each
    library's best variant. Example::

        record("jit call, 4-element input", "JAX", 5.7, "µs", variant="jax.jit")
    """
    path = os.environ.get(ENV)
    if not path or value is None:
        return
    line = json.dumps({"case": case, "library": library, "value": float(value), "unit": unit,
                       "variant": variant}, ensure_ascii=False)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def numpy_threads() -> int:
    """How many threads NumPy's BLAS uses (threadpoolctl when installed, else the usable
    cores, OpenBLAS's default). Example: ``torch.set_num_threads(numpy_threads())``."""
    try:
        from threadpoolctl import threadpool_info
        __import__("numpy")  # loads the BLAS, so that threadpoolctl can see it
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def import_torch():
    """``torch`` with as many intra-op threads as NumPy's BLAS has (so that the two are
    compared on the same cores), or None when it is not installed. Example::

        torch = import_torch()
        if torch is None: rows.append(("PyTorch", None, "not installed"))
    """
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(numpy_threads())
    return torch
