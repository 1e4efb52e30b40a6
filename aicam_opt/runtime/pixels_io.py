"""Photo files in their native pixel type (uint8 / uint16), so a 100 MP photo is never a float copy.

`aicam_opt.images.read_photo` returns float32 (12 bytes a pixel: 1.2 GB for 100 MP); the runtime
needs the decoded 8/16-bit array itself (3 or 6 bytes a pixel) and writes the same type back.
Errors follow `images.read_photo`: a missing, empty, truncated or unsupported file is an AicamError
naming the file; writes are atomic.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import AicamError
from ..images import PHOTO_SUFFIXES


def check_photo_path(path: Path) -> None:
    if not path.is_file():
        raise AicamError(f"{path}: image file not found")
    if path.suffix.lower() not in PHOTO_SUFFIXES:
        raise AicamError(f"{path}: unsupported image type '{path.suffix}'; use one of {', '.join(PHOTO_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise AicamError(f"{path}: the file is empty (0 bytes)")


def native_rgb(arr: np.ndarray, source: str) -> np.ndarray:
    """Gray/RGB/RGBA uint8/uint16/float -> HxWx3 of uint8, uint16 or float32 (float clipped to [0, 1])."""
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


def decode_png(path: Path) -> np.ndarray:
    """OpenCV keeps 16-bit RGB PNGs 16-bit (Pillow does not); a truncated PNG fails to decode."""
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError("OpenCV could not decode the PNG")
    if arr.ndim == 3:  # BGR(A) -> RGB(A) in place: no second copy of a 100 MP picture
        cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB, dst=arr)
    return arr


def read_native(path: str | os.PathLike) -> np.ndarray:
    """Decode a photo into HxWx3 uint8 (8-bit files), uint16 (16-bit) or float32 (float TIFF)."""
    path = Path(path)
    check_photo_path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        elif suffix == ".png":
            arr = decode_png(path)
        else:
            import imageio.v3 as iio

            arr = iio.imread(path)  # Pillow: a truncated JPEG is an error (OpenCV would gray-fill it)
    except Exception as err:  # decoders raise many types; all mean "not a readable image"
        raise AicamError(f"{path}: cannot decode image ({type(err).__name__}: {err}); is it truncated or corrupt?") from None
    return native_rgb(np.asarray(arr), str(path))


def to_output_type(pixels: np.ndarray, suffix: str) -> np.ndarray:
    """JPEG holds 8 bits: a 16-bit or float result is rounded to uint8 for it; PNG/TIFF keep 16 bit."""
    if pixels.dtype == np.float32:
        from ..images import quantize

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
