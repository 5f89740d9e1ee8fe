"""Repros as code, and automatic capture of failing compiled programs (``FTX_REPRO``).

A repro is a folder with ``repro.py`` (a standalone script that rebuilds the
graph with primitive binds, loads the exact inputs and runs the check; it exits
1 while the failure reproduces, 0 once fixed) and ``inputs.npz``. Checks and
config are written as literals; callables are never serialized.

``FTX_REPRO=1`` (or ``ftx.config.update('repro_level', 1)``): when a compiled
program raises, its graph, inputs and the error are saved, the graph is minified
in a subprocess (``python -m ftx.debug.minify DIR``), the repro's path is printed
and the error re-raised (with the path in a note). ``FTX_REPRO=2`` also compares
every compiled result with the reference interpreter and raises
``BackendMismatchError`` on a mismatch, after saving and minifying the same way.
Repros go under ``ftx.config.repro_dir`` (``FTX_REPRO_DIR``; default: a folder
``ftx-repros`` in the system temporary directory).
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from ftx.core.config import config
from ftx.debug.checks import compare_outputs, reference_eval, resolve_backend

__all__ = ["write_repro", "save_repro", "load_repro", "wrap_executable", "wrap_compile",
           "BackendMismatchError"]

config.define("repro_dir", "",
              "where FTX_REPRO and ftx.debug.save_repro put repro folders (default: "
              "<system temp dir>/ftx-repros)", parse=str)

# Options a repro must not replay: they would make the repro capture itself.
_NOT_REPLAYED = ("repro_level", "repro_dir")
MINIFY_TIMEOUT_S = 900
CHECK_BEGIN, CHECK_END = "# --- check: begin", "# --- check: end"


class BackendMismatchError(RuntimeError):
    """FTX_REPRO=2: a compiled program's output differs from the reference interpreter's."""


# =========================================================================== writing

def _config_lines() -> list[str]:
    lines = []
    for name, option in config._options.items():
        value = config._values[name]
        if name in _NOT_REPLAYED or value == option.default:
            continue
        if type(value) in (bool, int, float, str):
            lines.append(f"ftx.config.update({name!r}, {value!r})")
        else:
            lines.append(f"# ftx.config {name} = {value!r} (not a literal; not replayed)")
    return lines


def write_repro(directory, jaxpr, inputs, *, check=None, check_source=None, note=None,
                error=None) -> Path:
    """Write ``directory/repro.py`` and ``directory/inputs.npz`` for ``jaxpr(*inputs)``.

    >>> write_repro("repro/", jaxpr, inputs, check={"kind": "agrees_with_reference",
    ...                                            "backend": "cpu"})

    ``check``: a check dict (see ``ftx.debug.checks``); ``check_source``: Python source
    defining ``fails(jaxpr, inputs)``, for checks that are not ftx's. With neither, the
    script checks agreement with the reference on the default backend (and says so).
    ``error``: the text of the original error, kept in ``error.txt``. Returns the script path.
    """
    from ftx.debug.printer import source_parts
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if jaxpr.constvars:  # the script takes constants as ordinary inputs
        inputs = list(jaxpr.consts) + list(inputs)
        jaxpr = jaxpr.consts_as_inputs()
    inputs = [np.asarray(x) for x in inputs]
    if len(inputs) != len(jaxpr.invars):
        raise TypeError(f"write_repro: the jaxpr takes {len(jaxpr.invars)} inputs, got "
                        f"{len(inputs)}")
    if check_source is None and check is None:
        check = {"kind": "agrees_with_reference", "backend": config.default_backend,
                 "rtol": None, "atol": None}
        default_note = ("the predicate given to minify was not an ftx.debug check, so this "
                        "script checks agreement with the reference interpreter on backend "
                        f"{config.default_backend!r}; edit `fails` below to check what you saw")
    else:
        default_note = None
    if check is not None and check.get("backend") is None:
        raise ValueError("write_repro: the check's backend has no import path (a lambda or a "
                         "local function?); define the backend at module level so the script "
                         "can import it, or pass check_source")
    imports, graph, arrays = source_parts(jaxpr)
    for i, x in enumerate(inputs):
        arrays[f"input_{i}"] = x
    np.savez(directory / "inputs.npz", **arrays)
    if error is not None:
        (directory / "error.txt").write_text(error)
    script = _script(imports, graph, len(inputs), check, check_source, note, default_note, jaxpr)
    path = directory / "repro.py"
    path.write_text(script)
    return path


def _script(imports, graph, n_inputs, check, check_source, note, default_note, jaxpr) -> str:
    from ftx.debug.minifier import count_eqns
    from ftx.debug.printer import REPRO_HEADER
    import ftx
    n = count_eqns(jaxpr)
    doc = [f'"""{REPRO_HEADER} {n} equation{"" if n == 1 else "s"}' + (f" ({note})." if note else "."),
           ""]
    doc += ["Run ``python repro.py``: it exits with status 1 while the failure reproduces and 0",
            "once it is fixed. ``python -m ftx.debug.minify <this folder>`` minifies it (again).",
            "The exact input values are in inputs.npz beside this file.",
            f"Written by ftx {ftx.__version__} with NumPy {np.__version__}.", '"""']
    parts = ["\n".join(doc), "import os\nimport sys\n\n" + imports + "\n\nimport ftx\n"
             "from ftx.debug.checks import describe_failure\n"]
    config_lines = _config_lines()
    if config_lines:
        parts.append("# The ftx configuration in force when this repro was written.\n"
                     + "\n".join(config_lines) + "\n")
    parts.append('HERE = os.path.dirname(os.path.abspath(__file__))\n'
                 'ARRAYS = np.load(os.path.join(HERE, "inputs.npz"))\n')
    parts.append(graph)
    parts.append("INPUTS = [" + ", ".join(f"ARRAYS['input_{i}']" for i in range(n_inputs)) + "]\n")
    if check_source is not None:
        parts.append("CHECK = None\n")
        parts.append(f"{CHECK_BEGIN}\n{check_source.strip()}\n{CHECK_END}\n")
        main = ('def main():\n'
                '    print(JAXPR)\n'
                '    if fails(JAXPR, INPUTS):\n'
                '        print("ftx repro: FAILS")\n'
                '        return 1\n'
                '    print("ftx repro: passes (the failure no longer reproduces)")\n'
                '    return 0\n')
    else:
        comment = "".join(f"# {line}\n" for line in _wrap(default_note)) if default_note else ""
        parts.append(f"{comment}CHECK = {_literal(check)}\n")
        parts.append('def fails(jaxpr, inputs):\n'
                     '    """True while the failure reproduces."""\n'
                     '    return describe_failure(CHECK, jaxpr, inputs) is not None\n')
        main = ('def main():\n'
                '    print(JAXPR)\n'
                '    problem = describe_failure(CHECK, JAXPR, INPUTS)\n'
                '    if problem is not None:\n'
                '        print(f"ftx repro: FAILS: {problem}")\n'
                '        return 1\n'
                '    print("ftx repro: passes (the failure no longer reproduces)")\n'
                '    return 0\n')
    parts.append(main)
    parts.append('if __name__ == "__main__":\n    sys.exit(main())\n')
    # two blank lines between blocks, as between top-level definitions
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _wrap(text, width=96):
    words, line, lines = text.split(), "", []
    for w in words:
        if len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return lines + [line]


