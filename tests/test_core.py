"""The core: tracing to jaxprs, the printer, check_jaxpr, eval_jaxpr, errors, trace hygiene, config."""
import re

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.core import (Jaxpr, JaxprEqn, JaxprTypeError, Literal, ShapedArray, Var, check_jaxpr,
                      current_trace, eval_jaxpr, rule_coverage)


def _tokens(text):
    return re.sub(r"[;\s]+", " ", text).strip()


def test_make_jaxpr_prints_like_the_issue_example():
    x = np.random.rand(3, 4).astype(np.float32)
    jaxpr = ftx.make_jaxpr(lambda x: fnp.sum(fnp.sin(x) * 2.0, axis=0))(x)
    expected = ("{ lambda ; a:f32[3,4]. let b:f32[3,4] = sin a; c:f32[3,4] = mul b 2.0; "
                "d:f32[4] = reduce_sum[axes=(0,)] c in (d,) }")
    assert _tokens(str(jaxpr)) == _tokens(expected)


def test_printer_constvars_literals_and_multiple_outputs():
    w = np.arange(12.0).reshape(3, 4)
    jaxpr = ftx.make_jaxpr(lambda x: (x + w, lax.convert_element_type(x, np.int32)))(np.ones((3, 4)))
    text = str(jaxpr)
    assert text.startswith("{ lambda a:f64[3,4] ; b:f64[3,4]. let")
    assert "c:f64[3,4] = add b a" in text
    assert "d:i32[3,4] = convert_element_type[new_dtype=int32] b" in text
    assert text.rstrip().endswith("in (c d) }")
    assert jaxpr.consts[0] is w  # captured, not copied


def test_typed_numpy_scalar_literal_shows_its_type():
    jaxpr = ftx.make_jaxpr(lambda x: x * np.float32(3))(np.ones(2, np.float32))
    assert "mul a 3.0:f32[]" in str(jaxpr)


def test_sub_jaxprs_print_nested_and_are_checked():
    from ftx.transforms.call import closed_call_p
    inner = ftx.make_jaxpr(lambda x: fnp.sin(x) + 1.0)(np.ones(3))
    outer = ftx.make_jaxpr(lambda x: closed_call_p.bind1(x * 2.0, jaxpr=inner))(np.ones(3))
    text = str(outer)
    assert "closed_call[jaxpr={ lambda ; " in text
    assert "sin" in text
    check_jaxpr(outer)
    np.testing.assert_allclose(eval_jaxpr(outer, np.arange(3.0))[0], np.sin(np.arange(3.0) * 2) + 1)


def test_eval_jaxpr_matches_eager_on_a_small_program():
    def f(x, y):
        return fnp.tanh(x @ y + 1.0).sum(axis=1) * 0.5

    x, y = np.random.rand(2, 3), np.random.rand(3, 4)
    jaxpr = ftx.make_jaxpr(f)(x, y)
    np.testing.assert_allclose(eval_jaxpr(jaxpr, x, y)[0], np.tanh(x @ y + 1.0).sum(axis=1) * 0.5)


