"""Arithmetic of each op kind, from tensor shapes alone: the one place the counting rules live.

Both graph front ends (`aten_counter` for torch.export graphs, `onnx_counter` for ONNX) translate a
node into a call here, so the same op costs the same whichever graph it came from.

Conventions (all counts are exact integers for the given shapes):

- A MAC is a multiply whose product is accumulated (convolution, matmul, the taps of a sampler).
  Padded zeros of a convolution are counted as MACs: that is the work a dense kernel does.
- A bias, a residual or any other addition outside a MAC is an `add`; subtraction is an `add` too.
- `compares` are comparisons, selects, min/max, clamps (2 per element: low and high bound), ReLU
  (1: max(x, 0)) and rounding (floor), all of which run on the comparison/select units.
- A transcendental (exp, log, pow, sqrt, rsqrt, sigmoid, tanh, erf) counts as ONE operation, whatever
  its software expansion on a given unit costs; the latency model prices that.
- Bytes (computed by the front ends): every distinct input tensor is read once and the output
  written once, in its own dtype; the compulsory traffic. Gathers of a sampler or a resize are
  assumed to hit cache (their source is read once).
- Index arithmetic that is the same for all channels (a sampler's coordinates and tap weights, a
  resize's source rows and columns) is counted once per output position, not once per channel:
  that is how the PyTorch CPU kernels and any sensible DSP kernel compute it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

Shape = Sequence[int]


def numel(shape: Shape) -> int:
    return math.prod(int(d) for d in shape)


@dataclass(frozen=True)
class Arith:
    """The arithmetic of one op; field names match OpCost."""

    macs: int = 0
    adds: int = 0
    muls: int = 0
    divs: int = 0
    transcendentals: int = 0
    compares: int = 0

    def __add__(self, other: "Arith") -> "Arith":
        return Arith(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def times(self, n: int) -> "Arith":
        return Arith(**{f.name: getattr(self, f.name) * n for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- convolution and matrix products ------------------------------------------------------------

def conv(out_shape: Shape, weight_shape: Shape, has_bias: bool) -> Arith:
    """Any-rank convolution. weight (Cout, Cin/groups, *kernel): each output sums Cin/groups * kernel taps."""
    n_out = numel(out_shape)
    return Arith(macs=n_out * numel(weight_shape[1:]), adds=n_out if has_bias else 0)


def conv_transpose(in_shape: Shape, weight_shape: Shape, out_shape: Shape, has_bias: bool) -> Arith:
    """Transposed convolution, weight (Cin, Cout/groups, *kernel): each input scatters Cout/groups * kernel products."""
    return Arith(macs=numel(in_shape) * numel(weight_shape[1:]), adds=numel(out_shape) if has_bias else 0)


def matmul(out_shape: Shape, reduction: int, has_bias: bool = False) -> Arith:
    """(..., M, K) @ (..., K, N) -> (..., M, N): every output is a K-long dot product (linear, mm, bmm, Gemm)."""
    n_out = numel(out_shape)
    return Arith(macs=n_out * reduction, adds=n_out if has_bias else 0)


# --- element-wise -----------------------------------------------------------------------------

# Per output element. leaky_relu = select(x > 0, x, slope * x), prelu the same with a learned slope per
# channel; hardtanh = clamp.
ELEMENTWISE = {
    "add": Arith(adds=1), "sub": Arith(adds=1), "neg": Arith(adds=1), "rsub": Arith(adds=1),
    "mul": Arith(muls=1), "div": Arith(divs=1), "reciprocal": Arith(divs=1),
    "relu": Arith(compares=1), "leaky_relu": Arith(compares=1, muls=1), "prelu": Arith(compares=1, muls=1),
    "clamp_one_sided": Arith(compares=1), "clamp": Arith(compares=2), "hardtanh": Arith(compares=2),
    "maximum": Arith(compares=1), "minimum": Arith(compares=1), "where": Arith(compares=1),
    "abs": Arith(compares=1), "floor": Arith(compares=1), "ceil": Arith(compares=1),
    "round": Arith(compares=1), "sign": Arith(compares=1),
    "eq": Arith(compares=1), "ne": Arith(compares=1), "lt": Arith(compares=1), "le": Arith(compares=1),
    "gt": Arith(compares=1), "ge": Arith(compares=1), "logical_and": Arith(compares=1),
    "logical_or": Arith(compares=1), "logical_not": Arith(compares=1),
    "exp": Arith(transcendentals=1), "log": Arith(transcendentals=1), "pow": Arith(transcendentals=1),
    "sqrt": Arith(transcendentals=1), "rsqrt": Arith(transcendentals=1), "sigmoid": Arith(transcendentals=1),
    "tanh": Arith(transcendentals=1), "erf": Arith(transcendentals=1),
    "square": Arith(muls=1),
    # gelu(x) = 0.5 x (1 + erf(x / sqrt 2)); silu(x) = x sigmoid(x); hardsigmoid = clamp(x / 6 + 0.5)
    "gelu": Arith(transcendentals=1, muls=3, adds=1), "silu": Arith(transcendentals=1, muls=1),
    "hardsigmoid": Arith(muls=1, adds=1, compares=2), "hardswish": Arith(muls=2, adds=1, compares=2),
}
TRANSCENDENTAL_KINDS = {"exp", "log", "pow", "sqrt", "rsqrt", "sigmoid", "tanh", "erf", "gelu", "silu"}


def elementwise(kind: str, n_out: int) -> Arith:
    return ELEMENTWISE[kind].times(n_out)


def add_scaled(n_out: int) -> Arith:
    """torch.add(a, b, alpha) with alpha != 1: a + alpha * b."""
    return Arith(adds=n_out, muls=n_out)


# --- normalisation, softmax and reductions ----------------------------------------------------

def batch_norm_inference(n_out: int, channels: int) -> Arith:
    """Inference batch norm as every runtime evaluates it: per channel scale = gamma / sqrt(var + eps)
    and shift = beta - mean * scale (1 add, 1 sqrt, 1 div, 1 mul, 1 sub); per element y = x * scale + shift."""
    per_channel = Arith(adds=2, transcendentals=1, divs=1, muls=1)
    return per_channel.times(channels) + Arith(muls=n_out, adds=n_out)


def softmax(n: int, row_length: int) -> Arith:
    """Numerically stable softmax over rows of `row_length`: max (L-1 compares), x - max (L adds),
    exp (L), sum (L-1 adds), divide (L)."""
    rows = n // row_length
    return Arith(compares=n - rows, adds=n + (n - rows), transcendentals=n, divs=n)


def reduction(kind: str, n_in: int, n_out: int) -> Arith:
    """sum: n_in - n_out adds; mean: the same plus one divide per output; amax/amin: compares."""
    folds = n_in - n_out
    if kind == "sum":
        return Arith(adds=folds)
    if kind == "mean":
        return Arith(adds=folds, divs=n_out)
    if kind in ("amax", "amin", "argmax", "argmin"):
        return Arith(compares=folds)
    if kind == "prod":
        return Arith(muls=folds)
    raise KeyError(kind)


# --- pooling ------------------------------------------------------------------------------------

def pool_window_sizes(in_size: int, out_size: int, kernel: int, stride: int, padding: int) -> list[int]:
    """Elements of the input really inside each window along one axis (padding is never summed)."""
    sizes = []
    for o in range(out_size):
        start = o * stride - padding
        sizes.append(max(0, min(start + kernel, in_size) - max(start, 0)))
    return sizes


def adaptive_window_sizes(in_size: int, out_size: int) -> list[int]:
    """PyTorch/ONNX adaptive pooling windows: [floor(o * in / out), ceil((o + 1) * in / out))."""
    return [-(-(o + 1) * in_size // out_size) - (o * in_size // out_size) for o in range(out_size)]


def pooling(kind: str, outer: int, window_sizes_per_axis: Sequence[Sequence[int]]) -> Arith:
    """avg: each output sums its window (size - 1 adds) and divides once; max: size - 1 compares.

    The windows of an N-d pool are the products of the per-axis windows, so the summed elements
    are the product of the per-axis sums. `outer` = batch * channels.
    """
    n_out = outer * numel(len(sizes) for sizes in window_sizes_per_axis)
    summed = outer * numel(sum(sizes) for sizes in window_sizes_per_axis)
    if kind == "avg":
        return Arith(adds=summed - n_out, divs=n_out)
    if kind == "max":
        return Arith(compares=summed - n_out)
    raise KeyError(kind)


# --- resize and sampling -----------------------------------------------------------------------

def _source_coordinate(align_corners: bool) -> Arith:
    """One source coordinate of a linear resize and its two 1-D weights, per output row or column.

    half-pixel: src = scale * (dst + 0.5) - 0.5 (2 adds, 1 mul), clamp at 0 (1 compare);
    align_corners: src = scale * dst (1 mul). Then i0 = floor(src) (1 compare),
    i1 = i0 + (i0 < in - 1) (1 compare, 1 add), l1 = src - i0 (1 add), l0 = 1 - l1 (1 add).
    """
    coordinate = Arith(muls=1) if align_corners else Arith(adds=2, muls=1, compares=1)
    return coordinate + Arith(compares=2, adds=3)


def linear_resize_2d(out_shape: Shape, align_corners: bool) -> Arith:
    """Bilinear resize of (N, C, Ho, Wo) outputs, as PyTorch's separable kernel evaluates it.

    Per output row and per output column (shared by all channels): `_source_coordinate`.
    Per output element and channel: l0h * (l0w * v00 + l1w * v01) + l1h * (l0w * v10 + l1w * v11),
    i.e. 6 multiplies and 3 adds over the 4 taps.
    """
    ho, wo = out_shape[-2:]
    return Arith(muls=6, adds=3).times(numel(out_shape)) + _source_coordinate(align_corners).times(ho + wo)


def nearest_resize(out_shape: Shape, spatial_dims: int) -> Arith:
    """Nearest resize: no arithmetic per element (a copy); per output index along each axis
    src = min(floor(dst * scale), in - 1): 1 mul, 2 compares."""
    return Arith(muls=1, compares=2).times(sum(out_shape[-spatial_dims:]))


def grid_sample(out_shape: Shape, spatial_dims: int, mode: str, padding_mode: str) -> Arith:
    """F.grid_sample / ONNX GridSample, output (N, C, *spatial_out), d = 2 (bilinear) or 3 (trilinear).

    Per output position (N * prod(spatial_out), shared by all C channels), for d axes and T = 2**d taps:
      unnormalise each coordinate          d adds, d muls   (x * (size - 1) / 2 + (size - 1) / 2, both conventions)
      border: clamp into [0, size - 1]     2d compares
      i0 = floor(coordinate)               d compares
      t = c - i0, 1 - t                    2d adds
      i1 = i0 + 1, clamped to size - 1     d adds, d compares
      tap weights, products of 1-D weights 2**(d+1) - 4 muls   (d=2: 4; d=3: 4 xy + 8 xyz = 12)
      tap offsets z*H*W + y*W + x          2(d-1) muls, 2**(d+1) - 4 adds
    zeros padding has no clamp and no i1 clamp, but tests both corners of each axis against both
    bounds (4d compares) and selects each tap's weight (T compares).
    Per output element and channel: the weighted sum of T gathered taps, 1 multiply + (T - 1) MACs.

    d = 3, border (the student's slice): per position 24 adds, 19 muls, 12 compares; per element
    and channel 7 MACs + 1 mul. d = 2, border: 12 adds, 8 muls, 8 compares; 3 MACs + 1 mul.

    nearest: per position d adds, d muls (unnormalise), d compares (round), the bounds as above,
    2(d-1) muls + (d-1) adds (offset); per element a copy. bicubic and reflection padding are not
    modelled (KeyError: the op is reported uncounted).
    """
    n, c, *spatial = out_shape
    positions = n * numel(spatial)
    d, taps = spatial_dims, 2 ** spatial_dims
    if padding_mode == "zeros":
        bounds = Arith(compares=4 * d + (taps if mode != "nearest" else 1))
    elif padding_mode == "border":
        bounds = Arith(compares=2 * d)
    else:
        raise KeyError(padding_mode)
    unnormalise = Arith(adds=d, muls=d)
    if mode in ("bilinear", "linear"):
        per_position = (unnormalise + bounds + Arith(compares=d) + Arith(adds=2 * d)
                        + (Arith(adds=d, compares=d) if padding_mode != "zeros" else Arith())
                        + Arith(muls=2 ** (d + 1) - 4) + Arith(muls=2 * (d - 1), adds=2 ** (d + 1) - 4))
        per_element = Arith(muls=1, macs=taps - 1)
    elif mode == "nearest":
        per_position = unnormalise + bounds + Arith(compares=d) + Arith(muls=2 * (d - 1), adds=d - 1)
        per_element = Arith()
    else:
        raise KeyError(mode)
    return per_position.times(positions) + per_element.times(positions * c)


def linspace(steps: int) -> Arith:
    """start + i * step per element; step = (end - start) / (steps - 1) once."""
    return Arith(muls=steps, adds=steps + 1, divs=1 if steps > 1 else 0)
