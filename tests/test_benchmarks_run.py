"""benchmarks/run.py: runs each benchmark script, and reports machine, outcomes and tables."""
import importlib.util
import textwrap
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "benchmarks_run", Path(__file__).resolve().parent.parent / "benchmarks" / "run.py")
run = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run)


@pytest.fixture
def benchmarks(tmp_path):
    """A benchmarks folder with a script that prints a table and one that fails."""
    (tmp_path / "table_bench.py").write_text(textwrap.dedent('''
        print("# adding things — a fake benchmark")
        print("| case | time | note |")
        print("|---|---|---|")
        print("| add, 4 elements | 1.5 µs | fast |")
        print("| add, 1M elements | 2.25 ms | slow |")
    '''))
    (tmp_path / "broken_bench.py").write_text(
        'import sys\nprint("partial output")\nsys.exit("no such device")\n')
    return tmp_path


def test_report_has_the_machine_the_outcomes_and_every_table(benchmarks):
    out = benchmarks / "R.md"
    assert run.main(["--dir", str(benchmarks), "--out", str(out)]) == 1  # one failed
    text = out.read_text()
    assert "| CPU |" in text and "| BLAS |" in text and "| Numba | " in text
    assert "| table_bench | ok |" in text
    assert "| broken_bench | failed: exit status 1: no such device |" in text
    assert "### adding things — a fake benchmark" in text  # the script's heading, nested
    assert "| add, 1M elements | 2.25 ms | slow |" in text  # its table, as printed
    assert "partial output" in text


def test_only_runs_the_named_benchmarks_and_rejects_unknown_names(benchmarks):
    out = benchmarks / "R.md"
    assert run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "table_bench"]) == 0
    assert "broken_bench" not in out.read_text()
    with pytest.raises(SystemExit, match="no benchmark named"):
        run.main(["--dir", str(benchmarks), "--only", "nonexistent"])


def test_table_times_reads_the_first_time_of_each_row():
    text = "| case | time |\n|---|---|\n| a | 1.5 µs |\n| b | x | 3 s |\n| c | none |"
    assert run.table_times(text) == [("a", 1.5e-6), ("b", 3.0)]


def test_output_without_a_table_keeps_its_columns_in_a_code_block():
    assert run._as_markdown("a    1\nbb   2") == "```\na    1\nbb   2\n```"
    assert run._as_markdown("# t\n| a |\n|---|") == "### t\n| a |\n|---|"
