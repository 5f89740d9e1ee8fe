"""benchmarks/run.py: runs each benchmark script, and reports machine, outcomes, the headline
numbers the scripts record through benchmarks/_report.py, the kept notes, and every table."""
import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load("run")
_report = _load("_report")

# A fake benchmark that records through the real benchmarks/_report.py, as the real ones do.
_RECORDING = f'import sys\nsys.path.insert(0, {str(BENCHMARKS)!r})\nfrom _report import record\n'


@pytest.fixture
def benchmarks(tmp_path):
    """A benchmarks folder: a script that prints a table and records headline numbers, one
    that records a number and then fails, and one that records by hand (the JSON lines)."""
    (tmp_path / "table_bench.py").write_text(_RECORDING + textwrap.dedent('''
        print("# adding things — a fake benchmark")
        print("| case | time | note |")
        print("|---|---|---|")
        print("| add, 4 elements | 1.5 µs | fast |")
        print("| add, 1M elements | 2.25 ms | slow |")
        record("add, 1M elements", "ftx", 2.25, "ms", "jit")
        record("add, 1M elements", "ftx", 3.0, "ms", "eager")   # slower: not the headline
        record("add, 1M elements", "NumPy", 4.5, "ms")
        record("add, 1M elements", "JAX", 1.5, "ms", "jax.jit")
    '''))
    (tmp_path / "broken_bench.py").write_text(_RECORDING + textwrap.dedent('''
        record("grad, 10x10", "ftx", 300.0, "µs")
        print("partial output")
        sys.exit("no such device")
    '''))
    (tmp_path / "raw_bench.py").write_text(textwrap.dedent('''
        import json, os
        with open(os.environ["FTX_BENCH_JSON"], "a") as f:
            for library, value in (("autograd", 100.0), ("NumPy", 10.0)):
                f.write(json.dumps({"case": "grad, 10x10", "library": library, "value": value,
                                    "unit": "µs", "variant": ""}) + "\\n")
        print("no table here")
    '''))
    return tmp_path


