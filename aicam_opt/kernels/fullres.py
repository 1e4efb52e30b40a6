"""The student's full-res path as ONE TensorIR kernel: guide, trilinear slice and affine apply fused.

`define_fullres(spec)` is the target-independent definition (a TVMScript PrimFunc). For each pixel
it reads the pixel once, computes the guide g(x) (colour matrix, piecewise-linear curves, mix,
clamp), slices the grid at (x, y, g) with the arithmetic of
`F.grid_sample(align_corners=True, padding_mode='border')`, applies the 3x4 affine and writes the
pixel once. No intermediate image exists; besides the pixels, only the weights and two per-row
tables (the grid already interpolated at the row's y, and its column differences; 12 KB, in L1/L2)
are read.

Why the row tables: trilinear = lerp over y (the same for a whole row), then over depth and x.
Doing y once per row halves the grid lookups. The depth lookup has two forms (`KernelSpec.slice`):
- "tent": for a block of pixels that lie in one grid column cell (nearly all blocks: a cell spans
  W/(G-1) >> block columns), the "guide" block computes each lane's guide and depth bin; if all
  lanes share one bin (smooth regions: most blocks of a photo) the two bins around it are read as
  broadcast scalars and lerped ("pixel_one_bin"), else depth is resolved with tent weights over
  the D bins, broadcast scalars too ("pixel_one_cell"), so the SIMD lanes need no gathers; the few
  blocks straddling two cells use per-lane lookups ("pixel"). The CPU form.
- "taps": every pixel gathers the two depth bins around its guide value at the two columns around
  its x ("pixel", as grid_sample does): 4 lookups per coefficient whatever D is. The GPU form.
Both give the grid_sample value (to float rounding).

`KernelSpec.compute` "float16" does the arithmetic in half precision (the weights and the grid are
then float16 inputs too); the pixel -> grid coordinate arithmetic stays float32 (a column index of a
12000-px row is not exact in half). `KernelSpec.layout` "nv12"/"nv21" reads and writes YUV 4:2:0
(aicam_opt.yuv's conventions): one lane handles a 2x2 cell of pixels in four steps (the luma plane at
full resolution, the cell's chroma read once), converts YUV to RGB in registers, runs the student,
writes luma and keeps each pixel's chroma in a per-block scratch ("quad"), which the "chroma" block
averages into the output chroma. At odd sizes the last cell repeats its one pixel row or column, so
the average is over the pixels that exist.

The weights are kernel *inputs* (ccm, thresholds, slopes, mix, grid), so one compiled kernel serves
every grid the low-res path predicts and every checkpoint of the same shape; only the shape and the
variant (`KernelSpec`) are baked in.

Row bands: the kernel takes `row_offset` and `full_height`, so a band of rows uses the global
y coordinate y / (H - 1) of the whole picture; a banded run equals an unbanded one bit for bit
(YUV bands start on an even row, so a band is whole chroma rows).

Scheduling is separate (`schedule_for(target)`), so the same definition compiles for this x86-64
host, the phone's CPU (llvm aarch64-linux-android) and its GPU (opencl, thread-bound; untuned).
Columns are processed in blocks of `lanes` pixels (YUV: chroma columns), `lanes_for(target)`: VEC, or 16
on an AVX-512 CPU (one register of float32 lanes); the last block of a row is
shifted left to end at the last column (it overlaps the previous block and rewrites the same values),
so every block is a full vector and no tail loop or predicate is needed. Pictures narrower than a
block are left to the caller (PyTorch).
"""
from __future__ import annotations

import numpy as np
import tvm
from tvm.s_tir import Schedule
from tvm.script import tirx as T

from ..yuv import YUV_MATRICES, matrix_terms, rgb_from_yuv_matrix
from .spec import PIXEL_SCALE, VEC, YUV_LAYOUTS, KernelSpec, PixelType

def min_width(spec: KernelSpec, lanes: int = VEC) -> int:
    """The narrowest picture the kernel runs: one full block of `lanes` pixels (YUV: chroma columns)."""
    return 2 * lanes - 1 if spec.layout in YUV_LAYOUTS else lanes


