"""The min-cut partitioner, the jitted forward/backward split and ftx.aot_function.

Oracles: a brute-force minimum cut for the max-flow; gradients without any partitioning;
saving every residual ('save_all') for the bytes saved; tracemalloc for measured peaks.
"""
import logging

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
import ftx.transforms.jit as jit_module
from ftx.compiler.maxflow import INFINITE, FlowNetwork, brute_force_min_cut
from ftx.compiler.partition import UnsatisfiableRematError
from ftx.nn import gelu
from tests.test_checkpoint import _traced_peak

RNG = np.random.default_rng(0)


# =========================================================================== max-flow

@pytest.mark.parametrize("seed", range(40))
def test_max_flow_equals_brute_force_min_cut(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    edges = []
    for _ in range(int(rng.integers(1, 3 * n))):
        u, v = (int(a) for a in rng.integers(0, n, 2))
        if u != v:
            edges.append((u, v, int(rng.integers(0, 10))))
    g = FlowNetwork(n)
    for u, v, c in edges:
        g.add_edge(u, v, c)
    value, side = g.min_cut(0, n - 1)
    assert value == brute_force_min_cut(n, edges, 0, n - 1)
    assert 0 in side and n - 1 not in side
    assert sum(c for u, v, c in edges if u in side and v not in side) == value


def test_infinite_edges_and_long_chains():
    g = FlowNetwork(4)
    g.add_edge(0, 1, INFINITE)
    g.add_edge(1, 2, 5)
    g.add_edge(2, 3, INFINITE)
    assert g.min_cut(0, 3) == (5, {0, 1})
    g = FlowNetwork(3)
    g.add_edge(0, 1, INFINITE)
    g.add_edge(1, 2, INFINITE)
    assert g.infinite_path(0, 2) == [0, 1, 2] and g.max_flow(0, 2) == INFINITE
    with pytest.raises(ValueError, match="no finite cut"):
        g.min_cut(0, 2)
    n = 20000  # no recursion: a long chain is fine
    g = FlowNetwork(n)
    for i in range(n - 1):
        g.add_edge(i, i + 1, 7 if i == 12345 else 100)
    assert g.min_cut(0, n - 1)[0] == 7
    with pytest.raises(ValueError, match="negative"):
        g.add_edge(0, 1, -1)


# =========================================================================== what is saved

def tanh_chain(ws, x):
    for w in ws:
        x = fnp.tanh(x @ w)
    return fnp.sum(x ** 2)


WS = [RNG.normal(size=(16, 16)) * 0.3 for _ in range(4)]
X = RNG.normal(size=(8, 16))


def reference_compiler(jaxpr):
    """A custom compiler (any ``jaxpr -> callable`` will do): the reference interpreter,
    which also keeps these tests free of Numba compile time."""
    from ftx.core.jaxpr import eval_jaxpr
    return lambda *args: eval_jaxpr(jaxpr, *args)


def test_min_cut_saves_fewer_bytes_than_saving_everything():
    cut = ftx.aot_function(tanh_chain, partition="min_cut").trace(WS, X)
    everything = ftx.aot_function(tanh_chain, partition="save_all").trace(WS, X)
    saved_cut = cut.memory_analysis()["residual_bytes"]
    saved_all = everything.memory_analysis()["residual_bytes"]
    # save_all keeps tanh(z) and 1 - tanh(z)**2 per layer; the min-cut keeps tanh(z) (the next
    # layer reads it anyway) and recomputes the derivative from it.
    assert saved_cut * 2 == saved_all, (saved_cut, saved_all)
    recomputed = [e.primitive.name for e in cut.forward.jaxpr.eqns]
    assert recomputed.count("dot_general") == 4  # the forward computes each matmul once
    bwd_names = [e.primitive.name for e in cut.backward.jaxpr.eqns]
    assert "tanh" not in bwd_names and "sub" in bwd_names  # 1 - t**2 is recomputed, tanh not
    expected = ftx.grad(tanh_chain, argnums=(0, 1))(WS, X)
    for partition in ("min_cut", "save_all"):
        aot = ftx.aot_function(tanh_chain, reference_compiler, partition=partition)
        got = ftx.grad(aot, argnums=(0, 1))(WS, X)
        for a, b in zip(ftx.tree_util.tree_leaves(got), ftx.tree_util.tree_leaves(expected)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_matmuls_and_random_bits_are_never_recomputed():
    key = ftx.random.key(0)

    def dropout_mlp(w, x):
        keep = ftx.random.bernoulli(key, 0.5, (8, 16))
        return fnp.sum(fnp.where(keep, fnp.tanh(x @ w), 0.0) ** 2)

    fwd, bwd = ftx.aot_function(dropout_mlp).trace(WS[0], X)
    names = [e.primitive.name for e in bwd.jaxpr.eqns]
    assert "tanh" not in names and "shift_right_logical" not in names
    assert not any(v.aval.dtype.kind == "u" for e in bwd.jaxpr.eqns for v in e.outvars)
    # The forward matmul is not redone: the backward's two are the transposes (for w and x).
    assert names.count("dot_general") == 2


def test_policy_constraint_that_cannot_be_met_is_a_clear_error():
    key = ftx.random.key(0)

    def f(x):
        bits = ftx.random.bits(key, (8, 16), np.uint32)
        return fnp.sum(x * (bits > 2 ** 31))

    aot = ftx.aot_function(f, policy=ftx.checkpoint_policies.nothing_saveable)
    with pytest.raises(UnsatisfiableRematError, match="random bits"):
        aot.trace(X)
    with pytest.raises(ValueError, match="unknown remat partitioner"):
        ftx.aot_function(f, partition="greedy")
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        ftx.config.update("activation_memory_budget", 1.5)


def test_partition_log_lists_saved_values_and_recomputed_equations(caplog):
    with caplog.at_level(logging.DEBUG, logger="ftx.partition"):
        trace = ftx.aot_function(tanh_chain).trace(WS, X)
    assert trace.log in caplog.text
    saved = [line for line in trace.log.splitlines() if line.strip().startswith("saved")]
    assert len(saved) == len(trace.partition.saved_from)
    assert any("input (passed through" in line for line in saved)
    assert any(" B  tanh" in line and "min-cut" in line for line in saved)
    assert any(line.strip().startswith("recomputed sub") for line in trace.log.splitlines())


# =========================================================================== grad of jit

def test_grad_of_jit_compiles_once_and_passes_inputs_through(monkeypatch):
    compiled = []
    real = jit_module._compile
    monkeypatch.setattr(jit_module, "_compile", lambda j, b: compiled.append(j) or real(j, b))
    f = ftx.jit(tanh_chain, backend="reference")  # counting compiles needs no Numba
    g1 = ftx.grad(f, argnums=(0, 1))(WS, X)
    assert len(compiled) == 2  # the forward and the transposed backward
    with ftx.no_retrace():
        g2 = ftx.grad(f, argnums=(0, 1))(WS, X)
    assert len(compiled) == 2  # the second call builds and compiles nothing
    for a, b in zip(ftx.tree_util.tree_leaves(g1), ftx.tree_util.tree_leaves(g2)):
        np.testing.assert_array_equal(a, b)
    # Inputs saved for the backward are the caller's arrays, not copies from the forward.
    _, f_vjp = ftx.vjp(f, WS, X)
    assert any(r is X for r in f_vjp.residuals) and any(r is WS[0] for r in f_vjp.residuals)
    (fwd_eqn,) = [e for e in compiled[0:1]]
    assert len(fwd_eqn.outvars) == 1 + 4  # the loss and one tanh per layer: no inputs


def _blocks(depth=4, d=64, h=256, b=32):
    rng = np.random.default_rng(1)
    params = [(rng.standard_normal((d, h), np.float32) / 8,
               rng.standard_normal((h, d), np.float32) / 16) for _ in range(depth)]

    def loss(x):
        for w1, w2 in params:
            x = x + gelu(x @ w1) @ w2
        return fnp.mean(x * x)

    return loss, rng.standard_normal((b, d), np.float32)


def test_memory_budget_lowers_simulated_and_measured_traced_peak():
    loss, x = _blocks()
    everything = ftx.aot_function(loss, partition="save_all").trace(x).memory_analysis()
    results = []
    for budget in (1.0, 0.5):
        with ftx.config.override(remat_partitioner="min_cut", activation_memory_budget=budget):
            trace = ftx.aot_function(loss).trace(x)
            vg = ftx.value_and_grad(ftx.jit(loss))
            vg(x)  # compile
            peak, (value, grad) = _traced_peak(lambda: vg(x))
        results.append((trace.memory_analysis(), peak, grad))
    (cut, cut_peak, g_cut), (half, half_peak, g_half) = results
    assert cut["residual_bytes"] < everything["residual_bytes"] / 2
    assert half["residual_bytes"] < cut["residual_bytes"]
    assert half["simulated_peak_bytes"] < cut["simulated_peak_bytes"] < \
        everything["simulated_peak_bytes"]
    assert half_peak < cut_peak, (half_peak, cut_peak)
    # The simulation models the executor (every value freed after its last use) without
    # fusion, which keeps some intermediates from ever being allocated: an upper bound.
    assert 0.5 * cut["simulated_peak_bytes"] < cut_peak < 1.1 * cut["simulated_peak_bytes"]
    np.testing.assert_allclose(g_half, g_cut, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_cut, ftx.grad(loss)(x), rtol=1e-5, atol=1e-7)


# =========================================================================== aot_function

def test_aot_function_descriptors_compilers_and_transforms():
    calls = []

    def counting_compiler(jaxpr):
        calls.append(len(jaxpr.eqns))
        return reference_compiler(jaxpr)

    aot = ftx.aot_function(tanh_chain, fw_compiler=counting_compiler)
    fwd, bwd = aot.trace(WS, X)
    assert not fwd.is_compiled and not bwd.is_compiled  # tracing compiles nothing
    assert [repr(d) for d in fwd.inputs] == [f"primal {i} (args[0][{i}])" for i in range(4)] + \
        ["primal 4 (args[1])"]
    assert repr(fwd.outputs[0]) == "output 0"
    assert repr(bwd.inputs[-1]) == "cotangent of output 0"
    assert repr(bwd.outputs[4]) == "gradient of primal 4 (args[1])"
    assert "passed through" in repr(bwd.inputs[0]) and "output of tanh" in repr(bwd.inputs[5])
    assert "# input 0: primal 0" in fwd.as_text()
    np.testing.assert_allclose(aot(WS, X), tanh_chain(WS, X))
    g = ftx.grad(aot, argnums=1)(WS, X)
    assert fwd.is_compiled and bwd.is_compiled and len(calls) == 3  # inference, fwd, bwd
    expected = ftx.grad(tanh_chain, argnums=1)(WS, X)
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    np.testing.assert_allclose(ftx.jit(ftx.grad(aot, argnums=1))(WS, X), expected, rtol=1e-12)
    xs = RNG.normal(size=(3, 8, 16))
    np.testing.assert_allclose(ftx.vmap(ftx.grad(aot, argnums=1), in_axes=(None, 0))(WS, xs),
                               [ftx.grad(tanh_chain, argnums=1)(WS, x) for x in xs], rtol=1e-12)
    mem = aot.trace(WS, X).memory_analysis()
    assert mem["passthrough_bytes"] == sum(w.nbytes for w in WS) + X.nbytes
    assert mem["residual_bytes"] == 4 * X.nbytes and mem["num_residuals"] == 9


def test_aot_module_parameters_are_inputs():
    model = ftx.nn.MLP(16, 3, 8, 2, key=ftx.random.key(0))
    m = ftx.aot_module(model, reference_compiler)
    np.testing.assert_allclose(m(X), model(X), rtol=1e-12)
    fwd, bwd = m.trace(X)
    assert repr(fwd.inputs[0]) == "param 0 (module.layers[0].weight)"
    assert repr(bwd.outputs[0]) == "gradient of param 0 (module.layers[0].weight)"
    loss = lambda mod, x: fnp.sum(mod(x) ** 2)  # noqa: E731
    got = ftx.grad(loss)(m, X).module
    expected = ftx.grad(loss)(model, X)
    for a, b in zip(ftx.tree_util.tree_leaves(got), ftx.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_aot_function_forward_mode_uses_the_linear_graph():
    aot = ftx.aot_function(tanh_chain)
    v = RNG.normal(size=X.shape)
    out, tangent = ftx.jvp(lambda x: aot(WS, x), (X,), (v,))
    expected_out, expected_tangent = ftx.jvp(lambda x: tanh_chain(WS, x), (X,), (v,))
    np.testing.assert_allclose(out, expected_out, rtol=1e-12)
    np.testing.assert_allclose(tangent, expected_tangent, rtol=1e-12, atol=1e-14)
    x = RNG.normal(size=3)
    f = ftx.aot_function(lambda x: fnp.sin(x) * fnp.sum(x ** 2))
    jac = ftx.jacfwd(f)(x)
    eps = 1e-6
    fd = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(jac, fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(jac, ftx.jacrev(f)(x), rtol=1e-12)


def test_a_custom_partitioner_chooses_what_is_saved():
    seen = []

    def save_only_inputs(forward, num_outputs):
        seen.append((len(forward.invars), num_outputs))
        return []  # recompute everything from the inputs

    def save_tanh_outputs(forward, num_outputs):
        return [v for e in forward.eqns if e.primitive.name == "tanh" for v in e.outvars]

    expected = ftx.grad(tanh_chain, argnums=1)(WS, X)
    recompute = ftx.aot_function(tanh_chain, partition=save_only_inputs)
    fwd, bwd = recompute.trace(WS, X)
    assert seen and all("passed through" in repr(d) for d in bwd.inputs[:-1])
    assert "(save_only_inputs)" in recompute.trace(WS, X).log
    np.testing.assert_allclose(ftx.grad(recompute, argnums=1)(WS, X), expected, rtol=1e-12)
    saving = ftx.aot_function(tanh_chain, partition=save_tanh_outputs)
    assert sum("output of tanh" in repr(d) for d in saving.trace(WS, X).backward.inputs) == 4
    np.testing.assert_allclose(ftx.grad(saving, argnums=1)(WS, X), expected, rtol=1e-12)
    assert recompute.trace(WS, X).memory_analysis()["residual_bytes"] == 0


def test_a_custom_partitioner_cannot_recompute_random_bits_or_return_strangers():
    def noisy(x, key):
        return fnp.sum(fnp.tanh(x) * ftx.random.uniform(key, x.shape))

    x = RNG.normal(size=5)
    aot = ftx.aot_function(noisy, partition=lambda forward, n: [])
    key = ftx.random.key(3)
    np.testing.assert_allclose(ftx.grad(aot)(x, key), ftx.grad(noisy)(x, key), rtol=1e-12)
    assert "random bits" in aot.trace(x, key).log
    with pytest.raises(ValueError, match="not Vars of the forward jaxpr"):
        ftx.aot_function(tanh_chain, partition=lambda forward, n: ["x"]).trace(WS, X)
    with pytest.raises(TypeError, match="iterable"):
        ftx.aot_function(tanh_chain, partition=lambda forward, n: 3).trace(WS, X)
