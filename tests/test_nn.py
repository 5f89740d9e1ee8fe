"""ftx.nn: modules as pytrees, layers against NumPy references, activations, initializers,
losses, the torch.func-style helpers, ensembles, and a tiny model trained end to end."""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
import ftx.numpy as fnp
from ftx import nn, optim, random
from ftx.nn import initializers as init
from ftx.testing import check_grads
from ftx.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_leaves, tree_unflatten
from tests.op_records.convolution import direct_conv

KEY = random.key(0)


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# =========================================================================== Module


class Affine(nn.Module):
    weight: np.ndarray
    bias: np.ndarray
    name: str = nn.field(static=True, default="affine")

    def __call__(self, x):
        return x @ self.weight + self.bias


def test_module_fields_are_children_and_static_fields_are_structure():
    m = Affine(np.ones((2, 3)), np.zeros(3), name="a")
    leaves, treedef = tree_flatten(m)
    assert len(leaves) == 2 and leaves[0] is m.weight and leaves[1] is m.bias
    rebuilt = tree_unflatten(treedef, [2 * x for x in leaves])
    assert type(rebuilt) is Affine and rebuilt.name == "a"
    np.testing.assert_array_equal(rebuilt.weight, 2 * np.ones((2, 3)))
    # a different static value is a different structure
    assert tree_flatten(Affine(np.ones((2, 3)), np.zeros(3), name="b"))[1] != treedef
    paths = [keystr(p) for p, _ in tree_flatten_with_path(m)[0]]
    assert paths == [".weight", ".bias"]


def test_layer_round_trip_keeps_values_and_static_fields():
    model = nn.MLP(3, 2, 5, 2, activation=nn.tanh, key=KEY)
    leaves, treedef = tree_flatten(model)
    assert len(leaves) == 6
    back = tree_unflatten(treedef, leaves)
    assert back.activation is nn.tanh and back.depth == 2 and back.width_size == 5
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))
    paths = [keystr(p) for p, _ in tree_flatten_with_path(model)[0]]
    assert paths[:2] == [".layers[0].weight", ".layers[0].bias"]


def test_modules_are_immutable():
    lin = nn.Linear(2, 3, key=KEY)
    with pytest.raises(dataclasses.FrozenInstanceError, match="replace"):
        lin.weight = np.zeros((3, 2))
    with pytest.raises(AttributeError, match="immutable"):
        del lin.bias
    # FrozenInstanceError is an AttributeError, as for frozen dataclasses
    assert issubclass(dataclasses.FrozenInstanceError, AttributeError)


def test_replace_returns_an_updated_copy():
    lin = nn.Linear(2, 3, key=KEY)
    new = lin.replace(bias=np.ones(3, np.float32))
    np.testing.assert_array_equal(new.bias, np.ones(3))
    assert new.weight is lin.weight and lin.bias is not new.bias
    assert not np.array_equal(lin.bias, np.ones(3))
    with pytest.raises(TypeError, match="unknown field.*biass"):
        lin.replace(biass=1)


def test_init_must_set_every_field_and_only_declared_ones():
    class Missing(nn.Module):
        a: object
        b: object

        def __init__(self):
            self.a = 1

    with pytest.raises(TypeError, match="did not set the field.*b"):
        Missing()

    class Undeclared(nn.Module):
        a: object

        def __init__(self):
            self.a = 1
            self.c = 2

    with pytest.raises(AttributeError, match="c is not a declared field"):
        Undeclared()


def test_unhashable_static_field_is_reported():
    m = Affine(np.ones(1), np.ones(1), name=["not", "hashable"])
    with pytest.raises(TypeError, match="static field 'name' of .*Affine must be hashable"):
        tree_flatten(m)


def test_subclass_of_a_layer_inherits_its_init():
    class Scaled(nn.Linear):
        scale: float = nn.field(static=True, default=2.0)

        def __call__(self, x, *, key=None):
            return self.scale * super().__call__(x)

    with pytest.raises(TypeError, match="did not set the field.*scale"):
        Scaled(2, 2, key=KEY)  # the inherited __init__ does not know the new field

    class Doubled(nn.Linear):
        def __call__(self, x, *, key=None):
            return 2 * super().__call__(x)

    d, lin = Doubled(2, 3, key=KEY), nn.Linear(2, 3, key=KEY)
    np.testing.assert_allclose(d(np.ones(2, np.float32)), 2 * lin(np.ones(2, np.float32)))