def test_check_jaxpr_rejects_bad_graphs():
    from ftx.lax.elementwise import sin_p, add_p
    a = Var(ShapedArray((3,), np.float32))
    b = Var(ShapedArray((4,), np.float32))  # wrong output shape
    bad = Jaxpr([], [a], [b], [JaxprEqn(sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match="sin"):
        check_jaxpr(bad)
    c = Var(ShapedArray((3,), np.float32))
    undefined = Var(ShapedArray((3,), np.float32))
    bad2 = Jaxpr([], [a], [c], [JaxprEqn(add_p, [a, undefined], [c], {})])
    with pytest.raises(JaxprTypeError, match="before it is defined"):
        check_jaxpr(bad2)
    twice = Jaxpr([], [a], [a], [JaxprEqn(sin_p, [a], [a], {})])
    with pytest.raises(JaxprTypeError, match="defined twice"):
        check_jaxpr(twice)


def test_enable_checks_type_checks_every_trace():
    before = ftx.config.enable_checks  # on for the whole suite (conftest)
    with ftx.config.override(enable_checks=not before):
        jaxpr = ftx.make_jaxpr(lambda x: fnp.exp(x) * x)(np.ones(3))
        assert ftx.config.enable_checks is not before
    assert len(jaxpr.eqns) == 2
    assert ftx.config.enable_checks is before


def test_config_rejects_unknown_options_and_wrong_types():
    with pytest.raises(AttributeError, match="enable_checks"):
        ftx.config.update("no_such_option", True)
    with pytest.raises(TypeError):
        ftx.config.update("enable_checks", "yes")
    assert "enable_checks" in ftx.config.describe()


def test_config_reads_environment(monkeypatch):
    from ftx.core.config import Config
    monkeypatch.setenv("FTX_SOME_FLAG", "1")
    cfg = Config()
    cfg.define("some_flag", False, "a test flag")
    assert cfg.some_flag is True
    monkeypatch.setenv("FTX_BAD_FLAG", "maybe")
    with pytest.raises(ValueError, match="FTX_BAD_FLAG"):
        cfg.define("bad_flag", False, "a test flag")


def test_eval_shape_and_shape_dtype_struct():
    out = ftx.eval_shape(lambda x, y: {"z": x @ y, "n": fnp.sum(x)},
                         ftx.ShapeDtypeStruct((3, 4), np.float32), np.ones((4, 5), np.float32))
    assert out["z"] == ftx.ShapeDtypeStruct((3, 5), np.float32)
    assert out["n"].shape == () and out["n"].dtype == np.float32
    assert ftx.ShapeDtypeStruct.like(np.zeros((2,), np.int32)) == ftx.ShapeDtypeStruct((2,), np.int32)


def test_make_jaxpr_pytrees_static_args_and_return_shape():
    def f(params, x, n):
        return [params["w"] * x] * n

    jaxpr, shape = ftx.make_jaxpr(f, static_argnums=2, return_shape=True)(
        {"w": np.ones(3)}, np.ones(3), 2)
    assert len(jaxpr.invars) == 2 and len(jaxpr.outvars) == 2
    assert shape == [ftx.ShapeDtypeStruct((3,), np.float64)] * 2


def test_python_scalar_inputs_are_weak():
    jaxpr = ftx.make_jaxpr(lambda x, s: x * s)(np.ones(3, np.float32), 2.0)
    assert jaxpr.in_avals[1].weak_type
    assert jaxpr.out_avals[0].dtype == np.float32  # like NumPy: f32 array * Python float


def test_eager_returns_numpy():
    x = np.random.rand(3, 4).astype(np.float32)
    out = fnp.tanh(x) @ fnp.ones((4, 2))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, np.tanh(x) @ np.ones((4, 2)))
    assert isinstance(lax.add(np.ones(3), 1.0), np.ndarray)
    assert fnp.add([1, 2], 3).tolist() == [4, 5]


# --------------------------------------------------------------------------- errors

def test_bool_conversion_error_names_function_line_and_fix():
    def f(x):
        if x > 0:  # the offending line
            return x
        return -x

    with pytest.raises(ftx.TracerBoolConversionError) as info:
        ftx.make_jaxpr(f)(1.0)
    msg = str(info.value)
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ftx.ConcretizationTypeError)
    assert "f at" in msg and "test_core.py" in msg and "make_jaxpr" in msg
    assert "ftx.lax.cond" in msg and "static_argnums" in msg
    assert "bool[]" in msg


def test_integer_conversion_error():
    with pytest.raises(ftx.TracerIntegerConversionError, match="static") as info:
        ftx.make_jaxpr(lambda n: list(range(n)))(3)
    assert isinstance(info.value, TypeError)


def test_array_conversion_error_points_to_ftx_numpy():
    with pytest.raises(ftx.TracerArrayConversionError, match="fnp.sin") as info:
        ftx.make_jaxpr(lambda x: np.sin(x))(np.ones(3))
    assert isinstance(info.value, TypeError)
    with pytest.raises(ftx.TracerArrayConversionError):
        ftx.make_jaxpr(lambda x: np.asarray(x))(np.ones(3))


