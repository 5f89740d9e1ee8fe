"""Repros as code: the printer's round trip, standalone scripts, the CLI, and FTX_REPRO capture.

Oracles: the rebuilt jaxpr equals the original structurally (types, primitives, parameters,
literals, wiring) and prints identically; scripts are run in fresh subprocesses, which must
fail while the planted bug is there and pass once it is removed; saved inputs are the exact
values.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import debug, lax
from ftx.debug.minifier import count_eqns
from ftx.debug.printer import _explain_difference, from_source, jaxprs_equal, not_saved, to_source
from ftx.debug.repro import load_repro, write_repro
from tests.test_composition import FUNCTIONS, IDS, _point
from tests import test_minify
from tests.test_minify import _prims, adam_step, training_args

planted = test_minify.planted  # the planted-bug backend fixture

ROOT = Path(__file__).resolve().parents[1]


def _round_trip(jaxpr):
    source, arrays = to_source(jaxpr)
    rebuilt = from_source(source, arrays)
    assert _explain_difference(jaxpr, rebuilt) is None, source
    assert str(rebuilt) == str(jaxpr)
    return source


def _transforms(f, x):
    xs = np.stack([x, x * 0.5])
    return {
        "plain": (f, x), "grad": (ftx.grad(f), x), "jit": (ftx.jit(f), x),
        "grad_jit": (ftx.grad(ftx.jit(f)), x), "jit_grad": (ftx.jit(ftx.grad(f)), x),
        "vmap": (ftx.vmap(f), xs), "vmap_grad": (ftx.vmap(ftx.grad(f)), xs),
        "jvp": (lambda y: ftx.jvp(f, (y,), (y,)), x), "hessian": (ftx.hessian(f), x),
        "linearize": (lambda y: ftx.linearize(f, y)[1](y), x),
    }


@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_printer_round_trips_the_composition_matrix(f, shape):
    x = _point(shape)
    for name, (g, arg) in _transforms(f, x).items():
        jaxpr = ftx.make_jaxpr(g)(arg)
        _round_trip(jaxpr)


def test_printer_round_trips_control_flow_and_custom_rules():
    @ftx.custom_vjp
    def clip_grad(v):
        return fnp.sin(v)

    clip_grad.defvjp(lambda v: (fnp.sin(v), fnp.cos(v)), lambda res, g: (fnp.clip(g * res, -1, 1),))

    def f(x):
        def body(c, xi):
            return c * 0.5 + lax.cond(xi > 0, fnp.sin, fnp.cos, c) * xi, fnp.sum(c)
        c, ys = lax.scan(body, x, fnp.arange(3.0))
        w = lax.while_loop(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] * 1.5), (0, c),
                           max_steps=10)[1]
        ftx.debug.print("w = {}", w)
        return fnp.sum(clip_grad(w)) + fnp.sum(ys)

    x = np.linspace(0.1, 1.0, 3)
    cases = [(f, x), (ftx.grad(f), x), (ftx.jit(f), x), (ftx.vmap(f), np.stack([x, x]))]
    for g, arg in cases:
        jaxpr = ftx.make_jaxpr(g)(arg)
        source = _round_trip(jaxpr)
        code = "\n".join(line.split("  # ")[0] for line in source.splitlines())
        # no callable is serialized: rules appear only as named not_saved('<lambda>') stand-ins
        assert not re.search(r"(?<!<)lambda", code) and "pickle" not in code
    source = _round_trip(ftx.make_jaxpr(f)(x))
    prims = set(_prims(ftx.make_jaxpr(f)(x)))
    assert {"scan", "cond", "while", "custom_vjp_call", "debug_callback"} <= prims
    assert "not_saved(" in source


def test_printer_literals_constants_and_dtypes():
    c = np.arange(6, dtype=np.float32).reshape(2, 3)

    def f(x, n):
        y = x * np.float32(np.nan) + np.float32(np.inf) + 2.0 + c
        z = lax.convert_element_type(n, np.int16) * 3
        w = lax.integer_pow(x, 3) + lax.div(x, np.float32(-0.0))
        return y, z, w, lax.sort(lax.reshape(x, (6,))), 1.5

    jaxpr = ftx.make_jaxpr(f)(np.ones((2, 3), np.float32), np.int64(4))
    assert jaxpr.constvars
    source = _round_trip(jaxpr)
    assert "float('nan')" in source and "float('inf')" in source


def test_structural_equality_sees_differences():
    a = ftx.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.ones(3))
    b = ftx.make_jaxpr(lambda x: fnp.sin(x) * 3.0)(np.ones(3))
    c = ftx.make_jaxpr(lambda x: fnp.cos(x) * 2.0)(np.ones(3))
    d = ftx.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.ones(4))
    e = ftx.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.ones(3))
    assert jaxprs_equal(a, e)
    assert not jaxprs_equal(a, b) and not jaxprs_equal(a, c) and not jaxprs_equal(a, d)


def test_not_saved_stands_in_for_callables():
    stub = not_saved("softplus_jvp")
    assert repr(stub) == "softplus_jvp" and stub.__name__ == "softplus_jvp"
    with pytest.raises(NotImplementedError, match="softplus_jvp.*not saved"):
        stub(1.0)
    assert not_saved("print", ignore=True)(1.0) is None


# --------------------------------------------------------------------------- scripts

def _run(args, cwd, env_extra=None, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in sys.path if p])
    env.pop("FTX_REPRO", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_written_repro_fails_standalone_and_passes_without_the_bug(planted, tmp_path):
    p = planted("tanh")
    result = debug.minify(adam_step, training_args(), fails=p.fails)
    script = result.write_repro(tmp_path / "repro")
    assert script == tmp_path / "repro" / "repro.py"
    saved = np.load(tmp_path / "repro" / "inputs.npz")
    for i, x in enumerate(result.inputs):  # exact values, not ones or random
        np.testing.assert_array_equal(saved[f"input_{i}"], x)
        assert saved[f"input_{i}"].dtype == x.dtype
    text = script.read_text()
    assert p.backend_path in text and "tanh_p.bind1" in text
    run = _run([str(script)], cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILS" in run.stdout and "tanh" in run.stdout
    p.set_bug(None)
    run = _run([str(script)], cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passes" in run.stdout


def test_repro_script_rebuilds_an_identical_jaxpr(planted, tmp_path):
    p = planted("log_raises")
    args = training_args()
    jaxpr = ftx.make_jaxpr(adam_step)(*args)
    inputs = [np.asarray(x) for x in ftx.tree_util.tree_leaves(args)]
    write_repro(tmp_path, jaxpr, inputs, check={"kind": "raises", "backend": p.backend_path,
                                                "error": "RuntimeError"})
    module = load_repro(tmp_path)
    assert jaxprs_equal(module.JAXPR, jaxpr)
    for a, b in zip(module.INPUTS, inputs):
        np.testing.assert_array_equal(a, b)
    assert module.fails(module.JAXPR, module.INPUTS)


def test_config_is_written_as_literals(planted, tmp_path):
    p = planted("tanh")
    jaxpr = ftx.make_jaxpr(fnp.tanh)(np.ones(3))
    with ftx.config.override(enable_checks=True, repro_level=1):
        script = write_repro(tmp_path, jaxpr, [np.ones(3)],
                             check={"kind": "agrees_with_reference", "backend": p.backend_path})
    text = script.read_text()
    assert "ftx.config.update('enable_checks', True)" in text
    assert "repro_level" not in text
    with pytest.raises(ValueError, match="import path"):
        write_repro(tmp_path / "x", jaxpr, [np.ones(3)],
                    check={"kind": "agrees_with_reference", "backend": None})


def test_custom_check_source_is_kept_by_the_cli(tmp_path):
    jaxpr = ftx.make_jaxpr(lambda x: fnp.exp(fnp.sin(fnp.cos(x)) * 2.0))(np.ones(3))
    check = ("def fails(jaxpr, inputs):\n"
             "    return any(e.primitive.name == 'sin' for e in jaxpr.eqns)\n")
    write_repro(tmp_path, jaxpr, [np.ones(3)], check_source=check)
    assert _run([str(tmp_path / "repro.py")], cwd=tmp_path).returncode == 1
    run = _run(["-m", "ftx.debug.minify", str(tmp_path)], cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    module = load_repro(tmp_path)
    assert [e.primitive.name for e in module.JAXPR.eqns] == ["sin"]
    assert "e.primitive.name == 'sin'" in module.CHECK_SOURCE
    assert (tmp_path / "unminified" / "repro.py").exists()


def test_save_repro_then_minify_in_a_fresh_process(planted, tmp_path):
    p = planted("tanh")
    args = training_args()
    script = debug.save_repro(adam_step, *args, directory=tmp_path / "r", backend=p.backend_path)
    assert count_eqns(load_repro(tmp_path / "r").JAXPR) >= 200
    run = _run(["-m", "ftx.debug.minify", str(tmp_path / "r")], cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    module = load_repro(tmp_path / "r")
    assert count_eqns(module.JAXPR) <= 3 and "tanh" in _prims(module.JAXPR)
    assert _run([str(script)], cwd=tmp_path).returncode == 1
    assert _run([str(tmp_path / "r" / "unminified" / "repro.py")], cwd=tmp_path).returncode == 1
    p.set_bug(None)
    assert _run([str(script)], cwd=tmp_path).returncode == 0


def test_save_repro_with_minify(planted, tmp_path):
    p = planted("tanh")
    script = debug.save_repro(adam_step, *training_args(), directory=tmp_path,
                              backend=p.backend, minify=True)
    module = load_repro(tmp_path)
    assert count_eqns(module.JAXPR) <= 3
    assert module.CHECK["backend"] == p.backend_path
    assert "minified" in script.read_text()


def test_cli_refuses_a_repro_that_passes(tmp_path):
    jaxpr = ftx.make_jaxpr(fnp.sin)(np.ones(3))
    write_repro(tmp_path, jaxpr, [np.ones(3)], check={"kind": "agrees_with_reference",
                                                      "backend": "reference"})
    run = _run(["-m", "ftx.debug.minify", str(tmp_path)], cwd=tmp_path)
    assert run.returncode == 1 and "does not fail to begin with" in run.stderr


# --------------------------------------------------------------------------- FTX_REPRO

SITECUSTOMIZE = """
import os
if os.environ.get("FTX_TEST_PLANTED"):
    import importlib
    importlib.import_module(os.environ["FTX_TEST_PLANTED"]).install()
