"""``python -m ftx.debug.minify REPRO_DIR``: minify a saved repro in a fresh process.

Loads ``REPRO_DIR/repro.py`` (its graph, inputs and check), minifies the graph
with that check, moves the original files to ``REPRO_DIR/unminified/`` and writes
the minified ``repro.py`` + ``inputs.npz`` in their place (or into ``--out``).
Exit status: 0 when minified, 1 when the saved graph does not fail (nothing to
minify), 2 on bad usage. This module is the command line only: the function is
``ftx.debug.minify`` (import it from ``ftx.debug``, not from this module).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftx.debug.minify",
                                     description="Minify a repro folder written by ftx.debug.")
    parser.add_argument("directory", help="folder holding repro.py and inputs.npz")
    parser.add_argument("--out", help="write the minified repro here (default: in place)")
    parser.add_argument("--isolate", action="store_true",
                        help="run each candidate in a child process (crashes count as failing)")
    parser.add_argument("--max-queries", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per candidate with --isolate (longer counts as failing)")
    parser.add_argument("--verbose", action="store_true", help="print every query")
    args = parser.parse_args(argv)

    from ftx.debug.minifier import count_eqns, minify
    from ftx.debug.repro import load_repro

    directory = Path(args.directory)
    try:
        module = load_repro(directory)
    except (FileNotFoundError, SyntaxError) as e:
        print(f"ftx.debug.minify: {e}", file=sys.stderr)
        return 2
    before = count_eqns(module.JAXPR)
    try:
        result = minify(module.JAXPR, module.INPUTS, module.fails, isolate=args.isolate,
                        max_queries=args.max_queries, timeout=args.timeout, verbose=args.verbose)
    except ValueError as e:
        print(f"ftx.debug.minify: {e}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else directory
    if out.resolve() == directory.resolve():
        keep = directory / "unminified"
        if not keep.exists():  # a second minification keeps the first original
            keep.mkdir()
            for name in ("repro.py", "inputs.npz"):
                shutil.move(str(directory / name), str(keep / name))
    check = module.CHECK if module.CHECK_SOURCE is None else None
    script = result.write_repro(out, check=check, check_source=module.CHECK_SOURCE)
    summary = {"equations": result.num_eqns, "original_equations": before,
               "queries": result.queries, "seconds": round(result.seconds, 3),
               "complete": result.complete, "script": str(script)}
    (out / "minify.json").write_text(json.dumps(summary, indent=1))
    for step in result.steps:
        print(f"  {step}")
    print(f"ftx.debug.minify: {before} -> {result.num_eqns} equations in {result.queries} "
          f"queries ({result.seconds:.1f} s): {script}")
    print(result.jaxpr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
