"""YUV 4:2:0 frames: the conversions against published values and round trips, and .yuv / .y4m files
round-tripped and checked against FFmpeg's reading and writing of the same files."""
from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest

from aicam_opt import yuv
from aicam_opt.errors import AicamError


def _photo(h: int = 37, w: int = 101) -> np.ndarray:
    """A smooth picture with edges (a real camera frame's mix), float32 in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([0.5 + 0.4 * np.sin(x / 7), 0.5 + 0.4 * np.cos(y / 5), (x + y) / (h + w)], axis=-1)
    rgb[h // 3:h // 2, w // 4:w // 2] = [0.9, 0.2, 0.1]
    return rgb.astype(np.float32)


@pytest.mark.parametrize("standard,colour,expected", [
    # JFIF (BT.601 full range): Y = 0.299 R + 0.587 G + 0.114 B, Cb/Cr centred on 128
    ("bt601_full", (1.0, 1.0, 1.0), (255, 128, 128)), ("bt601_full", (0.0, 0.0, 0.0), (0, 128, 128)),
    ("bt601_full", (1.0, 0.0, 0.0), (76, 85, 255)), ("bt601_full", (0.0, 0.0, 1.0), (29, 255, 107)),
    # BT.709 limited range: white 235, black 16, red (63, 102, 240), blue (32, 240, 118)
    ("bt709_limited", (1.0, 1.0, 1.0), (235, 128, 128)), ("bt709_limited", (0.0, 0.0, 0.0), (16, 128, 128)),
    ("bt709_limited", (1.0, 0.0, 0.0), (63, 102, 240)), ("bt709_limited", (0.0, 0.0, 1.0), (32, 240, 118)),
])
def test_published_values(standard, colour, expected):
    frame = yuv.rgb_to_yuv420(np.full((4, 6, 3), colour, np.float32), standard)
    assert (int(frame.y[0, 0]), int(frame.u()[0, 0]), int(frame.v()[0, 0])) == expected
    back = yuv.yuv420_to_rgb(frame, standard)
    assert np.abs(back - np.array(colour)).max() <= 2 / 255


@pytest.mark.parametrize("standard", yuv.YUV_STANDARDS)
def test_rgb_round_trip(standard):
    """Cells of one colour come back to within the 8-bit rounding of Y, U and V (at most 1.7 codes
    through the inverse matrix); a picture loses only the chroma detail inside 2x2 cells."""
    cells = np.repeat(np.repeat(_photo(19, 51), 2, axis=0), 2, axis=1)[:37, :101]
    assert np.abs(yuv.yuv420_to_rgb(yuv.rgb_to_yuv420(cells, standard), standard) - cells).max() <= 2 / 255
    photo = _photo()
    back = yuv.yuv420_to_rgb(yuv.rgb_to_yuv420(photo, standard), standard)
    assert np.abs(back - photo).mean() < 0.02
    luma = yuv.YUV_MATRICES[standard][0][0]  # luma is kept per pixel (but where clipping moved it)
    assert (np.abs((back - photo) @ luma) <= 1 / 255).mean() >= 0.99


@pytest.mark.parametrize("standard", yuv.YUV_STANDARDS)
def test_yuv_round_trip(standard):
    """A camera frame through RGB and back is the same frame, but where a cell's shared chroma leaves
    the RGB cube next to one of its pixels (clipped)."""
    frame = yuv.rgb_to_yuv420(_photo(), standard)
    again = yuv.rgb_to_yuv420(yuv.yuv420_to_rgb(frame, standard), standard)
    for plane, original in ((again.y, frame.y), (again.uv, frame.uv)):
        diff = np.abs(plane.astype(int) - original)
        assert (diff <= 1).mean() >= 0.999 and (diff == 0).mean() >= 0.95


def test_odd_sizes_average_the_pixels_that_exist():
    rgb = np.zeros((5, 7, 3), np.float32)
    rgb[:, -1] = [0.0, 0.0, 1.0]  # the last column (a chroma column of its own) is blue
    rgb[-1, :] = [1.0, 0.0, 0.0]  # the last row (a chroma row of its own) is red
    frame = yuv.rgb_to_yuv420(rgb)
    assert frame.y.shape == (5, 7) and frame.uv.shape == (3, 4, 2)
    blue, red = yuv.rgb_to_yuv420(np.full((2, 2, 3), [0, 0, 1.0], np.float32)), yuv.rgb_to_yuv420(np.full((2, 2, 3), [1.0, 0, 0], np.float32))
    assert np.array_equal(frame.uv[0, 3], blue.uv[0, 0]) and np.array_equal(frame.uv[2, 0], red.uv[0, 0])


def test_nv21_is_nv12_with_v_first():
    photo = _photo()
    nv12, nv21 = yuv.rgb_to_yuv420(photo, order="nv12"), yuv.rgb_to_yuv420(photo, order="nv21")
    assert np.array_equal(nv21.uv, nv12.uv[..., ::-1]) and np.array_equal(nv21.u(), nv12.u())
    assert np.array_equal(nv12.with_order("nv21").uv, nv21.uv)
    assert np.array_equal(yuv.yuv420_to_rgb(nv21), yuv.yuv420_to_rgb(nv12))


def test_frames_are_checked():
    with pytest.raises(AicamError, match="chroma plane of shape"):
        yuv.Yuv420(np.zeros((5, 7), np.uint8), np.zeros((2, 3, 2), np.uint8))
    with pytest.raises(AicamError, match="uint8"):
        yuv.Yuv420(np.zeros((4, 4), np.uint16), np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(AicamError, match="bt2020"):
        yuv.rgb_to_yuv420(_photo(), "bt2020")


def _frames(n: int = 3, h: int = 37, w: int = 101) -> list[yuv.Yuv420]:
    return [yuv.rgb_to_yuv420(np.roll(_photo(h, w), 9 * i, axis=1)) for i in range(n)]


def _same(a: yuv.Yuv420, b: yuv.Yuv420) -> bool:
    return np.array_equal(a.y, b.y) and np.array_equal(a.with_order("nv12").uv, b.with_order("nv12").uv)


@pytest.mark.parametrize("layout", yuv.RAW_LAYOUTS)
def test_raw_yuv_round_trip(tmp_path, layout):
    frames, path = _frames(), tmp_path / f"clip_{layout}.yuv"
    with yuv.open_yuv_writer(path, 101, 37, layout=layout) as writer:
        for frame in frames:
            writer.write(frame)
    assert path.stat().st_size == 3 * (37 * 101 + 2 * 19 * 51)
    back = list(yuv.read_yuv_frames(path, (101, 37), layout))
    assert len(back) == 3 and all(_same(a, b) for a, b in zip(frames, back))
    if layout != "i420":
        assert back[0].order == layout
    with pytest.raises(AicamError, match="not a whole number of 100x37"):
        list(yuv.read_yuv_frames(path, (100, 37), layout))
    with pytest.raises(AicamError, match="--size"):
        yuv.read_yuv_frames(path)


def test_y4m_round_trip(tmp_path):
    frames, path = _frames(), tmp_path / "clip.y4m"
    with yuv.open_yuv_writer(path, 101, 37, fps=30000 / 1001, color_range="full") as writer:
        for frame in frames:
            writer.write(frame.with_order("nv21"))  # written planar whatever the order
    assert path.read_bytes().startswith(b"YUV4MPEG2 W101 H37 F30000:1001 Ip A1:1 C420jpeg XCOLORRANGE=FULL\nFRAME\n")
    reader = yuv.Y4mReader(path)
    assert (reader.header.width, reader.header.height) == (101, 37)
    assert reader.header.fps == Fraction(30000, 1001) and reader.header.color_range == "full"
    back = list(reader)
    assert len(back) == 3 and all(_same(a, b) for a, b in zip(frames, back))
    assert all(_same(a, b) for a, b in zip(frames, yuv.read_yuv_frames(path)))


def test_bad_y4m_files_are_named(tmp_path):
    good = tmp_path / "good.y4m"
    with yuv.open_yuv_writer(good, 16, 8) as writer:
        writer.write(_frames(1, 8, 16)[0])
    data = good.read_bytes()
    cut = tmp_path / "cut.y4m"
    cut.write_bytes(data[:-10])
    with pytest.raises(AicamError, match="cut.y4m: the last frame is truncated"):
        list(yuv.Y4mReader(cut))
    deep = tmp_path / "deep.y4m"
    deep.write_bytes(data.replace(b"C420jpeg", b"C420p10"))
    with pytest.raises(AicamError, match="C420p10 is not supported"):
        yuv.Y4mReader(deep)
    other = tmp_path / "other.y4m"
    other.write_bytes(b"RIFF" + data[4:])
    with pytest.raises(AicamError, match="not a y4m file"):
        yuv.Y4mReader(other)
    garbled = tmp_path / "garbled.y4m"
    garbled.write_bytes(data.replace(b"FRAME", b"FRAMX"))
    with pytest.raises(AicamError, match="'FRAME' marker"):
        list(yuv.Y4mReader(garbled))
    with pytest.raises(AicamError, match="not found"):
        yuv.Y4mReader(tmp_path / "missing.y4m")
    with pytest.raises(AicamError, match="unsupported YUV file type"):
        yuv.open_yuv_writer(tmp_path / "clip.mp4", 16, 8).__enter__()


def test_a_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "clip.y4m"
    with pytest.raises(AicamError, match="frame 1 is 16x8"):
        with yuv.open_yuv_writer(path, 101, 37) as writer:
            writer.write(_frames(1)[0])
            writer.write(_frames(1, 8, 16)[0])
    assert not path.exists()


def test_parse_size():
    assert yuv.parse_size("1920x1080") == (1920, 1080) and yuv.parse_size(" 7X5 ") == (7, 5)
    for bad in ("1920", "0x5", "axb"):
        with pytest.raises(AicamError, match="WIDTHxHEIGHT"):
            yuv.parse_size(bad)


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def test_ffmpeg_reads_our_y4m_and_we_read_its(tmp_path, ffmpeg):
    """Odd size (FFmpeg rounds chroma up too): our y4m decoded by FFmpeg to planar I420, and FFmpeg's
    y4m of our raw I420 read by us, give the same planes."""
    frames = _frames()
    ours = tmp_path / "ours.y4m"
    with yuv.open_yuv_writer(ours, 101, 37, fps=25) as writer:
        for frame in frames:
            writer.write(frame)
    raw = tmp_path / "ffmpeg.yuv"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(ours), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)], check=True)
    assert all(_same(a, b) for a, b in zip(frames, yuv.read_yuv_frames(raw, (101, 37), "i420")))
    theirs = tmp_path / "ffmpeg.y4m"
    subprocess.run([ffmpeg, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "101x37", "-r", "25",
                    "-i", str(raw), "-f", "yuv4mpegpipe", str(theirs)], check=True)
    reader = yuv.Y4mReader(theirs)
    assert (reader.header.width, reader.header.height, reader.header.fps) == (101, 37, 25)
    back = list(reader)
    assert len(back) == 3 and all(_same(a, b) for a, b in zip(frames, back))
