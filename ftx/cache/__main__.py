"""``python -m ftx.cache info`` shows the persistent compile cache; ``... clear`` empties it."""
from __future__ import annotations

import argparse
import sys

from ftx.cache import clear, info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ftx.cache",
        description="Show or clear ftx's persistent compile cache (FTX_CACHE_DIR, default "
                    "~/.cache/ftx).")
    parser.add_argument("command", choices=["info", "clear"],
                        help="info: what the cache holds; clear: remove ftx's files from it")
    args = parser.parse_args(argv)
    if args.command == "info":
        for name, value in info().items():
            print(f"{name}: {value}")
    else:
        print(f"removed {clear()} files from {info()['directory']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