def test_modules_pickle_and_copy():
    import copy
    import pickle
    model = nn.MLP(2, 3, 4, 1, activation=nn.tanh, key=KEY)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), copy.copy(model)):
        assert type(clone) is nn.MLP and clone.activation is nn.tanh
        np.testing.assert_array_equal(clone.layers[0].weight, model.layers[0].weight)
        with pytest.raises(AttributeError):
            clone.depth = 3


def test_pretty_repr():
    lin = nn.Linear(3, 2, key=KEY)
    assert repr(lin) == ("Linear(\n  weight=f32[2,3],\n  bias=f32[2],\n  in_features=3,\n"
                         "  out_features=2,\n  use_bias=True\n)")
    text = repr(nn.MLP(2, 1, 4, 1, key=KEY))
    assert "layers=(\n    Linear(\n      weight=f32[4,2]" in text
    assert "activation=<function relu>" in text
    assert repr(nn.Dropout(0.25)) == "Dropout(\n  p=0.25,\n  inference=False\n)"
    # inside a trace, arrays print as their abstract values
    seen = []
    ftx.make_jaxpr(lambda m: seen.append(repr(m)) or m.weight.sum())(lin)
    assert "weight=f32[2,3]" in seen[0]


def test_tree_at_replaces_leaves_and_subtrees():
    model = nn.MLP(2, 1, 4, 1, key=KEY)
    w = np.zeros((4, 2), np.float32)
    new = nn.tree_at(lambda m: m.layers[0].weight, model, w)
    assert new.layers[0].weight is w and new.layers[1] is not model.layers[1]
    np.testing.assert_array_equal(new.layers[1].weight, model.layers[1].weight)
    assert model.layers[0].weight is not w  # the original is untouched
    # a subtree, several nodes, and replace_fn
    other = nn.Linear(4, 1, key=random.key(1))
    assert nn.tree_at(lambda m: m.layers[1], model, other).layers[1] is other
    both = nn.tree_at(lambda m: (m.layers[0].bias, m.layers[1].bias), model,
                      (np.ones(4, np.float32), np.ones(1, np.float32)))
    assert both.layers[0].bias.sum() == 4 and both.layers[1].bias.sum() == 1
    doubled = nn.tree_at(lambda m: m.layers[0], model, replace_fn=lambda l: l.replace(
        weight=2 * l.weight))
    np.testing.assert_array_equal(doubled.layers[0].weight, 2 * model.layers[0].weight)
    assert nn.tree_at(lambda m: m, model, 5) == 5


def test_tree_at_none_fields_and_errors():
    lin = nn.Linear(2, 3, key=KEY, use_bias=False)
    with pytest.raises(ValueError, match="is_leaf"):
        nn.tree_at(lambda m: m.bias, lin, np.ones(3))
    b = np.ones(3, np.float32)
    new = nn.tree_at(lambda m: m.bias, lin, b, is_leaf=lambda x: x is None)
    assert new.bias is b
    with pytest.raises(ValueError, match="must be a sequence of 2"):
        nn.tree_at(lambda m: (m.weight, m.bias), nn.Linear(2, 3, key=KEY), np.ones(3))
    with pytest.raises(ValueError, match="same node twice"):
        nn.tree_at(lambda m: (m.weight, m.weight), lin, (1, 2))
    with pytest.raises(ValueError, match="a node and a node inside it"):
        model = nn.MLP(2, 1, 4, 1, key=KEY)
        nn.tree_at(lambda m: (m.layers[0], m.layers[0].weight), model, (1, 2))
    with pytest.raises(TypeError, match="exactly one"):
        nn.tree_at(lambda m: m.weight, lin)


def test_static_fields_retrace_jit_and_arrays_do_not():
    traces = []

    @ftx.jit(backend="reference")  # the cache logic is the front end's: skip compiling
    def f(m, x):
        traces.append(1)
        return m(x, key=KEY)

    x = np.ones(8, np.float32)
    np.testing.assert_array_equal(f(nn.Dropout(0.5, inference=True), x), x)
    assert len(traces) == 1
    f(nn.Dropout(0.5, inference=False), x)
    assert len(traces) == 2
    lin1, lin2 = nn.Linear(8, 2, key=KEY), nn.Linear(8, 2, key=random.key(1))
    f(lin1, x)
    with ftx.no_retrace():
        np.testing.assert_allclose(f(lin2, x), lin2(x), rtol=1e-6)


