"""The Numba CPU backend against the reference interpreter, its kernel cache and generated code."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import compile_jaxpr, kernels
from ftx.core import eval_jaxpr
from ftx.tree_util import tree_leaves
from tests.op_records import all_records

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One case per elementwise record, in float32 where the record has it (kernels are shared
# between records of one dtype/rank/broadcast pattern, so this stays a few dozen compiles).
_ELEMENTWISE = [r for r in all_records() if r.fn.__module__ in ("ftx.numpy._ufuncs",)
                or r.name.startswith(("add_", "multiply_", "operators", "where", "clip"))]
CASES = []
for _r in _ELEMENTWISE:
    _cases = list(_r.cases())
    _pick = next((c for c in _cases if c[2] == np.float32), _cases[0])
    CASES.append(pytest.param(_r, _pick[1], _pick[2], id=_pick[0]))


def _compare(actual, expected, dtype):
    for a, e in zip(tree_leaves(actual), tree_leaves(expected)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a.shape, e.shape, a.dtype, e.dtype)
        if a.dtype.kind in "fc":
            tol = 1e-5 if a.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("record, shapes, dtype", CASES)
def test_numba_matches_the_reference_interpreter(record, shapes, dtype):
    args = record.make_args(shapes, dtype)
    jaxpr = ftx.make_jaxpr(record.fn)(*args)
    flat = tree_leaves(args)
    expected = eval_jaxpr(jaxpr, *flat)
    _compare(compile_jaxpr(jaxpr)(*flat), expected, dtype)


def _mlp(params, x):
    for w, b in params[:-1]:
        x = fnp.maximum(x @ w + b, 0.0) * 0.5 + fnp.tanh(x @ w) * 0.1
    w, b = params[-1]
    return fnp.mean((x @ w + b) ** 2)


def test_jit_of_a_training_step_matches_eager():
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(4, 8)).astype(np.float32), np.zeros(8, np.float32)),
              (rng.normal(size=(8, 1)).astype(np.float32), np.zeros(1, np.float32))]
    x = rng.normal(size=(16, 4)).astype(np.float32)
    value, grads = ftx.jit(ftx.value_and_grad(_mlp))(params, x)
    value_ref, grads_ref = ftx.value_and_grad(_mlp)(params, x)
    np.testing.assert_allclose(value, value_ref, rtol=1e-5)
    for g, r in zip(tree_leaves(grads), tree_leaves(grads_ref)):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)


def test_kernels_are_shape_generic():
    f = ftx.jit(lambda x, y: fnp.maximum(x * 3.0 - y, 0.0) + y)
    f(np.ones((4, 5), np.float32), np.ones(5, np.float32))
    before = kernels.compile_count
    for n in (1, 7, 100):
        out = f(np.full((n, 5), 2.0, np.float32), np.ones(5, np.float32))
        np.testing.assert_allclose(out, np.full((n, 5), 6.0))
    assert f._cache_size() == 4        # a trace per shape ...
    assert kernels.compile_count == before  # ... but no new kernel


def test_executor_frees_temporaries_and_shows_its_source():
    # the sort's operand is a temporary between a kernel and a NumPy call
    f = ftx.jit(lambda x: fnp.sum(fnp.sort(x * 2.0) + 1.0))
    text = f.lower(np.ones(3)).compile().as_text()
    assert "def run(" in text and "@numba.njit" in text and "del " in text
    assert "# mul" in text  # one commented line per fused equation


def _run_python(code, env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_generated_code_runs_without_numba_jit(tmp_path):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", FTX_CACHE_DIR=str(tmp_path))
    result = _run_python("""
        import numpy as np, ftx, ftx.numpy as fnp
        f = ftx.jit(lambda x, y: fnp.where(x > y, x * 2.0, y - 1.0))
        x, y = np.arange(6.0).reshape(2, 3), np.full(3, 2.5)
        assert np.array_equal(f(x, y), np.where(x > y, x * 2.0, y - 1.0))
        print("ok")
    """, env)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_a_corrupt_cached_kernel_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "_loaded", {})
    with ftx.config.override(cache_dir=str(tmp_path)):
        f = ftx.jit(lambda x: x * 7.0 - 1.0)
        f(np.ones(3))
        (path,) = [p for p in (tmp_path / "kernels").iterdir() if p.suffix == ".py"]
        path.write_text("garbage(")
        monkeypatch.setattr(kernels, "_loaded", {})
        with pytest.warns(RuntimeWarning, match="corrupt"):
            np.testing.assert_allclose(ftx.jit(lambda x: x * 7.0 - 1.0)(np.ones(3)), 6.0)


def test_a_cache_dir_writable_by_others_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "_loaded", {})
    shared = tmp_path / "shared"
    (shared / "kernels").mkdir(parents=True)
    os.chmod(shared / "kernels", 0o777)
    with ftx.config.override(cache_dir=str(shared)):
        with pytest.raises(PermissionError, match="writable by other users"):
            ftx.jit(lambda x: x * 11.0 + 3.0)(np.ones(2))


@pytest.mark.parametrize("f", [lambda x: x, lambda x: x * 1.0, lambda x: (x * 2.0, x * 2.0),
                               lambda x: (x, x)])
def test_jit_outputs_never_alias_inputs_or_each_other(f):
    x = np.arange(3.0)
    outs = ftx.jit(f)(x)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for o in outs:
        o[...] = -1.0  # a user writing into a result must not change anything else
    np.testing.assert_array_equal(x, np.arange(3.0))
    if len(outs) == 2:
        outs[1][...] = 7.0
        np.testing.assert_array_equal(outs[0], -1.0)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32])
def test_small_integer_arithmetic_wraps_inside_a_fused_loop(dtype):
    # Numba computes in 64 bits; what a comparison or a max reads must be NumPy's wrapped value.
    info = np.iinfo(dtype)
    x = np.array([info.max, info.max // 2 + 1, 3, info.min, 0], dtype=dtype)
    f = ftx.jit(lambda x: ((x * x + x) > x, fnp.max(x + x), x * x - 1))
    with np.errstate(over="ignore"):
        expected = ((x * x + x) > x, np.max(x + x), x * x - np.array(1, dtype))
    for got, want in zip(f(x), expected):
        assert np.asarray(got).dtype == want.dtype
        np.testing.assert_array_equal(got, want)
