"""What the fused full-res kernel does per pixel and per row, derived from its `KernelSpec` alone.

The latency model prices the shipped kernel from this, without compiling it. Two views of the same
definition (`fullres.define_fullres`):

- `executed`: the lane operations the compiled code performs, by kind, after the compiler's common
  subexpression elimination (the guide's colour-matrix value is computed once per curve, the depth
  tent weights once per bin and shared by the 12 coefficients), plus the bytes it moves. This is
  what costs time.
- `tvm_flops`: the same definition counted by TVM's own estimator
  (`tvm.s_tir.analysis.estimate_tir_flops`), whose convention is the expression tree as written:
  every add/sub/mul/div/min/max counts one, int or float; casts, floor and fabs (calls) count zero;
  buffer index arithmetic and if-conditions count zero; an if counts its larger branch (here the
  one-cell block: tent weights over all D bins); a sub-expression that Python reuses (the guide's
  `v`) counts at every use. The column-coordinate bindings (`x0`, `wx`) count zero in its walk.
  The tests check this view against TVM's estimate exactly, which pins the structure the executed
  view is derived from.
"""
from __future__ import annotations

from dataclasses import dataclass

from .spec import VEC, KernelSpec

COEFFICIENTS = 12  # the 3x4 affine colour transform per pixel
CHANNELS = 3
PIXEL_BYTES = {"uint8": 1, "uint16": 2, "float32": 4}
# cpu: row tables + tent weights over the D bins (what schedule_cpu builds); gpu: the same arithmetic
# with the tables inlined (schedule_gpu); gpu_taps: the slice by 8 gathered corners (HDRNet's form).
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
    once per row and read as broadcast scalars; "gpu": the tables inlined, the y lerp done per lookup)."""

    spec: KernelSpec
    schedule: str
    per_pixel: LaneOps          # executed lane operations per pixel
    table_loads_per_pixel: float  # grid / row-table values read per pixel (broadcasts amortised over VEC lanes)
    per_row: LaneOps            # executed operations per row (the CPU's row tables)
    table_bytes: int            # grid data one row's pixels look up (CPU: the two row tables; GPU: the grid)
    pixel_bytes_in: int         # per pixel
    pixel_bytes_out: int

    def ops(self, height: int, width: int) -> LaneOps:
        return self.per_pixel.scaled(height * lanes_per_row(width)) + self.per_row.scaled(height)

    def pixel_bytes(self, height: int, width: int) -> int:
        """Bytes the kernel must read and write: each pixel read once and written once."""
        return height * width * (self.pixel_bytes_in + self.pixel_bytes_out)


def lanes_per_row(width: int) -> int:
    """Pixels computed per row: whole VEC blocks (the last block overlaps the one before it)."""
    return -(-width // VEC) * VEC


def _guide(spec: KernelSpec) -> LaneOps:
    """Colour matrix (3 FMA incl. bias) and the curve's hinges (sub, max, FMA per knot) per curve, the
    mix (1 FMA per curve), the clamp to [0, 1]."""
    nc, nk = spec.n_curves, spec.knots
    return LaneOps(fma=nc * (3 + nk + 1), add=nc * nk, compare=nc * nk + 2)


def _pixel_io(spec: KernelSpec) -> LaneOps:
    if spec.dtype == "float32":
        return LaneOps()
    # in: cast + scale per channel; out: scale-and-round-half-up (FMA), floor, cast per channel
    return LaneOps(fma=CHANNELS, convert=CHANNELS * 2 + CHANNELS * 2)


def _affine_apply() -> LaneOps:
    """Per output channel: 3 FMA and the bias add (folded into the first FMA), clamp to [0, 1]."""
    return LaneOps(fma=CHANNELS * 3, compare=CHANNELS * 2)


def executed(spec: KernelSpec, schedule: str = "cpu") -> KernelWorkload:
    depth, gsize = spec.depth, spec.grid_size
    column = LaneOps(index=3)  # column position -> grid x coordinate -> weight of the upper cell
    if schedule == "cpu":
        # One-cell blocks (all but the few straddling a grid column boundary): the depth lookup as
        # tent weights over the D bins, shared by the 12 coefficients; per (coefficient, bin) one FMA
        # for rowgrid + wx * rowdiff and one to accumulate the weighted term.
        tent_weights = LaneOps(add=2 * depth, compare=2 * depth)
        lookups = LaneOps(fma=2 * COEFFICIENTS * depth)
        per_pixel = (_guide(spec) + LaneOps(fma=1) + column + tent_weights + lookups + _affine_apply()
                     + _pixel_io(spec))
        table_loads = 2 * COEFFICIENTS * depth / VEC  # broadcast scalars, once per VEC-pixel block
        # rowgrid and rowdiff: per (coefficient, bin, grid column) two y-lerps (FMA + mul each) and a sub
        per_row = LaneOps(fma=COEFFICIENTS * depth * gsize * 4, add=COEFFICIENTS * depth * gsize,
                          index=COEFFICIENTS * depth * gsize * 2)
        table_bytes = 2 * COEFFICIENTS * depth * gsize * 4
    elif schedule == "gpu_taps":
        # The slice as grid_sample does it (HDRNet's form): per coefficient the 8 corner values of the
        # pixel's grid cell gathered and lerped (7 lerps of sub + FMA); the cell and its 3 fractions once.
        cell = LaneOps(index=4 * 3)
        lookups = LaneOps(fma=COEFFICIENTS * 7, add=COEFFICIENTS * 7)
        row_coordinate = LaneOps(index=4)
        per_pixel = (_guide(spec) + LaneOps(fma=1) + column + row_coordinate + cell + lookups + _affine_apply()
                     + _pixel_io(spec))
        table_loads = 8 * COEFFICIENTS
        per_row = LaneOps()
        table_bytes = COEFFICIENTS * depth * gsize * gsize * 4
    elif schedule == "gpu":
        # Row tables inlined: each (coefficient, bin) term reads the grid at x0 and x0+1 of two grid
        # rows (4 gathers) and lerps over y twice (2 FMA + 2 mul), then the tent FMA pair.
        tent_weights = LaneOps(add=2 * depth, compare=2 * depth)
        lookups = LaneOps(fma=COEFFICIENTS * depth * (2 + 4), add=COEFFICIENTS * depth)
        row_coordinate = LaneOps(index=4)
        per_pixel = (_guide(spec) + LaneOps(fma=1) + column + row_coordinate + tent_weights + lookups
                     + _affine_apply() + _pixel_io(spec))
        table_loads = 4 * COEFFICIENTS * depth
        per_row = LaneOps()
        table_bytes = COEFFICIENTS * depth * gsize * gsize * 4
    else:
        raise ValueError(f"kernel schedule {schedule!r}: expected one of {', '.join(SCHEDULES)}")
    nbytes = CHANNELS * PIXEL_BYTES[spec.dtype]
    return KernelWorkload(spec, schedule, per_pixel, table_loads, per_row, table_bytes, nbytes, nbytes)


def tvm_flops(spec: KernelSpec, height: int, width: int) -> int:
    """TVM's `estimate_tir_flops` of `define_fullres(spec)` at height x width, in closed form
    (its convention: see the module docstring)."""
    nc, nk, depth, gsize = spec.n_curves, spec.knots, spec.depth, spec.grid_size
    # guide: per knot the colour-matrix value v (3 mul + 3 add, reused as written), sub, max, mul; the
    # knot adds; mix mul + add; the clamp
    guide = nc * (10 * nk + 1) + 2
    fz = 0 if depth == 2 else 1  # g * (D - 1): a multiply by 1.0 is simplified away
    # 12 tent lookups of D terms (sub, sub, max; mul, add, mul; the accumulating add), the affine
    # (3 mul + 3 add) and its clamp per channel
    channels = COEFFICIENTS * (7 * depth - 1) + CHANNELS * 8
    io = 0 if spec.dtype == "float32" else CHANNELS * 3  # scale on load; scale and +0.5 on store
    per_pixel = guide + fz + channels + io
    # rowgrid (a y lerp: 30 as written) and rowdiff (two y lerps and a sub: 61) per table entry
    per_row = 91 * COEFFICIENTS * depth * gsize
    return height * (per_row + lanes_per_row(width) * per_pixel)
