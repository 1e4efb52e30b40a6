"""Enhancing photos and videos with a model: compiled full-res path for the student, PyTorch otherwise.

`Enhancer.for_model(spec)` picks the engine and says which (`engine` is printed by the CLI):
- the student: low-res path in PyTorch once per picture on a downsampled copy (exact cell sums), then the
  compiled TVM kernel streamed over row bands (memory: input + output + one band);
- the teacher (or a student when TVM cannot build here, or a picture under 8 px wide): PyTorch on the
  whole picture.
Pixels stay in the file's type (uint8 / uint16) from decoding to encoding. A photo keeps its alpha
channel (PNG/TIFF output; a JPEG output refuses a translucent one) and its EXIF and ICC profile.
Outputs follow the one output policy (`atomic.check_output`), checked before any work; a model that
produces NaN or infinite values is an error, and nothing is written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import atomic
from ..errors import AicamError
from ..images import (JPEG_SUFFIXES, NativePhoto, list_photos, read_native_photo, read_video_frames, video_writer,
                      write_native)
from ..models.checkpoints import resolve_model
from ..models.student import StudentNet
from ..kernels.compiled import DEFAULT_BAND_ROWS, CompiledFullRes
from ..kernels.fullres import PIXEL_SCALE
from ..kernels.lowres import downsample_native, downsample_yuv, predict_grid, predict_grid_yuv, to_nchw
from ..kernels.spec import ComputeType, SliceForm
from ..yuv import Yuv420, YuvStandard, rgb_to_yuv420, yuv420_to_rgb
from .grid_reuse import GridReuseConfig, ReuseCounts, ReusedGrid, VideoGrids
from .media import check_output, is_video_source
from .smoothing import SmoothingConfig
from .yuv_video import YuvFormat, count_yuv_frames, enhance_yuv_video, is_yuv

RowsDone = Callable[[int], None]


def from_float(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 [0, 1] -> the picture's own type, rounded like `images.quantize`."""
    if dtype == np.float32:
        return np.clip(result, 0.0, 1.0).astype(np.float32)
    scale = PIXEL_SCALE[np.dtype(dtype).name]
    return np.round(np.clip(result, 0.0, 1.0) * scale).astype(dtype)


@dataclass
class Enhancer:
    model: torch.nn.Module
    name: str
    compiled: CompiledFullRes | None = None
    band_rows: int = DEFAULT_BAND_ROWS
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A NaN weight need not show in the output: grid_sample reads NaN coordinates as padding and the
        # compiled kernel rounds to integers, so the picture looks plausible and is wrong.
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise self._non_finite(f"its weights (tensor '{name}')")

    def _non_finite(self, where: str) -> AicamError:
        return AicamError(f"model {self.name}: NaN or infinite values in {where}; its weights are corrupt or its "
                          "training diverged. Retrain it or use another checkpoint (nothing was written)")

    @classmethod
    def for_model(cls, spec: str | os.PathLike, use_compiled: bool = True, slice: SliceForm = "tent",
                  compute: ComputeType = "float32") -> "Enhancer":
        return cls.for_module(resolve_model(spec), str(spec), use_compiled, slice, compute)

    @classmethod
    def for_module(cls, model: torch.nn.Module, name: str, use_compiled: bool = True, slice: SliceForm = "tent",
                   compute: ComputeType = "float32") -> "Enhancer":
        """`slice` and `compute` choose the compiled kernel's variant (kernels.spec); PyTorch ignores them."""
        if not isinstance(model, StudentNet) or not use_compiled:
            return cls(model, name)
        compiled = CompiledFullRes(model.full_res, model.cfg, slice=slice, compute=compute)
        try:
            compiled.kernel_for(np.float32)  # build (or load from cache) now, so a failure shows here
        except Exception as err:  # TVM missing or unable to build for this host: PyTorch still works
            return cls(model, name, notes=[f"compiled path unavailable ({type(err).__name__}: {err}); using PyTorch"])
        return cls(model, name, compiled)

    @property
    def engine(self) -> str:
        if self.compiled is not None:
            variant = f"{self.compiled.slice} slice, {self.compiled.compute} arithmetic"
            return f"compiled full-res path (TVM, llvm on this host; {variant}) + PyTorch low-res path"
        return "PyTorch (whole model)"

    def enhance(self, pixels: np.ndarray, grid: torch.Tensor | None = None, on_rows: RowsDone | None = None) -> np.ndarray:
        """HxWx3 uint8/uint16/float32 -> enhanced, same shape and type. `grid` overrides the student's."""
        height, width = pixels.shape[:2]
        if self.compiled is not None and width >= self.compiled.min_width():
            if grid is None:
                grid = predict_grid(self.model, pixels)
            self._check_finite(grid, "the bilateral grid its low-res path predicts")
            result = self.compiled.run(pixels, grid[0], band_rows=self.band_rows, on_band=on_rows)
            if result.dtype == np.float32 and not np.isfinite(result).all():
                raise self._non_finite("the enhanced picture")
            return result
        with torch.no_grad():
            x = to_nchw(pixels)
            if isinstance(self.model, StudentNet):
                grid = self.model.low_res(downsample_native(pixels, self.model.cfg.lowres_size)) if grid is None else grid
                self._check_finite(grid, "the bilateral grid its low-res path predicts")
                y = self.model.full_res(x, grid)
            else:
                y = self.model(x)
            self._check_finite(y, "the enhanced picture")
        if on_rows is not None:
            on_rows(height)
        return from_float(y[0].permute(1, 2, 0).numpy(), pixels.dtype)

    def enhance_yuv(self, frame: Yuv420, standard: YuvStandard, grid: torch.Tensor | None = None) -> Yuv420:
        """An 8-bit 4:2:0 frame -> enhanced, same size and chroma order. The compiled kernel works on the
        planes directly; PyTorch on the frame converted to RGB and back."""
        if self.compiled is not None and frame.width >= self.compiled.min_width(frame.order):
            if grid is None:
                grid = predict_grid_yuv(self.model, frame, standard)
            self._check_finite(grid, "the bilateral grid its low-res path predicts")
            return self.compiled.run_yuv(frame, grid[0], band_rows=self.band_rows, standard=standard)
        result = self.enhance(yuv420_to_rgb(frame, standard), grid=grid)
        return rgb_to_yuv420(result, standard, frame.order)

    def _check_finite(self, values: torch.Tensor, where: str) -> None:
        if not torch.isfinite(values).all():
            raise self._non_finite(where)

    def temporal(self, smoothing: SmoothingConfig | None,
                 reuse: GridReuseConfig | None = None) -> VideoGrids[np.ndarray]:
        """Per-frame grid provider for video: predicted on key frames (`reuse`), smoothed over time, for
        the student; none for the teacher. Its `counts` say how many grids were predicted and cuts seen."""
        if not isinstance(self.model, StudentNet):
            return VideoGrids(None, downsample_native)
        size = self.model.cfg.lowres_size
        return VideoGrids(ReusedGrid(self.model, smoothing, reuse), lambda frame: downsample_native(frame, size))

    def temporal_yuv(self, smoothing: SmoothingConfig | None,
                     reuse: GridReuseConfig | None = None) -> VideoGrids[Yuv420]:
        """`temporal` for YUV 4:2:0 frames (their low-res copy is made from the planes, band by band)."""
        if not isinstance(self.model, StudentNet):
            return VideoGrids(None, downsample_yuv)
        size = self.model.cfg.lowres_size
        return VideoGrids(ReusedGrid(self.model, smoothing, reuse),
                          lambda frame, standard: downsample_yuv(frame, size, standard))


