"""The student's full-res path as ONE TensorIR kernel: guide, trilinear slice and affine apply fused.

`define_fullres(spec)` is the target-independent definition (a TVMScript PrimFunc). For each pixel
it reads the 3 channels once, computes the guide g(x) (colour matrix, piecewise-linear curves, mix,
clamp), slices the grid at (x, y, g) with the arithmetic of
`F.grid_sample(align_corners=True, padding_mode='border')`, applies the 3x4 affine and writes the 3
output channels once. No intermediate image exists; besides the pixels, only the weights and two
per-row tables (the grid already interpolated at the row's y, and its column differences; 12 KB,
in L1/L2) are read.

Why the row tables: trilinear = lerp over y (the same for a whole row), then over depth and x.
Doing y once per row halves the grid lookups. Then, for a block of VEC pixels that lie in one grid
column cell (nearly all blocks: a cell spans W/(G-1) >> VEC columns), the depth lookup is written
with tent weights over the D bins and broadcast scalars ("pixel_one_cell"), so the SIMD lanes need
no gathers; the few blocks straddling two cells use per-lane lookups ("pixel"). Both give the
grid_sample value (to float rounding).

The weights are kernel *inputs* (ccm, thresholds, slopes, mix, grid), so one compiled kernel serves
every grid the low-res path predicts and every checkpoint of the same shape; only the shape
(`KernelSpec`: curve count, knots, grid depth and size, pixel dtype) is baked in.

Row bands: the kernel takes `row_offset` and `full_height`, so a band of rows uses the global
y coordinate y / (H - 1) of the whole picture; a banded run equals an unbanded one bit for bit.

Scheduling is separate (`schedule_for(target)`), so the same definition compiles for this x86-64
host, the phone's CPU (llvm aarch64-linux-android) and its GPU (opencl, thread-bound; untuned).
Columns are processed in blocks of VEC pixels; the last block of a row is shifted left to end at
the last column (it overlaps the previous block and rewrites the same values), so every block is a
full vector and no tail loop or predicate is needed. Pictures narrower than VEC columns are left to
the caller (PyTorch).
"""
from __future__ import annotations

import tvm
from tvm.script import tirx as T
from tvm.s_tir import Schedule

from .spec import PIXEL_SCALE, VEC, KernelSpec, PixelType