def _literal(check: dict) -> str:
    items = ", ".join(f"{k!r}: {v!r}" for k, v in check.items())
    for v in check.values():
        if type(v) not in (bool, int, float, str, type(None)):
            raise TypeError(f"write_repro: check value {v!r} is not a literal")
    return "{" + items + "}"


# =========================================================================== loading

_load_counter = itertools.count()


def load_repro(directory):
    """Import ``directory/repro.py`` as a module (``JAXPR``, ``INPUTS``, ``CHECK``, ``fails``).

    The module also carries ``CHECK_SOURCE``: the text of a custom check, or None.
    """
    directory = Path(directory)
    path = directory / "repro.py" if directory.is_dir() else directory
    if not path.exists():
        raise FileNotFoundError(f"no repro script at {path}")
    name = f"ftx_repro_{next(_load_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = path.read_text()
    module.CHECK_SOURCE = None
    if CHECK_BEGIN in text and CHECK_END in text:
        module.CHECK_SOURCE = text.split(CHECK_BEGIN, 1)[1].split(CHECK_END, 1)[0].strip("\n")
    return module


# =========================================================================== save_repro

_dir_counter = itertools.count()


def _repro_root() -> Path:
    return Path(config.repro_dir or os.path.join(tempfile.gettempdir(), "ftx-repros"))


