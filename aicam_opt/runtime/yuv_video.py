"""Video in the camera's native YUV 4:2:0 (NV12/NV21, 1.5 bytes a pixel): .y4m files and raw .yuv.

When both ends are YUV the student's compiled kernel works on the frame as it is (`run_yuv`: the
conversion to RGB and back happens in registers) and its low-res path reads a band-wise downsampled
RGB copy (`downsample_yuv`), so an 8K frame never exists as an RGB picture. When one end is RGB (a
frame folder or an mp4), frames are converted once at that end. The teacher, `--pytorch` and
pictures narrower than the kernel run in PyTorch on the frame converted to RGB and back.

Matrix and range (`YuvFormat.standard`): BT.601 full range by default, what Android's camera delivers;
a y4m that declares limited range (XCOLORRANGE=LIMITED) is read as BT.709 limited unless told
otherwise. The output y4m declares the range it was written in.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import AicamError
from ..images import read_video_frames, to_uint8, video_writer
from ..yuv import (RAW_LAYOUTS, YUV_STANDARDS, YUV_SUFFIXES, Y4mReader, Yuv420, YuvStandard, frame_bytes, open_yuv_writer,
                   read_raw_yuv, rgb_to_yuv420, yuv420_to_rgb)

RANGE_OF = {"bt601_full": "full", "bt709_limited": "limited"}


def is_yuv(path: str | Path) -> bool:
    return Path(path).suffix.lower() in YUV_SUFFIXES


@dataclass(frozen=True)
class YuvFormat:
    """How raw frames are laid out and what their codes mean: `size` (width, height) is needed to read
    a raw .yuv (a y4m carries it); `layout` nv12, nv21 or i420 for raw files; `standard` the matrix and
    range (None: from the y4m header, else BT.601 full range)."""

    size: tuple[int, int] | None = None
    layout: str = "nv12"
    standard: YuvStandard | None = None

    def __post_init__(self) -> None:
        if self.layout not in RAW_LAYOUTS:
            raise AicamError(f"--yuv-layout {self.layout!r}: use one of {', '.join(RAW_LAYOUTS)}")
        if self.standard is not None and self.standard not in YUV_STANDARDS:
            raise AicamError(f"--yuv-standard {self.standard!r}: use one of {', '.join(YUV_STANDARDS)}")

    @property
    def order(self) -> str:
        """The chroma order frames are processed in (i420 files are read and written as planes)."""
        return "nv21" if self.layout == "nv21" else "nv12"


@dataclass
class YuvSource:
    frames: Iterator[Yuv420]
    width: int
    height: int
    standard: YuvStandard
    fps: float | None


def open_yuv_source(path: Path, fmt: YuvFormat) -> YuvSource:
    """The frames of a .y4m or raw .yuv file, with its size, standard and (y4m) frame rate."""
    if path.suffix.lower() == ".y4m":
        reader = Y4mReader(path)
        header = reader.header
        standard = fmt.standard or ("bt709_limited" if header.color_range == "limited" else "bt601_full")
        frames = (frame.with_order(fmt.order) for frame in reader)
        return YuvSource(frames, header.width, header.height, standard,  # type: ignore[arg-type]
                         float(header.fps) if header.fps else None)
    if fmt.size is None:
        raise AicamError(f"{path}: a raw .yuv file has no header; give its size (--size WIDTHxHEIGHT) and, if not "
                         "NV12, its layout (--yuv-layout nv21|i420)")
    frames = (frame.with_order(fmt.order) for frame in read_raw_yuv(path, *fmt.size, layout=fmt.layout))
    return YuvSource(frames, *fmt.size, fmt.standard or "bt601_full", None)


def count_yuv_frames(path: Path, fmt: YuvFormat) -> int | None:
    """Frames in a .y4m or raw .yuv file from its size (None when that cannot be known up front)."""
    try:
        if path.suffix.lower() == ".y4m":
            header = Y4mReader(path).header
            per_frame = len(b"FRAME\n") + frame_bytes(header.width, header.height)
            return max(0, path.stat().st_size - len(header.line())) // per_frame
        if fmt.size is not None:
            return path.stat().st_size // frame_bytes(*fmt.size)
    except (AicamError, OSError):  # the reader reports a broken file with its own message
        return None
    return None


def enhance_yuv_video(enhancer, src: Path, dst: Path, fmt: YuvFormat, grid_for_yuv: Callable[[Yuv420, str], object],
                      grid_for_rgb: Callable[[np.ndarray], object], max_frames: int | None = None,
                      on_frame: Callable[[int], None] | None = None, fps: float | None = None) -> int:
    """Enhance a video with a YUV file at one end or both; returns the number of frames written.
    `enhancer` is a runtime.enhance.Enhancer; the grid providers carry the temporal smoothing. `fps`:
    the output's rate (None: a y4m input's, else 30)."""
    source_fps = None
    if is_yuv(src):
        source = open_yuv_source(src, fmt)
        standard, source_fps = source.standard, source.fps
        frames: Iterator = itertools.islice(source.frames, max_frames)
    else:
        standard = fmt.standard or "bt601_full"
        frames = read_video_frames(src, max_frames)
    first = next(frames, None)
    if first is None:
        raise AicamError(f"{src}: no frames to enhance")
    frames = itertools.chain([first], frames)
    n = 0
    if is_yuv(dst):
        width, height = (first.width, first.height) if isinstance(first, Yuv420) else (first.shape[1], first.shape[0])
        with open_yuv_writer(dst, width, height, fps or source_fps or 30.0, fmt.layout, RANGE_OF[standard]) as writer:
            for frame in frames:
                yuv = frame if isinstance(frame, Yuv420) else rgb_to_yuv420(frame, standard, fmt.order)  # type: ignore[arg-type]
                writer.write(enhancer.enhance_yuv(yuv, standard, grid=grid_for_yuv(yuv, standard)))
                n += 1
                if on_frame:
                    on_frame(n)
        return n
    with video_writer(dst, fps or source_fps or 30.0) as put:
        for frame in frames:
            rgb = to_uint8(yuv420_to_rgb(frame, standard)) if isinstance(frame, Yuv420) else frame
            put(enhancer.enhance(rgb, grid=grid_for_rgb(rgb)))
            n += 1
            if on_frame:
                on_frame(n)
    return n
