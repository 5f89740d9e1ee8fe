"""Devices and the CUDA backend in this process: clear errors where no GPU is usable, and
(marked ``gpu``, run with ``pytest -m gpu`` on a machine with one) the simulator's cases and
larger shapes on a real device."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cuda.array import DeviceArray, DeviceUnavailableError
from tests.test_cuda_sim import CASES, _run_case as run_case

SIMULATING = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
HAS_GPU = not SIMULATING and bool(ftx.devices("cuda"))
no_gpu = pytest.mark.skipif(HAS_GPU or SIMULATING, reason="a CUDA device (or the simulator) "
                            "is available")


# --------------------------------------------------------------------------- without a GPU

@no_gpu
def test_asking_for_the_gpu_without_one_says_what_is_missing():
    assert ftx.devices() == [ftx.devices("cpu")[0]] and str(ftx.devices()[0]) == "cpu:0"
    with pytest.raises(DeviceUnavailableError, match="CUDA backend cannot run here") as info:
        ftx.device_put(np.ones(3), "cuda")
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(DeviceUnavailableError):
        ftx.jit(lambda s: s * 2.0, backend="cuda")(3.0)  # scalars only: compiling is the error


def test_numpy_arguments_to_a_cuda_function_are_refused_by_name():
    f = ftx.jit(lambda p: p["w"] @ p["w"], backend="cuda")
    with pytest.raises(TypeError, match=r"argument 0\['w'\] \(f32\[2,2\]\) is a ndarray in host "
                                        r"memory.*ftx.device_put\(x, 'cuda'\)"):
        f({"w": np.eye(2, dtype=np.float32)})


def test_device_arrays_to_a_cpu_function_are_refused_by_name():
    fake = DeviceArray(None, (3,), np.float32)  # only its type is looked at
    for backend in ("cpu", "reference"):
        with pytest.raises(TypeError, match=r"argument 1 \(f32\[3\] on cuda:0\) is a DeviceArray"
                                            r".*np.asarray\(x\)"):
            ftx.jit(lambda a, b: a + b, backend=backend)(np.ones(3, np.float32), fake)


def test_unknown_backends_and_devices():
    with pytest.raises(ValueError, match="cpu, cuda, reference"):
        ftx.jit(lambda x: x, backend="tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        ftx.device_put(np.ones(2), "tpu")
    np.testing.assert_array_equal(ftx.device_put([1.0, 2.0], "cpu"), [1.0, 2.0])


# --------------------------------------------------------------------------- on a real GPU

@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU here")
@pytest.mark.parametrize("name", list(CASES))
def test_simulator_cases_on_the_gpu(name):
    run_case(name)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU here")
def test_large_shapes_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 3001)).astype(np.float32)
    w = rng.standard_normal((3001, 257)).astype(np.float32)
    xd, wd = ftx.device_put((x, w), "cuda")
    f = ftx.jit(lambda x, w: (fnp.tanh(x) * 2.0 + 1.0, fnp.sum(x, axis=0), fnp.sum(x, axis=1),
                              fnp.sum(x), fnp.max(x, axis=1), fnp.argmax(x, axis=0), x @ w,
                              x.T[:100]), backend="cuda")
    outs = [np.asarray(o) for o in f(xd, wd)]
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(outs[0], np.tanh(x) * 2 + 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outs[1], x64.sum(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(outs[2], x64.sum(1), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(outs[3], x64.sum(), rtol=1e-4, atol=1e-1)
    np.testing.assert_array_equal(outs[4], x.max(1))
    np.testing.assert_array_equal(outs[5], x.argmax(0))
    np.testing.assert_allclose(outs[6], x64 @ w, rtol=1e-3, atol=1e-2)
    np.testing.assert_array_equal(outs[7], x.T[:100])


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU here")
def test_reductions_are_deterministic():
    x = ftx.device_put(np.random.default_rng(2).standard_normal(3_000_001).astype(np.float32),
                       "cuda")
    f = ftx.jit(lambda v: fnp.sum(v), backend="cuda")
    first = np.asarray(f(x))
    assert all(np.asarray(f(x)).tobytes() == first.tobytes() for _ in range(5))
