"""`aicam-opt enhance` on YUV 4:2:0 video (.y4m and raw .yuv): the compiled kernel works on the planes."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aicam_opt.cli import main
from aicam_opt.errors import AicamError
from aicam_opt.images import read_native, write_native
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import predict_grid_yuv
from aicam_opt.runtime.enhance import Enhancer, enhance_video
from aicam_opt.runtime.smoothing import SmoothingConfig
from aicam_opt.runtime.yuv_video import YuvFormat
from aicam_opt.yuv import Y4mReader, open_yuv_writer, read_yuv_frames, rgb_to_yuv420

SIZE = (200, 120)  # width, height: even, and wider than the YUV kernel's minimum


@pytest.fixture(scope="module")
def rgb_frames(real_photos) -> list[np.ndarray]:
    photos = list(real_photos.values())[:3]
    return [cv2.resize(p, SIZE, interpolation=cv2.INTER_AREA) for p in photos]


def write_y4m(path: Path, frames, standard="bt601_full", color_range="full"):
    with open_yuv_writer(path, SIZE[0], SIZE[1], 25, color_range=color_range) as writer:
        for frame in frames:
            writer.write(rgb_to_yuv420(frame, standard))


def run(args) -> int:
    return main(["enhance", *map(str, args)])


def test_y4m_in_and_out_runs_the_kernel_on_the_planes(student, student_path, rgb_frames, tmp_path, capsys):
    src, out = tmp_path / "in.y4m", tmp_path / "out.y4m"
    write_y4m(src, rgb_frames)
    assert run([src, out, "--model", student_path, "--no-smoothing"]) == 0
    assert "3 frames" in capsys.readouterr().err
    compiled = CompiledFullRes(student.full_res, student.cfg)
    got = list(read_yuv_frames(out))
    assert len(got) == 3
    for frame, result in zip(read_yuv_frames(src), got):
        want = compiled.run_yuv(frame, predict_grid_yuv(student, frame)[0])
        assert np.array_equal(result.y, want.y) and np.array_equal(result.uv, want.uv)
        assert np.abs(result.y.astype(int) - frame.y.astype(int)).mean() > 1  # the effect was applied
    header = Y4mReader(out).header
    assert (header.width, header.height, header.fps, header.color_range) == (*SIZE, 25, "full")


def test_raw_nv21_equals_the_y4m_result_and_needs_its_size(student_path, rgb_frames, tmp_path, capsys):
    y4m, raw = tmp_path / "in.y4m", tmp_path / "in.yuv"
    write_y4m(y4m, rgb_frames)
    with open_yuv_writer(raw, *SIZE, layout="nv21") as writer:
        for frame in read_yuv_frames(y4m):
            writer.write(frame)
    assert run([raw, tmp_path / "x.yuv", "--model", student_path]) == 2
    err = capsys.readouterr().err
    assert "--size" in err and "in.yuv" in err and not (tmp_path / "x.yuv").exists()

    assert run([y4m, tmp_path / "a.y4m", "--model", student_path]) == 0
    assert run([raw, tmp_path / "b.yuv", "--model", student_path, "--size", f"{SIZE[0]}x{SIZE[1]}",
                "--yuv-layout", "nv21"]) == 0
    a = list(read_yuv_frames(tmp_path / "a.y4m"))
    b = list(read_yuv_frames(tmp_path / "b.yuv", SIZE, "nv21"))
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        assert np.array_equal(x.y, y.y) and np.array_equal(x.u(), y.u()) and np.array_equal(x.v(), y.v())


def test_limited_range_y4m_is_read_and_written_as_limited(student_path, rgb_frames, tmp_path):
    src, out = tmp_path / "in.y4m", tmp_path / "out.y4m"
    write_y4m(src, rgb_frames[:1], standard="bt709_limited", color_range="limited")
    assert run([src, out, "--model", student_path]) == 0
    result = next(iter(read_yuv_frames(out)))
    assert Y4mReader(out).header.color_range == "limited"
    assert 16 <= result.y.min() and result.y.max() <= 235  # a full-range reading would leave the video range


def test_rgb_and_yuv_ends_convert_once(student_path, rgb_frames, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(rgb_frames):
        write_native(folder / f"{i:03d}.png", frame)
    assert run([folder, tmp_path / "out.y4m", "--model", student_path, "--fps", "24"]) == 0
    header = Y4mReader(tmp_path / "out.y4m").header
    assert (header.width, header.height, header.fps) == (*SIZE, 24)
    assert run([tmp_path / "out.y4m", tmp_path / "back", "--model", student_path, "--max-frames", "2"]) == 0
    back = sorted((tmp_path / "back").iterdir())
    assert len(back) == 2 and read_native(back[0]).shape == (SIZE[1], SIZE[0], 3)


def test_the_pytorch_engine_takes_yuv_through_rgb(student, rgb_frames, tmp_path):
    src = tmp_path / "in.y4m"
    write_y4m(src, rgb_frames[:2])
    pytorch = Enhancer.for_module(student, "student", use_compiled=False)
    compiled = Enhancer.for_module(student, "student")
    assert enhance_video(pytorch, src, tmp_path / "p.y4m", SmoothingConfig.off()).frames == 2
    assert enhance_video(compiled, src, tmp_path / "c.y4m", SmoothingConfig.off()).frames == 2
    p, c = (list(read_yuv_frames(tmp_path / f"{n}.y4m")) for n in "pc")
    # the same model through two engines: only rounding (and the 4:2:0 round trip) apart
    assert np.abs(p[1].y.astype(int) - c[1].y.astype(int)).max() <= 3


def test_bad_yuv_options_are_refused():
    with pytest.raises(AicamError, match="yuv-layout"):
        YuvFormat(layout="yuyv")
    with pytest.raises(AicamError, match="yuv-standard"):
        YuvFormat(standard="bt2020")  # type: ignore[arg-type]


def test_a_raw_file_of_another_size_is_refused_and_leaves_nothing(student_path, rgb_frames, tmp_path, capsys):
    raw = tmp_path / "in.yuv"
    with open_yuv_writer(raw, *SIZE) as writer:
        writer.write(rgb_to_yuv420(rgb_frames[0]))
    assert run([raw, tmp_path / "out.yuv", "--model", student_path, "--size", "190x120"]) == 2
    err = capsys.readouterr().err
    assert "is not a whole number of 190x120 4:2:0 frames" in err and "--size" in err
    assert not (tmp_path / "out.yuv").exists()
