"""Run every benchmark in this folder and write the report, ``benchmarks/RESULTS.md``.

    python benchmarks/run.py                 # all of them, full size (tens of minutes)
    python -m benchmarks                     # the same
    python benchmarks/run.py --quick         # reduced sizes where a benchmark has them
    python benchmarks/run.py --only jit_bench scan_rnn

Each ``benchmarks/*.py`` script prints its own table(s); this runs each in a fresh process
(with the repository on ``PYTHONPATH``), one at a time, and writes ``RESULTS.md``: the
machine (CPU model, cores, memory, library versions, NumPy's BLAS), a headline table
comparing ftx with NumPy, JAX, PyTorch and HIPS autograd (those installed), what ran, the
curated notes, and every script's output as printed. With matplotlib installed it also
draws ``RESULTS.png``: the headline's ratios of ftx to each other library.

The headline numbers come from a side channel, not from the printed tables: run.py sets
``FTX_BENCH_JSON`` to a file and the scripts append JSON lines to it through
``benchmarks/_report.py``'s ``record(case, library, value, unit, variant)``.

The notes (analysis written by hand) live between the ``<!-- notes: begin`` and
``<!-- notes: end -->`` markers of the existing report: run.py keeps them verbatim and
rewrites everything else.

A script that needs what this machine lacks (a CUDA GPU, MPI) is listed as skipped; one that
fails is listed with its exit status and the end of its error output (the headline numbers it
recorded before failing are kept).
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# Arguments that make a benchmark smaller under --quick (the others are quick already, or
# have no smaller size).
QUICK_ARGS = {"jit_bench.py": ["--quick"], "remat_bench.py": ["--quick"],
              "scan_rnn.py": ["--steps", "200"], "startup.py": ["1"]}

# The headline's columns, in this order; a library a script records that is not here gets a
# column after them. (library, distribution to ask for the version)
LIBRARIES = (("ftx", None), ("NumPy", "numpy"), ("JAX", "jax"), ("PyTorch", "torch"),
             ("autograd", "autograd"))

NOTES_BEGIN = "<!-- notes: begin (benchmarks/run.py keeps this section verbatim) -->"
NOTES_END = "<!-- notes: end -->"
_NOTES = re.compile(r"<!-- notes: begin[^\n]*-->\n?(.*?)<!-- notes: end -->", re.DOTALL)
NO_NOTES = "(No notes yet: write the analysis of these numbers here; run.py keeps it.)\n"


def _has_cuda() -> bool:
    return importlib.util.find_spec("numba_cuda") is not None and bool(shutil.which("nvidia-smi"))


def _has_mpi() -> bool:
    return importlib.util.find_spec("mpi4py") is not None and shutil.which("mpirun") is not None


# What a benchmark needs beyond the runtime dependencies: (check, what to install).
NEEDS = {"gpu.py": (_has_cuda, 'an NVIDIA GPU and numba-cuda (pip install ".[cuda]")'),
         "mpi_bench.py": (_has_mpi, 'mpirun and mpi4py (pip install ".[mpi]")')}


class Outcome:
    """One benchmark's run: ``status`` is 'ok', 'skipped', 'failed' or 'timed out';
    ``records`` the headline numbers it recorded (dicts: case, library, value, unit, variant)."""

    def __init__(self, script: Path, command, status, seconds=0.0, output="", note="",
                 records=()):
        self.script, self.command, self.status = script, command, status
        self.seconds, self.output, self.note = seconds, output, note
        self.records = list(records)


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
    with tempfile.TemporaryDirectory(prefix="ftx-bench-") as tmp:
        side_channel = Path(tmp) / "headline.jsonl"
        env = dict(os.environ, FTX_BENCH_JSON=str(side_channel), PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            output = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            return Outcome(script, shown, "timed out", time.perf_counter() - start, output,
                           f"stopped after {timeout:.0f} s", read_records(side_channel))
        seconds = time.perf_counter() - start
        records = read_records(side_channel)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return Outcome(script, shown, "failed", seconds, done.stdout,
                       f"exit status {done.returncode}: {tail}", records)
    return Outcome(script, shown, "ok", seconds, done.stdout, records=records)


def read_records(path: Path) -> list:
    """The JSON lines a script appended to its side channel (none if it wrote nothing)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


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


