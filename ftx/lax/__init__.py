"""ftx.lax: the closed set of primitives, in the style of jax.lax (explicit re-exports).

Each family module holds its primitives (``*_p``), every rule of each one next to it,
and thin wrappers with positional data and keyword parameters.
"""
from ftx.lax.elementwise import (  # noqa: F401
    exp_p, exp2_p, log_p, log1p_p, expm1_p, sin_p, cos_p, tan_p, asin_p, acos_p, atan_p,
    sinh_p, cosh_p, tanh_p, asinh_p, acosh_p, atanh_p, sqrt_p, cbrt_p, rsqrt_p, logistic_p,
    erf_p, erfc_p, lgamma_p, digamma_p, neg_p, sign_p, floor_p, ceil_p, is_finite_p, abs_p,
    real_p, imag_p, conj_p, not_p, population_count_p, RoundingMethod, round_p,
    integer_pow_p, add_p, sub_p, mul_p, div_p, rem_p, pow_p, max_p, min_p, atan2_p,
    nextafter_p, and_p, or_p, xor_p, shift_left_p, shift_right_arithmetic_p,
    shift_right_logical_p, eq_p, ne_p, lt_p, le_p, gt_p, ge_p, select_n_p, clamp_p,
    convert_element_type_p, stop_gradient_p, exp, exp2, log, log1p, expm1, sin, cos, tan,
    asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh, sqrt, rsqrt, cbrt, logistic,
    erf, erfc, lgamma, digamma, neg, sign, floor, ceil, is_finite, abs, real, imag, conj,
    bitwise_not, population_count, add, sub, mul, div, rem, pow, max, min, atan2, nextafter,
    bitwise_and, bitwise_or, bitwise_xor, shift_left, shift_right_arithmetic,
    shift_right_logical, eq, ne, lt, le, gt, ge, round, integer_pow, square, select_n,
    clamp, convert_element_type, stop_gradient,
)
from ftx.lax.shape import (  # noqa: F401
    broadcast_in_dim_p, reshape_p, transpose_p, squeeze_p, rev_p, concatenate_p, pad_p,
    iota_p, broadcast_in_dim, broadcast, reshape, transpose, squeeze, expand_dims, rev,
    concatenate, pad, iota, broadcasted_iota,
)
from ftx.lax.slicing import (  # noqa: F401
    slice_p, dynamic_slice_p, dynamic_update_slice_p, gather_p, scatter_p, scatter_add_p,
    scatter_mul_p, scatter_min_p, scatter_max_p, slice, slice_in_dim, index_in_dim,
    dynamic_slice, dynamic_slice_in_dim, dynamic_index_in_dim, dynamic_update_slice,
    dynamic_update_slice_in_dim, dynamic_update_index_in_dim, gather, scatter, scatter_add,
    scatter_mul, scatter_min, scatter_max,
)
from ftx.lax.reductions import (  # noqa: F401
    reduce_sum_p, reduce_max_p, reduce_min_p, reduce_prod_p, reduce_and_p, reduce_or_p,
    reduce_xor_p, argmax_p, argmin_p, reduce_sum, reduce_max, reduce_min, reduce_prod,
    reduce_and, reduce_or, reduce_xor, argmax, argmin,
)
from ftx.lax.cumulative import (  # noqa: F401
    cumsum_p, cumprod_p, cummax_p, cummin_p, cumlogsumexp_p, cumsum, cumprod, cummax,
    cummin, cumlogsumexp,
)
from ftx.lax.linalg import (  # noqa: F401
    dot_general_p, dot_general, dot, batch_matmul,
)
from ftx.lax.convolution import ConvDimensionNumbers, conv_dimension_numbers, conv_general_dilated_p, conv_general_dilated, conv, conv_with_general_padding, padtype_to_pads  # noqa: F401,E501
from ftx.lax.sorting import (  # noqa: F401
    sort_p, sort, sort_key_val, top_k,
)
from ftx.lax.parallel import (  # noqa: F401
    psum, pmean, pmax, pmin, all_gather, axis_index,
)
from ftx.lax.debugging import (  # noqa: F401
    debug_callback,
)

# Structured control flow (cond, scan, while_loop, ...) are higher-order primitives whose rules
# transform sub-jaxprs, so they live with the transforms in ftx.transforms.control_flow. They are
# part of the lax API, resolved on first use so that importing ftx.lax never imports the transforms.
_CONTROL_FLOW = ("cond", "switch", "while_loop", "fori_loop", "scan", "map", "associative_scan")


def __getattr__(name):
    if name in _CONTROL_FLOW:
        from ftx.transforms import control_flow
        return getattr(control_flow, name)
    raise AttributeError(f"module 'ftx.lax' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_CONTROL_FLOW))
