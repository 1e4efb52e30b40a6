"""Enhancing photos and videos with a model: compiled full-res path for the student, PyTorch otherwise.

`Enhancer.for_model(spec)` picks the engine and says which (`engine` is printed by the CLI):
- the student: low-res path in PyTorch once per picture on a band-wise downsampled copy, then the
  compiled TVM kernel streamed over row bands (memory: input + output + one band);
- the teacher (or a student when TVM cannot build here, or a picture under 8 px wide): PyTorch on the
  whole picture.
Pixels stay in the file's type (uint8 / uint16) from decoding to encoding.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ..errors import AicamError
from ..images import PHOTO_SUFFIXES, VIDEO_SUFFIXES, list_photos
from ..models.checkpoints import resolve_model
from ..models.student import StudentNet
from ..kernels.compiled import DEFAULT_BAND_ROWS, CompiledFullRes
from ..kernels.fullres import PIXEL_SCALE, VEC
from ..kernels.lowres import downsample_banded, predict_grid, to_nchw, torch_threads
from ..images import read_native, write_native
from .smoothing import SmoothingConfig, TemporalGrid

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

    @classmethod
    def for_model(cls, spec: str | os.PathLike, use_compiled: bool = True) -> "Enhancer":
        return cls.for_module(resolve_model(spec), str(spec), use_compiled)

    @classmethod
    def for_module(cls, model: torch.nn.Module, name: str, use_compiled: bool = True) -> "Enhancer":
        if not isinstance(model, StudentNet) or not use_compiled:
            return cls(model, name)
        compiled = CompiledFullRes(model.full_res, model.cfg)
        try:
            compiled.kernel_for(np.float32)  # build (or load from cache) now, so a failure shows here
        except Exception as err:  # TVM missing or unable to build for this host: PyTorch still works
            return cls(model, name, notes=[f"compiled path unavailable ({type(err).__name__}: {err}); using PyTorch"])
        return cls(model, name, compiled)

    @property
    def engine(self) -> str:
        if self.compiled is not None:
            return "compiled full-res path (TVM, llvm on this host) + PyTorch low-res path"
        return "PyTorch (whole model)"

    def enhance(self, pixels: np.ndarray, grid: torch.Tensor | None = None, on_rows: RowsDone | None = None) -> np.ndarray:
        """HxWx3 uint8/uint16/float32 -> enhanced, same shape and type. `grid` overrides the student's."""
        height, width = pixels.shape[:2]
        if self.compiled is not None and width >= VEC:
            if grid is None:
                grid = predict_grid(self.model, pixels)
            return self.compiled.run(pixels, grid[0], band_rows=self.band_rows, on_band=on_rows)
        with torch.no_grad():
            x = to_nchw(pixels)
            if isinstance(self.model, StudentNet):
                grid = self.model.low_res(downsample_banded(pixels, self.model.cfg.lowres_size)) if grid is None else grid
                y = self.model.full_res(x, grid)
            else:
                y = self.model(x)
        if on_rows is not None:
            on_rows(height)
        return from_float(y[0].permute(1, 2, 0).numpy(), pixels.dtype)

    def temporal(self, smoothing: SmoothingConfig | None) -> Callable[[np.ndarray], torch.Tensor | None]:
        """Per-frame grid provider for video: smoothed over time for the student, none for the teacher."""
        if not isinstance(self.model, StudentNet):
            return lambda frame: None
        tracker = TemporalGrid(self.model, smoothing or SmoothingConfig.off())

        def grid_for(frame: np.ndarray) -> torch.Tensor:
            with torch_threads(1):
                return tracker(downsample_banded(frame, self.model.cfg.lowres_size))
        return grid_for


# ---------------------------------------------------------------------------------------- photos
def check_output(path: Path, allowed: tuple[str, ...], what: str) -> None:
    if path.suffix.lower() not in allowed:
        raise AicamError(f"{path}: unsupported output type '{path.suffix or '(none)'}' for a {what}; "
                         f"use one of {', '.join(allowed)}")


