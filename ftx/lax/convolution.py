"""Convolution: ``conv_general_dilated`` (and its wrappers ``conv``, ``conv_with_general_padding``).

``conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
dimension_numbers, feature_group_count)`` is JAX's (XLA's) convolution, which is a
cross-correlation: in the canonical layout (lhs ``N C spatial...``, rhs ``O I
spatial...``, output ``N O spatial...``)::

    out[n, o, p] = sum_{i, k} lhs_hat[n, g*I + i, p*stride + k*rhs_dilation] * rhs[o, i, k]

where ``g = o // (O / feature_group_count)`` is the group of output feature ``o``
and ``lhs_hat`` is ``lhs`` with ``lhs_dilation - 1`` zeros inserted between
elements, then padded by ``padding`` (negative padding crops). ``dimension_numbers``
name where the batch, feature and spatial axes are, as strings such as
``("NHWC", "HWIO", "NHWC")`` or as a ``ConvDimensionNumbers`` of axis indices.

The NumPy impl (also the CPU lowering) is im2col + matmul: a strided view gathers
every window, one batched matmul per feature group contracts it with the kernel.

Transform rules (JAX's): the convolution is bilinear; the cotangent of each operand
is itself a convolution of the output cotangent with the other operand (the
lhs one with the spatially reversed kernel, strides and lhs dilations swapped; the
rhs one with batch and feature axes swapped, strides and rhs dilations swapped).
Under vmap a batch axis folds into the batch axis (lhs), the output-feature axis
(rhs), or into extra feature groups (both).

``batch_group_count`` is accepted for signature compatibility but must be 1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ftx.core import dtypes
from ftx.core.ad_util import not_mapped
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax import elementwise as ew, shape as sh
from ftx.lax._ad_rules import defbilinear
from ftx.lax._shape_rules import describe

__all__ = ["ConvDimensionNumbers", "conv_dimension_numbers", "conv_general_dilated_p",
           "conv_general_dilated", "conv", "conv_with_general_padding", "padtype_to_pads"]


class ConvDimensionNumbers(NamedTuple):
    """Axis positions: ``lhs_spec = (batch, feature, spatial...)``, ``rhs_spec = (out feature,
    in feature, spatial...)``, ``out_spec = (batch, feature, spatial...)``.

    ``conv_dimension_numbers((2, 3, 8, 8), (4, 3, 3, 3), ("NCHW", "OIHW", "NCHW"))`` builds one.
    """
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _dilate(n: int, d: int) -> int:
    """The size of an axis of size ``n`` with ``d - 1`` holes between elements."""
    return 0 if n == 0 else 1 + d * (n - 1)


def _out_spatial(lhs_sizes, rhs_sizes, window_strides, padding, lhs_dilation, rhs_dilation):
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(lhs_sizes, rhs_sizes, window_strides, padding,
                                         lhs_dilation, rhs_dilation):
        padded = max(_dilate(n, ld) + lo + hi, 0)
        window = _dilate(k, rd)
        out.append((padded - window) // s + 1 if padded >= window else 0)
    return tuple(out)


def _inverse(perm) -> tuple:
    return tuple(int(i) for i in np.argsort(perm))


# =========================================================================== the primitive

def _conv_impl(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count,
               preferred_element_type):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = np.asarray(lhs).transpose(lhs_spec)  # N C spatial...
    w = np.asarray(rhs).transpose(rhs_spec)  # O I spatial...
    dtype = np.result_type(x, w) if preferred_element_type is None else preferred_element_type
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    nsp = x.ndim - 2
    n_batch, n_out = x.shape[0], w.shape[0]
    spatial = _out_spatial(x.shape[2:], w.shape[2:], window_strides, padding, lhs_dilation,
                           rhs_dilation)
    out_shape = (n_batch, n_out) + spatial
    if 0 in out_shape or 0 in w.shape[1:]:
        return [np.zeros(out_shape, dtype).transpose(_inverse(out_spec))]
    if any(d > 1 for d in lhs_dilation):
        holes = np.zeros(x.shape[:2] + tuple(_dilate(n, d) for n, d in
                                             zip(x.shape[2:], lhs_dilation)), dtype)
        holes[(slice(None),) * 2 + tuple(slice(None, None, d) for d in lhs_dilation)] = x
        x = holes
    if any(lo or hi for lo, hi in padding):
        # Non-negative parts pad with zeros; negative parts crop.
        x = np.pad(x, [(0, 0)] * 2 + [(max(lo, 0), max(hi, 0)) for lo, hi in padding])
        x = x[(slice(None),) * 2 + tuple(slice(max(-lo, 0), n - max(-hi, 0))
                                         for n, (lo, hi) in zip(x.shape[2:], padding))]
    # im2col: patches[n, c, p..., k...] = x[n, c, p*stride + k*rhs_dilation] as a strided view.
    ksizes = w.shape[2:]
    strides = (x.strides[:2] + tuple(st * s for st, s in zip(x.strides[2:], window_strides))
               + tuple(st * d for st, d in zip(x.strides[2:], rhs_dilation)))
    patches = as_strided(x, x.shape[:2] + spatial + ksizes, strides, writeable=False)
    groups = feature_group_count
    c_in, o_per = w.shape[1], n_out // groups
    n_pos, n_k = int(np.prod(spatial)), int(np.prod(ksizes))
    # (N, G, I, P..., K...) -> (G, N*P, I*K): the im2col matrix of each group.
    p_axes = tuple(range(3, 3 + nsp))
    k_axes = tuple(range(3 + nsp, 3 + 2 * nsp))
    cols = patches.reshape((n_batch, groups, c_in) + spatial + ksizes)
    cols = cols.transpose((1, 0) + p_axes + (2,) + k_axes).reshape(groups, n_batch * n_pos,
                                                                  c_in * n_k)
    kernel = w.reshape(groups, o_per, c_in * n_k).transpose(0, 2, 1)
    out = np.matmul(cols, kernel)  # (G, N*P, O/G)
    out = out.reshape((groups, n_batch) + spatial + (o_per,))
    out = out.transpose((1, 0, 2 + nsp) + tuple(range(2, 2 + nsp))).reshape(out_shape)
    return [out.transpose(_inverse(out_spec))]


def _check_spec(name, spec, ndim, dimension_numbers):
    if sorted(spec) != list(range(ndim)):
        raise ValueError(f"conv_general_dilated: {name} {spec} must be a permutation of the "
                         f"{ndim} axes; dimension_numbers {dimension_numbers}")


def _conv_abstract_eval(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                        dimension_numbers, feature_group_count, batch_group_count,
                        preferred_element_type):
    shapes = f"lhs {lhs.str_short()}, rhs {rhs.str_short()}"
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"conv_general_dilated: operand dtypes must match, got "
                        f"({describe([lhs, rhs])}); convert with ftx.lax.convert_element_type")
    if lhs.dtype.kind not in "iufc":
        raise TypeError(f"conv_general_dilated: operands must be numeric, got "
                        f"({describe([lhs, rhs])})")
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(f"conv_general_dilated: lhs and rhs must have the same rank, at least 2 "
                         f"(batch/feature axes, then spatial axes); got {shapes}")
    if batch_group_count != 1:
        raise NotImplementedError(f"conv_general_dilated: batch_group_count must be 1, got "
                                  f"{batch_group_count}")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    for name, spec in (("lhs_spec", lhs_spec), ("rhs_spec", rhs_spec), ("out_spec", out_spec)):
        _check_spec(name, spec, lhs.ndim, dimension_numbers)
    nsp = lhs.ndim - 2
    for name, value in (("window_strides", window_strides), ("padding", padding),
                        ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)):
        if len(value) != nsp:
            raise ValueError(f"conv_general_dilated: {name} {value} needs one entry per spatial "
                             f"axis ({nsp}); {shapes}")
    for name, value in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                        ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in value):
            raise ValueError(f"conv_general_dilated: {name} must be positive, got {value}")
    groups = feature_group_count
    c_in, c_rhs = lhs.shape[lhs_spec[1]], rhs.shape[rhs_spec[1]]
    n_out = rhs.shape[rhs_spec[0]]
    if groups < 1 or c_in % groups or n_out % groups or c_in // groups != c_rhs:
        raise ValueError(f"conv_general_dilated: with feature_group_count={groups}, the lhs "
                         f"feature size ({c_in}) must be {groups} x the rhs input-feature size "
                         f"({c_rhs}) and the rhs output-feature size ({n_out}) a multiple of "
                         f"{groups}; {shapes}, dimension_numbers {dimension_numbers}")
    spatial = _out_spatial([lhs.shape[i] for i in lhs_spec[2:]],
                           [rhs.shape[i] for i in rhs_spec[2:]], window_strides, padding,
                           lhs_dilation, rhs_dilation)
    canonical = (lhs.shape[lhs_spec[0]], n_out) + spatial
    shape = [0] * lhs.ndim
    for axis, size in zip(out_spec, canonical):
        shape[axis] = size
    dtype = lhs.dtype if preferred_element_type is None else preferred_element_type
    return [ShapedArray(tuple(shape), dtype)]


# --------------------------------------------------------------------------- reshape helpers

def _reshape_axis_into(src: int, dst: int, x):
    """Merge axis ``src`` into axis ``dst`` (numbered with ``src`` removed) as its major part."""
    shape = get_aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [shape[i] for i in range(len(shape)) if i != src]
    new_shape[dst] *= shape[src]
    return sh.reshape(sh.transpose(x, tuple(perm)), tuple(new_shape))


def _reshape_axis_out_of(src: int, size1: int, x):
    """Split axis ``src`` into ``(size1, rest)``."""
    shape = list(get_aval(x).shape)
    shape[src:src + 1] = [size1, shape[src] // size1]
    return sh.reshape(x, tuple(shape))


def _swap01(spec) -> tuple:
    return (spec[1], spec[0]) + tuple(spec[2:])


# --------------------------------------------------------------------------- transposes

def _vjp_lhs_padding(in_shape, window, strides, out_shape, padding, lhs_dilation, rhs_dilation):
    pads = []
    for n, k, s, o, (lo, _), ld, rd in zip(in_shape, window, strides, out_shape, padding,
                                           lhs_dilation, rhs_dilation):
        before = _dilate(k, rd) - lo - 1
        after = _dilate(n, ld) + _dilate(k, rd) - 1 - _dilate(o, s) - before
        pads.append((before, after))
    return tuple(pads)


def _vjp_rhs_padding(in_shape, window, strides, out_shape, padding, lhs_dilation, rhs_dilation):
    pads = []
    for n, k, s, o, (lo, _), ld, rd in zip(in_shape, window, strides, out_shape, padding,
                                           lhs_dilation, rhs_dilation):
        hi = (_dilate(o, s) - _dilate(n, ld)) + (_dilate(k, rd) - lo - 1)
        pads.append((lo, hi))
    return tuple(pads)


def _match_dtype(ct, other):
    """With preferred_element_type the cotangent may be wider than the operands."""
    ct_dtype = get_aval(ct).dtype
    if get_aval(other).dtype != ct_dtype:
        other = ew.convert_element_type(other, ct_dtype)
    return other


def _conv_transpose_lhs(ct, lhs_aval, rhs, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count, batch_group_count,
                        preferred_element_type):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if get_aval(ct).size == 0:
        return np.zeros(lhs_aval.shape, lhs_aval.dtype)
    rhs = _match_dtype(ct, rhs)
    rhs_shape = get_aval(rhs).shape
    groups = feature_group_count
    if groups > 1:
        # Each group's output features become that group's input features: move the group
        # factor of the rhs output-feature axis into its input-feature axis.
        rhs = _reshape_axis_out_of(rhs_spec[0], groups, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    pads = _vjp_lhs_padding([lhs_aval.shape[i] for i in lhs_spec[2:]],
                            [rhs_shape[i] for i in rhs_spec[2:]], window_strides,
                            [get_aval(ct).shape[i] for i in out_spec[2:]], padding,
                            lhs_dilation, rhs_dilation)
    out = conv_general_dilated_p.bind1(
        ct, sh.rev(rhs, tuple(rhs_spec[2:])), window_strides=lhs_dilation, padding=pads,
        lhs_dilation=window_strides, rhs_dilation=rhs_dilation,
        dimension_numbers=(out_spec, _swap01(rhs_spec), lhs_spec),
        feature_group_count=groups, batch_group_count=1, preferred_element_type=None)
    if get_aval(out).dtype != lhs_aval.dtype:
        out = ew.convert_element_type(out, lhs_aval.dtype)
    return out


def _conv_transpose_rhs(ct, lhs, rhs_aval, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count, batch_group_count,
                        preferred_element_type):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if get_aval(ct).size == 0:
        return np.zeros(rhs_aval.shape, rhs_aval.dtype)
    lhs = _match_dtype(ct, lhs)
    lhs_shape = get_aval(lhs).shape
    groups = feature_group_count
    if groups > 1:
        # The contraction runs over the batch axis, separately per group: move the group
        # factor of lhs's feature axis into its batch axis, where the transposed convolution's
        # feature groups pick it up (JAX expresses this with batch_group_count).
        lhs = _reshape_axis_out_of(lhs_spec[1], groups, lhs)
        lhs = _reshape_axis_into(lhs_spec[1], lhs_spec[0], lhs)
    pads = _vjp_rhs_padding([lhs_shape[i] for i in lhs_spec[2:]],
                            [rhs_aval.shape[i] for i in rhs_spec[2:]], window_strides,
                            [get_aval(ct).shape[i] for i in out_spec[2:]], padding,
                            lhs_dilation, rhs_dilation)
    out = conv_general_dilated_p.bind1(
        lhs, ct, window_strides=rhs_dilation, padding=pads, lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides,
        dimension_numbers=(_swap01(lhs_spec), _swap01(out_spec), _swap01(rhs_spec)),
        feature_group_count=groups, batch_group_count=1, preferred_element_type=None)
    if get_aval(out).dtype != rhs_aval.dtype:
        out = ew.convert_element_type(out, rhs_aval.dtype)
    return out


# --------------------------------------------------------------------------- batching

def _conv_batch(axis_data, args, dims, **params):
    (lhs, rhs), (ld, rd) = args, dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    groups = params["feature_group_count"]
    bind = conv_general_dilated_p.bind1
    if ld is not not_mapped and rd is not not_mapped:
        # Each example becomes its own set of feature groups.
        size = get_aval(lhs).shape[ld]
        lhs = _reshape_axis_into(ld, lhs_spec[1], lhs)
        rhs = _reshape_axis_into(rd, rhs_spec[0], rhs)
        out = bind(lhs, rhs, **dict(params, feature_group_count=groups * size))
        return [_reshape_axis_out_of(out_spec[1], size, out)], [out_spec[1]]
    if ld is not not_mapped:
        size = get_aval(lhs).shape[ld]
        out = bind(_reshape_axis_into(ld, lhs_spec[0], lhs), rhs, **params)
        return [_reshape_axis_out_of(out_spec[0], size, out)], [out_spec[0]]
    size = get_aval(rhs).shape[rd]
    if groups == 1:
        out = bind(lhs, _reshape_axis_into(rd, rhs_spec[0], rhs), **params)
        return [_reshape_axis_out_of(out_spec[1], size, out)], [out_spec[1]]
    # Groups must stay outermost in the output-feature axis: (G, O/G) -> (G, B, O/G).
    o_axis = rhs_spec[0] + int(rd <= rhs_spec[0])
    rhs = _reshape_axis_out_of(o_axis, groups, rhs)
    rhs = _reshape_axis_into(rd + int(o_axis < rd), rhs_spec[0] + 1, rhs)
    rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], rhs)
    out = bind(lhs, rhs, **params)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    out = _reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return [out], [out_spec[1]]


conv_general_dilated_p = Primitive("conv_general_dilated")
conv_general_dilated_p.def_impl(_conv_impl)
conv_general_dilated_p.def_abstract_eval(_conv_abstract_eval)
defbilinear(conv_general_dilated_p, _conv_transpose_lhs, _conv_transpose_rhs)
def_rule("batch", conv_general_dilated_p, _conv_batch)


# =========================================================================== user-facing lax API

def _shape(x) -> tuple:
    return tuple(get_aval(x).shape) if hasattr(x, "aval") else np.shape(x)


def _conv_general_permutations(specs) -> ConvDimensionNumbers:
    lhs_s, rhs_s, out_s = specs
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for spec, (a, b) in zip(specs, pairs):
        if spec.count(a) != 1 or spec.count(b) != 1 or len(set(spec)) != len(spec):
            raise ValueError(f"conv_general_dilated: dimension spec {spec!r} must name "
                             f"{a!r} and {b!r} once each and no axis twice; got {specs}")
    spatial = [set(s) - set(p) for s, p in zip(specs, pairs)]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise ValueError(f"conv_general_dilated: the spatial axis letters of {specs} differ")

    def perm(spec, pair):
        axes = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_s:  # spatial axes pair up in the order the kernel lists them
            axes.sort(key=lambda i: rhs_s.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(axes)

    return ConvDimensionNumbers(*(perm(s, p) for s, p in zip(specs, pairs)))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """``conv_dimension_numbers((2, 8, 8, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"))``.

    ``None`` means ``("NC...", "OI...", "NC...")``; strings name the axes; a
    ``ConvDimensionNumbers`` (or three tuples of axis indices) is returned normalised.
    """
    ndim = len(lhs_shape)
    if len(rhs_shape) != ndim:
        raise ValueError(f"conv_general_dilated: lhs and rhs must have the same rank, got shapes "
                         f"{tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if dimension_numbers is None:
        iota = tuple(range(ndim))
        return ConvDimensionNumbers(iota, iota, iota)
    try:
        lhs_s, rhs_s, out_s = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError(f"conv_general_dilated: dimension_numbers must be None, three strings "
                        f"like ('NCHW', 'OIHW', 'NCHW') or a ConvDimensionNumbers; got "
                        f"{dimension_numbers!r}") from None
    if all(isinstance(s, str) for s in (lhs_s, rhs_s, out_s)):
        for s in (lhs_s, rhs_s, out_s):
            if len(s) != ndim:
                raise ValueError(f"conv_general_dilated: dimension spec {s!r} must have one "
                                 f"letter per axis of the rank-{ndim} operands")
        return _conv_general_permutations((lhs_s, rhs_s, out_s))
    try:
        return ConvDimensionNumbers(*(tuple(int(i) for i in s) for s in (lhs_s, rhs_s, out_s)))
    except (TypeError, ValueError):
        raise TypeError(f"conv_general_dilated: dimension_numbers must be three strings or three "
                        f"tuples of ints, got {dimension_numbers!r}") from None


def padtype_to_pads(in_shape, window_shape, window_strides, padding) -> tuple:
    """Explicit ``(low, high)`` pads for ``'SAME'``, ``'SAME_LOWER'`` or ``'VALID'``.

    ``padtype_to_pads((5,), (3,), (1,), 'SAME')`` is ``((1, 1),)``.
    """
    padding = padding.upper()
    if padding == "VALID":
        return ((0, 0),) * len(in_shape)
    if padding not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"conv_general_dilated: padding must be 'SAME', 'SAME_LOWER', 'VALID' or "
                         f"a sequence of (low, high) pairs, got {padding!r}")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        small, large = total // 2, total - total // 2
        pads.append((small, large) if padding == "SAME" else (large, small))
    return tuple(pads)


def _int_tuple(value, n: int, name: str, default=1) -> tuple:
    if value is None:
        return (default,) * n
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"conv_general_dilated: {name} must be a sequence of ints, got "
                        f"{value!r}") from None


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None):
    """A general N-d convolution (cross-correlation), as ``jax.lax.conv_general_dilated``.

    ``conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=('NCHW', 'OIHW', 'NCHW'))``.
    ``padding`` is ``'SAME'``, ``'SAME_LOWER'``, ``'VALID'`` or ``(low, high)`` pairs (negative
    values crop); string paddings ignore ``lhs_dilation``, as in JAX. ``precision`` is
    accepted and ignored. ``batch_group_count`` must be 1.
    """
    lhs_shape, rhs_shape = _shape(lhs), _shape(rhs)
    dnums = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    nsp = len(lhs_shape) - 2
    if batch_group_count != 1:
        raise NotImplementedError(f"conv_general_dilated: batch_group_count={batch_group_count} "
                                  "is not supported (only 1)")
    window_strides = _int_tuple(window_strides, nsp, "window_strides")
    lhs_dilation = _int_tuple(lhs_dilation, nsp, "lhs_dilation")
    rhs_dilation = _int_tuple(rhs_dilation, nsp, "rhs_dilation")
    if isinstance(padding, str):
        window = [_dilate(rhs_shape[i], d) for i, d in zip(dnums.rhs_spec[2:], rhs_dilation)]
        padding = padtype_to_pads([lhs_shape[i] for i in dnums.lhs_spec[2:]], window,
                                  window_strides, padding)
    else:
        try:
            padding = tuple((int(lo), int(hi)) for lo, hi in padding)
        except (TypeError, ValueError):
            raise TypeError(f"conv_general_dilated: padding must be a string or a sequence of "
                            f"(low, high) pairs, got {padding!r}") from None
    if preferred_element_type is not None:
        preferred_element_type = dtypes.check_supported(preferred_element_type,
                                                        "conv_general_dilated")
    params = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                  rhs_dilation=rhs_dilation, dimension_numbers=tuple(dnums),
                  feature_group_count=int(feature_group_count), batch_group_count=1,
                  preferred_element_type=preferred_element_type)
    # Eager binds go straight to the NumPy impl: check here so errors read the same everywhere.
    _conv_abstract_eval(get_aval(lhs), get_aval(rhs), **params)
    return conv_general_dilated_p.bind1(lhs, rhs, **params)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv(x, w, (1, 1), 'SAME')``: NCHW/OIHW convolution without dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_with_general_padding(x, w, (1, 1), ((1, 1), (1, 1)), None, (2, 2))``: NC.../OI..."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                preferred_element_type=preferred_element_type)