def _threads() -> str:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from _report import numpy_threads
    try:
        from ftx.backends.numba_cpu.threads import thread_count
        ftx_threads = f"{thread_count()} (large fused loops; config cpu_threads)"
    except ImportError:  # an older ftx: kernels ran on the calling thread
        ftx_threads = "1"
    return (f"NumPy's BLAS {numpy_threads()}; PyTorch set to the same; JAX/XLA its default; "
            f"ftx's Numba kernels {ftx_threads}")


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
            ("NumPy", _version("numpy")), ("BLAS", _blas()), ("threads", _threads()),
            ("Numba", _version("numba")),
            ("JAX", _version("jax")), ("PyTorch", _version("torch")),
            ("autograd", _version("autograd"))]


# --------------------------------------------------------------------------- the headline

def headline(outcomes) -> list:
    """``[(case, unit, {library: (value, variant)})]``, cases in the order the scripts
    recorded them, each library's best (lowest) variant."""
    cases = {}
    for o in outcomes:
        for r in o.records:
            unit, best = cases.setdefault(r["case"], (r["unit"], {}))
            old = best.get(r["library"])
            if old is None or r["value"] < old[0]:
                best[r["library"]] = (r["value"], r.get("variant", ""))
    return [(case, unit, best) for case, (unit, best) in cases.items()]


def _libraries(rows) -> list:
    known = [name for name, _ in LIBRARIES]
    extra = sorted({lib for _, _, best in rows for lib in best} - set(known))
    return known + extra


def ratios(best: dict) -> dict:
    """ftx's value over each other library's (below 1: ftx is faster or smaller)."""
    if "ftx" not in best or best["ftx"][0] <= 0:
        return {}
    return {lib: best["ftx"][0] / value for lib, (value, _) in best.items()
            if lib != "ftx" and value > 0}


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def headline_table(rows) -> list:
    """The headline as Markdown lines: one row per case, a column per library, and the
    ratios of ftx to NumPy and to the best other framework (any library but NumPy)."""
    libraries = _libraries(rows)
    versions = dict(LIBRARIES)

    def header(lib):
        dist = versions.get(lib)
        return f"{lib} (not installed)" if dist and _version(dist) == "not installed" else lib
    lines = ["| case | unit | " + " | ".join(header(lib) for lib in libraries)
             + " | ftx ÷ NumPy | ftx ÷ best other framework |",
             "|---|---|" + "---:|" * len(libraries) + "---:|---:|"]
    for case, unit, best in rows:
        cells = []
        for lib in libraries:
            if lib not in best:
                cells.append("—")
                continue
            value, variant = best[lib]
            cells.append(_number(value) + (f" ({variant})" if variant else ""))
        r = ratios(best)
        vs_numpy = f"{r['NumPy']:.2f}x" if "NumPy" in r else "—"
        vs_best = "—"
        frameworks = [lib for lib in r if lib != "NumPy"]  # NumPy has its own column
        if frameworks:
            other = min(frameworks, key=lambda lib: best[lib][0])
            vs_best = f"{r[other]:.2f}x ({other})"
        lines.append(f"| {case} | {unit} | " + " | ".join(cells) + f" | {vs_numpy} | {vs_best} |")
    return lines


# --------------------------------------------------------------------------- the report

def existing_notes(path: Path) -> str:
    """The notes section of the report at ``path``, verbatim; a placeholder when there is no
    report yet. A report without the markers is refused rather than overwritten: it holds
    text that this run would otherwise lose."""
    if not path.exists():
        return NO_NOTES
    found = _NOTES.search(path.read_text(encoding="utf-8"))
    if found is None:
        raise SystemExit(f"run.py: {path} has no '{NOTES_BEGIN}' ... '{NOTES_END}' section: "
                         "put those markers around the text to keep (or delete the file), "
                         "then run again")
    return found.group(1)


