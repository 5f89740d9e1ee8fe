"""``ftx.checking_leaks()``: leaked tracers are reported where they leak, with what holds them;
correct programs (every transform, nested, with control flow and custom rules) pass untouched."""
import functools
from pathlib import Path

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.core import trace as trace_module
from ftx.core.staging import JaxprTracer

_STASH = []  # a module global that the leaky functions below store tracers in


def _line(marker: str) -> int:
    """The line of this file that ends with ``# <marker>``: where a tracer is created."""
    lines = Path(__file__).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if line.endswith(f"# {marker}"))


def _leaky(x):
    y = fnp.sin(x)  # leaky-sin
    _STASH.append(y)
    return fnp.sum(y * y)


@pytest.fixture(autouse=True)
def _empty_stash():
    _STASH.clear()
    yield
    _STASH.clear()


@pytest.mark.parametrize("transform, trace, tracer", [
    (ftx.grad, "JVPTrace of grad", "JVPTracer(f64[3])"),
    (lambda f: ftx.jit(f, backend="reference"), "JaxprTrace of jit", "JaxprTracer(f64[3])"),
    (ftx.vmap, "BatchTrace of vmap", "BatchTracer(f64[3])"),
    (lambda f: lambda x: ftx.jvp(f, (x,), (x,)), "JVPTrace of jvp", "JVPTracer(f64[3])"),
    (ftx.make_jaxpr, "JaxprTrace of make_jaxpr", "JaxprTracer(f64[3])"),
])
def test_a_tracer_stored_in_a_global_is_reported_when_its_transform_exits(transform, trace, tracer):
    x = np.ones((2, 3)) if transform is ftx.vmap else np.ones(3)
    with ftx.checking_leaks():
        with pytest.raises(ftx.LeakedTracerError) as info:
            transform(_leaky)(x)
    msg = str(info.value)
    assert f"1 tracer of the {trace} for _leaky at {__file__}:" in msg  # the trace, the function
    assert f"{tracer} created at {__file__}:{_line('leaky-sin')} (_leaky)" in msg
    assert "held by tests.test_leaks._STASH[0]" in msg  # the reference chain
    assert "Return the value from the function instead" in msg  # the fix
    assert isinstance(info.value, ftx.UnexpectedTracerError)  # what users already catch


def test_closure_and_attribute_holders_are_named():
    cache = {}

    def into_closure(x):
        cache["last"] = x * 2.0  # closure-mul
        return x

    class Holder:
        value = None

    holder = Holder()

    def into_attribute(x):
        holder.value = [x]
        return x

    with ftx.checking_leaks():
        with pytest.raises(ftx.LeakedTracerError) as closure:
            ftx.vmap(into_closure)(np.ones(3))
        with pytest.raises(ftx.LeakedTracerError) as attribute:
            ftx.grad(into_attribute)(1.0)
    assert (f"created at {__file__}:{_line('closure-mul')} (into_closure), held by function "
            f"test_closure_and_attribute_holders_are_named.<locals>.into_closure "
            f"(closure variable 'cache')['last']") in str(closure.value)
    assert "<locals>.Holder object.value[0]" in str(attribute.value)


def test_a_leak_inside_a_nested_transform_is_reported_by_the_inner_one():
    def outer(x):
        return ftx.grad(_leaky)(x) * 2.0

    with ftx.checking_leaks():
        with pytest.raises(ftx.LeakedTracerError, match="JVPTrace of grad for _leaky"):
            ftx.jit(outer, backend="reference")(np.ones(3))
        # The leaked tracer holds one of jit's (its primal): the block exit would report that.
        _STASH.clear()


def test_a_leak_through_an_object_held_only_by_the_caller_is_reported_when_the_block_exits():
    # A list reached only through a partial that the caller holds is indistinguishable from
    # ftx's own local variables while the transform runs; once the block ends it is not.
    def store(stash, x):
        stash.append(x * 3.0)  # partial-mul
        return x

    stash = []
    step = ftx.jit(functools.partial(store, stash), backend="reference")
    with pytest.raises(ftx.LeakedTracerError) as info:
        with ftx.checking_leaks():
            step(np.ones(2))
    msg = str(info.value)
    assert "when the checking_leaks() block exited" in msg
    assert f"JaxprTracer(f64[2]) created at {__file__}:{_line('partial-mul')} (store)" in msg


def _loss(w, x):
    h = lax.cond(fnp.sum(x) > 0, lambda a: fnp.tanh(a @ w), lambda a: a @ w * 0.5, x)
    h, _ = lax.scan(lambda c, r: (c * 0.9 + r, c), h, fnp.stack([h, -h]))
    return fnp.mean(_clipped_square(h))


@ftx.custom_vjp
def _clipped_square(v):
    return v * v


_clipped_square.defvjp(lambda v: (v * v, v), lambda v, g: (fnp.clip(2.0 * v * g, -1.0, 1.0),))


def test_correct_programs_pass_under_every_transform_and_give_the_same_values():
    rng = np.random.default_rng(0)
    w, x, xs = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(4, 3))
    programs = {
        "grad": lambda: ftx.grad(_loss)(w, x),
        "jit(grad)": lambda: ftx.jit(ftx.grad(_loss), backend="reference")(w, x),
        "grad(jit)": lambda: ftx.grad(ftx.jit(_loss, backend="reference"))(w, x),
        "vmap(grad)": lambda: ftx.vmap(ftx.grad(_loss), in_axes=(None, 0))(w, xs),
        "hessian": lambda: ftx.hessian(lambda v: fnp.sum(fnp.sin(v) ** 3))(x),
        "linearize": lambda: ftx.linearize(lambda v: fnp.sum(fnp.tanh(w @ v)), x)[1](x),
        "vjp": lambda: ftx.vjp(lambda v: _loss(v, x), w)[1](1.0),
        "make_jaxpr": lambda: str(ftx.make_jaxpr(ftx.grad(_loss))(w, x)),
    }
    expected = {name: program() for name, program in programs.items()}
    with ftx.checking_leaks():
        got = {name: program() for name, program in programs.items()}
    for name, value in got.items():
        if isinstance(value, str):
            assert value == expected[name]
        else:
            np.testing.assert_allclose(value, expected[name], rtol=1e-12, err_msg=name)


def test_errors_inside_the_block_are_not_hidden_by_leak_reports():
    def bad(x):
        _STASH.append(x)  # a leak, but the user's error is what matters
        raise ValueError("the user's own error")

    with ftx.checking_leaks():
        with pytest.raises(ValueError, match="the user's own error") as info:
            ftx.grad(bad)(1.0)
        # The caught error's traceback still holds tracers: that is no leak at block exit.
        assert info.value.__traceback__ is not None
        _STASH.clear()


def test_nothing_is_checked_or_patched_outside_the_block():
    original_init = JaxprTracer.__dict__["__init__"]
    with ftx.checking_leaks():
        with ftx.checking_leaks():  # blocks nest
            assert trace_module.on_trace_exit is not None
            assert JaxprTracer.__dict__["__init__"] is not original_init
        assert trace_module.on_trace_exit is not None  # the outer block still checks
    assert trace_module.on_trace_exit is None
    assert JaxprTracer.__dict__["__init__"] is original_init
    ftx.make_jaxpr(_leaky)(np.ones(3))  # a leak outside any block raises nothing here...
    with pytest.raises(ftx.UnexpectedTracerError):
        fnp.cos(_STASH[0])  # ...only when the escaped tracer is used