# =========================================================================== layers


def test_linear_matches_numpy_and_pytorch_initialisation():
    lin = nn.Linear(5, 3, key=KEY)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == np.float32
    bound = 1 / math.sqrt(5)
    assert np.all(np.abs(lin.weight) <= bound) and np.all(np.abs(lin.bias) <= bound)
    x = np.random.default_rng(0).standard_normal((2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(lin(x), x @ lin.weight.T + lin.bias, rtol=1e-6)
    # same key, same weights; another key, other weights
    np.testing.assert_array_equal(nn.Linear(5, 3, key=KEY).weight, lin.weight)
    assert not np.array_equal(nn.Linear(5, 3, key=random.key(1)).weight, lin.weight)
    nobias = nn.Linear(5, 3, key=KEY, use_bias=False, dtype=np.float64)
    assert nobias.bias is None and nobias.weight.dtype == np.float64
    np.testing.assert_allclose(nobias(x[0, 0]), nobias.weight @ x[0, 0], rtol=1e-6)
    with pytest.raises(ValueError, match="last axis has size 5.*shape \\(4,\\)"):
        lin(np.ones(4, np.float32))


def test_mlp_matches_a_numpy_composition():
    model = nn.MLP(3, 2, 6, 2, activation=nn.tanh, final_activation=nn.softmax, key=KEY)
    assert [l.weight.shape for l in model.layers] == [(6, 3), (6, 6), (2, 6)]
    x = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    h = x
    for l in model.layers[:-1]:
        h = np.tanh(h @ l.weight.T + l.bias)
    expected = _np_softmax(h @ model.layers[-1].weight.T + model.layers[-1].bias)
    np.testing.assert_allclose(model(x), expected, rtol=1e-5)
    assert len(nn.MLP(3, 2, 6, 0, key=KEY).layers) == 1


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3), stride=2, padding=1),
    dict(kernel_size=3, padding="SAME", dilation=(2, 1)),
    dict(kernel_size=2, padding=((1, 0), (0, 2)), groups=2, use_bias=False),
])
def test_conv2d_matches_the_direct_convolution(kwargs):
    conv = nn.Conv2d(4, 6, key=KEY, **kwargs)
    groups = kwargs.get("groups", 1)
    assert conv.weight.shape == (6, 4 // groups) + conv.kernel_size
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 6)).astype(np.float32)
    padding = conv.padding
    if padding == "SAME":
        padding = tuple(((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2)
                        for k, d in zip(conv.kernel_size, conv.dilation))
    expected = direct_conv(x, conv.weight, conv.stride, padding, None, conv.dilation,
                           None, groups)
    if conv.bias is not None:
        expected = expected + conv.bias[:, None, None]
    np.testing.assert_allclose(conv(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(conv(x[1]), expected[1], rtol=1e-5, atol=1e-5)  # unbatched


def test_conv1d_and_conv_shapes_and_errors():
    conv = nn.Conv1d(2, 3, 3, stride=2, key=KEY)
    x = np.random.default_rng(0).standard_normal((2, 9)).astype(np.float32)
    expected = direct_conv(x[None], conv.weight, (2,), ((0, 0),))[0] + conv.bias[:, None]
    np.testing.assert_allclose(conv(x), expected, rtol=1e-5, atol=1e-6)
    assert nn.Conv3d(1, 2, 2, key=KEY)(np.ones((1, 3, 3, 3), np.float32)).shape == (2, 2, 2, 2)
    with pytest.raises(ValueError, match="C=2"):
        conv(np.ones((3, 9), np.float32))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 4, 2, groups=2, key=KEY)
    bound = 1 / math.sqrt(2 * 3)
    assert np.all(np.abs(conv.weight) <= bound)


def test_layernorm_matches_numpy():
    rng = np.random.default_rng(0)
    ln = nn.LayerNorm((3, 4))
    ln = ln.replace(weight=rng.standard_normal((3, 4)).astype(np.float32),
                    bias=rng.standard_normal((3, 4)).astype(np.float32))
    x = rng.standard_normal((5, 3, 4)).astype(np.float32) * 3 + 1
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * ln.weight + ln.bias
    np.testing.assert_allclose(ln(x), expected, rtol=1e-4, atol=1e-5)
    plain = nn.LayerNorm(4, use_weight=False, use_bias=False)
    assert plain.weight is None and plain.bias is None and tree_leaves(plain) == []
    y = plain(x[0])
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-6)
    with pytest.raises(ValueError, match="\\(3, 4\\)"):
        ln(np.ones((5, 4, 3)))


def test_embedding_is_a_lookup():
    emb = nn.Embedding(10, 4, key=KEY)
    assert emb.weight.shape == (10, 4) and emb.weight.dtype == np.float32
    idx = np.array([[1, 7, 7], [0, 9, 2]])
    np.testing.assert_array_equal(emb(idx), emb.weight[idx])
    traced = ftx.jit(lambda e, i: e(i))(emb, idx)
    np.testing.assert_array_equal(traced, emb.weight[idx])
    # gradient: rows accumulate once per lookup
    g = ftx.grad(lambda e: e(idx).sum())(emb)
    counts = np.bincount(idx.ravel(), minlength=10)[:, None] * np.ones(4)
    np.testing.assert_array_equal(g.weight, counts)
    with pytest.raises(TypeError, match="integers"):
        emb(np.array([1.0]))


def test_dropout():
    x = np.arange(1, 2001, dtype=np.float32)
    drop = nn.Dropout(0.25)
    y = drop(x, key=KEY)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.04
    np.testing.assert_array_equal(drop(x, key=KEY), y)  # same key, same mask
    assert not np.array_equal(drop(x, key=random.key(1)), y)
    assert drop(x, inference=True) is x or np.array_equal(drop(x, inference=True), x)
    np.testing.assert_array_equal(nn.Dropout(0.25, inference=True)(x), x)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x), x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x, key=KEY), np.zeros_like(x))
    with pytest.raises(ValueError, match="key is required"):
        drop(x)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        nn.Dropout(1.5)
    # under vmap each key draws its own mask; under jit it equals eager
    keys = random.split(KEY, 3)
    batched = ftx.vmap(lambda k: drop(x[:50], key=k))(keys)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], drop(x[:50], key=keys[i]))
    # (the compiled backend may divide by multiplying with the reciprocal: 1 ulp)
    np.testing.assert_allclose(ftx.jit(lambda x, k: drop(x, key=k))(x, KEY), y, rtol=2e-7)