class _PixelMath:
    """The per-pixel arithmetic of one spec, as TIR expression builders called while the kernel is parsed.

    Values are in the compute type (`ct`) except coordinates (float32) and indices (int32); a cast is
    added only where the types differ, so the float32 kernel has none.
    """

    def __init__(self, spec: KernelSpec):
        self.spec = spec
        self.ct = spec.compute
        self.tent = spec.slice == "tent"

    def c(self, value: float):
        return tvm.tirx.const(value, self.ct)

    def to_compute(self, value):
        return value if dtype_of(value) == self.ct else T.Cast(self.ct, value)

    def clamp01(self, v):
        return T.min(T.max(v, self.c(0.0)), self.c(1.0))

    # --- pixels in and out ---------------------------------------------------------------------------
    def load(self, value, dtype: PixelType):
        """A stored pixel value -> [0, 1] in the compute type."""
        scale = PIXEL_SCALE[dtype]
        if dtype == "float32":
            return T.Cast(self.ct, value)
        if self.ct == "float32" or dtype == "uint8":
            return T.Cast(self.ct, value) * self.c(1.0 / scale)
        # uint16 with float16 arithmetic: 65535 overflows half, so scale in float32 first
        return T.Cast(self.ct, T.Cast("float32", value) * T.float32(1.0 / scale))

    def store(self, v, dtype: PixelType):
        """A clamped [0, 1] value -> the stored pixel type. Rounds half up of the clamped value: the same
        as np.round except on exact .5 ties."""
        if dtype == "float32":
            return v if self.ct == "float32" else T.Cast("float32", v)
        if self.ct == "float32" or dtype == "uint8":
            return T.Cast(dtype, T.floor(v * self.c(PIXEL_SCALE[dtype]) + self.c(0.5)))
        return T.Cast(dtype, T.floor(T.Cast("float32", v) * T.float32(PIXEL_SCALE[dtype]) + T.float32(0.5)))

    # --- the student ---------------------------------------------------------------------------------
    def guide(self, pix, ccm, ccm_bias, thresholds, slopes, mix, mix_bias):
        acc = mix_bias[0]
        for c in range(self.spec.n_curves):
            v = ccm_bias[c] + ccm[c, 0] * pix[0] + ccm[c, 1] * pix[1] + ccm[c, 2] * pix[2]
            curve = slopes[c, 0] * T.max(v - thresholds[c, 0], self.c(0.0))
            for k in range(1, self.spec.knots):
                curve = curve + slopes[c, k] * T.max(v - thresholds[c, k], self.c(0.0))
            acc = acc + mix[c] * curve
        return self.clamp01(acc)

    def depth_coord(self, g):
        return g * self.c(self.spec.depth - 1)

    def affine(self, a0, a1, a2, a3, pix):
        return self.clamp01(a0 * pix[0] + a1 * pix[1] + a2 * pix[2] + a3)

    def y_lerp(self, grid, k, d, gx, vy, row_offset, full_height):
        gsize = self.spec.grid_size
        fy = row_coord(vy, row_offset, full_height, gsize)
        wy = self.to_compute(upper_weight(fy, gsize))
        return (self.c(1.0) - wy) * grid[k, d, lower_cell(fy, gsize), gx] + wy * grid[k, d, lower_cell(fy, gsize) + 1, gx]

    def tent_z(self, rowgrid, rowdiff, row, k, x0, fz, wx):
        """Same value as bilinear_zx when all lanes share the column cell x0: no per-lane gathers.

        Depth is resolved with tent weights max(0, 1 - |fz - d|) (exactly the lerp weights: zero but
        for the two bins around fz) over the D bins, all read as broadcast scalars of the row table.
        """
        total = None
        for d in range(self.spec.depth):
            w = T.max(self.c(1.0) - T.fabs(fz - self.c(d)), self.c(0.0))
            term = w * (rowgrid[(*row, k, d, x0)] + wx * rowdiff[(*row, k, d, x0)])
            total = term if total is None else total + term
        return total

    def lerp_z(self, rowgrid, rowdiff, row, k, z0, x0, wz, wx):
        """Same value as tent_z when all lanes share the depth bin z0 and the column cell x0: the two
        bins around the guide read as broadcast scalars, lerped over x, then over depth."""
        lower = rowgrid[(*row, k, z0, x0)] + wx * rowdiff[(*row, k, z0, x0)]
        upper = rowgrid[(*row, k, z0 + 1, x0)] + wx * rowdiff[(*row, k, z0 + 1, x0)]
        return lower + wz * (upper - lower)

    def bilinear_zx(self, rowgrid, row, k, z0, x0, wz, wx):
        """Lerp over depth and columns of the row's y-interpolated grid (grid_sample's weights)."""
        lo_z, lo_x = self.c(1.0) - wz, self.c(1.0) - wx
        return (lo_z * (lo_x * rowgrid[(*row, k, z0, x0)] + wx * rowgrid[(*row, k, z0, x0 + 1)])
                + wz * (lo_x * rowgrid[(*row, k, z0 + 1, x0)] + wx * rowgrid[(*row, k, z0 + 1, x0 + 1)]))

    def channel_tent(self, ch, rowgrid, rowdiff, row, x0, fz, wx, pix):
        """Output channel `ch` (clamped, compute type) of a pixel in a one-cell block; `row` indexes the
        pixel's row tables (the leading indices of rowgrid and rowdiff)."""
        return self.affine(*(self.tent_z(rowgrid, rowdiff, row, ch * 4 + i, x0, fz, wx) for i in range(4)), pix)

    def channel_bin(self, ch, rowgrid, rowdiff, row, z0, x0, wz, wx, pix):
        """Output channel `ch` of a pixel in a block whose lanes share the depth bin z0 (and column cell x0)."""
        return self.affine(*(self.lerp_z(rowgrid, rowdiff, row, ch * 4 + i, z0, x0, wz, wx) for i in range(4)), pix)

    def channel_taps(self, ch, rowgrid, row, z0, x0, wz, wx, pix):
        """Output channel `ch` (clamped, compute type) from the gathered taps around (x, g)."""
        return self.affine(*(self.bilinear_zx(rowgrid, row, ch * 4 + i, z0, x0, wz, wx) for i in range(4)), pix)

    def weight(self, coord, cell):
        """The upper cell's weight as a compute-type value (coordinates are float32)."""
        return self.to_compute(coord - T.Cast("float32", cell))

    # --- YUV <-> RGB (aicam_opt.yuv's matrices) ------------------------------------------------------
    def _linear(self, row, terms):
        """sum(row[j] * terms[j]) with the structural zeros and ones of a YUV matrix left out."""
        total = None
        for j, coef in matrix_terms(row):
            part = terms[j] if coef is None else self.c(coef) * terms[j]
            total = part if total is None else total + part
        return total

    def yuv_offsets(self) -> np.ndarray:
        return YUV_MATRICES[self.spec.yuv][1]

    def centred(self, code, component: int):
        """An 8-bit Y, U or V code -> its value minus the standard's offset (compute type)."""
        value = T.Cast(self.ct, code) * self.c(1.0 / 255.0)
        offset = float(self.yuv_offsets()[component])
        return value if offset == 0.0 else value - self.c(offset)

    def rgb_from_yuv(self, channel: int, yuv):
        return self.clamp01(self._linear(rgb_from_yuv_matrix(self.spec.yuv)[channel], yuv))

    def yuv_from_rgb(self, component: int, rgb):
        """Component 0 (Y), 1 (U) or 2 (V) of an RGB value, offset included (not clamped)."""
        offset = float(self.yuv_offsets()[component])
        linear = self._linear(YUV_MATRICES[self.spec.yuv][0][component], rgb)
        return linear if offset == 0.0 else linear + self.c(offset)


