"""The parallel PNG writer: decoders agree with its pixels, its bands join into one valid zlib stream."""
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from aicam_opt import png_writer
from aicam_opt.png_writer import adler32_combine, write_png


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk, each CRC checked."""
    assert data[:8] == png_writer.SIGNATURE
    found, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, payload = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        found.append((kind, payload))
        at += 12 + length
    return found


def encode(pixels: np.ndarray, **kwargs) -> bytes:
    out = io.BytesIO()
    write_png(out, pixels, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("threads", [1, 3])
def test_decoders_read_back_the_pixels_across_many_bands(monkeypatch, dtype, channels, threads):
    monkeypatch.setattr(png_writer, "BAND_BYTES", 400)  # a band is a few rows: dozens of bands
    pixels = np.random.default_rng(0).integers(0, np.iinfo(dtype).max + 1, (67, 53, channels), dtype=dtype)
    data = encode(pixels, threads=threads)
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds.count(b"IDAT") > 30
    # zlib checks the joined stream's Adler-32 and that it ends exactly once
    raw = zlib.decompress(b"".join(p for kind, p in chunks(data) if kind == b"IDAT"))
    assert len(raw) == 67 * (53 * channels * np.dtype(dtype).itemsize + 1)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr.dtype == dtype
    np.testing.assert_array_equal(bgr, pixels[:, :, [2, 1, 0, 3][:channels]])
    if dtype == np.uint8:
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


def test_one_row_and_one_pixel_pictures():
    for shape in [(1, 1, 3), (1, 9, 3), (9, 1, 4)]:
        pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode(pixels)))), pixels)


def test_adler32_combine_equals_the_checksum_of_the_concatenation():
    rng = np.random.default_rng(2)
    for n1, n2 in [(0, 5), (7, 0), (1, 1), (70000, 123457), (3, 200000)]:
        a, b = rng.bytes(n1), rng.bytes(n2)
        assert adler32_combine(zlib.adler32(a), zlib.adler32(b), n2) == zlib.adler32(a + b)


def test_exif_and_icc_profile_come_before_the_pixels_and_pillow_reads_them():
    exif = Image.Exif()
    exif[0x010F] = "aicam"  # Make
    icc = b"\0\0\x02\x0cfake profile" * 10
    data = encode(np.zeros((4, 5, 3), np.uint8), exif=exif.tobytes()[6:] if exif.tobytes()[:6] == b"Exif\0\0"
                  else exif.tobytes(), icc_profile=icc)
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds.index(b"iCCP") < kinds.index(b"IDAT") and kinds.index(b"eXIf") < kinds.index(b"IDAT")
    with Image.open(io.BytesIO(data)) as img:
        assert img.info["icc_profile"] == icc
        assert img.getexif()[0x010F] == "aicam"


def test_other_pixel_types_are_refused():
    with pytest.raises(ValueError, match="HxWx3 or HxWx4 uint8/uint16"):
        encode(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match="HxWx3 or HxWx4"):
        encode(np.zeros((4, 5, 2), np.uint8))