def test_sequential_passes_keys_and_wraps_functions():
    k1, k2 = random.split(KEY)
    seq = nn.Sequential([nn.Linear(3, 8, key=k1), nn.relu, nn.Dropout(0.5),
                         nn.Linear(8, 2, key=k2)])
    assert isinstance(seq[1], nn.Lambda) and len(seq) == 4 and len(seq[1:]) == 3
    x = np.ones((4, 3), np.float32)
    infer = seq.layers[3](nn.relu(seq.layers[0](x)))
    np.testing.assert_allclose(nn.tree_at(lambda s: s.layers[2], seq, nn.Dropout(0.0))(x), infer,
                               rtol=1e-6)
    a, b = seq(x, key=KEY), seq(x, key=random.key(5))
    assert not np.array_equal(a, b)
    assert len(tree_leaves(seq)) == 4  # functions are static, not leaves


# =========================================================================== activations

FLOATS = st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(FLOATS)
def test_activations_match_numpy(values):
    x = np.array(values, np.float64)
    erf = np.vectorize(math.erf)
    cases = {
        nn.relu: np.maximum(x, 0),
        nn.relu6: np.clip(x, 0, 6),
        nn.sigmoid: 1 / (1 + np.exp(-x)),
        nn.silu: x / (1 + np.exp(-x)),
        nn.softplus: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0),
        nn.log_sigmoid: -(np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)),
        nn.tanh: np.tanh(x),
        nn.elu: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
        nn.leaky_relu: np.where(x >= 0, x, 0.01 * x),
        (lambda v: nn.gelu(v, approximate=False)): 0.5 * x * (1 + erf(x / math.sqrt(2))),
        nn.gelu: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
        nn.softmax: _np_softmax(x),
        nn.log_softmax: np.log(_np_softmax(x)),
    }
    for fn, expected in cases.items():
        np.testing.assert_allclose(fn(x), expected, rtol=1e-9, atol=1e-12, err_msg=str(fn))
        traced = ftx.jit(fn, backend="reference")(x)  # the traced graph, without compiling
        np.testing.assert_allclose(traced, expected, rtol=1e-9, atol=1e-12, err_msg=str(fn))


