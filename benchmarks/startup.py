"""Time to the first training step in a fresh process, with a cold and a warm disk cache,
for ftx and (when installed) JAX with its persistent compilation cache enabled.

    PYTHONPATH=. python benchmarks/startup.py [repeats]

Each run is a new Python process that imports the library, builds an MLP
(784-1024-1024-10, batch 256, float32), and runs one jitted training step
(``value_and_grad`` + an SGD update). "cold": an empty cache directory; "warm": the
directory a previous process filled. Prints the median and the best of ``repeats``
processes (default 3): the whole process's wall time as seen from outside, and, from
inside, the import time and the first step (trace, compile or cache load, run). Python
bytecode (.pyc) is warm in every run, as for an installed package.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

from _report import record

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_DATA = """
    rng = np.random.default_rng(0)
    sizes = [784, 1024, 1024, 10]
    params = [(rng.normal(0, 0.03, (m, n)).astype(np.float32), np.zeros(n, np.float32))
              for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.normal(size=(256, 784)).astype(np.float32)
    y = rng.normal(size=(256, 10)).astype(np.float32)
"""

FTX_PROGRAM = """
    import time; t0 = time.perf_counter()
    import json
    import numpy as np, ftx, ftx.numpy as fnp
    t_import = time.perf_counter() - t0
""" + _DATA + """
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = fnp.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        return fnp.mean((h @ w + b - y) ** 2)

    @ftx.jit
    def train_step(params, x, y):
        value, grads = ftx.value_and_grad(loss)(params, x, y)
        return value, ftx.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads)

    t1 = time.perf_counter()
    value, params = train_step(params, x, y)
    t_step = time.perf_counter() - t1
    from ftx.backends.numba_cpu import executor, kernels
    try:  # backend internals, for the detail column only: the timings never depend on them
        dispatchers = (kernels.loaded_dispatchers() if hasattr(kernels, "loaded_dispatchers")
                       else list(kernels._loaded.values()))
        misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
        detail = (f"{executor.stats['lowered']} lowered, {len(kernels._loaded)} kernels, "
                  f"{misses} Numba compilations")
    except (AttributeError, KeyError, TypeError) as e:
        detail = f"(no detail: {type(e).__name__})"
    print(json.dumps({"import": t_import, "step": t_step, "loss": float(value),
                      "detail": detail}))
"""

JAX_PROGRAM = """
    import time; t0 = time.perf_counter()
    import json, sys
    import numpy as np, jax, jax.numpy as jnp
    jax.config.update("jax_compilation_cache_dir", sys.argv[1])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    t_import = time.perf_counter() - t0
""" + _DATA + """
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jnp.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        return jnp.mean((h @ w + b - y) ** 2)

    @jax.jit
    def train_step(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return value, jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads)

    t1 = time.perf_counter()
    value, params = train_step(params, x, y)
    value.block_until_ready()
    t_step = time.perf_counter() - t1
    print(json.dumps({"import": t_import, "step": t_step, "loss": float(value), "detail": ""}))
"""


# Python bytecode for every run, as an installed package has it (pip compiles .pyc files);
# kept out of the checkout.
_BYTECODE = tempfile.mkdtemp(prefix="startup-pycache-")


def run_process(program: str, cache_dir: str, env_name: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=REPO, JAX_PLATFORMS="cpu", PYTHONPYCACHEPREFIX=_BYTECODE)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if env_name:
        env[env_name] = cache_dir
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(program), cache_dir],
                            env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"the benchmark process failed:\n{result.stderr}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def measure(program: str, env_name: str | None, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="startup-cache-") as d:
        run_process(program, d, env_name)  # untimed: writes the bytecode of every module
    cold = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="startup-cache-") as d:
            cold.append(run_process(program, d, env_name))
    with tempfile.TemporaryDirectory(prefix="startup-cache-") as d:
        run_process(program, d, env_name)  # fill the cache
        warm = [run_process(program, d, env_name) for _ in range(repeats)]
    return {"cold": cold, "warm": warm}


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = [("ftx", measure(FTX_PROGRAM, "FTX_CACHE_DIR", repeats))]
    if importlib.util.find_spec("jax") is not None:
        rows.append(("JAX", measure(JAX_PROGRAM, None, repeats)))
    losses = {round(r["loss"], 4) for _, m in rows for runs in m.values() for r in runs}
    print(f"# Fresh process to the first MLP training step (784-1024-1024-10, b256, f32) — "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"NumPy {np.__version__}; median (best) of {repeats} processes, seconds")
    print("| library, cache | process wall | import | first step | detail (last run) |")
    print("|---|---|---|---|---|")
    for name, m in rows:
        for state in ("cold", "warm"):
            runs = m[state]

            def cell(k):
                values = [r[k] for r in runs]
                return f"{statistics.median(values):.2f} ({min(values):.2f})"
            print(f"| {name}, {state} | {cell('wall')} | {cell('import')} | {cell('step')} | "
                  f"{runs[-1]['detail']} |")
            record(f"fresh process to first MLP step, {state} cache", name,
                   statistics.median(r["wall"] for r in runs), "s", "median process wall")
    print(f"(first-step losses agree across all runs: {sorted(losses)})")


if __name__ == "__main__":
    main()
