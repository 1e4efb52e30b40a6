"""Running the compiled full-res kernel on numpy pictures and YUV frames: weights in, row bands streamed, cached builds.

A compiled kernel depends only on `KernelSpec` and the target, so it is built once and kept twice:
in-process (a dict) and on disk under `~/.cache/aicam_opt/kernels/` (a shared library keyed by the
spec, the target and a hash of the kernel's source, the spec and YUV modules and TVM's version, so
editing the kernel or upgrading TVM rebuilds it). Set AICAM_OPT_CACHE to move the cache.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import atomic
from ..errors import AicamError
from ..logs import native_stderr_to_log
from ..models.student import FullResPath, StudentConfig
from . import fullres as kernel
from ..yuv import Yuv420, YuvStandard
from .fullres import KernelSpec, PixelType, min_width
from .spec import ComputeType, Layout, SliceForm, spec_for

PIXEL_DTYPES: dict[type, PixelType] = {np.uint8: "uint8", np.uint16: "uint16", np.float32: "float32"}
DEFAULT_BAND_ROWS = 256  # 256 rows of a 12240-wide 8-bit photo: 9 MB in + 9 MB out per band

_loaded: dict[str, Callable] = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    return Path(os.environ.get("AICAM_OPT_CACHE", Path.home() / ".cache" / "aicam_opt")) / "kernels"


def _source_hash() -> str:
    """The kernel's definition and what it bakes in: its module, the spec and the YUV matrices."""
    import tvm

    from .. import yuv
    from . import spec

    text = b"".join(Path(m.__file__).read_bytes() for m in (kernel, spec, yuv)) + tvm.__version__.encode()
    return hashlib.sha256(text).hexdigest()[:16]


def load_kernel(spec: KernelSpec, target: dict | str = kernel.HOST_TARGET) -> Callable:
    """The compiled kernel for `spec` on this host (built on first use, then cached)."""
    import tvm

    resolved = kernel.resolve_target(target)
    key = f"{spec.key}_{hashlib.sha256(str(resolved).encode()).hexdigest()[:10]}_{_source_hash()}"
    with _lock:
        if key in _loaded:
            return _loaded[key]
        path = cache_dir() / f"fullres_{key}.so"
        if not path.is_file():
            with native_stderr_to_log():  # TVM's C++ warnings go into the command's log file
                lib = kernel.build(spec, resolved)
                with atomic.atomic_path(path) as tmp:  # the temporary name ends in .so, as the linker needs
                    lib.mod.export_library(str(tmp))
        _loaded[key] = tvm.runtime.load_module(str(path))["fullres"]
        return _loaded[key]


def guide_params(full_res: FullResPath) -> list[np.ndarray]:
    """The guide's weights as the kernel's inputs: ccm (C,3), ccm_bias, thresholds, slopes, mix, mix_bias.

    The 'luma_curve' guide is the 'ccm_curve' kernel with one curve whose colour row is the fixed
    luma weights and a zero bias.
    """
    guide = full_res.guide
    with torch.no_grad():
        if guide.variant == "ccm_curve":
            ccm, ccm_bias = guide.ccm.weight.reshape(3, 3), guide.ccm.bias.reshape(3)
        else:
            ccm, ccm_bias = guide.luma.reshape(1, 3), torch.zeros(1)
        n = ccm.shape[0]
        tensors = [ccm, ccm_bias, guide.thresholds.reshape(n, -1), guide.slopes.reshape(n, -1),
                   guide.mix.weight.reshape(n), guide.mix.bias.reshape(1)]
        return [np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in tensors]