def test_activations_keep_float32_and_have_sound_gradients():
    x = np.linspace(-3, 3, 7).astype(np.float32)
    for fn in (nn.relu, nn.gelu, nn.silu, nn.softplus, nn.elu, nn.sigmoid, nn.softmax):
        assert fn(x).dtype == np.float32, fn
    # relu's derivative at 0 is 0 (as in JAX); gelu/silu/softplus/elu pass check_grads
    np.testing.assert_array_equal(ftx.grad(lambda v: nn.relu(v).sum())(np.array([-1., 0., 2.])),
                                  [0., 0., 1.])
    xd = np.linspace(-3, 3, 7) + 0.1
    for fn in (nn.gelu, lambda v: nn.gelu(v, approximate=False), nn.silu, nn.softplus, nn.elu,
               nn.log_softmax):
        check_grads(fn, (xd,), order=2)
    # no overflow in the unused branch
    assert np.isfinite(ftx.grad(lambda v: nn.elu(v).sum())(np.array([1000.0])))
    np.testing.assert_allclose(nn.softplus(np.array([1000.0, -1000.0])), [1000.0, 0.0])


def test_one_hot():
    labels = np.array([0, 2, 3, -1])
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], np.float64)
    np.testing.assert_array_equal(nn.one_hot(labels, 3), expected)
    assert nn.one_hot(labels, 3).dtype == np.float64
    assert nn.one_hot(labels, 3, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(nn.one_hot(labels, 3, axis=0), expected.T)
    np.testing.assert_array_equal(ftx.jit(lambda l: nn.one_hot(l, 3))(labels), expected)
    two_d = np.array([[1, 0], [2, 2]])
    np.testing.assert_array_equal(nn.one_hot(two_d, 3), np.eye(3)[two_d])
    with pytest.raises(TypeError, match="integers"):
        nn.one_hot(np.array([0.5]), 3)


# =========================================================================== initializers


def test_constant_initializers():
    assert init.zeros(KEY, (2, 3)).dtype == np.float64
    np.testing.assert_array_equal(init.zeros(KEY, (2, 3), np.float32), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones(KEY, 4), np.ones(4))
    np.testing.assert_array_equal(init.constant(0.5, np.float32)(KEY, (2,)), [0.5, 0.5])


@pytest.mark.parametrize("name, scale, mode, dist", [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
])
def test_variance_scaling_family(name, scale, mode, dist):
    shape = (300, 400)
    w = getattr(init, name)()(KEY, shape, np.float32)
    assert w.shape == shape and w.dtype == np.float32
    fan_in, fan_out = 300, 400
    var = scale / {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    assert abs(w.var() / var - 1) < 0.03, (w.var(), var)
    assert abs(w.mean()) < 0.01 * math.sqrt(var) * 10
    if dist == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * var)
    else:  # truncated at two standard deviations of the untruncated normal
        assert np.abs(w).max() <= 2 * math.sqrt(var) / 0.87962566103423978 + 1e-6


def test_fans_of_a_convolution_kernel_use_the_receptive_field():
    # (out, in, kh, kw) in PyTorch's layout: in_axis=1, out_axis=0
    w = init.variance_scaling(1.0, "fan_in", "normal", in_axis=1, out_axis=0)(
        KEY, (64, 16, 5, 5))
    assert abs(w.var() * (16 * 25) - 1) < 0.05
    w = init.variance_scaling(1.0, "fan_out", "uniform")(KEY, (5, 5, 16, 64))  # HWIO
    assert abs(w.var() * (64 * 25) - 1) < 0.05


def test_normal_uniform_truncated_normal():
    x = init.normal(0.5)(KEY, (200000,))
    assert abs(x.std() - 0.5) < 0.01 and x.dtype == np.float64
    u = init.uniform(2.0, np.float32)(KEY, (100000,))
    assert u.min() >= 0 and u.max() < 2.0 and abs(u.mean() - 1.0) < 0.02
    t = init.truncated_normal(1.0, lower=-1.0, upper=1.0)(KEY, (10000,))
    assert t.min() >= -1 and t.max() <= 1
    with pytest.raises(ValueError, match="rank >= 2"):
        init.glorot_normal()(KEY, (5,))
    with pytest.raises(ValueError, match="mode"):
        init.variance_scaling(1.0, "fan_middle", "normal")
    with pytest.raises(TypeError, match="float dtype"):
        init.normal()(KEY, (2,), np.int32)


# =========================================================================== losses


def test_softmax_cross_entropy_with_integer_and_one_hot_labels():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    per_example = -np.log(_np_softmax(logits))[np.arange(6), labels]
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, labels), per_example.mean())
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, labels, reduction="sum"),
                               per_example.sum())
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, labels, reduction="none"),
                               per_example)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, onehot, reduction="none"),
                               per_example)
    np.testing.assert_allclose(
        nn.softmax_cross_entropy(logits.T, labels, axis=0, reduction="none"), per_example)
    # d/dlogits of the summed loss is softmax - onehot
    g = ftx.grad(lambda z: nn.softmax_cross_entropy(z, labels, reduction="sum"))(logits)
    np.testing.assert_allclose(g, _np_softmax(logits) - onehot, atol=1e-12)
    # large logits stay finite
    assert np.isfinite(nn.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1])))
    assert nn.softmax_cross_entropy(logits.astype(np.float32), labels).dtype == np.float32