def define_fullres(spec: KernelSpec) -> tvm.tirx.PrimFunc:
    """The target-independent TensorIR definition of the fused full-res path (unscheduled)."""
    nc, nk, depth, gsize, dtype = spec.n_curves, spec.knots, spec.depth, spec.grid_size, spec.dtype
    scale = PIXEL_SCALE[dtype]

    def f32(value: float):
        return T.float32(value)

    def clamp01(v):
        return T.min(T.max(v, f32(0.0)), f32(1.0))

    def load(img, y, x, c):
        v = T.Cast("float32", img[y, x, c])
        return v * f32(1.0 / scale) if dtype != "float32" else v

    def store_value(v):
        if dtype == "float32":
            return v
        # Round half up of the clamped value: same as np.round except on exact .5 ties.
        return T.Cast(dtype, T.floor(v * f32(scale) + f32(0.5)))

    def guide(pix, ccm, ccm_bias, thresholds, slopes, mix, mix_bias):
        acc = mix_bias[0]
        for c in range(nc):
            v = ccm_bias[c] + ccm[c, 0] * pix[0] + ccm[c, 1] * pix[1] + ccm[c, 2] * pix[2]
            curve = slopes[c, 0] * T.max(v - thresholds[c, 0], f32(0.0))
            for k in range(1, nk):
                curve = curve + slopes[c, k] * T.max(v - thresholds[c, k], f32(0.0))
            acc = acc + mix[c] * curve
        return clamp01(acc)

    def cell(coord, size):
        """grid_sample's unnormalised coordinate -> (lower cell index, weight of the upper cell)."""
        i0 = T.min(T.max(T.Cast("int32", T.floor(coord)), 0), size - 2)
        return i0, coord - T.Cast("float32", i0)

    def lower_cell(coord, size):
        return cell(coord, size)[0]

    def upper_weight(coord, size):
        return cell(coord, size)[1]

    def bilinear_zx(rowgrid, vy, k, z0, x0, wz, wx):
        """Lerp over depth and columns of the row's y-interpolated grid (grid_sample's weights)."""
        lo_z, lo_x = f32(1.0) - wz, f32(1.0) - wx
        return (lo_z * (lo_x * rowgrid[vy, k, z0, x0] + wx * rowgrid[vy, k, z0, x0 + 1])
                + wz * (lo_x * rowgrid[vy, k, z0 + 1, x0] + wx * rowgrid[vy, k, z0 + 1, x0 + 1]))

    def tent_z(rowgrid, rowdiff, vy, k, x0, fz, wx):
        """Same value as bilinear_zx when all lanes share the column cell x0: no per-lane gathers.

        Depth is resolved with tent weights max(0, 1 - |fz - d|) (exactly the lerp weights: zero but
        for the two bins around fz) over the D bins, all read as broadcast scalars of the row table.
        """
        total = None
        for d in range(depth):
            w = T.max(f32(1.0) - T.fabs(fz - f32(d)), f32(0.0))
            term = w * (rowgrid[vy, k, d, x0] + wx * rowdiff[vy, k, d, x0])
            total = term if total is None else total + term
        return total

    def y_lerp(grid, k, d, gx, vy, row_offset, full_height):
        fy = row_coord(vy, row_offset, full_height)
        wy = upper_weight(fy, gsize)
        return (f32(1.0) - wy) * grid[k, d, lower_cell(fy, gsize), gx] + wy * grid[k, d, lower_cell(fy, gsize) + 1, gx]

    def block_cell(vxb, lane, width):
        return lower_cell(col_coord(column(vxb, lane, width), width), gsize)

    def affine(a0, a1, a2, a3, p0, p1, p2):
        return store_value(clamp01(a0 * p0 + a1 * p1 + a2 * p2 + a3))

    def column(vxb, vxi, width):
        # The last block of a row is shifted to end at column width-1 (needs width >= VEC), so every
        # block is a full vector: no tail loop, no predicate.
        return T.min(vxb * VEC, width - VEC) + vxi

    def row_coord(vy, row_offset, full_height):
        return T.Cast("float32", vy + row_offset) * (f32(gsize - 1) / T.Cast("float32", T.max(full_height - 1, 1)))

    def col_coord(x, width):
        return T.Cast("float32", x) * (f32(gsize - 1) / T.Cast("float32", T.max(width - 1, 1)))

    @T.prim_func(s_tir=True)
    def fullres(image: T.handle, ccm_h: T.handle, ccm_bias_h: T.handle, thresholds_h: T.handle,
                slopes_h: T.handle, mix_h: T.handle, mix_bias_h: T.handle, grid_h: T.handle,
                out_h: T.handle, row_offset: T.int32, full_height: T.int32):
        T.func_attr({"global_symbol": "fullres", "tirx.noalias": True})
        rows = T.int32()
        width = T.int32()
        img = T.match_buffer(image, (rows, width, 3), dtype)
        out = T.match_buffer(out_h, (rows, width, 3), dtype)
        ccm = T.match_buffer(ccm_h, (nc, 3), "float32")
        ccm_bias = T.match_buffer(ccm_bias_h, (nc,), "float32")
        thresholds = T.match_buffer(thresholds_h, (nc, nk), "float32")
        slopes = T.match_buffer(slopes_h, (nc, nk), "float32")
        mix = T.match_buffer(mix_h, (nc,), "float32")
        mix_bias = T.match_buffer(mix_bias_h, (1,), "float32")
        grid = T.match_buffer(grid_h, (12, depth, gsize, gsize), "float32")
        # The grid interpolated at each row's y (trilinear = lerp over y, then over depth and x): the
        # y part is the same for a whole row, so it is done once per row, not once per pixel.
        rowgrid = T.sblock_alloc_buffer((rows, 12, depth, gsize), "float32")
        rowdiff = T.sblock_alloc_buffer((rows, 12, depth, gsize), "float32")  # next column minus this
        for y, k, d, gx in T.grid(rows, 12, depth, gsize):
            with T.sblock("rowgrid"):
                vy, vk, vd, vgx = T.axis.remap("SSSS", [y, k, d, gx])
                T.reads(grid[vk, vd, 0:gsize, vgx])
                T.writes(rowgrid[vy, vk, vd, vgx])
                rowgrid[vy, vk, vd, vgx] = y_lerp(grid, vk, vd, vgx, vy, row_offset, full_height)
        for y, k, d, gx in T.grid(rows, 12, depth, gsize):
            with T.sblock("rowdiff"):
                vy, vk, vd, vgx = T.axis.remap("SSSS", [y, k, d, gx])
                T.reads(grid[vk, vd, 0:gsize, 0:gsize])
                T.writes(rowdiff[vy, vk, vd, vgx])
                rowdiff[vy, vk, vd, vgx] = (y_lerp(grid, vk, vd, T.min(vgx + 1, gsize - 1), vy, row_offset, full_height)
                                            - y_lerp(grid, vk, vd, vgx, vy, row_offset, full_height))
        for y, xb in T.grid(rows, (width + VEC - 1) // VEC):
            if block_cell(xb, 0, width) == block_cell(xb, VEC - 1, width):
                # Common case (a grid cell spans W/(G-1) >> VEC columns): one column cell per block.
                for xi in range(VEC):
                    with T.sblock("pixel_one_cell"):
                        vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                        T.reads(img[vy, 0:width, 0:3], rowgrid[vy, 0:12, 0:depth, 0:gsize],
                                rowdiff[vy, 0:12, 0:depth, 0:gsize], ccm[0:nc, 0:3], ccm_bias[0:nc],
                                thresholds[0:nc, 0:nk], slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(out[vy, 0:width, 0:3])
                        p0: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 0)
                        p1: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 1)
                        p2: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 2)
                        g: T.let[T.float32] = guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias)
                        fz: T.let[T.float32] = g * f32(depth - 1)
                        x0: T.let[T.int32] = block_cell(vxb, 0, width)
                        wx: T.let[T.float32] = col_coord(column(vxb, vxi, width), width) - T.Cast("float32", x0)
                        for ch in T.unroll(3):
                            out[vy, column(vxb, vxi, width), ch] = affine(
                                tent_z(rowgrid, rowdiff, vy, ch * 4 + 0, x0, fz, wx),
                                tent_z(rowgrid, rowdiff, vy, ch * 4 + 1, x0, fz, wx),
                                tent_z(rowgrid, rowdiff, vy, ch * 4 + 2, x0, fz, wx),
                                tent_z(rowgrid, rowdiff, vy, ch * 4 + 3, x0, fz, wx),
                                p0, p1, p2)
            else:
                for xi in range(VEC):
                    with T.sblock("pixel"):
                        vy, vxb, vxi = T.axis.remap("SSS", [y, xb, xi])
                        T.reads(img[vy, 0:width, 0:3], rowgrid[vy, 0:12, 0:depth, 0:gsize], ccm[0:nc, 0:3],
                                ccm_bias[0:nc], thresholds[0:nc, 0:nk], slopes[0:nc, 0:nk], mix[0:nc], mix_bias[0])
                        T.writes(out[vy, 0:width, 0:3])
                        p0: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 0)
                        p1: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 1)
                        p2: T.let[T.float32] = load(img, vy, column(vxb, vxi, width), 2)
                        g: T.let[T.float32] = guide((p0, p1, p2), ccm, ccm_bias, thresholds, slopes, mix, mix_bias)
                        fx: T.let[T.float32] = col_coord(column(vxb, vxi, width), width)
                        fz: T.let[T.float32] = g * f32(depth - 1)
                        x0: T.let[T.int32] = lower_cell(fx, gsize)
                        z0: T.let[T.int32] = lower_cell(fz, depth)
                        wx: T.let[T.float32] = fx - T.Cast("float32", x0)
                        wz: T.let[T.float32] = fz - T.Cast("float32", z0)
                        for ch in T.unroll(3):
                            out[vy, column(vxb, vxi, width), ch] = affine(
                                bilinear_zx(rowgrid, vy, ch * 4 + 0, z0, x0, wz, wx),
                                bilinear_zx(rowgrid, vy, ch * 4 + 1, z0, x0, wz, wx),
                                bilinear_zx(rowgrid, vy, ch * 4 + 2, z0, x0, wz, wx),
                                bilinear_zx(rowgrid, vy, ch * 4 + 3, z0, x0, wz, wx),
                                p0, p1, p2)

    return fullres