"""


@pytest.fixture
def planted_jit(planted, tmp_path, monkeypatch):
    """A planted bug in the jit's 'cpu' backend, here and in every subprocess (sitecustomize)."""
    def make(bug):
        p = planted(bug)
        (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
        monkeypatch.setenv("FTX_TEST_PLANTED", p.name)
        from ftx.transforms import jit
        monkeypatch.setattr(jit, "_compile", jit._compile)  # restored after the test
        p.module.install()
        ftx.config.update("repro_dir", str(tmp_path / "repros"))
        return p

    with ftx.config.override(repro_level=ftx.config.repro_level, repro_dir=ftx.config.repro_dir):
        yield make  # the options the tests change are restored


def _repro_dirs(tmp_path):
    root = tmp_path / "repros"
    return sorted(d for d in root.iterdir()) if root.exists() else []


def test_level1_captures_a_runtime_failure_minifies_and_reraises(planted_jit, tmp_path, capfd):
    planted_jit("log_raises")
    ftx.config.update("repro_level", 1)
    step = ftx.jit(adam_step)
    with pytest.raises(RuntimeError, match="planted") as info:
        step(*training_args())
    err = capfd.readouterr().err
    (directory,) = _repro_dirs(tmp_path)
    assert str(directory) in err and "minified to" in err
    assert any("repro" in note for note in getattr(info.value, "__notes__", []))
    assert "RuntimeError" in (directory / "error.txt").read_text()
    module = load_repro(directory)
    assert count_eqns(module.JAXPR) <= 3 and "log" in _prims(module.JAXPR)
    assert module.CHECK == {"kind": "raises", "backend": "cpu", "error": "RuntimeError"}
    assert count_eqns(load_repro(directory / "unminified").JAXPR) >= 200
    assert _run([str(directory / "repro.py")], cwd=tmp_path).returncode == 1


def test_level2_checks_results_against_the_reference(planted_jit, tmp_path, capfd):
    p = planted_jit("tanh")
    ftx.config.update("repro_level", 2)
    with pytest.raises(debug.BackendMismatchError, match=r"output \d+ .*differ"):
        ftx.jit(adam_step)(*training_args())
    (directory,) = _repro_dirs(tmp_path)
    module = load_repro(directory)
    assert count_eqns(module.JAXPR) <= 3 and "tanh" in _prims(module.JAXPR)
    assert _run([str(directory / "repro.py")], cwd=tmp_path).returncode == 1
    p.set_bug(None)
    assert _run([str(directory / "repro.py")], cwd=tmp_path,
                env_extra={"FTX_TEST_PLANTED": ""}).returncode == 0


def test_level1_leaves_nothing_behind_on_success(planted_jit, tmp_path):
    planted_jit(None)
    ftx.config.update("repro_level", 2)
    out = ftx.jit(lambda x: fnp.tanh(x) * 2.0)(np.linspace(-1, 1, 5))
    np.testing.assert_allclose(out, np.tanh(np.linspace(-1, 1, 5)) * 2.0)
    assert _repro_dirs(tmp_path) == []


def test_a_process_killed_mid_run_leaves_a_pending_repro(planted, tmp_path):
    p = planted("log_kills")
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    program = ("import numpy as np, ftx, ftx.numpy as fnp\n"
               "f = ftx.jit(lambda x: fnp.sum(fnp.log(fnp.exp(x) + 1.0) * 2.0))\n"
               "f(np.linspace(0.5, 1.5, 4))\n")
    run = _run(["-c", program], cwd=tmp_path,
               env_extra={"FTX_REPRO": "1", "FTX_REPRO_DIR": str(tmp_path / "repros"),
                          "FTX_TEST_PLANTED": p.name})
    assert run.returncode == 139
    (pending,) = _repro_dirs(tmp_path)
    assert pending.name.startswith("pending-")
    run = _run(["-m", "ftx.debug.minify", "--isolate", "--timeout", "60", str(pending)],
               cwd=tmp_path, env_extra={"FTX_TEST_PLANTED": p.name})
    assert run.returncode == 0, run.stdout + run.stderr
    module = load_repro(pending)
    assert [e.primitive.name for e in module.JAXPR.eqns] == ["log"]


def test_a_rebuilt_repro_keeps_the_users_lines_in_its_comments(tmp_path):
    def loss(x):
        return fnp.sum(fnp.tanh(x) * 2.0)   # the equations' line: this test's file
    x = np.ones(3)
    jaxpr = ftx.make_jaxpr(loss)(x)
    write_repro(tmp_path / "first", jaxpr, [x], check={"kind": "raises", "backend": "reference",
                                                       "error": "RuntimeError"})
    rebuilt = load_repro(tmp_path / "first").JAXPR   # its equations' lines are repro.py's
    assert all("repro.py" in e.source_info.filename for e in rebuilt.eqns)
    script = write_repro(tmp_path / "second", rebuilt, [x],
                         check={"kind": "raises", "backend": "reference", "error": "RuntimeError"})
    comments = [line.rsplit("  # ", 1)[1] for line in Path(script).read_text().splitlines()
                if ".bind" in line and "  # " in line]
    assert comments and all(c.startswith("test_repro.py:") and "(loss)" in c for c in comments)
