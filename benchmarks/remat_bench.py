"""Activation checkpointing and the min-cut partitioner: peak memory and time per training step.

    python benchmarks/remat_bench.py [--quick]

The model is 16 residual blocks ``x + gelu(x @ W1) @ W2`` (width 256, hidden 1024, batch
128, float32); one step is ``value_and_grad`` of ``mean(x_out ** 2)`` with respect to all
weights (the 32 MiB of weight gradients are part of every peak) and, in a second table,
with respect to the input only (the peak is then almost all saved activations).

Peaks count what one step allocates, not its inputs, each library's way, since
tracemalloc sees only NumPy's allocations: ftx with tracemalloc (every NumPy allocation
made during the step); JAX with XLA's own accounting of the compiled step
(``memory_analysis()``: temporaries + outputs; JAX without jit has no such number);
PyTorch by replaying the allocation events of ``torch.profiler(profile_memory=True)``
(``torch_peak``). PyTorch rows appear when torch is installed, with as many threads as
NumPy's BLAS. Times are the best of several steps on a shared machine: expect +-30%.
"""
from __future__ import annotations

import gc
import platform
import sys
import time
import tracemalloc

import numpy as np

import ftx
import ftx.numpy as fnp
from ftx.nn import gelu
from _report import import_torch, record

D, H, B, DEPTH = 256, 1024, 128, 16
QUICK = "--quick" in sys.argv
CASE = "remat: 16 residual blocks, checkpoint per block"
REPEAT = 2 if QUICK else 5


def make_model():
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((D, H), np.float32) / 16,
               rng.standard_normal((H, D), np.float32) / 32) for _ in range(DEPTH)]
    return params, rng.standard_normal((B, D), np.float32)


def block(p, x):
    return x + gelu(x @ p[0]) @ p[1]


def blocks(ps, x):
    for p in ps:
        x = block(p, x)
    return x


def loss_with(remat):
    """The loss with no remat ('none'), a checkpoint per block ('block'; 'block_dots' saving
    the matmul outputs) or per 4 blocks ('4')."""
    if remat == "none":
        return lambda params, x: fnp.mean(blocks(params, x) ** 2)
    if remat in ("block", "block_dots"):
        policy = ftx.checkpoint_policies.dots_saveable if remat == "block_dots" else None
        ck = ftx.checkpoint(block, policy=policy)
        return lambda params, x: fnp.mean(blocks_with(ck, params, x) ** 2)
    ck4 = ftx.checkpoint(blocks)
    return lambda params, x: fnp.mean(
        _chunks(ck4, params, x) ** 2)


def blocks_with(f, params, x):
    for p in params:
        x = f(p, x)
    return x


def _chunks(ck4, params, x):
    for i in range(0, len(params), 4):
        x = ck4(params[i:i + 4], x)
    return x