def enhance_photo(enhancer: Enhancer, src: str | os.PathLike, dst: str | os.PathLike,
                  progress: Callable[[int], RowsDone] | None = None) -> tuple[int, int]:
    """Read, enhance, write atomically; returns (width, height). `progress(total_rows)` gives a
    callback that is told how many rows each finished band had."""
    src, dst = Path(src), Path(dst)
    check_output(dst, PHOTO_SUFFIXES, "photo")
    pixels = read_native(src)
    on_rows = progress(pixels.shape[0]) if progress else None
    result = enhancer.enhance(pixels, on_rows=on_rows)
    del pixels
    write_native(dst, result)
    return result.shape[1], result.shape[0]


# ---------------------------------------------------------------------------------------- videos
def is_video_source(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES


def count_frames(src: Path) -> int | None:
    if src.is_dir():
        return len(list_photos(src))
    return None


def read_frames(src: Path) -> Iterator[np.ndarray]:
    """uint8 RGB frames of a frame folder (sorted by name) or a video file (via imageio-ffmpeg)."""
    if src.is_dir():
        frames = list_photos(src)
        if not frames:
            raise AicamError(f"{src}: no frames found (expected {', '.join(PHOTO_SUFFIXES)} files)")
        for frame in frames:
            yield read_native(frame)
        return
    if not src.is_file():
        raise AicamError(f"{src}: video file not found")
    if src.stat().st_size == 0:
        raise AicamError(f"{src}: the video file is empty (0 bytes)")
    import imageio_ffmpeg

    try:
        reader = imageio_ffmpeg.read_frames(str(src))
        meta = next(reader)
        w, h = meta["size"]
        n = 0
        for buffer in reader:
            n += 1
            yield np.frombuffer(buffer, np.uint8).reshape(h, w, 3)
    except AicamError:
        raise
    except Exception as err:
        raise AicamError(f"{src}: cannot decode video ({type(err).__name__}: {str(err).strip()[:300]})") from None
    if n == 0:
        raise AicamError(f"{src}: the video has no decodable frames")


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """A temporary folder next to `target`, renamed onto it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AicamError(f"{target}: output folder exists and is not empty; choose a new path or remove it")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class VideoWriter:
    """Frames to a folder of PNGs (atomic as a whole) or to an mp4 (H.264 via imageio-ffmpeg, atomic)."""

    def __init__(self, dst: Path, fps: float = 30.0):
        self.dst, self.fps = dst, fps

    @contextmanager
    def open(self) -> Iterator[Callable[[int, np.ndarray], None]]:
        if self.dst.suffix.lower() in VIDEO_SUFFIXES:
            from .. import atomic
            import imageio_ffmpeg

            with atomic.atomic_path(self.dst) as tmp:
                writer = None
                try:
                    def put(index: int, frame: np.ndarray) -> None:
                        nonlocal writer
                        if writer is None:
                            writer = imageio_ffmpeg.write_frames(str(tmp), (frame.shape[1], frame.shape[0]), fps=self.fps,
                                                                 quality=8, macro_block_size=1, ffmpeg_log_level="error")
                            writer.send(None)
                        writer.send(np.ascontiguousarray(to_uint8(frame)))
                    yield put
                finally:
                    if writer is not None:
                        writer.close()
        elif self.dst.suffix == "":
            with atomic_dir(self.dst) as tmp:
                yield lambda index, frame: write_native(tmp / f"{index:05d}.png", frame)
        else:
            raise AicamError(f"{self.dst}: a video output is a folder (no suffix) or one of {', '.join(VIDEO_SUFFIXES)}")


def to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


def enhance_video(enhancer: Enhancer, src: str | os.PathLike, dst: str | os.PathLike,
                  smoothing: SmoothingConfig | None = SmoothingConfig(), max_frames: int | None = None,
                  on_frame: Callable[[int], None] | None = None, fps: float = 30.0) -> int:
    """Enhance every frame (grids smoothed over time); returns the number of frames written."""
    src, dst = Path(src), Path(dst)
    grid_for = enhancer.temporal(smoothing)
    n = 0
    with VideoWriter(dst, fps).open() as put:
        for frame in read_frames(src):
            if max_frames is not None and n >= max_frames:
                break
            put(n, enhancer.enhance(frame, grid=grid_for(frame)))
            n += 1
            if on_frame:
                on_frame(n)
        if n == 0:
            raise AicamError(f"{src}: no frames to enhance")
    return n
