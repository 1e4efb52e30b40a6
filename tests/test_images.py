import numpy as np
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.images import read_photo, read_video_frames, write_photo


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