# --- coordinates (float32) and cells (int32) ---------------------------------------------------------

def dtype_of(expr) -> str:
    return str(expr.ty.dtype)


def cell(coord, size):
    """grid_sample's unnormalised coordinate -> (lower cell index, weight of the upper cell)."""
    i0 = T.min(T.max(T.Cast("int32", T.floor(coord)), 0), size - 2)
    return i0, coord - T.Cast(dtype_of(coord), i0)


def lower_cell(coord, size):
    return cell(coord, size)[0]


def upper_weight(coord, size):
    return cell(coord, size)[1]


def row_coord(vy, row_offset, full_height, gsize):
    return T.Cast("float32", vy + row_offset) * (T.float32(gsize - 1) / T.Cast("float32", T.max(full_height - 1, 1)))


def col_coord(x, width, gsize):
    return T.Cast("float32", x) * (T.float32(gsize - 1) / T.Cast("float32", T.max(width - 1, 1)))


def define_fullres(spec: KernelSpec, lanes: int = VEC) -> tvm.tirx.PrimFunc:
    """The target-independent TensorIR definition of the fused full-res path (unscheduled), in column
    blocks of `lanes` pixels (`lanes_for(target)`: the SIMD width the target's code runs)."""
    return _define_yuv(spec, lanes) if spec.layout in YUV_LAYOUTS else _define_rgb(spec, lanes)


