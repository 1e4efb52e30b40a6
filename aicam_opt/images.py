"""Reading and writing photos (PNG/JPEG/TIFF, 8 and 16 bit) and videos (frame folders, mp4).

Everything inside the suite is float32 RGB in [0, 1], shape HxWx3; the bit depth of a file is kept
so that a 16-bit TIFF in gives a 16-bit TIFF out.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from . import atomic
from .errors import AicamError

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")


@dataclass(frozen=True)
class Photo:
    pixels: np.ndarray  # float32 HxWx3 in [0, 1]
    bit_depth: int  # 8 or 16, of the source file


def check_photo_path(path: Path) -> None:
    if not path.is_file():
        raise AicamError(f"{path}: image file not found")
    if path.suffix.lower() not in PHOTO_SUFFIXES:
        raise AicamError(f"{path}: unsupported image type '{path.suffix}'; use one of {', '.join(PHOTO_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise AicamError(f"{path}: the file is empty (0 bytes)")


def _decode(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        return tifffile.imread(path)
    if suffix == ".png":
        import cv2  # OpenCV keeps 16-bit RGB PNGs 16-bit (Pillow does not)

        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ValueError("OpenCV could not decode the PNG")
        if arr.ndim == 3:  # BGR(A) -> RGB(A) in place: no second copy of a 100 MP picture
            cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB, dst=arr)
        return arr
    import imageio.v3 as iio

    return iio.imread(path)  # Pillow: a truncated JPEG is an error (OpenCV would gray-fill it)


def native_rgb(arr: np.ndarray, source: str = "image") -> np.ndarray:
    """Gray/RGB/RGBA uint8/uint16/float -> HxWx3 uint8, uint16 or float32 (float clipped to [0, 1])."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise AicamError(f"{source}: unsupported image layout {arr.shape}; expected HxW, HxWx3 or HxWx4")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[:, :, :3]
    if arr.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(arr)
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(arr.astype(np.float32), 0.0, 1.0)
    raise AicamError(f"{source}: unsupported pixel type {arr.dtype}; expected uint8, uint16 or float")


def read_native(path: str | os.PathLike) -> np.ndarray:
    """Decode a photo in its own pixel type (3 or 6 bytes a pixel: a 100 MP photo is never a float copy).

    An unreadable, truncated, empty or unsupported file raises AicamError naming it."""
    path = Path(path)
    check_photo_path(path)
    try:
        arr = np.asarray(_decode(path))
    except Exception as err:  # decoders raise many types; all mean "not a readable image"
        raise AicamError(f"{path}: cannot decode image ({type(err).__name__}: {err}); is it truncated or corrupt?") from None
    return native_rgb(arr, str(path))


def read_photo(path: str | os.PathLike) -> Photo:
    """A photo as float32 HxWx3 in [0, 1], with the bit depth of its file."""
    return Photo(*to_float_rgb(read_native(path), str(path)))


def to_float_rgb(arr: np.ndarray, source: str = "image") -> tuple[np.ndarray, int]:
    """uint8/uint16/float arrays, gray/RGB/RGBA -> (float32 HxWx3 in [0,1], bit depth)."""
    arr = native_rgb(arr, source)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, 8
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0, 16
    return arr, 16


def quantize(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth not in (8, 16):
        raise AicamError(f"bit depth {bit_depth} is not supported; use 8 or 16")
    scale = 255.0 if bit_depth == 8 else 65535.0
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(pixels, 0.0, 1.0) * scale).astype(dtype)


def to_output_type(pixels: np.ndarray, suffix: str) -> np.ndarray:
    """JPEG holds 8 bits: a 16-bit or float result is rounded to uint8 for it; PNG/TIFF keep 16 bit."""
    if pixels.dtype == np.float32:
        return quantize(pixels, 8 if suffix in (".jpg", ".jpeg") else 16)
    if pixels.dtype == np.uint16 and suffix in (".jpg", ".jpeg"):
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return pixels


def write_native(path: str | os.PathLike, pixels: np.ndarray) -> None:
    """Write a uint8/uint16 (or float32 -> 16 bit) HxWx3 array atomically: no partial file on failure."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PHOTO_SUFFIXES:
        raise AicamError(f"{path}: unsupported output type '{path.suffix}'; use one of {', '.join(PHOTO_SUFFIXES)}")
    data = to_output_type(pixels, suffix)
    with atomic.atomic_path(path) as tmp:
        if suffix in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(tmp, data, photometric="rgb")
        elif suffix == ".png":
            import cv2

            # OpenCV's PNG encoder (fast zlib level 1) keeps 8 and 16 bit; it wants BGR.
            if not cv2.imwrite(str(tmp), np.ascontiguousarray(data[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                raise AicamError(f"{path}: the PNG encoder failed")
        else:
            import imageio.v3 as iio

            iio.imwrite(tmp, data, extension=suffix, quality=95)


def write_photo(path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8) -> None:
    """Write a float image atomically at `bit_depth`; JPEG is 8 bit only, PNG and TIFF keep 16 bit."""
    if not np.all(np.isfinite(pixels)):
        raise AicamError(f"{path}: refusing to write an image with NaN/inf pixels (the model produced non-finite output)")
    write_native(path, quantize(pixels, 8 if Path(path).suffix.lower() in (".jpg", ".jpeg") else bit_depth))


def list_photos(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def read_video_frames(source: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Frames of a video as float32 HxWx3: a folder of photos (sorted by name) or an mp4 via imageio-ffmpeg."""
    source = Path(source)
    if source.is_dir():
        frames = list_photos(source)
        if not frames:
            raise AicamError(f"{source}: no frames found (expected {', '.join(PHOTO_SUFFIXES)} files)")
        for i, frame in enumerate(frames):
            if max_frames is not None and i >= max_frames:
                return
            yield read_photo(frame).pixels
        return
    if source.suffix.lower() not in VIDEO_SUFFIXES:
        raise AicamError(f"{source}: not a frame folder or a supported video ({', '.join(VIDEO_SUFFIXES)})")
    if not source.is_file() or source.stat().st_size == 0:
        raise AicamError(f"{source}: video file missing or empty")
    import imageio.v3 as iio

    try:
        for i, frame in enumerate(iio.imiter(source, plugin="pyav" if _has_pyav() else "FFMPEG")):
            if max_frames is not None and i >= max_frames:
                return
            yield to_float_rgb(np.asarray(frame), str(source))[0]
    except AicamError:
        raise
    except Exception as err:
        raise AicamError(f"{source}: cannot decode video ({type(err).__name__}: {err})") from None


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def resize_long_side(pixels: np.ndarray, long_side: int) -> np.ndarray:
    """Area-downscale so the longer side is `long_side` (never upscales)."""
    import cv2

    h, w = pixels.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
