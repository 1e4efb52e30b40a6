"""YUV 4:2:0 frames as camera pipelines deliver them: NV12/NV21 planes, RGB conversions, .yuv and .y4m files.

Conventions (the fused kernel's nv12/nv21 layouts compute exactly these, kernels/fullres.py):
- A frame (`Yuv420`) is a Y plane (H, W) and an interleaved chroma plane (ceil(H/2), ceil(W/2), 2),
  8 bit, in UV order (NV12) or VU order (NV21): 1.5 bytes a pixel. At an odd size the last chroma
  row or column covers a single pixel row or column (as FFmpeg and y4m do).
- Values are code / 255. `YUV_MATRICES` holds YUV = M @ RGB + offset per standard:
  "bt601_full" (JFIF: Y, Cb, Cr on the full 0-255 range, chroma centred on 128), what Android's camera
  delivers in YUV_420_888 preview and still buffers; "bt709_limited" (Y 16-235, chroma 16-240), the
  HD video-recording convention.
- RGB -> 4:2:0: Y and chroma per pixel from the float RGB, chroma averaged over each 2x2 cell (centre
  siting, as JPEG and y4m's C420jpeg; edge pixels repeated at odd sizes), rounded half up, clipped.
- 4:2:0 -> RGB: a chroma sample serves its whole 2x2 cell (nearest), the RGB is clipped to [0, 1].

Files: raw .yuv (frames back to back, no header: the size must be given; NV12, NV21 or planar I420)
and .y4m (YUV4MPEG2: a text header, then 'FRAME' + planar Y, U, V per frame; 8-bit 4:2:0 only).
Frames stream one at a time; writers are atomic (no partial file on failure).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterator, Literal

import numpy as np

from . import atomic
from .errors import AicamError

YuvStandard = Literal["bt601_full", "bt709_limited"]
YUV_STANDARDS: tuple[str, ...] = ("bt601_full", "bt709_limited")
ChromaOrder = Literal["nv12", "nv21"]
CHROMA_ORDERS: tuple[str, ...] = ("nv12", "nv21")
RAW_LAYOUTS: tuple[str, ...] = ("nv12", "nv21", "i420")
YUV_SUFFIXES = (".yuv", ".y4m")
BAND_ROWS = 512  # rows converted at a time: float copies of one band, not of an 8K frame


def _matrix(kr: float, kb: float, limited: bool) -> tuple[np.ndarray, np.ndarray]:
    kg = 1.0 - kr - kb
    luma = np.array([kr, kg, kb])
    cb = (np.array([0.0, 0.0, 1.0]) - luma) / (2 * (1 - kb))
    cr = (np.array([1.0, 0.0, 0.0]) - luma) / (2 * (1 - kr))
    y_scale, c_scale, y_offset = (219 / 255, 224 / 255, 16 / 255) if limited else (1.0, 1.0, 0.0)
    matrix = np.stack([luma * y_scale, cb * c_scale, cr * c_scale])
    return matrix, np.array([y_offset, 128 / 255, 128 / 255])


# YUV = M @ RGB + offset (all code / 255); RGB = inverse(M) @ (YUV - offset)
YUV_MATRICES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "bt601_full": _matrix(0.299, 0.114, limited=False),
    "bt709_limited": _matrix(0.2126, 0.0722, limited=True),
}


def rgb_from_yuv_matrix(standard: str) -> np.ndarray:
    return np.linalg.inv(YUV_MATRICES[_check_standard(standard)][0])


def matrix_terms(row: np.ndarray) -> list[tuple[int, float | None]]:
    """The terms a conversion computes for one matrix row: (column, coefficient), None for a coefficient
    of 1 (no multiply); structural zeros (|c| < 1e-9, e.g. R's U term) are left out. The fused kernel
    and its operation count (kernels.workload) both go by this."""
    return [(j, None if abs(c - 1.0) < 1e-9 else float(c)) for j, c in enumerate(row) if abs(c) >= 1e-9]


def _check_standard(standard: str) -> str:
    if standard not in YUV_STANDARDS:
        raise AicamError(f"YUV standard {standard!r} is not supported; use one of {', '.join(YUV_STANDARDS)}")
    return standard


def chroma_shape(height: int, width: int) -> tuple[int, int]:
    return (height + 1) // 2, (width + 1) // 2


@dataclass(frozen=True)
class Yuv420:
    """One 8-bit YUV 4:2:0 frame: `y` (H, W) and interleaved chroma `uv` (ceil(H/2), ceil(W/2), 2)."""

    y: np.ndarray
    uv: np.ndarray
    order: ChromaOrder = "nv12"  # nv12: uv[..., 0] is U (Cb); nv21: uv[..., 0] is V (Cr)

    def __post_init__(self) -> None:
        if self.order not in CHROMA_ORDERS:
            raise AicamError(f"YUV frame order {self.order!r}: use one of {', '.join(CHROMA_ORDERS)}")
        if self.y.dtype != np.uint8 or self.uv.dtype != np.uint8:
            raise AicamError(f"YUV frame: planes must be uint8, got {self.y.dtype} and {self.uv.dtype}")
        if self.y.ndim != 2 or min(self.y.shape) < 1:
            raise AicamError(f"YUV frame: the Y plane must be HxW, got shape {self.y.shape}")
        expected = (*chroma_shape(*self.y.shape), 2)
        if self.uv.shape != expected:
            raise AicamError(f"YUV frame: a {self.y.shape[1]}x{self.y.shape[0]} Y plane needs a chroma plane of "
                             f"shape {expected}, got {self.uv.shape}")

    @property
    def height(self) -> int:
        return self.y.shape[0]

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def nbytes(self) -> int:
        return self.y.nbytes + self.uv.nbytes

    def u(self) -> np.ndarray:
        return self.uv[..., 0 if self.order == "nv12" else 1]

    def v(self) -> np.ndarray:
        return self.uv[..., 1 if self.order == "nv12" else 0]

    def with_order(self, order: ChromaOrder) -> "Yuv420":
        """The same frame with its chroma interleaved in `order` (NV12 <-> NV21 swaps U and V)."""
        if order == self.order:
            return self
        return Yuv420(self.y, np.ascontiguousarray(self.uv[..., ::-1]), order)

    @classmethod
    def from_planes(cls, y: np.ndarray, u: np.ndarray, v: np.ndarray, order: ChromaOrder = "nv12") -> "Yuv420":
        """From planar Y, U, V (I420)."""
        pair = (u, v) if order == "nv12" else (v, u)
        return cls(y, np.ascontiguousarray(np.stack(pair, axis=-1)), order)


def quantize8(values: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 codes, rounded half up (floor(v * 255 + 0.5), as the kernel stores)."""
    return np.clip(np.floor(values * np.float32(255) + np.float32(0.5)), 0, 255).astype(np.uint8)


def _float_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / np.float32(255)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / np.float32(65535)
    return rgb.astype(np.float32, copy=False)


def rgb_to_yuv420(rgb: np.ndarray, standard: YuvStandard = "bt601_full", order: ChromaOrder = "nv12") -> Yuv420:
    """An RGB picture (HxWx3 float in [0, 1], uint8 or uint16) as an 8-bit YUV 4:2:0 frame."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise AicamError(f"RGB to YUV: expected an HxWx3 picture, got shape {rgb.shape}")
    matrix, offset = (m.astype(np.float32) for m in YUV_MATRICES[_check_standard(standard)])
    height, width = rgb.shape[:2]
    y = np.empty((height, width), np.uint8)
    uv = np.empty((*chroma_shape(height, width), 2), np.uint8)
    chroma_rows = [1, 2] if order == "nv12" else [2, 1]
    for top in range(0, height, BAND_ROWS):  # BAND_ROWS is even: a band is whole chroma rows
        band = _float_rgb(rgb[top:top + BAND_ROWS])
        yuv = band @ matrix.T + offset
        y[top:top + band.shape[0]] = quantize8(yuv[..., 0])
        chroma = yuv[..., chroma_rows]
        pad = ((0, chroma.shape[0] % 2), (0, chroma.shape[1] % 2), (0, 0))
        chroma = np.pad(chroma, pad, mode="edge")  # an odd edge: its one pixel row/column stands for two
        cells = chroma.reshape(chroma.shape[0] // 2, 2, chroma.shape[1] // 2, 2, 2)
        mean = (cells[:, 0, :, 0] + cells[:, 0, :, 1] + cells[:, 1, :, 0] + cells[:, 1, :, 1]) * np.float32(0.25)
        uv[top // 2:top // 2 + mean.shape[0]] = quantize8(mean)
    return Yuv420(y, uv, order)


def yuv420_to_rgb(frame: Yuv420, standard: YuvStandard = "bt601_full") -> np.ndarray:
    """A YUV 4:2:0 frame as float32 RGB HxWx3 in [0, 1] (chroma nearest-upsampled, RGB clipped)."""
    inverse = rgb_from_yuv_matrix(standard).astype(np.float32)
    offset = YUV_MATRICES[standard][1].astype(np.float32)
    scale = np.float32(1 / 255)
    rgb = np.empty((frame.height, frame.width, 3), np.float32)
    for top in range(0, frame.height, BAND_ROWS):
        y = frame.y[top:top + BAND_ROWS].astype(np.float32) * scale
        rows = y.shape[0]
        u = frame.u()[top // 2:top // 2 + (rows + 1) // 2].astype(np.float32) * scale
        v = frame.v()[top // 2:top // 2 + (rows + 1) // 2].astype(np.float32) * scale
        up = lambda c: np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[:rows, :frame.width]  # noqa: E731
        yuv = np.stack([y - offset[0], up(u) - offset[1], up(v) - offset[2]], axis=-1)
        rgb[top:top + rows] = np.clip(yuv @ inverse.T, 0.0, 1.0)
    return rgb


# --- files -----------------------------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (width, height)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or min(int(match.group(1)), int(match.group(2))) < 1:
        raise AicamError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(match.group(1)), int(match.group(2))


def frame_bytes(width: int, height: int) -> int:
    ch, cw = chroma_shape(height, width)
    return width * height + 2 * ch * cw


def _read_exact(stream: BinaryIO, count: int, source: Path, what: str) -> bytes | None:
    data = stream.read(count)
    if not data:
        return None
    if len(data) != count:
        raise AicamError(f"{source}: {what} is truncated ({len(data)} of {count} bytes); is the file cut short "
                         "or the size wrong?")
    return data


def _planar_to_frame(data: bytes, width: int, height: int, layout: str) -> Yuv420:
    buf = np.frombuffer(data, np.uint8)
    ch, cw = chroma_shape(height, width)
    y = buf[:width * height].reshape(height, width)
    if layout == "i420":
        u = buf[width * height:width * height + ch * cw].reshape(ch, cw)
        v = buf[width * height + ch * cw:].reshape(ch, cw)
        return Yuv420.from_planes(y, u, v)
    return Yuv420(y, buf[width * height:].reshape(ch, cw, 2), layout)  # type: ignore[arg-type]


def _frame_planes(frame: Yuv420, layout: str) -> list[np.ndarray]:
    if layout == "i420":
        return [frame.y, frame.u(), frame.v()]
    return [frame.y, frame.with_order(layout).uv]  # type: ignore[arg-type]


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise AicamError(f"{path}: YUV file not found")
    if path.stat().st_size == 0:
        raise AicamError(f"{path}: the file is empty (0 bytes)")


def read_raw_yuv(path: str | os.PathLike, width: int, height: int, layout: str = "nv12") -> Iterator[Yuv420]:
    """Frames of a headerless .yuv file of `width` x `height` 8-bit 4:2:0 frames (nv12, nv21 or i420)."""
    path = Path(path)
    if layout not in RAW_LAYOUTS:
        raise AicamError(f"raw YUV layout {layout!r}: use one of {', '.join(RAW_LAYOUTS)}")
    _check_file(path)
    size = frame_bytes(width, height)
    if path.stat().st_size % size:
        raise AicamError(f"{path}: {path.stat().st_size} bytes is not a whole number of {width}x{height} 4:2:0 "
                         f"frames ({size} bytes each); check --size")
    with path.open("rb") as stream:
        while (data := _read_exact(stream, size, path, "a frame")) is not None:
            yield _planar_to_frame(data, width, height, layout)


@dataclass(frozen=True)
class Y4mHeader:
    width: int
    height: int
    fps: Fraction | None = None
    color_range: Literal["full", "limited"] | None = None  # FFmpeg's XCOLORRANGE extension, if present

    def line(self, chroma: str = "420jpeg") -> bytes:
        fps = self.fps or Fraction(30)
        fields = [f"W{self.width}", f"H{self.height}", f"F{fps.numerator}:{fps.denominator}", "Ip", "A1:1",
                  f"C{chroma}"]
        if self.color_range:
            fields.append(f"XCOLORRANGE={self.color_range.upper()}")
        return ("YUV4MPEG2 " + " ".join(fields) + "\n").encode()


Y4M_MAGIC = b"YUV4MPEG2"
Y4M_420 = ("420jpeg", "420", "420mpeg2", "420paldv")  # 8-bit 4:2:0 (siting differs; read alike)


def _parse_y4m_header(line: bytes, path: Path) -> Y4mHeader:
    tokens = line.decode("ascii", errors="replace").split()
    if not tokens or tokens[0] != Y4M_MAGIC.decode():
        raise AicamError(f"{path}: not a y4m file (it does not start with 'YUV4MPEG2')")
    fields = {t[0]: t[1:] for t in tokens[1:] if t}
    try:
        width, height = int(fields["W"]), int(fields["H"])
    except (KeyError, ValueError):
        raise AicamError(f"{path}: the y4m header lacks a valid W or H ({line!r})") from None
    chroma = fields.get("C", "420jpeg")
    if chroma not in Y4M_420:
        raise AicamError(f"{path}: y4m colour space C{chroma} is not supported; only 8-bit 4:2:0 "
                         f"({', '.join('C' + c for c in Y4M_420)}). Convert it with "
                         "ffmpeg -i in.y4m -pix_fmt yuv420p out.y4m")
    fps = None
    if "F" in fields:
        try:
            fps = Fraction(*(int(part) for part in fields["F"].split(":", 1)))
        except (ValueError, TypeError, ZeroDivisionError):
            raise AicamError(f"{path}: the y4m frame rate F{fields['F']} is not <num>:<den>") from None
    extras = [t[1:] for t in tokens[1:] if t.startswith("X")]
    ranges = [x.split("=", 1)[1].lower() for x in extras if x.upper().startswith("COLORRANGE=")]
    color_range = ranges[0] if ranges and ranges[0] in ("full", "limited") else None
    return Y4mHeader(width, height, fps, color_range)  # type: ignore[arg-type]


class Y4mReader:
    """Frames of a .y4m file, one at a time (`for frame in Y4mReader(path)`); `header` has size and rate."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        _check_file(self.path)
        with self.path.open("rb") as stream:
            self.header = _parse_y4m_header(stream.readline(4096), self.path)
            self._data_start = stream.tell()

    def __iter__(self) -> Iterator[Yuv420]:
        width, height = self.header.width, self.header.height
        with self.path.open("rb") as stream:
            stream.seek(self._data_start)
            while line := stream.readline(4096):
                if not line.startswith(b"FRAME"):
                    raise AicamError(f"{self.path}: expected a 'FRAME' marker at byte {stream.tell() - len(line)}; "
                                     "is the file corrupt?")
                data = _read_exact(stream, frame_bytes(width, height), self.path, "the last frame")
                if data is None:
                    raise AicamError(f"{self.path}: the last frame has a marker but no pixels; is the file cut short?")
                yield _planar_to_frame(data, width, height, "i420")


class YuvWriter:
    """Writes frames one at a time to a .y4m or raw .yuv file; use `open_yuv_writer`."""

    def __init__(self, stream: BinaryIO, width: int, height: int, y4m: bool, layout: str):
        self.stream, self.width, self.height, self.y4m, self.layout = stream, width, height, y4m, layout
        self.frames = 0

    def write(self, frame: Yuv420) -> None:
        if (frame.width, frame.height) != (self.width, self.height):
            raise AicamError(f"YUV writer: frame {self.frames} is {frame.width}x{frame.height}, the file is "
                             f"{self.width}x{self.height}")
        if self.y4m:
            self.stream.write(b"FRAME\n")
        for plane in _frame_planes(frame, self.layout):
            self.stream.write(np.ascontiguousarray(plane).tobytes())
        self.frames += 1


@contextmanager
def open_yuv_writer(path: str | os.PathLike, width: int, height: int, fps: Fraction | float | None = None,
                    layout: str = "nv12", color_range: Literal["full", "limited"] | None = None) -> Iterator[YuvWriter]:
    """A writer of `width` x `height` frames: .y4m (planar 4:2:0 with a header carrying the rate and,
    if given, the colour range) or raw .yuv in `layout` (nv12, nv21 or i420). The file appears only
    when the block ends without error."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in YUV_SUFFIXES:
        raise AicamError(f"{path}: unsupported YUV file type '{path.suffix}'; use {' or '.join(YUV_SUFFIXES)}")
    if suffix == ".yuv" and layout not in RAW_LAYOUTS:
        raise AicamError(f"raw YUV layout {layout!r}: use one of {', '.join(RAW_LAYOUTS)}")
    with atomic.atomic_path(path) as tmp, tmp.open("wb") as stream:
        if suffix == ".y4m":
            rate = Fraction(fps).limit_denominator(1001) if fps is not None else None
            stream.write(Y4mHeader(width, height, rate, color_range).line())
        yield YuvWriter(stream, width, height, suffix == ".y4m", "i420" if suffix == ".y4m" else layout)


def read_yuv_frames(path: str | os.PathLike, size: tuple[int, int] | None = None,
                    layout: str = "nv12") -> Iterator[Yuv420]:
    """Frames of a .y4m file (size from its header) or a raw .yuv file (`size` = (width, height) needed)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".y4m":
        return iter(Y4mReader(path))
    if suffix == ".yuv":
        if size is None:
            raise AicamError(f"{path}: a raw .yuv file has no header; give its size (--size WIDTHxHEIGHT)")
        return read_raw_yuv(path, *size, layout=layout)
    raise AicamError(f"{path}: unsupported YUV file type '{path.suffix}'; use {' or '.join(YUV_SUFFIXES)}")
