"""Every notebook in notebooks/ runs top to bottom and shows what it says it shows.

With nbclient installed (``pip install ".[notebooks]"``) each notebook runs in a real Jupyter
kernel (ipykernel, on the Python running pytest) and any cell error fails the test. Without
nbclient, or with ``FTX_NOTEBOOKS_IN_PROCESS=1``, the code cells run in order in one module
namespace in this process, as a kernel would run them.

Either way the notebook's claims are then checked on its variables. Each claim is written once,
as a Python expression (CLAIMS): in a kernel it is the assertion of one extra code cell appended
to an in-memory copy of the notebook; in process it is evaluated in the notebook's namespace.
Stored notebooks keep no outputs, so their diffs stay readable.
"""
import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import pytest

import ftx

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "ftx-notebook-test"

# What each notebook must have computed: the claims its text makes, as expressions over its
# variables (every notebook imports numpy as np). The oracles are the notebooks' own independent
# computations: finite differences, Python loops, an unrolled RNN, the reference interpreter.
CLAIMS = {
    "01_quickstart": (
        "abs(finite_difference - grads[0][0, 0]) < 1e-6"
        " and per_example[0].shape == (64, 3, 1)"
        " and np.allclose(per_example[0].mean(axis=0), grads[0])"
        " and np.allclose(g[0], grads[0])"),
    "02_training_mlp": (
        "np.mean(losses[-20:]) < 0.2 * np.mean(losses[:20])"
        " and test_accuracy > 0.9"
        " and confusion.sum() == len(y_test)"),
    "03_per_example_gradients": (
        "max_loop_difference < 1e-5"
        " and norms.shape == (64,) and norms.max() > clip"
        " and clipped_norms.max() <= clip * (1 + 1e-5)"
        " and np.allclose(clipped_norms, np.minimum(norms, clip), rtol=1e-5)"
        " and dp_loop_difference < 1e-5"
        " and plain_accuracy > 0.85 and dp_accuracy > 0.5"
        " and np.median(trained_norms[wrong]) > 10 * np.median(trained_norms[~wrong])"),
    "04_custom_rules_and_checkpointing": (
        "np.allclose(clipped_grad, np.clip(3 * x_small ** 2, -1, 1))"
        " and np.isnan(naive_grads[-1]) and stable_grads[-1] == 1.0"
        " and np.allclose(stable_grads, 1 / (1 + np.exp(-points)))"
        " and np.allclose(straight_through_grad, np.round(w) + w)"
        " and max(policy_grad_error.values()) < 1e-5"
        " and saved_bytes['nothing_saveable'] < saved_bytes['dots_saveable']"
        " < saved_bytes['no checkpoint']"
        " and all(a >= b for a, b in zip(peaks, peaks[1:])) and peaks[-1] < peaks[0]"
        " and flops[-1] > flops[0] and budget_grad_error < 1e-5"),
    "05_debugging": (
        "[e.primitive.name for e in result.jaxpr.eqns] == ['tanh']"
        " and repro_prims == ['tanh']"
        " and repro_status == {'with bug': 1, 'fixed': 0}"
        " and len(saved) == 1"),
    "06_scan_rnn": (
        "scan_loop_difference < 1e-6"
        " and final_test_loss < 0.05 * initial_test_loss"
        " and final_test_loss < 0.2 * persistence_loss"
        " and prediction.shape == y_test.shape"),
}


def _in_kernel() -> bool:
    if os.environ.get("FTX_NOTEBOOKS_IN_PROCESS", "") not in ("", "0"):
        return False
    return all(importlib.util.find_spec(name) is not None for name in ("nbclient", "ipykernel"))


def _load(path: Path) -> dict:
    notebook = json.loads(path.read_text())
    assert notebook["nbformat"] == 4, f"{path.name}: not an nbformat 4 notebook"
    return notebook


def test_every_notebook_has_its_claims():
    assert sorted(CLAIMS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    for cell in _load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name}: clear the outputs before committing (Kernel > Restart & Clear "
                "Output, or `jupyter nbconvert --clear-output --inplace`)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots render nowhere
    if _in_kernel():
        _run_in_kernel(path, monkeypatch, tmp_path)
    else:
        _run_in_process(path, monkeypatch, capsys)


# --------------------------------------------------------------------------- in a kernel

def _kernelspec(folder: Path) -> None:
    """A kernelspec running ipykernel on this very interpreter, so the kernel sees the same
    packages (and this checkout of ftx) as the test, whatever other 'python3' kernels exist."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ftx notebook test", "language": "python"}))


def _claim_cell(stem: str) -> str:
    return (f"import sys as _sys\n"
            f"assert _sys.executable == {sys.executable!r}, _sys.executable\n"
            f"assert _sys.prefix == {sys.prefix!r}, _sys.prefix\n"
            f"assert ({CLAIMS[stem]}), {('claim failed: ' + CLAIMS[stem])!r}\n")


def _run_in_kernel(path, monkeypatch, tmp_path):
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    _kernelspec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # found before any other
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(_claim_cell(path.stem)))
    # Local sockets in the test's folder rather than TCP ports on localhost, where there are.
    kernel = (KernelManager(kernel_name=KERNEL_NAME, transport="ipc",
                            ip=str(tmp_path / "kernel-ipc")) if os.name == "posix"
              else KernelManager(kernel_name=KERNEL_NAME))
    client = NotebookClient(notebook, km=kernel, timeout=600, startup_timeout=120,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError (with the cell's traceback) on any error


# --------------------------------------------------------------------------- in process

def _run_in_process(path, monkeypatch, capsys):
    module = types.ModuleType(f"ftx_notebook_{path.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # a kernel's __main__
    code = [(i, "".join(c["source"])) for i, c in enumerate(_load(path)["cells"])
            if c["cell_type"] == "code"]
    # A notebook that fails halfway must not leave options set (debug_nans, log_compiles).
    with ftx.config.override(**{name: getattr(ftx.config, name) for name in ftx.config._options}):
        for i, source in code:
            exec(compile(source, f"{path.name}, cell {i + 1}", "exec"), module.__dict__)
        assert eval(CLAIMS[path.stem], module.__dict__), (
            f"claim failed: {CLAIMS[path.stem]}\n{capsys.readouterr().out}")