def schedule_cpu(func: tvm.tirx.PrimFunc) -> tvm.IRModule:
    """CPU: rows in parallel over the cores, the VEC pixels of a column block in SIMD lanes."""
    sch = Schedule(func)
    y = sch.get_loops(sch.get_sblock("pixel"))[0]
    # Each row's y-interpolated grid (2 x 6 KB) is made by the thread that processes the row, in cache.
    sch.compute_at(sch.get_sblock("rowgrid"), y)
    sch.compute_at(sch.get_sblock("rowdiff"), y)
    sch.parallel(y)
    for block in ("pixel", "pixel_one_cell"):
        sch.vectorize(sch.get_loops(sch.get_sblock(block))[-1])
    return sch.mod


def schedule_gpu(func: tvm.tirx.PrimFunc, threads: int = 64) -> tvm.IRModule:
    """GPU (OpenCL on Adreno): a work-group per row segment, a thread per VEC-pixel column block."""
    sch = Schedule(func)
    y, xb = sch.get_loops(sch.get_sblock("pixel"))[:2]
    xbo, xbi = sch.split(xb, [None, threads])
    sch.reorder(y, xbo, xbi)
    fused = sch.fuse(y, xbo)
    # No per-row tables on the GPU: the y lerp is folded back into each pixel's lookups (registers
    # and the texture/L1 cache serve the small grid; no work-group staging needed).
    sch.compute_inline(sch.get_sblock("rowgrid"))
    sch.compute_inline(sch.get_sblock("rowdiff"))
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


def build(spec: KernelSpec, target: dict | str | tvm.target.Target = HOST_TARGET) -> tvm.runtime.Module:
    """Schedule the definition for `target` and compile it (tvm.compile)."""
    target = resolve_target(target)
    return tvm.compile(schedule_for(define_fullres(spec), target), target=target)