def _define_rgb(spec: KernelSpec, lanes: int) -> tvm.tirx.PrimFunc:
    nc, nk, depth, gsize, dtype = spec.n_curves, spec.knots, spec.depth, spec.grid_size, spec.dtype
    m = _PixelMath(spec)
    ct, tent = m.ct, m.tent

    def load(img, y, x, c):
        return m.load(img[y, x, c], dtype)

    def column(vxb, vxi, width):
        # The last block of a row is shifted to end at column width-1 (needs width >= VEC), so every
        # block is a full vector: no tail loop, no predicate.
        return T.min(vxb * lanes, width - lanes) + vxi

    def block_cell(vxb, lane, width):
        return lower_cell(col_coord(column(vxb, lane, width), width, gsize), gsize)

    def one_cell(xb, width):
        """Does the block lie in one grid column cell? (tent form only; taps gathers every pixel)"""
        return block_cell(xb, 0, width) == block_cell(xb, lanes - 1, width) if tent else False

    def one_bin(bins, y, xb):
        """Do all lanes of the block lie between the same two depth bins?"""
        return tvm.tirx.all(*(bins[y, xb, lane] == bins[y, xb, 0] for lane in range(1, lanes)))

    @T.prim_func(s_tir=True)
    def fullres(image: T.handle, ccm_h: T.handle, ccm_bias_h: T.handle, thresholds_h: T.handle,
                slopes_h: T.handle, mix_h: T.handle, mix_bias_h: T.handle, grid_h: T.handle,
                out_h: T.handle, row_offset: T.int32, full_height: T.int32):
        T.func_attr({"global_symbol": "fullres", "tirx.noalias": True})
        rows = T.int32()
        width = T.int32()
        img = T.match_buffer(image, (rows, width, 3), dtype)
        out = T.match_buffer(out_h, (rows, width, 3), dtype)
        ccm = T.match_buffer(ccm_h, (nc, 3), ct)
        ccm_bias = T.match_buffer(ccm_bias_h, (nc,), ct)
        thresholds = T.match_buffer(thresholds_h, (nc, nk), ct)
        slopes = T.match_buffer(slopes_h, (nc, nk), ct)
        mix = T.match_buffer(mix_h, (nc,), ct)
        mix_bias = T.match_buffer(mix_bias_h, (1,), ct)
        grid = T.match_buffer(grid_h, (12, depth, gsize, gsize), ct)
        # The grid interpolated at each row's y (trilinear = lerp over y, then over depth and x): the
        # y part is the same for a whole row, so it is done once per row, not once per pixel.
        rowgrid = T.sblock_alloc_buffer((rows, 12, depth, gsize), ct)
        for y, k, d, gx in T.grid(rows, 12, depth, gsize):
            with T.sblock("rowgrid"):
                vy, vk, vd, vgx = T.axis.remap("SSSS", [y, k, d, gx])
                T.reads(grid[vk, vd, 0:gsize, vgx])
                T.writes(rowgrid[vy, vk, vd, vgx])
                rowgrid[vy, vk, vd, vgx] = m.y_lerp(grid, vk, vd, vgx, vy, row_offset, full_height)
        if tent:
            rowdiff = T.sblock_alloc_buffer((rows, 12, depth, gsize), ct)  # next column minus this
            for y, k, d, gx in T.grid(rows, 12, depth, gsize):
                with T.sblock("rowdiff"):
                    vy, vk, vd, vgx = T.axis.remap("SSSS", [y, k, d, gx])
                    T.reads(grid[vk, vd, 0:gsize, 0:gsize])
                    T.writes(rowdiff[vy, vk, vd, vgx])
                    rowdiff[vy, vk, vd, vgx] = (m.y_lerp(grid, vk, vd, T.min(vgx + 1, gsize - 1), vy, row_offset, full_height)
                                                - m.y_lerp(grid, vk, vd, vgx, vy, row_offset, full_height))
        # Per one-cell block: each lane's pixel (in the compute type), depth coordinate and bin, until
        # the slice reads them (registers: the pixel is read and converted once).
        pixels = T.sblock_alloc_buffer((rows, (width + lanes - 1) // lanes, 3, lanes), ct)
        depths = T.sblock_alloc_buffer((rows, (width + lanes - 1) // lanes, lanes), ct)
        bins = T.sblock_alloc_buffer((rows, (width + lanes - 1) // lanes, lanes), "int32")
        for y, xb in T.grid(rows, (width + lanes - 1) // lanes):
            if one_cell(xb, width):
                # Common case (a grid cell spans W/(G-1) >> VEC columns): one column cell per block.
                for xi in range(lanes):
                    with T.sblock("guide"):
                        vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                        T.reads(img[vy, 0:width, 0:3], ccm[0:nc, 0:3], ccm_bias[0:nc], thresholds[0:nc, 0:nk],
                                slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(pixels[vy, vxb, 0:3, vxi], depths[vy, vxb, vxi], bins[vy, vxb, vxi])
                        p0: T.let = load(img, vy, column(vxb, vxi, width), 0)
                        p1: T.let = load(img, vy, column(vxb, vxi, width), 1)
                        p2: T.let = load(img, vy, column(vxb, vxi, width), 2)
                        fz: T.let = m.depth_coord(m.guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias))
                        pixels[vy, vxb, 0, vxi] = p0
                        pixels[vy, vxb, 1, vxi] = p1
                        pixels[vy, vxb, 2, vxi] = p2
                        depths[vy, vxb, vxi] = fz
                        bins[vy, vxb, vxi] = lower_cell(fz, depth)
                if one_bin(bins, y, xb):
                    # All lanes between the same two depth bins (smooth regions: most blocks of a
                    # photo): the two bins read as broadcast scalars and lerped, not the tent over D.
                    for xi in range(lanes):
                        with T.sblock("pixel_one_bin"):
                            vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                            T.reads(pixels[vy, vxb, 0:3, vxi], depths[vy, vxb, vxi], bins[vy, vxb, 0],
                                    rowgrid[vy, 0:12, 0:depth, 0:gsize], rowdiff[vy, 0:12, 0:depth, 0:gsize])
                            T.writes(out[vy, 0:width, 0:3])
                            p0: T.let = pixels[vy, vxb, 0, vxi]
                            p1: T.let = pixels[vy, vxb, 1, vxi]
                            p2: T.let = pixels[vy, vxb, 2, vxi]
                            z0: T.let[T.int32] = bins[vy, vxb, 0]
                            wz: T.let = depths[vy, vxb, vxi] - T.Cast(ct, z0)
                            x0: T.let[T.int32] = block_cell(vxb, 0, width)
                            wx: T.let = m.weight(col_coord(column(vxb, vxi, width), width, gsize), x0)
                            for ch in T.unroll(3):
                                out[vy, column(vxb, vxi, width), ch] = m.store(
                                    m.channel_bin(ch, rowgrid, rowdiff, (vy,), z0, x0, wz, wx, (p0, p1, p2)), dtype)
                else:
                    for xi in range(lanes):
                        with T.sblock("pixel_one_cell"):
                            vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                            T.reads(pixels[vy, vxb, 0:3, vxi], depths[vy, vxb, vxi], rowgrid[vy, 0:12, 0:depth, 0:gsize],
                                    rowdiff[vy, 0:12, 0:depth, 0:gsize])
                            T.writes(out[vy, 0:width, 0:3])
                            p0: T.let = pixels[vy, vxb, 0, vxi]
                            p1: T.let = pixels[vy, vxb, 1, vxi]
                            p2: T.let = pixels[vy, vxb, 2, vxi]
                            fz: T.let = depths[vy, vxb, vxi]
                            x0: T.let[T.int32] = block_cell(vxb, 0, width)
                            wx: T.let = m.weight(col_coord(column(vxb, vxi, width), width, gsize), x0)
                            for ch in T.unroll(3):
                                out[vy, column(vxb, vxi, width), ch] = m.store(
                                    m.channel_tent(ch, rowgrid, rowdiff, (vy,), x0, fz, wx, (p0, p1, p2)), dtype)
            else:
                for xi in range(lanes):
                    with T.sblock("pixel"):
                        vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                        T.reads(img[vy, 0:width, 0:3], rowgrid[vy, 0:12, 0:depth, 0:gsize], ccm[0:nc, 0:3],
                                ccm_bias[0:nc], thresholds[0:nc, 0:nk], slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(out[vy, 0:width, 0:3])
                        p0: T.let = load(img, vy, column(vxb, vxi, width), 0)
                        p1: T.let = load(img, vy, column(vxb, vxi, width), 1)
                        p2: T.let = load(img, vy, column(vxb, vxi, width), 2)
                        g: T.let = m.guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias)
                        fx: T.let[T.float32] = col_coord(column(vxb, vxi, width), width, gsize)
                        fz: T.let = m.depth_coord(g)
                        x0: T.let[T.int32] = lower_cell(fx, gsize)
                        z0: T.let[T.int32] = lower_cell(fz, depth)
                        wx: T.let = m.weight(fx, x0)
                        wz: T.let = fz - T.Cast(ct, z0)
                        for ch in T.unroll(3):
                            out[vy, column(vxb, vxi, width), ch] = m.store(
                                m.channel_taps(ch, rowgrid, (vy,), z0, x0, wz, wx, (p0, p1, p2)), dtype)

    return fullres


def _define_yuv(spec: KernelSpec, lanes: int) -> tvm.tirx.PrimFunc:
    nc, nk, depth, gsize = spec.n_curves, spec.knots, spec.depth, spec.grid_size
    m = _PixelMath(spec)
    ct, tent = m.ct, m.tent
    # the Y, U, V component each chroma slot holds: UV order (NV12) or VU order (NV21)
    slot0, slot1 = (1, 2) if spec.layout == "nv12" else (2, 1)
    u_slot, v_slot = (0, 1) if spec.layout == "nv12" else (1, 0)

    def chroma_col(vcxb, vcxi, cwidth):
        # As in the RGB kernel, the last block is shifted to end at the last chroma column.
        return T.min(vcxb * lanes, cwidth - lanes) + vcxi

    def luma_row(vcy, vsy, rows):
        return T.min(vcy * 2 + vsy, rows - 1)  # an odd last row: its cell repeats that row

    def luma_col(vcxb, vcxi, vsx, cwidth, width):
        return T.min(chroma_col(vcxb, vcxi, cwidth) * 2 + vsx, width - 1)

    def block_cell(vcxb, lane, vsx, cwidth, width):
        return lower_cell(col_coord(luma_col(vcxb, lane, vsx, cwidth, width), width, gsize), gsize)

    def one_cell(cxb, cwidth, width):
        """Do the block's 2 VEC pixel columns lie in one grid column cell? (tent form only)"""
        return block_cell(cxb, 0, 0, cwidth, width) == block_cell(cxb, lanes - 1, 1, cwidth, width) if tent else False

    @T.prim_func(s_tir=True)
    def fullres(luma_h: T.handle, chroma_h: T.handle, ccm_h: T.handle, ccm_bias_h: T.handle,
                thresholds_h: T.handle, slopes_h: T.handle, mix_h: T.handle, mix_bias_h: T.handle,
                grid_h: T.handle, luma_out_h: T.handle, chroma_out_h: T.handle, row_offset: T.int32,
                full_height: T.int32):
        T.func_attr({"global_symbol": "fullres", "tirx.noalias": True})
        rows = T.int32()
        width = T.int32()
        crows = T.int32()
        cwidth = T.int32()
        luma = T.match_buffer(luma_h, (rows, width), "uint8")
        chroma = T.match_buffer(chroma_h, (crows, cwidth, 2), "uint8")  # crows = ceil(rows / 2), cwidth likewise
        luma_out = T.match_buffer(luma_out_h, (rows, width), "uint8")
        chroma_out = T.match_buffer(chroma_out_h, (crows, cwidth, 2), "uint8")
        ccm = T.match_buffer(ccm_h, (nc, 3), ct)
        ccm_bias = T.match_buffer(ccm_bias_h, (nc,), ct)
        thresholds = T.match_buffer(thresholds_h, (nc, nk), ct)
        slopes = T.match_buffer(slopes_h, (nc, nk), ct)
        mix = T.match_buffer(mix_h, (nc,), ct)
        mix_bias = T.match_buffer(mix_bias_h, (1,), ct)
        grid = T.match_buffer(grid_h, (12, depth, gsize, gsize), ct)
        # The row tables of the two luma rows of each chroma row (an odd last row: twice the same row).
        rowgrid = T.sblock_alloc_buffer((crows, 2, 12, depth, gsize), ct)
        for cy, sy, k, d, gx in T.grid(crows, 2, 12, depth, gsize):
            with T.sblock("rowgrid"):
                vcy, vsy, vk, vd, vgx = T.axis.remap("SSSSS", [cy, sy, k, d, gx])
                T.reads(grid[vk, vd, 0:gsize, vgx])
                T.writes(rowgrid[vcy, vsy, vk, vd, vgx])
                rowgrid[vcy, vsy, vk, vd, vgx] = m.y_lerp(grid, vk, vd, vgx, luma_row(vcy, vsy, rows), row_offset,
                                                          full_height)
        if tent:
            rowdiff = T.sblock_alloc_buffer((crows, 2, 12, depth, gsize), ct)
            for cy, sy, k, d, gx in T.grid(crows, 2, 12, depth, gsize):
                with T.sblock("rowdiff"):
                    vcy, vsy, vk, vd, vgx = T.axis.remap("SSSSS", [cy, sy, k, d, gx])
                    T.reads(grid[vk, vd, 0:gsize, 0:gsize])
                    T.writes(rowdiff[vcy, vsy, vk, vd, vgx])
                    rowdiff[vcy, vsy, vk, vd, vgx] = (
                        m.y_lerp(grid, vk, vd, T.min(vgx + 1, gsize - 1), luma_row(vcy, vsy, rows), row_offset, full_height)
                        - m.y_lerp(grid, vk, vd, vgx, luma_row(vcy, vsy, rows), row_offset, full_height))
        # Each pixel's output chroma (both slots), per block of VEC chroma columns, until averaged.
        quad = T.sblock_alloc_buffer((crows, (cwidth + lanes - 1) // lanes, 2, 2, 2, lanes), ct)
        for cy, cxb in T.grid(crows, (cwidth + lanes - 1) // lanes):
            if one_cell(cxb, cwidth, width):
                for sy, sx, cxi in T.grid(2, 2, lanes):
                    with T.sblock("pixel_one_cell"):
                        vcy, vcxb, vsy, vsx, vcxi = T.axis.remap("SSSSS", [cy, cxb, sy, sx, cxi])
                        T.reads(luma[luma_row(vcy, vsy, rows), 0:width], chroma[vcy, 0:cwidth, 0:2],
                                rowgrid[vcy, vsy, 0:12, 0:depth, 0:gsize],
                                rowdiff[vcy, vsy, 0:12, 0:depth, 0:gsize], ccm[0:nc, 0:3],
                                ccm_bias[0:nc], thresholds[0:nc, 0:nk], slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(luma_out[luma_row(vcy, vsy, rows), 0:width], quad[vcy, vcxb, vsy, vsx, 0:2, vcxi])
                        vy: T.let[T.int32] = luma_row(vcy, vsy, rows)
                        vx: T.let[T.int32] = luma_col(vcxb, vcxi, vsx, cwidth, width)
                        vc: T.let[T.int32] = chroma_col(vcxb, vcxi, cwidth)
                        yd: T.let = m.centred(luma[vy, vx], 0)
                        ud: T.let = m.centred(chroma[vcy, vc, u_slot], 1)
                        vd: T.let = m.centred(chroma[vcy, vc, v_slot], 2)
                        p0: T.let = m.rgb_from_yuv(0, (yd, ud, vd))
                        p1: T.let = m.rgb_from_yuv(1, (yd, ud, vd))
                        p2: T.let = m.rgb_from_yuv(2, (yd, ud, vd))
                        g: T.let = m.guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias)
                        fz: T.let = m.depth_coord(g)
                        x0: T.let[T.int32] = block_cell(vcxb, 0, 0, cwidth, width)
                        wx: T.let = m.weight(col_coord(vx, width, gsize), x0)
                        o0: T.let = m.channel_tent(0, rowgrid, rowdiff, (vcy, vsy), x0, fz, wx, (p0, p1, p2))
                        o1: T.let = m.channel_tent(1, rowgrid, rowdiff, (vcy, vsy), x0, fz, wx, (p0, p1, p2))
                        o2: T.let = m.channel_tent(2, rowgrid, rowdiff, (vcy, vsy), x0, fz, wx, (p0, p1, p2))
                        luma_out[vy, vx] = m.store(m.clamp01(m.yuv_from_rgb(0, (o0, o1, o2))), "uint8")
                        quad[vcy, vcxb, vsy, vsx, 0, vcxi] = m.yuv_from_rgb(slot0, (o0, o1, o2))
                        quad[vcy, vcxb, vsy, vsx, 1, vcxi] = m.yuv_from_rgb(slot1, (o0, o1, o2))
            else:
                for sy, sx, cxi in T.grid(2, 2, lanes):
                    with T.sblock("pixel"):
                        vcy, vcxb, vsy, vsx, vcxi = T.axis.remap("SSSSS", [cy, cxb, sy, sx, cxi])
                        T.reads(luma[luma_row(vcy, vsy, rows), 0:width], chroma[vcy, 0:cwidth, 0:2],
                                rowgrid[vcy, vsy, 0:12, 0:depth, 0:gsize], ccm[0:nc, 0:3],
                                ccm_bias[0:nc], thresholds[0:nc, 0:nk], slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(luma_out[luma_row(vcy, vsy, rows), 0:width], quad[vcy, vcxb, vsy, vsx, 0:2, vcxi])
                        vy: T.let[T.int32] = luma_row(vcy, vsy, rows)
                        vx: T.let[T.int32] = luma_col(vcxb, vcxi, vsx, cwidth, width)
                        vc: T.let[T.int32] = chroma_col(vcxb, vcxi, cwidth)
                        yd: T.let = m.centred(luma[vy, vx], 0)
                        ud: T.let = m.centred(chroma[vcy, vc, u_slot], 1)
                        vd: T.let = m.centred(chroma[vcy, vc, v_slot], 2)
                        p0: T.let = m.rgb_from_yuv(0, (yd, ud, vd))
                        p1: T.let = m.rgb_from_yuv(1, (yd, ud, vd))
                        p2: T.let = m.rgb_from_yuv(2, (yd, ud, vd))
                        g: T.let = m.guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias)
                        fx: T.let[T.float32] = col_coord(vx, width, gsize)
                        fz: T.let = m.depth_coord(g)
                        x0: T.let[T.int32] = lower_cell(fx, gsize)
                        z0: T.let[T.int32] = lower_cell(fz, depth)
                        wx: T.let = m.weight(fx, x0)
                        wz: T.let = fz - T.Cast(ct, z0)
                        o0: T.let = m.channel_taps(0, rowgrid, (vcy, vsy), z0, x0, wz, wx, (p0, p1, p2))
                        o1: T.let = m.channel_taps(1, rowgrid, (vcy, vsy), z0, x0, wz, wx, (p0, p1, p2))
                        o2: T.let = m.channel_taps(2, rowgrid, (vcy, vsy), z0, x0, wz, wx, (p0, p1, p2))
                        luma_out[vy, vx] = m.store(m.clamp01(m.yuv_from_rgb(0, (o0, o1, o2))), "uint8")
                        quad[vcy, vcxb, vsy, vsx, 0, vcxi] = m.yuv_from_rgb(slot0, (o0, o1, o2))
                        quad[vcy, vcxb, vsy, vsx, 1, vcxi] = m.yuv_from_rgb(slot1, (o0, o1, o2))
            for cxi in range(lanes):
                with T.sblock("chroma"):
                    vcy, vcxb, vcxi = T.axis.remap("SSS", [cy, cxb, cxi])
                    T.reads(quad[vcy, vcxb, 0:2, 0:2, 0:2, vcxi])
                    T.writes(chroma_out[vcy, chroma_col(vcxb, vcxi, cwidth), 0:2])
                    for slot in T.unroll(2):
                        chroma_out[vcy, chroma_col(vcxb, vcxi, cwidth), slot] = m.store(m.clamp01(
                            (quad[vcy, vcxb, 0, 0, slot, vcxi] + quad[vcy, vcxb, 0, 1, slot, vcxi]
                             + quad[vcy, vcxb, 1, 0, slot, vcxi] + quad[vcy, vcxb, 1, 1, slot, vcxi]) * m.c(0.25)),
                            "uint8")

    return fullres


def _sblocks(sch: Schedule, *names: str) -> list:
    """The named blocks the definition has (a taps kernel has no one-cell block, RGB no chroma block)."""
    found = []
    for name in names:
        try:
            found.append(sch.get_sblock(name))
        except Exception:  # noqa: BLE001 - TVM raises its ScheduleError for an absent block
            continue
    return found


def schedule_cpu(func: tvm.tirx.PrimFunc) -> tvm.IRModule:
    """CPU: rows (YUV: chroma rows) in parallel over the cores, VEC pixels of a column block in SIMD lanes."""
    sch = Schedule(func)
    y = sch.get_loops(sch.get_sblock("pixel"))[0]
    # Each row's y-interpolated grid (2 x 6 KB) is made by the thread that processes the row, in cache.
    for table in _sblocks(sch, "rowgrid", "rowdiff"):
        sch.compute_at(table, y)
        # grid column outermost: the 2 x 12 x D values a one-cell block reads lie together, at fixed
        # offsets from one base (no per-load index arithmetic)
        sch.transform_layout(table, ("write", 0), _column_major_table)
    sch.parallel(y)
    for block in _sblocks(sch, "guide", "pixel", "pixel_one_cell", "pixel_one_bin", "chroma"):
        sch.vectorize(sch.get_loops(block)[-1])
    return sch.mod


def _column_major_table(*index):
    """(rows..., coefficient, bin, grid column) -> (rows..., grid column, coefficient, bin)."""
    *rows, k, d, gx = index
    return (*rows, gx, k, d)


def schedule_gpu(func: tvm.tirx.PrimFunc, threads: int = 64) -> tvm.IRModule:
    """GPU (OpenCL on Adreno): a work-group per row segment, a thread per VEC-pixel column block (YUV:
    VEC chroma columns of a chroma row, their 2x2 cells' chroma scratch in the thread's registers)."""
    sch = Schedule(func)
    y, xb = sch.get_loops(sch.get_sblock("pixel"))[:2]
    xbo, xbi = sch.split(xb, [None, threads])
    sch.reorder(y, xbo, xbi)
    fused = sch.fuse(y, xbo)
    # No per-row tables on the GPU: the y lerp is folded back into each pixel's lookups (registers
    # and the texture/L1 cache serve the small grid; no work-group staging needed).
    for table in _sblocks(sch, "rowgrid", "rowdiff"):
        sch.compute_inline(table)
    guide = _sblocks(sch, "guide")
    for index in range(len(sch.get(guide[0]).writes) if guide else 0):  # a block's depths: the thread's registers
        sch.set_scope(guide[0], index, "local")
    for block in _sblocks(sch, "pixel", "pixel_one_cell"):
        written = [region.source.name for region in sch.get(block).writes]
        if "quad" in written:  # a YUV kernel's chroma scratch: the thread's own registers
            sch.set_scope(block, written.index("quad"), "local")
            break
    sch.bind(fused, "blockIdx.x")
    sch.bind(xbi, "threadIdx.x")
    return sch.mod


def schedule_for(func: tvm.tirx.PrimFunc, target: tvm.target.Target) -> tvm.IRModule:
    if target.kind.name in ("opencl", "cuda", "vulkan", "metal"):
        return schedule_gpu(func)
    return schedule_cpu(func)


HOST_TARGET = {"kind": "llvm", "mcpu": "native"}
PHONE_CPU_TARGET = {"kind": "llvm", "mtriple": "aarch64-linux-android", "mattr": ["+neon"]}
PHONE_GPU_TARGET = {"kind": "opencl", "device": "adreno", "host": PHONE_CPU_TARGET}


def resolve_target(target: dict | str | tvm.target.Target) -> tvm.target.Target:
    """A target dict/str -> Target; mcpu 'native' becomes this host's CPU name (e.g. znver3)."""
    if isinstance(target, dict) and target.get("mcpu") == "native":
        target = {**target, "mcpu": tvm.target.codegen.llvm_get_system_cpu()}
    return target if isinstance(target, tvm.target.Target) else tvm.target.Target(target)


def with_fp16_arithmetic(target: tvm.target.Target) -> tvm.target.Target:
    """An aarch64 LLVM target with the Armv8.2-A half-precision arithmetic extension (+fullfp16) enabled.

    Without it LLVM computes a float16 kernel in float32 and rounds after every operation (correct, no
    faster). Every core of the sd865 has it (Cortex-A77 and A55); an explicit mcpu such as cortex-a77
    already implies it. Other targets are returned unchanged (OpenCL enables cl_khr_fp16 itself when
    the kernel uses half; x86 has no fp16 arithmetic below AVX512-FP16 and converts with F16C).
    """
    if (target.kind.name != "llvm" or not target.attrs.get("feature.is_aarch64", False)
            or target.attrs.get("feature.has_fp16_simd", False)):
        return target
    config = dict(target.export())
    return tvm.target.Target({**config, "mattr": [*config.get("mattr", []), "+fullfp16"]})


def build(spec: KernelSpec, target: dict | str | tvm.target.Target = HOST_TARGET) -> tvm.runtime.Module:
    """Schedule the definition for `target` and compile it (tvm.compile); a float16 kernel for an aarch64
    CPU gets the fp16 arithmetic extension (`with_fp16_arithmetic`)."""
    target = resolve_target(target)
    if spec.compute == "float16":
        target = with_fp16_arithmetic(target)
    return tvm.compile(schedule_for(define_fullres(spec, lanes_for(target)), target), target=target)


def lanes_for(target: dict | str | tvm.target.Target) -> int:
    """Pixels per column block: VEC, or a whole register of float32 lanes where the CPU's is wider
    (16 with AVX-512: one block's broadcast table reads and bin checks serve twice the pixels)."""
    target = resolve_target(target)
    if target.kind.name != "llvm":
        return VEC
    return max(VEC, tvm.target.codegen.llvm_get_vector_width(target) // 32)
