"""Reading and writing photos (PNG/JPEG/TIFF, 8 and 16 bit) and videos (frame folders, mp4).

Everything inside the suite is float32 RGB in [0, 1], shape HxWx3; the bit depth of a file is kept
so that a 16-bit TIFF in gives a 16-bit TIFF out. This is the one place media are checked as they
are read: photos come out upright (EXIF Orientation applied), C-contiguous and writable, without
NaN; the frames of a video all have the first frame's size. A photo's alpha channel and metadata
(EXIF, ICC profile) are read with it (`read_native_photo`) and written back by `write_native`.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
import threading
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import atomic
from .errors import AicamError
from .photo_metadata import PhotoMetadata, add_exif_to_tiff, read_metadata, upright

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
JPEG_SUFFIXES = (".jpg", ".jpeg")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")
ENCODER_LOOKAHEAD_FRAMES = 10  # frames x264 buffers ahead: bounds the encoder's memory on long 8K clips


@dataclass(frozen=True)
class Photo:
    pixels: np.ndarray  # float32 HxWx3 in [0, 1]
    bit_depth: int  # 8 or 16, of the source file


@dataclass(frozen=True)
class NativePhoto:
    """A photo in its file's own pixel type, upright, with what else the file holds."""

    pixels: np.ndarray  # HxWx3 uint8, uint16 or float32 in [0, 1]
    alpha: np.ndarray | None = None  # HxW, same type; None if the file has no alpha channel
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)

    @property
    def translucent(self) -> bool:
        """Has an alpha channel that is not fully opaque (dropping it would lose something)."""
        if self.alpha is None:
            return False
        opaque = 1.0 if self.alpha.dtype == np.float32 else np.iinfo(self.alpha.dtype).max
        return bool((self.alpha != opaque).any())


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
    return _split_alpha(arr, source)[0]