def test_float_conversion_is_a_concretization_error():
    with pytest.raises(ftx.ConcretizationTypeError, match="float"):
        ftx.make_jaxpr(lambda x: float(x))(1.0)


def test_leaked_tracer_raises_unexpected_tracer_error_with_origin():
    leaked = []

    def f(x):
        y = fnp.sin(x)
        leaked.append(y)
        return y

    ftx.make_jaxpr(f)(np.ones(3))
    with pytest.raises(ftx.UnexpectedTracerError) as info:
        lax.cos(leaked[0])
    msg = str(info.value)
    assert "f at" in msg and "test_core.py" in msg  # the traced function
    assert "created on line" in msg and "f32[3]" not in msg  # shape is f64[3]
    assert "f64[3]" in msg
    with pytest.raises(ftx.UnexpectedTracerError):  # also inside another trace
        ftx.make_jaxpr(lambda x: x + leaked[0])(np.ones(3))


def test_trace_state_is_clean_after_an_exception():
    def bad(x):
        fnp.sin(x)  # some tracing happens before the error
        raise RuntimeError("user error")

    assert current_trace() is None
    with pytest.raises(RuntimeError, match="user error"):
        ftx.make_jaxpr(bad)(np.ones(3))
    assert current_trace() is None
    with pytest.raises(ValueError):
        ftx.make_jaxpr(lambda x: lax.add(x, np.ones(4)))(np.ones(3))
    assert current_trace() is None
    # Tracing still works afterwards, and eager mode is NumPy again.
    assert isinstance(fnp.sin(np.ones(2)), np.ndarray)
    assert len(ftx.make_jaxpr(fnp.sin)(np.ones(2)).eqns) == 1


def test_shape_errors_name_the_operation_and_shapes():
    with pytest.raises(ValueError, match=r"add.*\(3,\).*\(4,\)"):
        ftx.make_jaxpr(lambda x, y: x + y)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape f64\[3\]"):
        ftx.make_jaxpr(lambda x: lax.reshape(x, (2, 2)))(np.ones(3))
    with pytest.raises(TypeError, match=r"add: operand dtypes must match.*f32\[3\], f64\[3\]"):
        ftx.make_jaxpr(lambda x, y: lax.add(x, y))(np.ones(3, np.float32), np.ones(3))
    with pytest.raises(TypeError, match=r"sin: operand dtype must be floating or complex, got i32\[3\]"):
        ftx.make_jaxpr(lambda x: lax.sin(x))(np.ones(3, np.int32))


def test_setitem_on_tracer_points_to_at():
    def f(x):
        x[0] = 1.0
        return x

    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        ftx.make_jaxpr(f)(np.ones(3))


def test_weak_scalar_overflow_matches_numpy():
    with pytest.raises(OverflowError):
        np.add(np.ones(2, np.int8), 1000)
    with pytest.raises(OverflowError):
        ftx.make_jaxpr(lambda x: fnp.add(x, 1000))(np.ones(2, np.int8))


def test_tracer_repr_and_attributes():
    seen = {}

    def f(x):
        seen["repr"] = repr(x)
        seen["props"] = (x.shape, x.ndim, x.size, x.dtype, len(x))
        return x.T

    ftx.make_jaxpr(f)(np.ones((2, 3), np.float32))
    assert seen["repr"] == "JaxprTracer(f32[2,3], for make_jaxpr)"
    assert seen["props"] == ((2, 3), 2, 6, np.float32, 2)


def test_every_primitive_has_impl_and_abstract_eval():
    missing = {name: kinds for name, kinds in rule_coverage().items()
               if kinds["impl"] != "yes" or kinds["abstract_eval"] != "yes"}
    assert not missing, missing


def test_literal_pretty_printing():
    assert Literal(2.0, ShapedArray((), np.float64, True)).pretty() == "2.0"
    assert Literal(np.int32(3), ShapedArray((), np.int32)).pretty() == "3:i32[]"
