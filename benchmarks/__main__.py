"""``python -m benchmarks``: the same as ``python benchmarks/run.py`` (see its docstring)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.argv[0] = "python -m benchmarks"  # for --help
from run import main  # noqa: E402

sys.exit(main())