def _split_alpha(arr: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Gray/RGB/RGBA -> (HxWx3, HxW alpha or None), C-contiguous, in the array's type (float: float32)."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise AicamError(f"{source}: unsupported image layout {arr.shape}; expected HxW, HxWx3 or HxWx4")
    alpha = arr[:, :, 3] if arr.shape[2] == 4 else None
    rgb = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[:, :, :3]
    if arr.dtype in (np.uint8, np.uint16):
        # Decoders may hand out read-only buffers; the compiled kernel needs writable, contiguous memory.
        return np.require(rgb, requirements="CW"), None if alpha is None else np.ascontiguousarray(alpha)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise AicamError(f"{source}: the image has NaN or infinite pixel values; it cannot be enhanced")
        return (np.clip(rgb.astype(np.float32), 0.0, 1.0),
                None if alpha is None else np.clip(alpha.astype(np.float32), 0.0, 1.0))
    raise AicamError(f"{source}: unsupported pixel type {arr.dtype}; expected uint8, uint16 or float")


def read_native_photo(path: str | os.PathLike) -> NativePhoto:
    """Decode a photo in its own pixel type (3 or 6 bytes a pixel: a 100 MP photo is never a float
    copy), upright, with its alpha channel and its metadata.

    An unreadable, truncated, empty or unsupported file raises AicamError naming it."""
    path = Path(path)
    check_photo_path(path)
    try:
        arr = np.asarray(_decode(path))
    except Exception as err:  # decoders raise many types; all mean "not a readable image"
        raise AicamError(f"{path}: cannot decode image ({type(err).__name__}: {err}); is it truncated or corrupt?") from None
    metadata, orientation = read_metadata(path)
    pixels, alpha = _split_alpha(arr, str(path))
    del arr
    pixels = upright(pixels, orientation)
    return NativePhoto(pixels, None if alpha is None else upright(alpha, orientation), metadata)


class ReadAhead:
    """`read_native_photo(path)` in a background thread, started at once: the decoders release the GIL,
    so a large photo decodes on one core while the model loads (torch and TVM imports) on the other.
    `photo()` waits for it, raises what reading raised, and hands the photo over (no reference is kept)."""

    def __init__(self, path: str | os.PathLike):
        self._photo: NativePhoto | None = None
        self._error: BaseException | None = None
        # A daemon: an error elsewhere (a bad model) exits at once instead of waiting for the decode.
        self._thread = threading.Thread(target=self._read, args=(Path(path),), name="read-ahead", daemon=True)
        self._thread.start()

    def _read(self, path: Path) -> None:
        try:
            self._photo = read_native_photo(path)
        except BaseException as err:  # re-raised in the caller's thread by photo()
            self._error = err

    def photo(self) -> NativePhoto:
        self._thread.join()
        if self._error is not None:
            raise self._error
        photo, self._photo = self._photo, None
        if photo is None:
            raise RuntimeError("ReadAhead.photo() was already called")
        return photo


def read_native(path: str | os.PathLike) -> np.ndarray:
    """The pixels of `read_native_photo` (upright HxWx3; an alpha channel is left out)."""
    return read_native_photo(path).pixels


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
        return quantize(pixels, 8 if suffix in JPEG_SUFFIXES else 16)
    if pixels.dtype == np.uint16 and suffix in JPEG_SUFFIXES:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return pixels


def write_native(path: str | os.PathLike, pixels: np.ndarray, alpha: np.ndarray | None = None,
                 metadata: PhotoMetadata | None = None) -> None:
    """Write a uint8/uint16 (or float32 -> 16 bit) HxWx3 array atomically: no partial file on failure.

    `alpha` (HxW, the pixels' type) is written as a fourth channel (PNG, TIFF; JPEG cannot hold it);
    `metadata` (EXIF, ICC profile) is embedded."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PHOTO_SUFFIXES:
        raise AicamError(f"{path}: unsupported output type '{path.suffix}'; use one of {', '.join(PHOTO_SUFFIXES)}")
    if alpha is not None and suffix in JPEG_SUFFIXES:
        raise AicamError(f"{path}: JPEG cannot hold an alpha channel; write a PNG or TIFF")
    data = to_output_type(pixels, suffix)
    if alpha is not None:
        data = np.dstack([data, to_output_type(alpha, suffix)])
    exif, icc = (metadata.exif, metadata.icc_profile) if metadata else (None, None)
    with atomic.atomic_path(path) as tmp:
        if suffix in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(tmp, data, photometric="rgb", iccprofile=icc,
                             extrasamples=None if alpha is None else ["unassalpha"])
            if exif:
                add_exif_to_tiff(tmp, exif)
        elif suffix == ".png":
            from .png_writer import write_png

            with open(tmp, "wb") as out:
                write_png(out, data, exif=exif and exif.removeprefix(b"Exif\0\0"),
                          icc_profile=icc)
        else:
            import imageio.v3 as iio

            extra = {key: value for key, value in (("exif", exif), ("icc_profile", icc)) if value}
            iio.imwrite(tmp, data, extension=suffix, quality=95, **extra)


def write_photo(path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8) -> None:
    """Write a float image atomically at `bit_depth`; JPEG is 8 bit only, PNG and TIFF keep 16 bit."""
    if not np.all(np.isfinite(pixels)):
        raise AicamError(f"{path}: refusing to write an image with NaN/inf pixels (the model produced non-finite output)")
    write_native(path, quantize(pixels, 8 if Path(path).suffix.lower() in JPEG_SUFFIXES else bit_depth))


def list_photos(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def read_video_frames(source: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Frames of a video in their own pixel type (HxWx3 uint8/uint16/float32; uint8 from a video
    file), C-contiguous and writable: a folder of photos (sorted by name) or a video file (ffmpeg).

    Every frame must have the first frame's size and be opaque (a video is RGB): a frame that is not
    is an error naming it, its size and the expected one."""
    source = Path(source)
    frames = _folder_frames(source) if source.is_dir() else _file_frames(source)
    with closing(frames):
        first: tuple[str, tuple[int, ...]] | None = None
        for i, (name, pixels) in enumerate(frames):
            if max_frames is not None and i >= max_frames:
                return
            if first is None:
                first = (name, pixels.shape[:2])
            elif pixels.shape[:2] != first[1]:
                (h, w), (expected_h, expected_w) = pixels.shape[:2], first[1]
                raise AicamError(f"{name}: the frame is {w}x{h}, but the video's frames are {expected_w}x{expected_h} "
                                 f"(as {Path(first[0]).name}); resize it to match or remove it")
            yield pixels


def _folder_frames(folder: Path) -> Iterator[tuple[str, np.ndarray]]:
    paths = list_photos(folder)
    if not paths:
        raise AicamError(f"{folder}: no frames found (expected {', '.join(PHOTO_SUFFIXES)} files)")
    for path in paths:
        photo = read_native_photo(path)
        if photo.translucent:
            raise AicamError(f"{path}: the frame has an alpha channel that is not fully opaque, which a video "
                             "cannot keep; flatten the frames, or enhance them one by one as photos")
        yield str(path), photo.pixels


def _file_frames(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise AicamError(f"{path}: not a frame folder or a supported video ({', '.join(VIDEO_SUFFIXES)})")
    if not path.is_file():
        raise AicamError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise AicamError(f"{path}: the video file is empty (0 bytes)")
    import imageio_ffmpeg

    n = 0
    reader = imageio_ffmpeg.read_frames(str(path))  # ffmpeg starts on the first next()
    try:
        w, h = next(reader)["size"]
        for buffer in reader:
            n += 1
            # ffmpeg's frames are immutable bytes; the copy makes them writable like a photo decoder's
            # (the compiled kernel cannot take read-only memory), and costs far less than enhancing one.
            yield f"{path} (frame {n})", np.frombuffer(buffer, np.uint8).reshape(h, w, 3).copy()
    except Exception as err:  # ffmpeg and imageio-ffmpeg raise many types; all mean "not decodable"
        raise AicamError(f"{path}: cannot decode video ({type(err).__name__}: {str(err).strip()[:300]})") from None
    finally:
        reader.close()  # stops ffmpeg when the frames are not all read (an error, --max-frames)
    if n == 0:
        raise AicamError(f"{path}: the video has no decodable frames")


def to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


@contextmanager
def video_writer(dst: str | os.PathLike, fps: float = 30.0) -> Iterator[Callable[[np.ndarray], None]]:
    """`put(frame)` appends a frame (HxWx3, any pixel type) to a video that appears only if the block
    succeeds: a folder of PNG frames (a path without suffix) or an H.264 video encoded by ffmpeg
    (.mp4, .mov, .mkv, .avi; 8 bit). Frames must all have the first one's size."""
    dst = Path(dst)
    if not (fps > 0 and math.isfinite(fps)):
        raise AicamError(f"{dst}: frame rate {fps} is not possible; give a rate above 0 (e.g. 30)")
    if dst.suffix.lower() in VIDEO_SUFFIXES:
        with atomic.atomic_path(dst) as tmp, _Encoder(tmp, dst, fps) as encoder:
            yield encoder.put
    elif dst.suffix == "":
        with atomic.atomic_dir(dst) as tmp:
            sizes = _SameSize(dst)

            def put(frame: np.ndarray) -> None:
                sizes.check(frame)
                write_native(tmp / f"{sizes.count:05d}.png", frame)
                sizes.count += 1
            yield put
    else:
        raise AicamError(f"{dst}: a video output is a folder (no suffix) or one of {', '.join(VIDEO_SUFFIXES)}")


class _SameSize:
    """Frames of one video share one size: a frame of another size would be written shifted and torn."""

    def __init__(self, dst: Path):
        self.dst, self.size, self.count = dst, None, 0

    def check(self, frame: np.ndarray) -> None:
        if self.size is None:
            self.size = frame.shape[:2]
        elif frame.shape[:2] != self.size:
            raise AicamError(f"{self.dst}: frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, but the video is "
                             f"{self.size[1]}x{self.size[0]}; all frames must have one size")


class _Encoder:
    """H.264 by an ffmpeg process whose exit status and messages are checked (imageio-ffmpeg's writer
    ignores both: a failed encode gave a 0-byte or torn video and exit status 0)."""

    def __init__(self, path: Path, dst: Path, fps: float):
        self.path, self.dst, self.fps = path, dst, fps
        self.sizes = _SameSize(dst)
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # ffmpeg's messages; a file cannot fill up and block it like a pipe

    def __enter__(self) -> "_Encoder":
        return self

    def put(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(to_uint8(frame))
        self.sizes.check(frame)
        if self.process is None:
            self._start(frame.shape[1], frame.shape[0])
        try:
            self.process.stdin.write(frame.data)
        except OSError:  # ffmpeg quit (a broken pipe): its own message says why
            self._fail()
        self.sizes.count += 1

    def _start(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        # imageio-ffmpeg's command for quality 8 (crf 10), libx264, yuv420p, no audio; x264's rate-control
        # lookahead cut from 40 frames to 10, since at 8K every frame it holds costs about 50 MB.
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-vcodec", "rawvideo",
                   "-s", f"{width}x{height}", "-pix_fmt", "rgb24", "-r", str(Fraction(self.fps).limit_denominator()),
                   "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "10",
                   "-x264-params", f"rc-lookahead={ENCODER_LOOKAHEAD_FRAMES}", str(self.path)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log)

    def _close_input(self) -> None:
        with suppress(OSError):  # ffmpeg may have quit already; its exit status says why
            self.process.stdin.close()

    def _fail(self) -> None:
        self._close_input()
        status = self.process.wait()
        self.log.seek(0)
        lines = re.sub(r" @ 0x[0-9a-f]+", "", self.log.read().decode(errors="replace")).strip().splitlines()
        message = " | ".join(lines[:2])[:500] or "no message"  # ffmpeg says the cause first, then its echoes
        height, width = self.sizes.size
        hint = (" (H.264 needs an even width and height: crop the frames by a pixel, or write a frame folder)"
                if width % 2 or height % 2 else "")
        raise AicamError(f"{self.dst}: ffmpeg could not encode the video (exit status {status}): {message}{hint}")

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if self.process is None:
                return
            if kind is None:
                self._close_input()
                if self.process.wait() != 0:
                    self._fail()
            elif self.process.poll() is None:  # an error or Ctrl-C: stop ffmpeg, the partial video goes
                self.process.kill()
                self.process.wait()
        finally:
            if self.process is not None:
                self._close_input()
            self.log.close()


def resize_long_side(pixels: np.ndarray, long_side: int) -> np.ndarray:
    """Area-downscale so the longer side is `long_side` (never upscales)."""
    import cv2

    h, w = pixels.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
