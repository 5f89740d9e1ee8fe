"""Run every benchmark in this folder and collect their tables into one report.

    python benchmarks/run.py                 # all of them, full size (tens of minutes)
    python benchmarks/run.py --quick         # reduced sizes where a benchmark has them
    python benchmarks/run.py --only jit_bench scan_rnn

Each ``benchmarks/*.py`` script prints its own table(s); this runs each in a fresh process
(with the repository on ``PYTHONPATH``), one at a time, and writes
``benchmarks/RESULTS.generated.md``: the machine (CPU model, cores, memory, library versions,
NumPy's BLAS), a summary of what ran, and every script's output as printed. With matplotlib
installed it also draws ``RESULTS.generated.png``: each benchmark's rows on one log scale of
time. ``RESULTS.md`` is the hand-curated report; this file is its raw material.

A script that needs what this machine lacks (a CUDA GPU, MPI) is listed as skipped; one that
fails is listed with its exit status and the end of its error output.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# Arguments that make a benchmark smaller under --quick (the others are quick already, or
# have no smaller size).
QUICK_ARGS = {"remat_bench.py": ["--quick"], "scan_rnn.py": ["--steps", "200"],
              "startup.py": ["1"]}


def _has_cuda() -> bool:
    return importlib.util.find_spec("numba_cuda") is not None and bool(shutil.which("nvidia-smi"))


def _has_mpi() -> bool:
    return importlib.util.find_spec("mpi4py") is not None and shutil.which("mpirun") is not None


# What a benchmark needs beyond the runtime dependencies: (check, what to install).
NEEDS = {"gpu.py": (_has_cuda, 'an NVIDIA GPU and numba-cuda (pip install ".[cuda]")'),
         "mpi_bench.py": (_has_mpi, 'mpirun and mpi4py (pip install ".[mpi]")')}


class Outcome:
    """One benchmark's run: ``status`` is 'ok', 'skipped', 'failed' or 'timed out'."""

    def __init__(self, script: Path, command, status, seconds=0.0, output="", note=""):
        self.script, self.command, self.status = script, command, status
        self.seconds, self.output, self.note = seconds, output, note


def benchmark_scripts(directory: Path, only=()) -> list:
    scripts = sorted(p for p in directory.glob("*.py")
                     if p.name != Path(__file__).name and not p.name.startswith("_"))
    if only:
        wanted = {name.removesuffix(".py") for name in only}
        unknown = wanted - {p.stem for p in scripts}
        if unknown:
            raise SystemExit(f"run.py: no benchmark named {sorted(unknown)} in {directory}; "
                             f"there are {[p.stem for p in scripts]}")
        scripts = [p for p in scripts if p.stem in wanted]
    return scripts


def run_one(script: Path, quick: bool, timeout: float) -> Outcome:
    command = [sys.executable, str(script)] + (QUICK_ARGS.get(script.name, []) if quick else [])
    shown = " ".join(["python", f"benchmarks/{script.name}", *command[2:]])
    need = NEEDS.get(script.name)
    if need is not None and not need[0]():
        return Outcome(script, shown, "skipped", note=f"needs {need[1]}")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        output = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Outcome(script, shown, "timed out", time.perf_counter() - start, output,
                       f"stopped after {timeout:.0f} s")
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return Outcome(script, shown, "failed", seconds, done.stdout,
                       f"exit status {done.returncode}: {tail}")
    return Outcome(script, shown, "ok", seconds, done.stdout)


# --------------------------------------------------------------------------- the machine

def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2 ** 20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _blas() -> str:
    import numpy as np
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
    except Exception:  # NumPy < 2 or an unusual build: say so rather than fail the report
        return "unknown"
    blas = deps.get("blas", {})
    detail = blas.get("openblas configuration", "")
    return " ".join(x for x in (blas.get("name", "unknown"), blas.get("version", ""),
                                f"({detail.strip()})" if detail else "") if x)


def _git(*args) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _ftx_version() -> str:
    """The installed ftx's version, else the source tree's; with the git commit if any."""
    version = _version("ftx")
    if version == "not installed":
        found = re.search(r'__version__ = "([^"]+)"', (REPO / "ftx" / "__init__.py").read_text())
        version = f"{found.group(1)} (source tree)" if found else "unknown"
    commit = _git("rev-parse", "--short", "HEAD")
    if commit:
        version += f", git {commit}" + (" with local changes" if _git("status", "--porcelain")
                                        else "")
    return version