def _new_dir(name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "graph"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    d = _repro_root() / f"{safe}-{stamp}-{os.getpid()}-{next(_dir_counter)}"
    d.mkdir(parents=True, exist_ok=False)
    return d


def save_repro(f, *args, directory=None, backend=None, minify=False, isolate=False) -> Path:
    """Save ``f``'s graph on ``args`` and the exact inputs as a runnable repro; returns its path.

    >>> ftx.debug.save_repro(step, params, batch)            # .../step-.../repro.py
    >>> ftx.debug.save_repro(step, params, batch, minify=True)

    The script checks ``backend`` (default: ``ftx.config.default_backend``) against
    the reference interpreter. With ``minify=True`` the graph is minified first
    (which requires that the check fails).
    """
    from ftx.debug.checks import check_fails
    from ftx.debug.minifier import _as_problem
    from ftx.debug.minifier import minify as run_minify
    jaxpr, inputs = _as_problem(f, args)
    backend = backend or config.default_backend
    _, path = resolve_backend(backend)
    check = {"kind": "agrees_with_reference", "backend": path, "rtol": None, "atol": None}
    name = getattr(f, "__name__", "graph")
    directory = Path(directory) if directory is not None else _new_dir(name)
    note = f"saved by ftx.debug.save_repro from {name}"
    if minify:
        result = run_minify(jaxpr, inputs, check_fails(check), isolate=isolate)
        return result.write_repro(directory, check=check, note=f"{note}; {result.original_eqns} "
                                  f"equations minified to {result.num_eqns}")
    return write_repro(directory, jaxpr, inputs, check=check, note=note)


# =========================================================================== FTX_REPRO

def _program_name(jaxpr) -> str:
    info = getattr(jaxpr, "debug_info", None)
    src = getattr(info, "func_src", None) or "program"
    return src.split(" at ")[0]


def _minify_in_subprocess(directory: Path, isolate: bool) -> dict | None:
    """Run ``python -m ftx.debug.minify DIR``; returns its summary (None if it failed)."""
    env = dict(os.environ)
    env["FTX_REPRO"] = "0"  # the minifier's own runs must not capture themselves
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    cmd = [sys.executable, "-m", "ftx.debug.minify", str(directory)]
    if isolate:
        cmd.append("--isolate")
    log = directory / "minify.log"
    try:
        with open(log, "w") as out:
            proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=MINIFY_TIMEOUT_S)
    except (subprocess.TimeoutExpired, OSError):
        return None
    summary = directory / "minify.json"
    if proc.returncode != 0 or not summary.exists():
        return None
    return json.loads(summary.read_text())