class CompiledFullRes:
    """The student's full-res path, compiled: `run(image, grid)` for uint8, uint16 or float32 HxWx3, and
    `run_yuv(frame, grid)` for an 8-bit NV12/NV21 frame (`aicam_opt.yuv.Yuv420`, matrix and range `yuv`).

    Integer images give integer output of the same type (scaled to [0, 1] inside, rounded on the
    way out); float32 images give float32 in [0, 1]. Rows are processed in bands whose y coordinate
    is global, so the result does not depend on `band_rows`. `slice` and `compute` choose the kernel
    variant (`KernelSpec`); with compute float16 the weights and the grid are passed in float16.
    """

    def __init__(self, full_res: FullResPath, cfg: StudentConfig, target: dict | str = kernel.HOST_TARGET,
                 slice: SliceForm = "tent", compute: ComputeType = "float32", yuv: YuvStandard = "bt601_full"):
        self.cfg = cfg
        self.target = target
        self.slice, self.compute, self.yuv = slice, compute, yuv
        try:  # an unknown variant is an error now, not at the first run
            spec_for(cfg, "uint8", slice, compute, "nv12", yuv)
        except ValueError as err:
            raise AicamError(f"compiled full-res path: {err}") from None
        float_type = np.float16 if compute == "float16" else np.float32
        self.params = [p.astype(float_type) for p in guide_params(full_res)]
        self.lanes = kernel.lanes_for(target)  # pixels per column block of the kernel built for `target`

    def spec(self, pixel_type: PixelType, layout: Layout = "rgb") -> KernelSpec:
        return spec_for(self.cfg, pixel_type, self.slice, self.compute, layout, self.yuv if layout != "rgb" else "bt601_full")

    def min_width(self, layout: Layout = "rgb") -> int:
        """The narrowest picture this kernel runs (one full column block)."""
        return min_width(self.spec("uint8", layout), self.lanes)

    def kernel_for(self, dtype: np.dtype, layout: Layout = "rgb") -> Callable:
        pixel_type = PIXEL_DTYPES.get(np.dtype(dtype).type)
        if pixel_type is None:
            raise AicamError(f"compiled full-res path: pixel type {dtype} is not supported; use uint8, uint16 or float32")
        return load_kernel(self.spec(pixel_type, layout), self.target)

    def _grid(self, grid: np.ndarray | torch.Tensor) -> np.ndarray:
        grid_np = grid.detach().float().cpu().numpy() if isinstance(grid, torch.Tensor) else np.asarray(grid, np.float32)
        grid_np = grid_np.reshape(12, self.cfg.grid_depth, self.cfg.grid_size, self.cfg.grid_size)
        return np.ascontiguousarray(grid_np.astype(self.params[0].dtype))

    def run(self, image: np.ndarray, grid: np.ndarray | torch.Tensor, out: np.ndarray | None = None,
            band_rows: int = DEFAULT_BAND_ROWS, on_band: Callable[[int], None] | None = None) -> np.ndarray:
        """Enhance `image` (H, W, 3) with `grid` (12, D, G, G) (a leading batch of 1 is accepted)."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise AicamError(f"compiled full-res path: expected an HxWx3 image, got shape {image.shape}")
        height, width = image.shape[:2]
        if width < self.min_width():
            raise AicamError(f"compiled full-res path: the image is {width} px wide; it needs at least {self.min_width()} "
                             "columns (use the PyTorch path for such slivers)")
        grid_np = self._grid(grid)
        image = np.require(image, requirements="CW")  # TVM's DLPack import refuses read-only memory: copy only then
        if out is None:
            out = np.empty_like(image)
        elif out.shape != image.shape or out.dtype != image.dtype or not out.flags.c_contiguous:
            raise AicamError("compiled full-res path: `out` must be a C-contiguous array like the image")
        fn = self.kernel_for(image.dtype)
        for top in range(0, height, max(1, band_rows)):
            bottom = min(height, top + band_rows)
            fn(image[top:bottom], *self.params, grid_np, out[top:bottom], top, height)
            if on_band is not None:
                on_band(bottom - top)
        return out

    def run_yuv(self, frame: Yuv420, grid: np.ndarray | torch.Tensor, out: Yuv420 | None = None,
                band_rows: int = DEFAULT_BAND_ROWS, on_band: Callable[[int], None] | None = None,
                standard: YuvStandard | None = None) -> Yuv420:
        """Enhance an NV12/NV21 frame in place of its own layout (the kernel converts to RGB and back in
        registers), read with the matrix and range `standard` (default: the one given at construction).
        Bands are whole chroma rows: `band_rows` is rounded up to an even count."""
        spec = spec_for(self.cfg, "uint8", self.slice, self.compute, frame.order, standard or self.yuv)
        if frame.width < min_width(spec, self.lanes):
            raise AicamError(f"compiled full-res path: the frame is {frame.width} px wide; the YUV kernel needs at "
                             f"least {min_width(spec, self.lanes)} columns (use the PyTorch path for such slivers)")
        grid_np = self._grid(grid)
        # TVM's DLPack import refuses read-only memory (frames read from a file are): copy only then
        luma, chroma = np.require(frame.y, requirements="CW"), np.require(frame.uv, requirements="CW")
        if out is None:
            out = Yuv420(np.empty_like(luma), np.empty_like(chroma), frame.order)
        elif (out.y.shape, out.order) != (luma.shape, frame.order) or not (out.y.flags.c_contiguous
                                                                            and out.uv.flags.c_contiguous):
            raise AicamError("compiled full-res path: `out` must be a C-contiguous frame of the same size and order")
        fn = load_kernel(spec, self.target)
        band_rows = max(2, band_rows + band_rows % 2)
        for top in range(0, frame.height, band_rows):
            bottom = min(frame.height, top + band_rows)
            c_top, c_bottom = top // 2, (bottom + 1) // 2
            fn(luma[top:bottom], chroma[c_top:c_bottom], *self.params, grid_np, out.y[top:bottom],
               out.uv[c_top:c_bottom], top, frame.height)
            if on_band is not None:
                on_band(bottom - top)
        return out