def machine() -> list:
    """(what, value) rows describing this machine and the libraries the benchmarks use."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [("CPU", _cpu_model()), ("cores", f"{os.cpu_count()} logical ({usable} usable)"),
            ("memory", _memory()), ("OS", platform.platform()),
            ("Python", platform.python_version()),
            ("ftx", _ftx_version()),
            ("NumPy", _version("numpy")), ("BLAS", _blas()), ("Numba", _version("numba")),
            ("JAX", _version("jax")), ("PyTorch", _version("torch")),
            ("autograd", _version("autograd"))]


# --------------------------------------------------------------------------- the report

def report(outcomes, quick: bool, seconds: float) -> str:
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = ["# ftx benchmark results (generated)", "",
             f"Written by `python benchmarks/run.py{' --quick' if quick else ''}` on {when} in "
             f"{seconds:.0f} s. Generated: `benchmarks/RESULTS.md` is the curated report.",
             "", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in machine()]
    lines += ["", "## Summary", "", "| benchmark | status | seconds | command |",
              "|---|---|---|---|"]
    for o in outcomes:
        status = o.status if not o.note else f"{o.status}: {o.note.splitlines()[0]}"
        lines.append(f"| {o.script.stem} | {status} | {o.seconds:.0f} | `{o.command}` |")
    for o in outcomes:
        lines += ["", f"## {o.script.stem}", "", f"`{o.command}`: {o.status}"
                  + (f" after {o.seconds:.0f} s" if o.status != "skipped" else ""), ""]
        if o.note:
            lines += ["```", o.note, "```", ""]
        if o.output.strip():
            lines += [_as_markdown(o.output.strip()), ""]
    return "\n".join(lines).rstrip() + "\n"


def _as_markdown(text: str) -> str:
    """A script's output as Markdown: with tables, as printed, its ``# title`` lines made
    ``###`` to nest under its section; without, in a code block that keeps its columns."""
    if not any(line.lstrip().startswith("|") for line in text.splitlines()):
        return f"```\n{text}\n```"
    return re.sub(r"^#{1,2} ", "### ", text, flags=re.MULTILINE)


_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*(ns|µs|us|ms|s)\b")
_SECONDS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def table_times(text: str) -> list:
    """``[(row label, seconds)]``: each markdown table row's first time, with its unit."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2 or set(cells[1]) <= set("-: "):
            continue
        for cell in cells[1:]:
            match = _TIME.search(cell)
            if match:
                rows.append((cells[0], float(match.group(1)) * _SECONDS[match.group(2)]))
                break
    return rows


def plot(outcomes, path: Path) -> bool:
    """Each benchmark's table rows as bars on a log time axis; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [(o.script.stem, table_times(o.output)) for o in outcomes if o.status == "ok"]
    panels = [(name, rows) for name, rows in panels if rows]
    if not panels:
        return False
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(9, sum(0.9 + 0.25 * len(rows) for _, rows in panels)))
    for ax, (name, rows) in zip(axes[:, 0], panels):
        ax.barh([label for label, _ in rows], [t for _, t in rows])
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_title(name, loc="left", fontsize=10)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("seconds (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes where a benchmark offers them")
    parser.add_argument("--only", nargs="+", default=(), metavar="NAME",
                        help="run only these benchmarks (file names, with or without .py)")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.generated.md",
                        help="the report to write (default: benchmarks/RESULTS.generated.md)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds allowed per benchmark (default 3600)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes = []
    for script in benchmark_scripts(args.dir, args.only):
        print(f"run.py: {script.name} ...", end=" ", flush=True)
        outcome = run_one(script, args.quick, args.timeout)
        print(f"{outcome.status} ({outcome.seconds:.0f} s)" + (f": {outcome.note.splitlines()[0]}"
                                                              if outcome.note else ""), flush=True)
        outcomes.append(outcome)
    args.out.write_text(report(outcomes, args.quick, time.perf_counter() - start))
    print(f"run.py: wrote {args.out}")
    if plot(outcomes, args.out.with_suffix(".png")):
        print(f"run.py: wrote {args.out.with_suffix('.png')}")
    return 0 if all(o.status in ("ok", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
