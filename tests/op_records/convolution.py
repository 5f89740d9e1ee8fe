"""Op records for ``lax.conv_general_dilated``.

The reference is a direct convolution written here, independent of the im2col impl:
for every output position and kernel offset it works out which input element (if any)
of the dilated, padded input the window touches, and accumulates one small matmul per
feature group. It computes in float64 (int64 for integers) and casts back.
"""
import itertools

import numpy as np

from ftx import lax
from tests.op_records import F32, F64, I32, rec


def _dilate(n, d):
    return 0 if n == 0 else 1 + d * (n - 1)


def direct_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                dimension_numbers=None, feature_group_count=1):
    """A loop-based ``conv_general_dilated`` with explicit ``padding`` pairs (the oracle)."""
    nsp = lhs.ndim - 2
    lhs_dilation = lhs_dilation or (1,) * nsp
    rhs_dilation = rhs_dilation or (1,) * nsp
    if dimension_numbers is None:
        specs = (tuple(range(lhs.ndim)),) * 3
    else:
        lhs_s, rhs_s, out_s = dimension_numbers
        spatial = [c for c in rhs_s if c not in "OI"]
        specs = (tuple(lhs_s.index(c) for c in "NC" + "".join(spatial)),
                 tuple(rhs_s.index(c) for c in "OI" + "".join(spatial)),
                 tuple(out_s.index(c) for c in "NC" + "".join(spatial)))
    x = np.transpose(lhs, specs[0])
    w = np.transpose(rhs, specs[1])
    acc = np.int64 if lhs.dtype.kind in "iu" else np.float64
    x, w = x.astype(acc), w.astype(acc)
    n, c = x.shape[:2]
    o, i_per = w.shape[:2]
    groups = feature_group_count
    o_per = o // groups
    out_sizes = []
    for a in range(nsp):
        padded = _dilate(x.shape[2 + a], lhs_dilation[a]) + sum(padding[a])
        window = _dilate(w.shape[2 + a], rhs_dilation[a])
        out_sizes.append(max((padded - window) // window_strides[a] + 1, 0)
                         if padded >= window else 0)
    out = np.zeros((n, o) + tuple(out_sizes), acc)
    for p in itertools.product(*map(range, out_sizes)):
        for k in itertools.product(*map(range, w.shape[2:])):
            src = []
            for a in range(nsp):
                pos = p[a] * window_strides[a] + k[a] * rhs_dilation[a] - padding[a][0]
                if pos < 0 or pos % lhs_dilation[a] or pos // lhs_dilation[a] >= x.shape[2 + a]:
                    break
                src.append(pos // lhs_dilation[a])
            else:
                column = x[(slice(None), slice(None)) + tuple(src)]  # (N, C)
                for g in range(groups):
                    tap = w[(slice(g * o_per, (g + 1) * o_per), slice(None)) + k]  # (O/G, I)
                    out[(slice(None), slice(g * o_per, (g + 1) * o_per)) + p] += (
                        column[:, g * i_per:(g + 1) * i_per] @ tap.T)
    return out.transpose(np.argsort(specs[2])).astype(lhs.dtype)


def _same_pads(in_sizes, kernel_sizes, strides, dilation):
    """'SAME' padding by its definition: output size ceil(n / s), extra padding at the end."""
    pads = []
    for n, k, s, d in zip(in_sizes, kernel_sizes, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + _dilate(k, d) - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _conv(name, shapes, strides, padding, lhs_dilation=None, rhs_dilation=None, dn=None,
          groups=1, dtypes=(F64, F32), ref_padding=None):
    fn = lambda x, w: lax.conv_general_dilated(  # noqa: E731
        x, w, strides, padding, lhs_dilation, rhs_dilation, dn, groups)
    ref = lambda x, w: direct_conv(  # noqa: E731
        x, w, strides, ref_padding or padding, lhs_dilation, rhs_dilation, dn, groups)
    return rec(f"lax.conv_general_dilated-{name}", fn, ref, shapes, dtypes=dtypes,
               grad_argnums=(0, 1))


RECORDS = [
    _conv("valid", [((2, 3, 5, 6), (4, 3, 3, 2))], (1, 1), ((0, 0), (0, 0)),
          dtypes=(F64, F32, I32)),
    _conv("same-stride2", [((1, 2, 6, 5), (3, 2, 3, 3))], (2, 2), "SAME",
          ref_padding=_same_pads((6, 5), (3, 3), (2, 2), (1, 1))),
    _conv("nhwc-hwio-dilated", [((2, 5, 6, 3), (2, 2, 3, 4))], (1, 2), ((1, 0), (2, 1)),
          rhs_dilation=(2, 1), dn=("NHWC", "HWIO", "NHWC")),
    _conv("groups", [((2, 4, 5, 5), (6, 2, 2, 3))], (1, 1), ((1, 1), (0, 1)), groups=2),
    _conv("depthwise-nwc", [((2, 7, 3), (3, 1, 3))], (2,), ((2, 1),), groups=3,
          dn=("NWC", "WIO", "NWC")),
    _conv("1d-lhs-dilation-negative-pad", [((2, 2, 6), (3, 2, 3))], (1,), ((-1, 2),),
          lhs_dilation=(2,)),
    _conv("3d-mixed-layout", [((3, 4, 2, 4, 2), (4, 2, 3, 2, 2))], (1, 2, 1),
          ((0, 1), (1, 0), (1, 1)), rhs_dilation=(1, 1, 2), dn=("DNHCW", "IDOHW", "HWNDC")),
]