def _table_row(text, case):
    """The cells of the headline row for ``case``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {case} |"))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_report_has_the_machine_the_headline_the_outcomes_and_every_table(benchmarks):
    out = benchmarks / "R.md"
    assert run.main(["--dir", str(benchmarks), "--out", str(out)]) == 1  # one failed
    text = out.read_text()
    assert "| CPU |" in text and "| BLAS |" in text and "| Numba | " in text
    assert "| threads | NumPy's BLAS " in text
    assert "| table_bench | ok |" in text
    assert "| broken_bench | failed: exit status 1: no such device |" in text
    assert "### adding things — a fake benchmark" in text  # the script's heading, nested
    assert "| add, 1M elements | 2.25 ms | slow |" in text  # its table, as printed
    assert "partial output" in text
    assert "```\nno table here\n```" in text
    # Headline: columns ftx NumPy JAX PyTorch autograd, each library's best variant, and
    # ftx over NumPy (2.25 / 4.5) and over the best other (JAX: 2.25 / 1.5).
    header = text[text.index("## Headline"):].splitlines()
    header = next(line for line in header if line.startswith("| case |"))
    assert [c.strip() for c in header.strip("|").split("|")][:3] == ["case", "unit", "ftx"]
    assert _table_row(text, "add, 1M elements") == [
        "add, 1M elements", "ms", "2.25 (jit)", "4.5", "1.5 (jax.jit)", "—", "—",
        "0.50x", "1.50x (JAX)"]
    # The failed script's number, recorded before it failed, is kept; the raw JSON lines too.
    # NumPy (a hand-written floor) is faster, but "best other framework" leaves it out.
    assert _table_row(text, "grad, 10x10") == [
        "grad, 10x10", "µs", "300", "10", "—", "—", "100", "30.00x", "3.00x (autograd)"]


def test_notes_survive_a_rerun_verbatim_and_the_rest_is_rewritten(benchmarks):
    out = benchmarks / "R.md"
    run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "table_bench"])
    assert run.NO_NOTES in out.read_text()  # a placeholder until someone writes notes
    notes = "### Analysis\n\nThe | pipes | and `code` stay.\n\n- a list item\n"
    text = out.read_text().replace(run.NO_NOTES, notes)
    out.write_text(text.replace("| add, 1M elements | 2.25 ms | slow |", "| stale |"))
    run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "raw_bench"])
    text = out.read_text()
    assert f"{run.NOTES_BEGIN}\n{notes}{run.NOTES_END}" in text
    assert "| stale |" not in text and "adding things" not in text
    assert "no table here" in text


def test_a_report_without_notes_markers_is_refused_before_anything_runs(benchmarks):
    out = benchmarks / "R.md"
    out.write_text("# Hand-written results\n\nprecious analysis\n")
    (benchmarks / "touch_bench.py").write_text(
        f"open({str(benchmarks / 'ran')!r}, 'w').close()\n")
    with pytest.raises(SystemExit, match="no '<!-- notes: begin"):
        run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "touch_bench"])
    assert out.read_text() == "# Hand-written results\n\nprecious analysis\n"
    assert not (benchmarks / "ran").exists()


def test_a_benchmark_this_machine_cannot_run_is_reported_as_skipped(benchmarks, monkeypatch):
    monkeypatch.setitem(run.NEEDS, "table_bench.py", (lambda: False, "a flux capacitor"))
    out = benchmarks / "R.md"
    assert run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "table_bench"]) == 0
    text = out.read_text()
    assert "| table_bench | skipped: needs a flux capacitor |" in text
    assert "adding things" not in text
    assert "(no benchmark recorded a headline number)" in text


def test_only_runs_the_named_benchmarks_and_rejects_unknown_names(benchmarks):
    out = benchmarks / "R.md"
    assert run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "table_bench"]) == 0
    assert "broken_bench" not in out.read_text()
    with pytest.raises(SystemExit, match="no benchmark named"):
        run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "nonexistent"])


def test_the_plot_is_written_when_matplotlib_is_installed(benchmarks):
    pytest.importorskip("matplotlib")
    out = benchmarks / "R.md"
    run.main(["--dir", str(benchmarks), "--out", str(out), "--only", "table_bench"])
    assert (benchmarks / "R.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![ftx over each other library, per headline case](R.png)" in out.read_text()


def test_record_appends_json_lines_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(_report.ENV, raising=False)
    _report.record("case", "ftx", 1.0, "ms")  # no side channel: nothing to write, no error
    path = tmp_path / "h.jsonl"
    monkeypatch.setenv(_report.ENV, str(path))
    _report.record("call, 4 elements", "ftx", 1.5, "µs", "jit")
    _report.record("call, 4 elements", "JAX", None, "µs")  # not measured: left out
    _report.record("call, 4 elements", "JAX", 5, "µs")
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        {"case": "call, 4 elements", "library": "ftx", "value": 1.5, "unit": "µs",
         "variant": "jit"},
        {"case": "call, 4 elements", "library": "JAX", "value": 5.0, "unit": "µs",
         "variant": ""}]


def test_output_without_a_table_keeps_its_columns_in_a_code_block():
    assert run._as_markdown("a    1\nbb   2") == "```\na    1\nbb   2\n```"
    assert run._as_markdown("# t\n| a |\n|---|") == "### t\n| a |\n|---|"


def test_torch_peak_replays_allocations_and_frees(monkeypatch):
    """remat_bench's PyTorch peak against allocations of known sizes: 4 MB and 4 MB, one of
    them freed, then 12 MB: the peak is 16 MB (not the 20 MB allocated in all)."""
    torch = pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # remat_bench imports _report
    remat_bench = _load("remat_bench")
    kept = []

    def step():
        a = torch.empty(1_000_000)       # 4 MB
        b = torch.empty(1_000_000)       # 4 MB
        del a
        c = torch.empty(3_000_000)       # 12 MB: with b, 16 MB live
        kept.extend([b, c])
    assert abs(remat_bench.torch_peak(torch, step) - 16_000_000) < 64 * 1024
    kept.clear()