def measure(step, *args):
    step(*args)  # warm up: trace and compile
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        step(*args)
        times.append(time.perf_counter() - t0)
    gc.collect()
    ftx.cache.release_buffers()  # count the memory ftx keeps for reuse: it is made afresh
    tracemalloc.start()
    try:
        step(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return min(times), peak


def ftx_rows(argnums):
    params, x = make_model()
    rows = []
    for remat in ("none", "block", "4"):
        label = {"none": "no remat", "block": "checkpoint per block",
                 "4": "checkpoint every 4 blocks"}[remat]
        step = ftx.value_and_grad(loss_with(remat), argnums=argnums)
        rows.append((f"ftx eager, {label}", *measure(step, params, x)))
    for remat in ("none", "block", "block_dots"):
        label = {"none": "no remat", "block": "checkpoint per block",
                 "block_dots": "per block, dots saveable"}[remat]
        step = ftx.jit(ftx.value_and_grad(loss_with(remat), argnums=argnums))
        rows.append((f"ftx jit(grad), {label}", *measure(step, params, x)))
        DOT_COUNTS[f"ftx jit(grad), {label}"] = _ftx_matmuls(step, params, x)
    for name, partitioner, budget in (("save every residual", "save_all", 1.0),
                                      ("min-cut", "min_cut", 1.0),
                                      ("min-cut, budget 0.5", "min_cut", 0.5),
                                      ("min-cut, budget 0", "min_cut", 0.0)):
        with ftx.config.override(remat_partitioner=partitioner, activation_memory_budget=budget):
            step = ftx.value_and_grad(ftx.jit(loss_with("none")), argnums=argnums)
            rows.append((f"ftx grad(jit), {name}", *measure(step, params, x)))
    with ftx.config.override(remat_partitioner="min_cut"):
        step = ftx.value_and_grad(ftx.jit(loss_with("block")), argnums=argnums)
        rows.append(("ftx grad(jit), checkpoint per block", *measure(step, params, x)))
    return rows


DOT_COUNTS: dict = {}  # row name -> matrix products one step computes, where known


def _ftx_matmuls(step, params, x):
    """Matrix products one call of ``step`` runs (counted by wrapping NumPy's matmul/dot,
    which the compiled executors call by attribute)."""
    count = [0]
    originals = np.matmul, np.dot

    def counted(f):
        def call(*args, **kwargs):
            count[0] += 1
            return f(*args, **kwargs)
        return call
    np.matmul, np.dot = counted(np.matmul), counted(np.dot)
    try:
        step(params, x)
    finally:
        np.matmul, np.dot = originals
    return count[0]


def jax_rows(argnums):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return [("JAX", None, None)]
    params, x = make_model()
    jparams = [(jnp.asarray(a), jnp.asarray(b)) for a, b in params]
    jx = jnp.asarray(x)

    def jblock(p, h):
        return h + jax.nn.gelu(h @ p[0], approximate=True) @ p[1]

    def jloss(remat):
        def run(ps, h):
            if remat == "4":
                group = jax.checkpoint(lambda qs, h: _seq(jblock, qs, h))
                for i in range(0, len(ps), 4):
                    h = group(ps[i:i + 4], h)
            else:
                policy = jax.checkpoint_policies.dots_saveable if remat == "block_dots" else None
                f = jax.checkpoint(jblock, policy=policy) if remat != "none" else jblock
                h = _seq(f, ps, h)
            return jnp.mean(h ** 2)
        return run

    rows = []
    for remat, label in (("none", "no remat"), ("block", "jax.checkpoint per block"),
                         ("block_dots", "per block, dots saveable"),
                         ("4", "jax.checkpoint every 4 blocks")):
        step = jax.jit(jax.value_and_grad(jloss(remat), argnums=argnums))
        compiled = step.lower(jparams, jx).compile()
        # How many matmuls XLA kept (it may merge a recomputation with the forward's).
        DOT_COUNTS[f"JAX jit, {label}"] = compiled.as_text().count(" dot(")
        mem = compiled.memory_analysis()
        peak = mem.temp_size_in_bytes + mem.output_size_in_bytes if mem is not None else None
        t, _ = measure(lambda *a: jax.block_until_ready(compiled(*a)), jparams, jx)
        rows.append((f"JAX jit, {label}", t, peak))
        if remat in ("none", "block"):
            eager = jax.value_and_grad(jloss(remat), argnums=argnums)
            t, _ = measure(lambda *a: jax.block_until_ready(eager(*a)), jparams, jx)
            rows.append((f"JAX without jit, {label}", t, None))
    return rows


def _seq(f, ps, h):
    for p in ps:
        h = f(p, h)
    return h


def torch_rows(argnums):
    torch = import_torch()
    if torch is None:
        return [("PyTorch", None, None)]
    from torch.utils.checkpoint import checkpoint
    params, x = make_model()
    tparams = [(torch.tensor(a, requires_grad=argnums == (0, 1)),
                torch.tensor(b, requires_grad=argnums == (0, 1))) for a, b in params]
    tx = torch.tensor(x, requires_grad=True)
    leaves = [t for t in (tx, *(t for wb in tparams for t in wb)) if t.requires_grad]

    def tblock(h, w1, w2):
        return h + torch.nn.functional.gelu(h @ w1, approximate="tanh") @ w2

    def tblocks(h, *ws):
        for i in range(0, len(ws), 2):
            h = tblock(h, ws[i], ws[i + 1])
        return h

    def run(remat):
        h = tx
        if remat == "4":
            for i in range(0, len(tparams), 4):
                ws = [t for wb in tparams[i:i + 4] for t in wb]
                h = checkpoint(tblocks, h, *ws, use_reentrant=False)
        else:
            for w1, w2 in tparams:
                h = checkpoint(tblock, h, w1, w2, use_reentrant=False) if remat == "block" \
                    else tblock(h, w1, w2)
        return (h ** 2).mean()

    def clear():
        for t in leaves:
            t.grad = None

    rows = []
    for remat, label in (("none", "no remat"), ("block", "torch checkpoint per block"),
                         ("4", "torch checkpoint every 4 blocks")):
        def step(remat=remat):
            loss = run(remat)
            loss.backward()
            return loss

        def fresh_step(step=step):
            clear()  # fresh gradients every step, as ftx and JAX return new ones
            return step()
        t, _ = measure(fresh_step)
        clear()
        rows.append((f"PyTorch eager, {label}", t, torch_peak(torch, step)))
    return rows


def torch_peak(torch, step):
    """Peak bytes PyTorch allocates during ``step()`` (the gradients it creates included,
    the inputs not; call it with no gradients allocated).

    tracemalloc cannot see PyTorch's CPU allocator, so this runs the step under
    ``torch.profiler`` with ``profile_memory=True`` and replays its allocation events
    (``[memory]`` events: +bytes on allocation, -bytes on free, in order) from zero.
    """
    import json
    import os
    import tempfile
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    finally:
        os.remove(path)
    memory = sorted((e["args"]["Ev Idx"], e["args"]["Bytes"]) for e in events
                    if e.get("name") == "[memory]" and e["args"].get("Device Type") == 0)
    current = peak = 0
    for _, nbytes in memory:
        current += nbytes
        peak = max(peak, current)
    return peak


def record_headline(rows):
    """The per-block checkpoint rows in the headline: time, peak, and time over no remat."""
    by_name = {name: (t, peak) for name, t, peak in rows}
    for library, variant, name, baseline in (
            ("ftx", "eager", "ftx eager, checkpoint per block", "ftx eager, no remat"),
            ("ftx", "jit(grad)", "ftx jit(grad), checkpoint per block", "ftx jit(grad), no remat"),
            ("ftx", "grad(jit)", "ftx grad(jit), checkpoint per block",
             "ftx grad(jit), save every residual"),
            ("JAX", "jax.jit", "JAX jit, jax.checkpoint per block", "JAX jit, no remat"),
            ("PyTorch", "eager", "PyTorch eager, torch checkpoint per block",
             "PyTorch eager, no remat")):
        if name not in by_name:
            continue  # the library is not installed
        (t, peak), t0 = by_name[name], by_name[baseline][0]
        record(f"{CASE}, ms per step", library, t * 1e3, "ms", variant)
        record(f"{CASE}, peak MiB", library, peak / 2 ** 20 if peak else None, "MiB", variant)
        if variant != "eager" or library != "ftx":
            # ftx's compiled step is the one to judge: its eager no-remat step is slowed by
            # NumPy's page faults, which would flatter the ratio.
            record(f"{CASE}, time / no remat", library, t / t0, "x", variant)


def peak_method(name):
    """How a row's peak was measured (tracemalloc sees only NumPy's allocations)."""
    if name.startswith("ftx"):
        return "tracemalloc"
    if name.startswith("JAX jit"):
        return "XLA memory_analysis: temps + outputs"
    if name.startswith("PyTorch eager"):
        return "torch.profiler allocation events"
    return ""


def print_matmul_counts():
    if DOT_COUNTS:
        print("\nMatrix products per step (each block that recomputes x @ W1 in the backward "
              "adds one): " + "; ".join(f"{k}: {v}" for k, v in DOT_COUNTS.items()))
    DOT_COUNTS.clear()


def print_table(title, rows):
    print(f"\n## {title}\n")
    print(f"| {'case':<48} | {'ms / step':>10} | {'peak MiB':>9} | {'peak measured by':<36} |")
    print(f"|{'-' * 50}|{'-' * 12}|{'-' * 11}|{'-' * 38}|")
    for name, t, peak in rows:
        t_cell = "n/a" if t is None else f"{t * 1e3:.1f}"
        p_cell = "n/a" if peak is None else f"{peak / 2 ** 20:.1f}"
        if t is None and peak is None:
            t_cell = "not installed"
        print(f"| {name:<48} | {t_cell:>10} | {p_cell:>9} | {peak_method(name):<36} |")


def main():
    print(f"# remat — 16 blocks x + gelu(x @ W1) @ W2, width {D}, hidden {H}, batch {B}, f32; "
          f"{platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}")
    for argnums, title in (((0, 1), "gradient with respect to the weights and the input"),
                           (1, "gradient with respect to the input only")):
        rows = ftx_rows(argnums) + jax_rows(argnums) + torch_rows(argnums)
        if argnums == (0, 1):
            record_headline(rows)
        print_table(title, rows)
        print_matmul_counts()


if __name__ == "__main__":
    main()
