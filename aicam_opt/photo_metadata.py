"""What a photo file says besides its pixels: EXIF (with its Orientation) and the ICC colour profile.

Read from the file's header with Pillow, whichever decoder reads the pixels. The pixels are handed
out upright (`upright` applies the Orientation), so the EXIF carried over says Orientation 1, and
the tags that describe how a TIFF stores its pixels (size, strips, compression...) are left out:
they belong to the file, not to the photo. `images.write_native` writes both back: JPEG through
Pillow, PNG through `png_writer`, TIFF through tifffile plus `add_exif_to_tiff`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ORIENTATION = 0x0112
EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x8769, 0x8825, 0xA005
# TIFF tags of the pixel layout (and the ICC profile, carried on its own): never copied between files.
LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 317, 322, 323, 324,
    325, 330, 338, 339, 340, 341, 347, 513, 514, 530, 531, 532, 32997, 32998, 34675,
})


@dataclass(frozen=True)
class PhotoMetadata:
    exif: bytes | None = None  # "Exif\0\0" + a TIFF structure, as Pillow writes it; Orientation is 1
    icc_profile: bytes | None = None


def read_metadata(path: Path) -> tuple[PhotoMetadata, int]:
    """(the metadata to carry over, the file's EXIF Orientation 1..8; 1 if it has none).

    Pillow reads only the header. A header it cannot parse (a TIFF layout it does not know, a
    damaged EXIF block) gives no metadata: the pixels, read by another decoder, are still good."""
    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # a header is no decompression bomb
    try:
        with Image.open(path) as img:
            # Pillow decodes a whole PNG to look for EXIF after its pixels: only the header's is read.
            exif = img.getexif() if img.format != "PNG" or "exif" in img.info else Image.Exif()
            icc = img.info.get("icc_profile") or None
            _load_sub_ifds(exif)  # a TIFF's are read lazily: now, while it is open
        orientation = exif.get(ORIENTATION, 1)
        for tag in LAYOUT_TAGS & set(exif):
            del exif[tag]
        if ORIENTATION in exif:
            exif[ORIENTATION] = 1
        data = exif.tobytes() if len(exif) else None
    except Exception:  # Pillow raises many types for headers it cannot read; see the docstring
        return PhotoMetadata(), 1
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return PhotoMetadata(data, icc), orientation if orientation in range(1, 9) else 1


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The picture as it is meant to be seen, for EXIF Orientation 1..8 (a copy unless 1)."""
    if orientation == 1:
        return pixels
    turned = {
        2: lambda a: a[:, ::-1],                 # mirrored left-right
        3: lambda a: a[::-1, ::-1],              # rotated 180
        4: lambda a: a[::-1],                    # mirrored top-bottom
        5: lambda a: a.swapaxes(0, 1),           # transposed
        6: lambda a: np.rot90(a, -1),            # stored rotated 90 counter-clockwise: turn clockwise
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transversed
        8: lambda a: np.rot90(a, 1),             # stored rotated 90 clockwise: turn counter-clockwise
    }[orientation](pixels)
    return np.ascontiguousarray(turned)


def add_exif_to_tiff(path: Path, exif: bytes) -> bool:
    """Add EXIF's tags to the single-image classic TIFF at `path` (as tifffile writes it).

    tifffile cannot write an Exif or GPS sub-IFD, so the EXIF is serialised by Pillow in the file's
    byte order at the end of the file, and a new first IFD, the TIFF's own entries merged with
    EXIF's (EXIF's value wins on a tag both have), is appended after it; the header then points to
    it. Nothing that is already in the file moves. Returns False (nothing changed) for a BigTIFF."""
    from PIL import Image

    with open(path, "r+b") as f:
        head = f.read(8)
        endian = "<" if head[:2] == b"II" else ">"
        magic, first_ifd = struct.unpack(endian + "HI", head[2:8])
        if magic != 42:
            return False
        f.seek(first_ifd)
        (count,) = struct.unpack(endian + "H", f.read(2))
        entries = _entries(f.read(12 * count), endian)
        (next_ifd,) = struct.unpack(endian + "I", f.read(4))
        parsed = Image.Exif()
        parsed.load(exif)
        _load_sub_ifds(parsed)
        parsed.endian = endian  # serialise in the TIFF's byte order
        f.seek(0, 2)
        start = f.tell() + f.tell() % 2  # IFDs start on a word boundary
        block = parsed.tobytes(offset=start)[6 + 8:]  # without "Exif\0\0" and the TIFF header
        (exif_count,) = struct.unpack(endian + "H", block[:2])
        entries.update(_entries(block[2:2 + 12 * exif_count], endian))  # offsets in it are absolute
        new_ifd = start + len(block) + len(block) % 2
        f.seek(start)
        f.write(block + b"\0" * (len(block) % 2))
        f.write(struct.pack(endian + "H", len(entries)) + b"".join(entries[tag] for tag in sorted(entries))
                + struct.pack(endian + "I", next_ifd))
        f.seek(4)
        f.write(struct.pack(endian + "I", new_ifd))
    return True


def _load_sub_ifds(exif) -> None:
    """Read the Exif, GPS and Interop sub-IFDs into `exif` (Pillow serialises what it has read).
    Only those present: asking Pillow for a missing one adds it, empty."""
    for ifd in (EXIF_IFD, GPS_IFD):
        if ifd in exif:
            exif.get_ifd(ifd)
    if EXIF_IFD in exif and INTEROP_IFD in exif.get_ifd(EXIF_IFD):
        exif.get_ifd(INTEROP_IFD)


def _entries(raw: bytes, endian: str) -> dict[int, bytes]:
    """IFD entries (12 bytes each) by tag."""
    return {struct.unpack(endian + "H", raw[i:i + 2])[0]: raw[i:i + 12] for i in range(0, len(raw), 12)}