def test_loss_errors_and_mse():
    with pytest.raises(ValueError, match="integer labels must have shape \\(6,\\)"):
        nn.softmax_cross_entropy(np.zeros((6, 4)), np.zeros((6, 1), int))
    with pytest.raises(ValueError, match="probability labels"):
        nn.softmax_cross_entropy(np.zeros((6, 4)), np.zeros((6, 3)))
    with pytest.raises(ValueError, match="reduction"):
        nn.mse(np.ones(2), np.ones(2), reduction="avg")
    p, t = np.array([1.0, 2.0, 3.0]), np.array([1.0, 4.0, 0.0])
    assert nn.mse(p, t) == pytest.approx(13 / 3)
    assert nn.mse(p, t, reduction="sum") == pytest.approx(13)
    np.testing.assert_array_equal(nn.mse(p, t, reduction="none"), [0, 4, 9])
    np.testing.assert_allclose(ftx.grad(nn.mse)(p, t), 2 * (p - t) / 3)


# =========================================================================== functional API


def test_make_functional_and_functional_call():
    model = nn.MLP(3, 2, 4, 1, key=KEY)
    apply_fn, params = nn.make_functional(model)
    assert list(params) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                            "layers.1.bias"]
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(apply_fn(params, x), model(x))
    # replacing parameters changes the output like rebuilding the model would
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    np.testing.assert_array_equal(apply_fn(zeros, x), np.zeros((5, 2)))
    part = nn.functional_call(model, {"layers.1.bias": np.ones(2, np.float32)}, x)
    np.testing.assert_allclose(part, model(x) - model.layers[1].bias + 1, rtol=1e-6)
    with pytest.raises(KeyError, match="layers.2.weight"):
        nn.functional_call(model, {"layers.2.weight": 0}, x)
    # gradients with respect to the dict equal those with respect to the module
    loss = lambda p: (apply_fn(p, x) ** 2).sum()  # noqa: E731
    g_dict = ftx.grad(loss)(params)
    g_mod = ftx.grad(lambda m: (m(x) ** 2).sum())(model)
    for name, value in nn.named_parameters(g_mod).items():
        np.testing.assert_allclose(g_dict[name], value, rtol=1e-6)
    # and jit + grad of the functional form
    np.testing.assert_allclose(ftx.jit(ftx.grad(loss), backend="reference")(params)[
                                   "layers.0.weight"],
                               g_dict["layers.0.weight"], rtol=1e-5)


def test_named_parameters_skips_non_float_leaves():
    class WithBuffer(nn.Module):
        w: object
        counts: object

    m = WithBuffer(np.ones(2, np.float32), np.zeros(3, np.int32))
    assert list(nn.named_parameters(m)) == ["w"]


