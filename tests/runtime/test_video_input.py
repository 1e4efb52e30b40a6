"""Videos as users give them: a real mp4 through the default (compiled) engine, a frame folder whose
frames differ in size, and an encode that ffmpeg refuses."""
from __future__ import annotations

from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from aicam_opt.cli import main
from aicam_opt.data import clip_frames, embedded_photo, resolve
from aicam_opt.errors import AicamError
from aicam_opt.images import read_native, read_video_frames, video_writer, write_native
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import predict_grid


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Six real frames at 320x180: the bedroom clip's evaluation frames, else a pan over the embedded rocket."""
    source = resolve()
    clips = clip_frames(source, "eval") if source.root else []
    if clips:
        full = [read_native(p) for p in clips[0][:6]]
    else:
        rocket = (embedded_photo("rocket") * 255).round().astype(np.uint8)
        full = [rocket[:, 8 * i:8 * i + 560] for i in range(6)]
    return [cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA) for f in full]


def write_mp4(path: Path, frames: list[np.ndarray]) -> Path:
    writer = imageio_ffmpeg.write_frames(str(path), (frames[0].shape[1], frames[0].shape[0]), fps=30,
                                         macro_block_size=1, ffmpeg_log_level="error")
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def write_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir()
    for i, frame in enumerate(frames):
        write_native(folder / f"{i:05d}.png", frame)
    return folder


def frames_in(mp4: Path) -> tuple[tuple[int, int], int]:
    reader = imageio_ffmpeg.read_frames(str(mp4))
    size = tuple(next(reader)["size"])
    return size, sum(1 for _ in reader)


def test_mp4_input_runs_on_the_compiled_engine_to_an_mp4_and_a_folder(student, student_path, frames, tmp_path, capsys):
    clip = write_mp4(tmp_path / "clip.mp4", frames)
    out = tmp_path / "enhanced.mp4"
    assert main(["enhance", str(clip), str(out), "--model", str(student_path)]) == 0
    log = capsys.readouterr().err
    assert "compiled full-res path" in log and "6 frames" in log
    assert frames_in(out) == ((320, 180), 6)
    folder = tmp_path / "enhanced"
    assert main(["enhance", str(clip), str(folder), "--model", str(student_path)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:05d}.png" for i in range(6)]
    first = next(read_video_frames(clip))  # the first frame is not smoothed: the kernel's own result
    kernel = CompiledFullRes(student.full_res, student.cfg)
    assert np.array_equal(read_native(folder / "00000.png"), kernel.run(first, predict_grid(student, first)[0]))


def test_the_compiled_kernel_takes_read_only_pixels(student, frames):
    """ffmpeg's frames, a read-only memory map...: TVM's DLPack import refuses them, the wrapper copes."""
    kernel = CompiledFullRes(student.full_res, student.cfg)
    frame = frames[0].copy()
    grid = predict_grid(student, frame)[0]
    expected = kernel.run(frame, grid)
    frame.flags.writeable = False
    assert np.array_equal(kernel.run(frame, grid), expected)


@pytest.mark.parametrize("output", ["out.mp4", "out"])
def test_a_frame_of_another_size_is_named_and_nothing_is_written(student_path, frames, tmp_path, capsys, output):
    odd_one = cv2.resize(frames[3], (288, 160), interpolation=cv2.INTER_AREA)
    folder = write_folder(tmp_path / "frames", frames[:3] + [odd_one] + frames[4:])
    assert main(["enhance", str(folder), str(tmp_path / output), "--model", str(student_path)]) == 2
    err = capsys.readouterr().err
    assert "00003.png" in err and "288x160" in err and "320x180" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]  # no output, no temporaries


def test_ffmpeg_failure_is_an_error_not_an_empty_video(student_path, frames, tmp_path, capsys):
    """H.264 in 4:2:0 needs even sizes: ffmpeg refuses 161x97 frames. Before, that gave a 0-byte mp4 and exit 0."""
    folder = write_folder(tmp_path / "frames", [np.ascontiguousarray(f[:97, :161]) for f in frames[:3]])
    assert main(["enhance", str(folder), str(tmp_path / "out.mp4"), "--model", str(student_path)]) == 2
    err = capsys.readouterr().err
    assert "ffmpeg could not encode" in err and "width not divisible by 2" in err
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


def test_the_video_writer_refuses_a_frame_of_another_size(frames, tmp_path):
    for output in ("out.mp4", "out"):
        with pytest.raises(AicamError, match=r"frame 1 is 300x180, but the video is 320x180"):
            with video_writer(tmp_path / output) as put:
                put(frames[0])
                put(np.ascontiguousarray(frames[1][:, :300]))
    assert list(tmp_path.iterdir()) == []
