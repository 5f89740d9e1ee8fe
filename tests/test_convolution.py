"""lax.conv_general_dilated beyond the op records: random configurations (layouts, strides,
dilations, padding, groups) against the loop-based oracle, their gradients and vmap,
padding strings, dimension numbers, dtypes and error messages."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx import lax
from ftx.testing import check_grads
from tests.op_records.convolution import direct_conv

LETTERS = "HWD"


@st.composite
def conv_configs(draw):
    nsp = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2, 3]))
    i_per, o_per = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    batch = draw(st.integers(1, 2))
    spatial = LETTERS[:nsp]
    # Random axis orders for the three specs.
    lhs_spec = "".join(draw(st.permutations("NC" + spatial)))
    rhs_spec = "".join(draw(st.permutations("OI" + spatial)))
    out_spec = "".join(draw(st.permutations("NC" + spatial)))
    sizes = [draw(st.integers(1, 6)) for _ in range(nsp)]
    kernel = [draw(st.integers(1, 3)) for _ in range(nsp)]
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    lhs_dil = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    rhs_dil = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    padding = tuple((draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nsp))
    canon_lhs = {"N": batch, "C": groups * i_per, **dict(zip(spatial, sizes))}
    canon_rhs = {"O": groups * o_per, "I": i_per, **dict(zip(spatial, kernel))}
    lhs_shape = tuple(canon_lhs[c] for c in lhs_spec)
    rhs_shape = tuple(canon_rhs[c] for c in rhs_spec)
    return dict(lhs_shape=lhs_shape, rhs_shape=rhs_shape, strides=strides, padding=padding,
                lhs_dil=lhs_dil, rhs_dil=rhs_dil, dn=(lhs_spec, rhs_spec, out_spec),
                groups=groups)


def _args(cfg, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(cfg["lhs_shape"]).astype(dtype),
            rng.standard_normal(cfg["rhs_shape"]).astype(dtype))


def _fn(cfg):
    return lambda x, w: lax.conv_general_dilated(x, w, cfg["strides"], cfg["padding"],
                                                 cfg["lhs_dil"], cfg["rhs_dil"], cfg["dn"],
                                                 cfg["groups"])


def _ref(cfg):
    return lambda x, w: direct_conv(x, w, cfg["strides"], cfg["padding"], cfg["lhs_dil"],
                                    cfg["rhs_dil"], cfg["dn"], cfg["groups"])


@settings(max_examples=30, deadline=None)
@given(conv_configs())
def test_random_configurations_match_the_direct_convolution(cfg):
    x, w = _args(cfg)
    out = _fn(cfg)(x, w)
    expected = _ref(cfg)(x, w)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # the abstract evaluation agrees with the computed shape
    assert ftx.eval_shape(_fn(cfg), x, w).shape == out.shape


@settings(max_examples=15, deadline=None)
@given(conv_configs())
def test_random_configurations_gradients_match_finite_differences(cfg):
    x, w = _args(cfg, seed=1)
    if _fn(cfg)(x, w).size == 0:
        return
    check_grads(_fn(cfg), (x, w), order=2, atol=1e-5, rtol=1e-5)


@settings(max_examples=15, deadline=None)
@given(conv_configs(), st.sampled_from([(0, 0), (0, None), (None, 0), (-1, 1)]))
def test_random_configurations_vmap_matches_a_loop(cfg, in_axes):
    f = _fn(cfg)
    examples = [_args(cfg, seed=s) for s in range(3)]
    args = [np.stack([e[i] for e in examples], axis=a) if a is not None else examples[0][i]
            for i, a in enumerate(in_axes)]
    out = ftx.vmap(f, in_axes=in_axes)(*args)
    expected = np.stack([f(*[e[i] if a is not None else examples[0][i]
                             for i, a in enumerate(in_axes)]) for e in examples])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_gradient_graph_is_made_of_convolutions():
    x, w = np.ones((2, 4, 6, 6)), np.ones((6, 2, 3, 3))
    f = lambda x, w: lax.conv_general_dilated(x, w, (2, 1), "SAME",  # noqa: E731
                                              feature_group_count=2).sum()
    jaxpr = ftx.make_jaxpr(ftx.grad(f, argnums=(0, 1)))(x, w)
    names = [e.primitive.name for e in jaxpr.jaxpr.eqns] if hasattr(jaxpr, "jaxpr") else \
        [e.primitive.name for e in jaxpr.eqns]
    assert names.count("conv_general_dilated") == 3  # forward, d/dlhs, d/drhs
    assert "conv_general_dilated" in str(jaxpr)


@pytest.mark.parametrize("n, k, s, padding, expected", [
    (5, 3, 1, "SAME", ((1, 1),)),
    (6, 3, 2, "SAME", ((0, 1),)),
    (6, 3, 2, "SAME_LOWER", ((1, 0),)),
    (5, 4, 1, "SAME", ((1, 2),)),
    (5, 3, 1, "VALID", ((0, 0),)),
    (2, 5, 3, "same", ((1, 2),)),
])
def test_padtype_to_pads_matches_the_definition(n, k, s, padding, expected):
    assert lax.padtype_to_pads((n,), (k,), (s,), padding) == expected
    # and 'SAME' gives ceil(n / s) outputs
    if padding.upper().startswith("SAME"):
        x = np.ones((1, 1, n))
        out = lax.conv_general_dilated(x, np.ones((1, 1, k)), (s,), padding)
        assert out.shape[-1] == -(-n // s)


def test_same_padding_uses_the_dilated_kernel():
    x, w = np.arange(7.0).reshape(1, 1, 7), np.array([[[1.0, 2.0, 3.0]]])
    out = lax.conv_general_dilated(x, w, (1,), "SAME", rhs_dilation=(2,))
    expected = direct_conv(x, w, (1,), ((2, 2),), None, (2,))
    np.testing.assert_allclose(out, expected)


def test_dimension_numbers_from_strings():
    dn = lax.conv_dimension_numbers((2, 8, 8, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"))
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    assert lax.conv_dimension_numbers((1, 1, 1), (1, 1, 1), None) == ((0, 1, 2),) * 3
    # explicit index form is accepted and equivalent
    x = np.random.default_rng(0).standard_normal((2, 5, 6, 3))
    w = np.random.default_rng(1).standard_normal((3, 2, 3, 4))
    by_name = lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO",
                                                                                  "NHWC"))
    by_index = lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=dn)
    np.testing.assert_array_equal(by_name, by_index)


def test_integer_operands_and_preferred_element_type():
    rng = np.random.default_rng(0)
    x = rng.integers(-100, 100, (2, 3, 5)).astype(np.int8)
    w = rng.integers(-100, 100, (4, 3, 2)).astype(np.int8)
    out = lax.conv_general_dilated(x, w, (1,), "VALID", preferred_element_type=np.int32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, direct_conv(x.astype(np.int32), w.astype(np.int32), (1,),
                                                   ((0, 0),)))
    f32 = lambda a, b: lax.conv_general_dilated(a, b, (1,), "VALID",  # noqa: E731
                                                preferred_element_type=np.float64)
    a, b = rng.standard_normal((1, 2, 4)).astype(np.float32), rng.standard_normal(
        (1, 2, 2)).astype(np.float32)
    assert f32(a, b).dtype == np.float64
    ga, gb = ftx.grad(lambda a, b: f32(a, b).sum(), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float32


def test_empty_batch_and_window_larger_than_input():
    assert lax.conv_general_dilated(np.ones((0, 2, 5)), np.ones((3, 2, 2)), (1,),
                                    "VALID").shape == (0, 3, 4)
    out = lax.conv_general_dilated(np.ones((1, 2, 2)), np.ones((3, 2, 4)), (1,), "VALID")
    assert out.shape == (1, 3, 0)
    g = ftx.grad(lambda w: lax.conv_general_dilated(np.ones((1, 2, 2)), w, (1,),
                                                    "VALID").sum())(np.ones((3, 2, 4)))
    np.testing.assert_array_equal(g, np.zeros((3, 2, 4)))


def test_jit_matches_eager():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    f = lambda x, w: lax.conv_general_dilated(x, w, (2, 2), ((1, 1), (1, 1)))  # noqa: E731
    np.testing.assert_allclose(ftx.jit(f)(x, w), f(x, w), rtol=1e-12)
    g = ftx.jit(ftx.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=1))(x, w)
    np.testing.assert_allclose(g, ftx.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=1)(x, w),
                               rtol=1e-10)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4), np.float32), np.ones((1, 2, 2)), (1,),
                                      "VALID"), TypeError, ["dtypes must match", "f32", "f64"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 3, 4)), np.ones((2, 2, 2)), (1,), "VALID"),
     ValueError, ["feature_group_count=1", "(3)", "(2)"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 4, 4)), np.ones((3, 2, 2)), (1,), "VALID",
                                      feature_group_count=2), ValueError, ["multiple of 2"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (1,), "VALID",
                                      batch_group_count=2), NotImplementedError,
     ["batch_group_count"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (1, 1), "VALID"),
     ValueError, ["window_strides", "spatial"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (0,), "VALID"),
     ValueError, ["window_strides", "positive"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2, 2)), (1,), "VALID"),
     ValueError, ["same rank"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (1,), "FULL"),
     ValueError, ["'SAME'", "FULL"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (1,), "VALID",
                                      dimension_numbers=("NCW", "OIH", "NCW")), ValueError,
     ["spatial axis letters"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4)), np.ones((1, 2, 2)), (1,), "VALID",
                                      dimension_numbers=("NNW", "OIW", "NCW")), ValueError,
     ["'N'", "'C'"]),
    (lambda: lax.conv_general_dilated(np.ones((1, 2, 4), bool), np.ones((1, 2, 2), bool), (1,),
                                      "VALID"), TypeError, ["numeric"]),
])
def test_errors_name_the_problem(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
