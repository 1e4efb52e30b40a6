import numpy as np
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.images import read_native, read_native_photo, read_photo, read_video_frames, write_native, write_photo


def _photo():
    rng = np.random.default_rng(0)
    return rng.random((37, 51, 3)).astype(np.float32)


@pytest.mark.parametrize("suffix,bits,tol", [(".png", 8, 1 / 255), (".png", 16, 1 / 65535), (".tif", 16, 1 / 65535), (".jpg", 8, 0.25)])
def test_round_trip_keeps_bit_depth(tmp_path, suffix, bits, tol):
    img = _photo()
    path = tmp_path / f"img{suffix}"
    write_photo(path, img, bit_depth=bits)
    photo = read_photo(path)
    assert photo.bit_depth == bits and photo.pixels.shape == img.shape
    err = np.abs(photo.pixels - img)
    assert (err.mean() if suffix == ".jpg" else err.max()) <= tol


def test_bad_images_are_named(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(AicamError, match="empty.png: the file is empty"):
        read_photo(empty)
    truncated = tmp_path / "trunc.png"
    write_photo(truncated, _photo())
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(AicamError, match="trunc.png: cannot decode image"):
        read_photo(truncated)
    bmp = tmp_path / "a.bmp"
    bmp.write_bytes(b"BM....")
    with pytest.raises(AicamError, match="a.bmp: unsupported image type"):
        read_photo(bmp)
    with pytest.raises(AicamError, match="not found"):
        read_photo(tmp_path / "missing.png")


def test_nan_output_is_refused_and_nothing_written(tmp_path):
    img = _photo()
    img[0, 0, 0] = np.nan
    with pytest.raises(AicamError, match="NaN"):
        write_photo(tmp_path / "out.png", img)
    assert list(tmp_path.iterdir()) == []


def test_frame_folder(tmp_path):
    for i in range(3):
        write_photo(tmp_path / f"{i:03d}.png", _photo() * (i + 1) / 3)
    frames = list(read_video_frames(tmp_path))
    assert len(frames) == 3 and frames[0].mean() < frames[2].mean()
    assert all(f.dtype == np.uint8 and f.flags.writeable and f.flags.c_contiguous for f in frames)


# ------------------------------------------------------------------------------ metadata and alpha
def camera_exif(orientation: int) -> bytes:
    """EXIF as a camera writes it: make and model, the Orientation, and an Exif sub-IFD."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Acme", "Pocket 1", orientation
    exif.get_ifd(0x8769).update({0x9003: "2024:05:06 07:08:09", 0x829A: IFDRational(1, 250)})
    return exif.tobytes()


def srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _stored(shape=(5, 7)) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied_as_pillow_does(tmp_path, orientation):
    from PIL import Image, ImageOps

    path = tmp_path / "shot.png"
    Image.fromarray(_stored()).save(path, exif=camera_exif(orientation))
    with Image.open(path) as img:
        upright = np.asarray(ImageOps.exif_transpose(img))
    assert np.array_equal(read_native(path), upright)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_exif_and_icc_profile_survive_and_orientation_is_reset(tmp_path, suffix):
    """A portrait shot stored sideways (Orientation 6): upright pixels out, Orientation 1, the rest kept."""
    from PIL import Image

    src = tmp_path / "portrait.jpg"
    Image.fromarray(_stored((40, 60))).save(src, exif=camera_exif(6), icc_profile=srgb_profile(), quality=95)
    photo = read_native_photo(src)
    assert photo.pixels.shape == (60, 40, 3)
    out = tmp_path / f"out{suffix}"
    write_native(out, photo.pixels, metadata=photo.metadata)
    with Image.open(out) as img:
        exif, icc, size = img.getexif(), img.info.get("icc_profile"), img.size
        sub = exif.get_ifd(0x8769)
    assert size == (40, 60) and icc == srgb_profile()
    assert (exif[0x010F], exif[0x0110], exif[0x0112]) == ("Acme", "Pocket 1", 1)
    assert sub[0x9003] == "2024:05:06 07:08:09" and float(sub[0x829A]) == pytest.approx(1 / 250)
    assert read_native(out).shape == (60, 40, 3)  # not turned a second time


def test_a_16_bit_tiff_keeps_its_pixels_and_gains_the_exif(tmp_path):
    import tifffile
    from PIL import Image

    src = tmp_path / "in.jpg"
    Image.fromarray(_stored()).save(src, exif=camera_exif(1), icc_profile=srgb_profile())
    pixels16 = np.random.default_rng(2).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    out = tmp_path / "out.tif"
    write_native(out, pixels16, metadata=read_native_photo(src).metadata)
    assert np.array_equal(tifffile.imread(out), pixels16)
    with tifffile.TiffFile(out) as tif:
        tags = tif.pages[0].tags
        assert tags["Make"].value == "Acme" and tags["ExifTag"].value["DateTimeOriginal"] == "2024:05:06 07:08:09"
        assert tags["InterColorProfile"].value == srgb_profile()


def test_alpha_is_kept_by_png_and_tiff_and_refused_by_jpeg(tmp_path):
    import cv2

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (6, 9, 4), dtype=np.uint8)
    src = tmp_path / "cutout.png"
    cv2.imwrite(str(src), rgba[:, :, [2, 1, 0, 3]])
    photo = read_native_photo(src)
    assert np.array_equal(photo.pixels, rgba[:, :, :3]) and np.array_equal(photo.alpha, rgba[:, :, 3])
    assert photo.translucent
    for suffix in (".png", ".tif"):
        write_native(tmp_path / f"out{suffix}", photo.pixels, alpha=photo.alpha)
        assert np.array_equal(read_native_photo(tmp_path / f"out{suffix}").alpha, rgba[:, :, 3])
    with pytest.raises(AicamError, match="out.jpg: JPEG cannot hold an alpha channel"):
        write_native(tmp_path / "out.jpg", photo.pixels, alpha=photo.alpha)


def test_video_frames_must_be_opaque(tmp_path):
    import cv2

    for i in range(2):
        write_photo(tmp_path / f"{i:03d}.png", _photo())
    cv2.imwrite(str(tmp_path / "002.png"), np.full((37, 51, 4), 128, np.uint8))
    with pytest.raises(AicamError, match="002.png: the frame has an alpha channel"):
        list(read_video_frames(tmp_path))


def test_float_pixels_must_be_finite(tmp_path):
    import tifffile

    img = _photo()
    img[3, 4, 1] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", img, photometric="rgb")
    with pytest.raises(AicamError, match="nan.tif: the image has NaN or infinite pixel values"):
        read_native(tmp_path / "nan.tif")