# ---------------------------------------------------------------------------------------- photos
def enhance_photo(enhancer: Enhancer, src: str | os.PathLike, dst: str | os.PathLike,
                  progress: Callable[[int], RowsDone] | None = None, photo: NativePhoto | None = None) -> tuple[int, int]:
    """Read, enhance, write atomically; returns (width, height). `progress(total_rows)` gives a
    callback that is told how many rows each finished band had. `photo`: `src` already decoded
    (`images.ReadAhead`); it is dropped as soon as the result exists."""
    src, dst = Path(src), Path(dst)
    check_output(src, dst)
    if photo is None:
        photo = read_native_photo(src)
    alpha, metadata = photo.alpha, photo.metadata
    if alpha is not None and dst.suffix.lower() in JPEG_SUFFIXES:
        if photo.translucent:
            raise AicamError(f"{src}: has an alpha channel (transparency), which a JPEG cannot hold; "
                             f"write a PNG or TIFF instead of {dst.name}")
        alpha = None  # fully opaque: nothing is lost
    on_rows = progress(photo.pixels.shape[0]) if progress else None
    result = enhancer.enhance(photo.pixels, on_rows=on_rows)
    del photo  # the input's pixels: one 100 MP picture less in memory while encoding
    write_native(dst, result, alpha=alpha, metadata=metadata)
    return result.shape[1], result.shape[0]


# ---------------------------------------------------------------------------------------- videos
def count_frames(src: Path, yuv: YuvFormat = YuvFormat()) -> int | None:
    if src.is_dir():
        return len(list_photos(src))
    if is_yuv(src):
        return count_yuv_frames(src, yuv)
    return None


@dataclass
class VideoResult:
    frames: int  # frames written
    grids: ReuseCounts  # grids predicted, scene cuts, low-res time (all zero for the teacher: it has no grid)


def enhance_video(enhancer: Enhancer, src: str | os.PathLike, dst: str | os.PathLike,
                  smoothing: SmoothingConfig | None = SmoothingConfig(), max_frames: int | None = None,
                  on_frame: Callable[[int], None] | None = None, fps: float | None = None,
                  yuv: YuvFormat = YuvFormat(), reuse: GridReuseConfig | None = None) -> VideoResult:
    """Enhance every frame (grids predicted on key frames, `reuse`, and smoothed over time). A .y4m or
    raw .yuv at either end goes through the YUV path (`yuv` says how raw frames are laid out); `fps`
    is the output's rate (default: a y4m input's, else 30)."""
    src, dst = Path(src), Path(dst)
    check_output(src, dst)
    if is_yuv(src) or is_yuv(dst):
        grids_yuv, grids_rgb = enhancer.temporal_yuv(smoothing, reuse), enhancer.temporal(smoothing, reuse)
        n = enhance_yuv_video(enhancer, src, dst, yuv, grids_yuv, grids_rgb, max_frames, on_frame, fps)
        return VideoResult(n, grids_yuv.counts + grids_rgb.counts)  # one of the two ran
    fps = 30.0 if fps is None else fps
    grid_for = enhancer.temporal(smoothing, reuse)
    n = 0
    with video_writer(dst, fps) as put:
        for frame in read_video_frames(src, max_frames):
            put(enhancer.enhance(frame, grid=grid_for(frame)))
            n += 1
            if on_frame:
                on_frame(n)
        if n == 0:
            raise AicamError(f"{src}: no frames to enhance")
    return VideoResult(n, grid_for.counts)