def test_stack_modules_for_ensembles():
    keys = random.split(KEY, 4)
    models = [nn.MLP(3, 2, 5, 1, key=k) for k in keys]
    stacked = nn.stack_modules(models)
    assert stacked.layers[0].weight.shape == (4, 5, 3) and stacked.depth == 1
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    out = ftx.vmap(lambda m, x: m(x), in_axes=(0, None))(stacked, x)
    np.testing.assert_allclose(out, np.stack([m(x) for m in models]), rtol=1e-6)
    # per-member gradients in one call
    grads = ftx.vmap(ftx.grad(lambda m, x: (m(x) ** 2).sum()), in_axes=(0, None))(stacked, x)
    g1 = ftx.grad(lambda m, x: (m(x) ** 2).sum())(models[1], x)
    np.testing.assert_allclose(grads.layers[0].weight[1], g1.layers[0].weight, rtol=1e-5)
    back = nn.unstack_modules(stacked)
    np.testing.assert_array_equal(back[2].layers[1].bias, models[2].layers[1].bias)
    with pytest.raises(ValueError, match="different structure"):
        nn.stack_modules([nn.MLP(3, 2, 5, 1, key=KEY), nn.MLP(3, 2, 5, 1, nn.tanh, key=KEY)])


# =========================================================================== training


def _xor_data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)
    return x, y


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_a_tiny_mlp_learns_xor(jit):
    x, y = _xor_data()
    model = nn.MLP(2, 2, 16, 2, activation=nn.tanh, key=random.key(42))
    opt = optim.adam(0.03)
    state = opt.init(model)

    def step(model, state, x, y):
        loss, grads = ftx.value_and_grad(lambda m: nn.softmax_cross_entropy(m(x), y))(model)
        updates, state = opt.update(grads, state, model)
        return optim.apply_updates(model, updates), state, loss

    step = ftx.jit(step) if jit else step
    first = None
    for i in range(250):
        model, state, loss = step(model, state, x, y)
        first = loss if first is None else first
        if i == 0 and jit:
            with ftx.no_retrace():
                step(model, state, x, y)  # the state keeps its dtypes: no new signature
    assert first > 0.6 and loss < 0.05, (first, loss)
    assert model.layers[0].weight.dtype == np.float32
    assert (np.argmax(model(x), axis=-1) == y).mean() == 1.0
    xt, yt = _xor_data(200, seed=1)
    assert (np.argmax(model(xt), axis=-1) == yt).mean() > 0.9


def test_a_tiny_convnet_with_dropout_trains():
    # classify whether a 1-d signal contains an up-step or a down-step
    rng = np.random.default_rng(0)
    n, length = 64, 16
    pos = rng.integers(3, length - 3, n)
    sign = rng.choice([-1.0, 1.0], n)
    x = (np.arange(length)[None, :] >= pos[:, None]) * sign[:, None]
    x = (x + 0.1 * rng.standard_normal((n, length)))[:, None, :].astype(np.float32)
    y = (sign > 0).astype(np.int32)
    k1, k2 = random.split(random.key(0))

    class Net(nn.Module):
        conv: nn.Conv1d
        drop: nn.Dropout
        head: nn.Linear

        def __call__(self, x, *, key=None):
            h = nn.relu(self.conv(x))                    # (N, 4, L)
            h = fnp.max(h, axis=-1)                      # global max pool
            return self.head(self.drop(h, key=key))

    net = Net(nn.Conv1d(1, 4, 3, padding="SAME", key=k1), nn.Dropout(0.1), nn.Linear(4, 2, key=k2))
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.adamw(0.05, weight_decay=1e-3))
    state = opt.init(net)

    # The reference backend runs the jitted graph without compiling kernels (fast to start);
    # the XOR test above covers the default backend.
    @ftx.jit(backend="reference")
    def step(net, state, key):
        loss, g = ftx.value_and_grad(
            lambda m: nn.softmax_cross_entropy(m(x, key=key), y))(net)
        updates, state = opt.update(g, state, net)
        return optim.apply_updates(net, updates), state, loss

    key = random.key(1)
    losses = []
    for _ in range(60):
        key, sub = random.split(key)
        net, state, loss = step(net, state, sub)
        losses.append(float(loss))
    assert losses[-1] < 0.2 < losses[0], losses[::10]
    acc = (np.argmax(net.replace(drop=nn.Dropout(0.1, inference=True))(x), -1) == y).mean()
    assert acc > 0.95