def report(outcomes, quick: bool, seconds: float, notes: str = NO_NOTES,
           plot_name: str | None = None) -> str:
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = f"python benchmarks/run.py{' --quick' if quick else ''}"
    lines = ["# ftx benchmark results", "",
             f"Written by `{command}` on {when} in {seconds:.0f} s"
             + (" (**--quick**: reduced sizes and repeats; do not quote these numbers)"
                if quick else "") + ". Everything but the notes section is rewritten by each "
             "run; edit the notes between their markers.",
             "", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in machine()]
    rows = headline(outcomes)
    lines += ["", "## Headline", "",
              "Lower is better in every row. Each cell is the library's best way of running "
              "the case (in brackets); the ratios are ftx's value over the other's: below 1, "
              "ftx is faster (or uses less memory); \"best other framework\" is the best of "
              "JAX, PyTorch and autograd. The scripts' full tables are below.", ""]
    lines += headline_table(rows) if rows else ["(no benchmark recorded a headline number)"]
    if plot_name:
        lines += ["", f"![ftx over each other library, per headline case]({plot_name})"]
    lines += ["", "## What ran", "", "| benchmark | status | seconds | command |",
              "|---|---|---|---|"]
    for o in outcomes:
        status = o.status if not o.note else f"{o.status}: {o.note.splitlines()[0]}"
        lines.append(f"| {o.script.stem} | {status} | {o.seconds:.0f} | `{o.command}` |")
    lines += ["", "## Notes", "", NOTES_BEGIN, notes.rstrip("\n"), NOTES_END]
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


def plot(rows, path: Path) -> bool:
    """The headline's ratios (ftx over each other library) as bars from 1 on a log axis, one
    group per case; False without matplotlib or without any ratio."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [(case, ratios(best)) for case, _, best in rows]
    rows = [(case, r) for case, r in rows if r]
    if not rows:
        return False
    others = [lib for lib in _libraries([(None, None, r) for _, r in rows]) if lib != "ftx"]
    others = [lib for lib in others if any(lib in r for _, r in rows)]
    height = 0.8 / len(others)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.18 * len(rows) * len(others)))
    for k, lib in enumerate(others):
        ys = [i + k * height for i, (_, r) in enumerate(rows) if lib in r]
        # From 1, so that a bar's length is how far ftx is ahead (left) or behind (right).
        ax.barh(ys, [r[lib] - 1 for _, r in rows if lib in r], left=1, height=height,
                label=f"ftx ÷ {lib}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))])
    ax.set_yticklabels([case for case, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ftx's value over the other library's (log scale; left of 1: ftx better)")
    ax.legend(fontsize=7)
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
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md",
                        help="the report to write (default: benchmarks/RESULTS.md); its notes "
                             "section is kept")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds allowed per benchmark (default 3600)")
    args = parser.parse_args(argv)
    scripts = benchmark_scripts(args.dir, args.only)
    notes = existing_notes(args.out)  # before the (long) runs: a report we cannot keep fails now
    start = time.perf_counter()
    outcomes = []
    for script in scripts:
        print(f"run.py: {script.name} ...", end=" ", flush=True)
        outcome = run_one(script, args.quick, args.timeout)
        print(f"{outcome.status} ({outcome.seconds:.0f} s)" + (f": {outcome.note.splitlines()[0]}"
                                                              if outcome.note else ""), flush=True)
        outcomes.append(outcome)
    seconds = time.perf_counter() - start
    picture = args.out.with_suffix(".png")
    drawn = plot(headline(outcomes), picture)
    args.out.write_text(report(outcomes, args.quick, seconds, notes,
                               picture.name if drawn else None), encoding="utf-8")
    print(f"run.py: wrote {args.out}" + (f" and {picture}" if drawn else ""))
    print("\n".join(headline_table(headline(outcomes))))
    return 0 if all(o.status in ("ok", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
