"""Every notebook in notebooks/ runs top to bottom and shows what it says it shows.

The code cells run in order in one module namespace, as a Jupyter kernel would run them, with
no Jupyter needed (CI installs only the test extra). Stored notebooks keep no outputs, so their
diffs stay readable.
"""
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

# What each notebook must have computed: the claims its text makes, checked on its variables.
EXPECTED = {
    "01_quickstart": lambda ns: (
        abs(ns["finite_difference"] - ns["grads"][0][0, 0]) < 1e-6
        and ns["per_example"][0].shape == (64, 3, 1)
        and np.allclose(ns["g"][0], ns["grads"][0])),
    "02_training_mlp": lambda ns: (
        ns["losses"][-1] < 0.5 * ns["losses"][0] and ns["test_accuracy"] > 0.9),
    "03_debugging": lambda ns: (
        [e.primitive.name for e in ns["result"].jaxpr.eqns] == ["tanh"]
        and len(ns["saved"]) == 1),
}


def _load(path: Path) -> dict:
    notebook = json.loads(path.read_text())
    assert notebook["nbformat"] == 4, f"{path.name}: not an nbformat 4 notebook"
    return notebook


def _code_cells(notebook: dict) -> list:
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_every_notebook_has_its_expectations():
    assert sorted(EXPECTED) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    for cell in _load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name}: clear the outputs before committing (Kernel > Restart & Clear "
                "Output, or `jupyter nbconvert --clear-output --inplace`)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots render nowhere
    module = types.ModuleType(f"ftx_notebook_{path.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # a kernel's __main__
    for i, source in enumerate(_code_cells(_load(path))):
        exec(compile(source, f"{path.name}, code cell {i + 1}", "exec"), module.__dict__)
    assert EXPECTED[path.stem](module.__dict__), capsys.readouterr().out
