"""What the fused full-res kernel does per pixel and per row, derived from its `KernelSpec` alone.

The latency model prices the shipped kernel from this, without compiling it. Two views of the same
definition (`fullres.define_fullres`):

- `executed`: the lane operations the compiled code performs, by kind, after the compiler's common
  subexpression elimination (the guide's colour-matrix value is computed once per curve, the depth
  tent weights once per bin and shared by the 12 coefficients), plus the bytes it moves and the
  table values each lane gathers. This is what costs time. The slice form (`spec.slice`), the
  arithmetic type (`spec.compute`: the same operations, in half precision) and the pixel layout
  (`spec.layout`: YUV conversions instead of pixel scaling, 1.5 bytes a pixel) all change it.
- `tvm_flops`: the same definition counted by TVM's own estimator
  (`tvm.s_tir.analysis.estimate_tir_flops`), whose convention is the expression tree as written:
  every add/sub/mul/div/min/max counts one, int or float, let-bound values included; casts, floor
  and fabs (calls) count only their arguments; buffer indices and if-conditions count zero; a
  sub-expression that Python reuses (the guide's `v`) counts at every use. An if counts the larger
  of its branches *per data type* (int32, float32, float16 counted apart, then summed): the one-cell
  block's float work against the gathering block's int work. Constants fold as TVM folds them
  (x - 0.0, x * 1.0). The tests check this view against TVM's estimate exactly for every variant,
  which pins the structure the executed view is derived from.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from ..yuv import YUV_MATRICES, chroma_shape, matrix_terms, rgb_from_yuv_matrix
from .spec import VEC, YUV_LAYOUTS, KernelSpec

COEFFICIENTS = 12  # the 3x4 affine colour transform per pixel
CHANNELS = 3
PIXEL_BYTES = {"uint8": 1, "uint16": 2, "float32": 4}
# cpu: row tables, the slice as the spec says (tent: weights over the D bins from broadcast scalars;
# taps: 4 gathered row-table values per coefficient); gpu: the same arithmetic with the tables
# inlined (schedule_gpu); gpu_taps: the GPU schedule of the taps slice whatever the spec's slice (the
# slice by 8 gathered corners, HDRNet's form).
SCHEDULES = ("cpu", "gpu", "gpu_taps")


@dataclass(frozen=True)
class LaneOps:
    """Operations on one SIMD lane (one pixel), by the kind of instruction that executes them."""

    fma: float = 0.0        # fused multiply-add (a lone multiply or add of the same unit counts here too)
    add: float = 0.0        # add/subtract that does not fuse into an FMA
    compare: float = 0.0    # min/max/abs/select: the clamps, the curves' hinges, the tent weights
    convert: float = 0.0    # int<->float casts, scaling to [0, 1] and back, rounding
    index: float = 0.0      # coordinate arithmetic (column position, cell index)

    @property
    def total(self) -> float:
        return self.fma + self.add + self.compare + self.convert + self.index

    @property
    def flops(self) -> float:
        """Arithmetic as FLOPs (an FMA is two)."""
        return 2 * self.fma + self.add + self.compare + self.convert + self.index

    def __add__(self, other: "LaneOps") -> "LaneOps":
        return LaneOps(self.fma + other.fma, self.add + other.add, self.compare + other.compare,
                       self.convert + other.convert, self.index + other.index)

    def scaled(self, factor: float) -> "LaneOps":
        return LaneOps(self.fma * factor, self.add * factor, self.compare * factor, self.convert * factor,
                       self.index * factor)


@dataclass(frozen=True)
class KernelWorkload:
    """Per-pixel and per-row work of one `KernelSpec` under a schedule ("cpu": per-row tables built
    once per row; "gpu": the tables inlined, the y lerp done per lookup)."""

    spec: KernelSpec
    schedule: str
    per_pixel: LaneOps          # executed lane operations per pixel
    table_loads_per_pixel: float  # grid / row-table values read per pixel (broadcasts amortised over VEC lanes)
    per_row: LaneOps            # executed operations per row (the CPU's row tables)
    table_bytes: int            # grid data one row's pixels look up (CPU: the row tables; GPU: the grid)
    pixel_bytes_in: float       # per pixel (1.5 for YUV 4:2:0)
    pixel_bytes_out: float
    gathers_per_pixel: float = 0.0  # of the table loads, those each lane issues itself (not broadcasts)

    @property
    def yuv(self) -> bool:
        return self.spec.layout in YUV_LAYOUTS

    def computed_pixels(self, height: int, width: int) -> int:
        """Pixels the kernel computes: whole VEC blocks per row (the last block overlaps the one before
        it); YUV: whole 2x2 cells of whole blocks of VEC chroma columns."""
        if not self.yuv:
            return height * lanes_per_row(width)
        chroma_rows, chroma_cols = chroma_shape(height, width)
        return 4 * chroma_rows * lanes_per_row(chroma_cols)

    def table_rows(self, height: int) -> int:
        """Rows whose tables are built (YUV: both rows of every chroma row, an odd last row twice)."""
        return 2 * chroma_shape(height, 1)[0] if self.yuv else height

    def ops(self, height: int, width: int) -> LaneOps:
        return (self.per_pixel.scaled(self.computed_pixels(height, width))
                + self.per_row.scaled(self.table_rows(height)))

    def bytes_in(self, height: int, width: int) -> int:
        """Pixel bytes the kernel reads: each pixel once (YUV: the Y plane and the chroma plane)."""
        if self.yuv:
            chroma_rows, chroma_cols = chroma_shape(height, width)
            return height * width + 2 * chroma_rows * chroma_cols
        return int(height * width * self.pixel_bytes_in)

    def bytes_out(self, height: int, width: int) -> int:
        return self.bytes_in(height, width)  # the kernel writes what it reads, in the same layout

    def pixel_bytes(self, height: int, width: int) -> int:
        """Bytes the kernel must read and write: each pixel read once and written once."""
        return self.bytes_in(height, width) + self.bytes_out(height, width)


def lanes_per_row(width: int) -> int:
    """Pixels computed per row: whole VEC blocks (the last block overlaps the one before it)."""
    return -(-width // VEC) * VEC


def _guide(spec: KernelSpec) -> LaneOps:
    """Colour matrix (3 FMA incl. bias) and the curve's hinges (sub, max, FMA per knot) per curve, the
    mix (1 FMA per curve), the clamp to [0, 1]."""
    nc, nk = spec.n_curves, spec.knots
    return LaneOps(fma=nc * (3 + nk + 1), add=nc * nk, compare=nc * nk + 2)


def _pixel_io(spec: KernelSpec) -> LaneOps:
    if spec.layout in YUV_LAYOUTS:
        return _yuv_io(spec)
    if spec.dtype == "float32":
        return LaneOps()
    # in: cast + scale per channel; out: scale-and-round-half-up (FMA), floor, cast per channel
    return LaneOps(fma=CHANNELS, convert=CHANNELS * 2 + CHANNELS * 2)


def _yuv_io(spec: KernelSpec) -> LaneOps:
    """8-bit YUV 4:2:0 in and out, per pixel. In: each code converted and centred (cast, FMA), RGB by the
    inverse matrix (an FMA per coefficient other than 1) and clamped. Out: Y (an FMA per coefficient,
    clamp, round: FMA, floor, cast), U and V (an FMA per coefficient), and the 2x2 cell's chroma
    average shared by its 4 pixels (per slot 3 adds, the 1/4 and rounding FMAs, clamp, floor, cast)."""
    to_rgb = sum(1 for row in rgb_from_yuv_matrix(spec.yuv) for _, c in matrix_terms(row) if c is not None)
    to_yuv = sum(len(matrix_terms(row)) for row in YUV_MATRICES[spec.yuv][0])
    pixel_in = LaneOps(fma=CHANNELS + to_rgb, compare=CHANNELS * 2, convert=CHANNELS, index=6)
    luma_out = LaneOps(fma=1, compare=2, convert=2)
    cell_average = LaneOps(fma=2 * 2, add=2 * 3, compare=2 * 2, convert=2 * 2).scaled(1 / 4)
    return pixel_in + LaneOps(fma=to_yuv) + luma_out + cell_average


def _affine_apply() -> LaneOps:
    """Per output channel: 3 FMA and the bias add (folded into the first FMA), clamp to [0, 1]."""
    return LaneOps(fma=CHANNELS * 3, compare=CHANNELS * 2)


def executed(spec: KernelSpec, schedule: str = "cpu") -> KernelWorkload:
    if schedule == "gpu_taps":
        spec, schedule = replace(spec, slice="taps"), "gpu"
    if schedule not in SCHEDULES:
        raise ValueError(f"kernel schedule {schedule!r}: expected one of {', '.join(SCHEDULES)}")
    depth, gsize, value_bytes = spec.depth, spec.grid_size, spec.compute_bytes
    column = LaneOps(index=3)  # column position -> grid x coordinate -> weight of the upper cell
    pixel = _guide(spec) + LaneOps(fma=1) + column + _affine_apply() + _pixel_io(spec)
    if spec.slice == "tent" and spec.layout not in YUV_LAYOUTS:
        # The RGB tent kernel's one-cell blocks run the guide first (each lane's depth bin: floor, cast,
        # clamp; the block's bins compared once), then the slice. Blocks whose lanes share a bin take
        # the one-bin path (two bins lerped: 4 ops per coefficient); priced here is the tent, the path
        # of pictures whose neighbouring pixels fall into different bins (the calibration rows'
        # noise), so a photo runs at or below this.
        pixel = pixel + LaneOps(convert=2, compare=2, index=1)
    if schedule == "cpu" and spec.slice == "tent":
        # One-cell blocks (all but the few straddling a grid column boundary): the depth lookup as
        # tent weights over the D bins, shared by the 12 coefficients; per (coefficient, bin) one FMA
        # for rowgrid + wx * rowdiff and one to accumulate the weighted term.
        tent_weights = LaneOps(add=2 * depth, compare=2 * depth)
        lookups = LaneOps(fma=2 * COEFFICIENTS * depth)
        per_pixel = pixel + tent_weights + lookups
        table_loads, gathers = 2 * COEFFICIENTS * depth / VEC, 0.0  # broadcast scalars, once per VEC-pixel block
        # rowgrid and rowdiff: per (coefficient, bin, grid column) two y-lerps (FMA + mul each) and a sub
        per_row = LaneOps(fma=COEFFICIENTS * depth * gsize * 4, add=COEFFICIENTS * depth * gsize,
                          index=COEFFICIENTS * depth * gsize * 2)
        table_bytes = 2 * COEFFICIENTS * depth * gsize * value_bytes
    elif schedule == "cpu":
        # Taps: per coefficient the 2 depth bins x 2 columns of the row table around (g, x), gathered
        # per lane and lerped over depth and x (3 lerps of sub + FMA); each lane's x and z cell.
        cell = LaneOps(index=4 * 2)
        lookups = LaneOps(fma=COEFFICIENTS * 3, add=COEFFICIENTS * 3)
        per_pixel = pixel + cell + lookups
        table_loads = gathers = 4 * COEFFICIENTS
        per_row = LaneOps(fma=COEFFICIENTS * depth * gsize * 2, index=COEFFICIENTS * depth * gsize)  # rowgrid only
        table_bytes = COEFFICIENTS * depth * gsize * value_bytes
    elif spec.slice == "taps":
        # The slice as grid_sample does it (HDRNet's form): per coefficient the 8 corner values of the
        # pixel's grid cell gathered and lerped (7 lerps of sub + FMA); the cell and its 3 fractions once.
        cell = LaneOps(index=4 * 3)
        lookups = LaneOps(fma=COEFFICIENTS * 7, add=COEFFICIENTS * 7)
        row_coordinate = LaneOps(index=4)
        per_pixel = pixel + row_coordinate + cell + lookups
        table_loads = gathers = 8 * COEFFICIENTS
        per_row = LaneOps()
        table_bytes = COEFFICIENTS * depth * gsize * gsize * value_bytes
    else:
        # Row tables inlined: each (coefficient, bin) term reads the grid at x0 and x0+1 of two grid
        # rows (4 gathers) and lerps over y twice (2 FMA + 2 mul), then the tent FMA pair.
        tent_weights = LaneOps(add=2 * depth, compare=2 * depth)
        lookups = LaneOps(fma=COEFFICIENTS * depth * (2 + 4), add=COEFFICIENTS * depth)
        row_coordinate = LaneOps(index=4)
        per_pixel = pixel + row_coordinate + tent_weights + lookups
        table_loads = gathers = 4 * COEFFICIENTS * depth
        per_row = LaneOps()
        table_bytes = COEFFICIENTS * depth * gsize * gsize * value_bytes
    nbytes = 1.5 if spec.layout in YUV_LAYOUTS else CHANNELS * PIXEL_BYTES[spec.dtype]
    return KernelWorkload(spec, schedule, per_pixel, table_loads, per_row, table_bytes, nbytes, nbytes, gathers)


# --- TVM's count (estimate_tir_flops), per data type ---------------------------------------------------

def _tvm_matrix_row(row, offset: float) -> int:
    """A conversion row as written: a mul per coefficient other than 1, the adds between terms, the offset."""
    terms = matrix_terms(row)
    return sum(c is not None for _, c in terms) + len(terms) - 1 + (offset != 0.0)


def _tvm_pixel(spec: KernelSpec) -> tuple[Counter, Counter]:
    """Per pixel, per data type: the one-cell (tent) block and the gathering ("pixel") block."""
    ct = spec.compute
    depth_ops = 0 if spec.depth == 2 else 1  # fz = g * (D - 1): a multiply by 1 folds away
    common = Counter({ct: spec.n_curves * (10 * spec.knots + 1) + 2 + depth_ops})  # the guide, fz
    # per output channel: tent lookups of 7D - 2 ops each (d = 0's fz - 0 folds) or 12-op bilinear
    # lookups, then the affine (3 mul + 3 add) and its clamp
    tent_channel, taps_channel = 4 * (7 * spec.depth - 2) + 8, 4 * 12 + 8
    if spec.layout in YUV_LAYOUTS:
        to_rgb, offsets = rgb_from_yuv_matrix(spec.yuv), YUV_MATRICES[spec.yuv][1]
        to_yuv = YUV_MATRICES[spec.yuv][0]
        centring = 1 + (offsets[0] != 0.0) + 2 + 2  # code * (1/255), minus the offset (Y: none at full range)
        rgb = sum(_tvm_matrix_row(row, 0.0) + 2 for row in to_rgb)  # + clamp
        out = sum(_tvm_matrix_row(row, off) for row, off in zip(to_yuv, offsets)) + 2 + 2  # Y's clamp and round
        common[ct] += centring + rgb + out
        common["int32"] += 3 + 6 + 3  # the cell's luma row, luma column and chroma column
        one_cell = common + Counter({"int32": 6, "float32": 5}) + Counter({ct: 3 * tent_channel})
        gathering = common + Counter({"int32": 4, "float32": 3}) + Counter({ct: 1 + 3 * taps_channel})
        return one_cell, gathering
    pixel_in, pixel_out = Counter(), Counter()
    if spec.dtype != "float32":  # uint16 with float16 arithmetic scales in float32 (65535 overflows half)
        io = "float32" if spec.dtype == "uint16" else ct
        pixel_in[io], pixel_out[io] = CHANNELS * 1, CHANNELS * 2  # scale on load; scale and + 0.5 on store
    gathering = common + pixel_in + pixel_out + Counter({"int32": 7, "float32": 3}) + Counter({ct: 1 + 3 * taps_channel})
    # One-cell blocks: the "guide" block (the pixel read, the guide, fz, its bin: a clamp of 2 int ops),
    # then the one-bin or the tent block (the block's cell and each lane's x weight: int 7, float32 5).
    # One bin per channel: per coefficient two x lerps (2 ops each) and the depth lerp (3), the affine
    # and clamp; wz once.
    slice_in = pixel_out + Counter({"int32": 7, "float32": 5})
    one_bin = slice_in + Counter({ct: 1 + 3 * (4 * 7 + 8)})
    tent = slice_in + Counter({ct: 3 * tent_channel})
    one_cell = common + pixel_in + Counter({"int32": 2}) + (one_bin | tent)
    return one_cell, gathering


def tvm_flops(spec: KernelSpec, height: int, width: int) -> int:
    """TVM's `estimate_tir_flops` of `define_fullres(spec)` at height x width, in closed form
    (its convention: see the module docstring)."""
    one_cell, gathering = _tvm_pixel(spec)
    # An if counts its larger branch per data type; the taps form has no one-cell branch.
    pixel = sum((one_cell | gathering).values()) if spec.slice == "tent" else sum(gathering.values())
    entries = COEFFICIENTS * spec.depth * spec.grid_size
    tent = spec.slice == "tent"
    if spec.layout in YUV_LAYOUTS:
        # per chroma row: both luma rows' tables (rowgrid: a y lerp, 30 as written, and 3 x 4 for the
        # clamped luma row; rowdiff: two y lerps and a sub, 61, and 3 x 8), then per block of VEC chroma
        # columns 4 pixels a lane and the chroma average (per slot 3 adds, * 1/4, clamp, round)
        chroma_rows, chroma_cols = chroma_shape(height, width)
        tables = 2 * entries * (42 + 85 * tent)
        return chroma_rows * (tables + lanes_per_row(chroma_cols) * (4 * pixel + 2 * 8))
    # rowgrid (a y lerp: 30 as written) and rowdiff (two y lerps and a sub: 61) per table entry
    per_row = entries * (30 + 61 * tent)
    return height * (per_row + lanes_per_row(width) * pixel)