def _capture(jaxpr, args, backend, check, headline, error_text, isolate=False) -> Path | None:
    """Save + minify; print where the repro is. Never raises (the user's error matters more)."""
    try:
        from ftx.debug.minifier import count_eqns
        directory = _new_dir(_program_name(jaxpr))
        write_repro(directory, jaxpr, list(args), check=check, error=error_text,
                    note=f"captured by FTX_REPRO: {headline}")
        n = count_eqns(jaxpr)
        print(f"ftx: {headline}\nftx: saved the graph ({n} equations), its inputs and the error "
              f"to {directory}; minifying it in a subprocess ...", file=sys.stderr, flush=True)
        summary = _minify_in_subprocess(directory, isolate)
        script = directory / "repro.py"
        if summary is None:
            print(f"ftx: minifying failed (see {directory / 'minify.log'}); the full repro is "
                  f"{script}", file=sys.stderr, flush=True)
        else:
            print(f"ftx: minified to {summary['equations']} equations: run `python {script}` "
                  f"(exits 1 while the failure reproduces)", file=sys.stderr, flush=True)
        return script
    except Exception as e:  # noqa: BLE001
        print(f"ftx: FTX_REPRO could not save a repro: {type(e).__name__}: {e}", file=sys.stderr)
        return None


def _write_ahead(jaxpr, args, backend) -> Path | None:
    """Save the graph before its first run, so a crash of the whole process leaves a repro."""
    try:
        directory = _new_dir("pending-" + _program_name(jaxpr))
        write_repro(directory, jaxpr, list(args),
                    check={"kind": "raises", "backend": backend, "error": None},
                    note="saved by FTX_REPRO before a first run; if this folder still exists, "
                         "the process died during that run: minify it with "
                         "`python -m ftx.debug.minify --isolate <this folder>`")
        return directory
    except Exception:  # noqa: BLE001 - best effort only
        return None


def wrap_compile(compile_fn, jaxpr, backend):
    """Like ``wrap_executable`` but compiles on the first call, so that compile errors are
    captured too (with that call's inputs): ``wrap_compile(_compile, jaxpr, backend)``."""
    state = {}

    def exe(*args):
        run = state.get("exe")
        if run is None:
            run = state["exe"] = compile_fn(jaxpr, backend)
        return run(*args)

    return wrap_executable(exe, jaxpr, backend)


def wrap_executable(exe, jaxpr, backend):
    """The executable the jit runs when ``FTX_REPRO`` is set: ``exe`` plus capture.

    Level 1: an exception from ``exe(*args)`` saves graph + inputs + error, minifies in
    a subprocess, prints the repro path and is re-raised. Level 2: every result is also
    compared with the reference interpreter; a mismatch is saved the same way and raised
    as BackendMismatchError naming the output.
    """
    if backend == "reference":  # the oracle itself: nothing to compare against
        return exe
    _, backend_path = resolve_backend(backend)
    first = [True]

    def run(*args):
        pending = _write_ahead(jaxpr, args, backend_path) if first[0] else None
        try:
            outs = exe(*args)
        except Exception as e:
            if pending is not None:
                shutil.rmtree(pending, ignore_errors=True)
            headline = (f"the compiled program {_program_name(jaxpr)!r} failed on backend "
                        f"{backend!r}: {type(e).__name__}: {e}")
            script = _capture(jaxpr, args, backend_path,
                              {"kind": "raises", "backend": backend_path,
                               "error": type(e).__name__}, headline,
                              "".join(traceback.format_exception(e)))
            if script is not None and hasattr(e, "add_note"):
                e.add_note(f"ftx (FTX_REPRO): a repro of this failure is {script}")
            raise
        if pending is not None:
            shutil.rmtree(pending, ignore_errors=True)
        first[0] = False
        if config.repro_level >= 2:
            refs = reference_eval(jaxpr, args)
            problem = compare_outputs(outs, refs)
            if problem is not None:
                headline = (f"the compiled program {_program_name(jaxpr)!r} on backend "
                            f"{backend!r} disagrees with the reference interpreter: {problem}")
                script = _capture(jaxpr, args, backend_path,
                                  {"kind": "agrees_with_reference", "backend": backend_path,
                                   "rtol": None, "atol": None}, headline, headline)
                where = f"; repro: {script}" if script is not None else ""
                raise BackendMismatchError(f"FTX_REPRO=2: {headline}{where}")
        return outs

    run.__name__ = getattr(exe, "__name__", "run")
    return run
