"""Bad input gives a clear AicamError naming the file, and a failed run leaves no output behind."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aicam_opt.errors import AicamError
from aicam_opt.cli import main
from aicam_opt.runtime.enhance import Enhancer, enhance_photo, enhance_video
from aicam_opt.images import read_native


@pytest.fixture(scope="module")
def enhancer(student_path) -> Enhancer:
    return Enhancer.for_model(student_path)


def truncated_copy(src: Path, dst: Path, keep: float = 0.4) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def bad_inputs(tmp: Path, photo_file: Path) -> dict[str, tuple[Path, str]]:
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "notes.gif").write_bytes(b"GIF89a")
    (tmp / "text.png").write_text("this is not a PNG")
    jpeg = tmp / "photo.jpg"
    from aicam_opt.images import write_native

    write_native(jpeg, read_native(photo_file))
    return {
        "missing": (tmp / "missing.png", "not found"),
        "zero-size": (tmp / "empty.png", "empty"),
        "unsupported": (tmp / "notes.gif", "unsupported image type"),
        "not an image": (tmp / "text.png", "cannot decode"),
        "truncated png": (truncated_copy(photo_file, tmp / "cut.png"), "cannot decode"),
        "truncated jpeg": (truncated_copy(jpeg, tmp / "cut.jpg"), "cannot decode"),
    }


def test_bad_photos_raise_clear_errors_and_leave_no_output(enhancer, photo_file, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for label, (path, message) in bad_inputs(tmp_path, photo_file).items():
        with pytest.raises(AicamError, match=message) as err:
            enhance_photo(enhancer, path, out_dir / "result.png")
        assert path.name in str(err.value), label
    assert list(out_dir.iterdir()) == []


def test_existing_output_survives_a_failed_run(enhancer, photo_file, tmp_path):
    out = tmp_path / "result.png"
    out.write_bytes(b"previous result")
    with pytest.raises(AicamError):
        enhance_photo(enhancer, truncated_copy(photo_file, tmp_path / "cut.png"), out)
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.png", "result.png"]


def test_failure_while_writing_leaves_no_partial_file(enhancer, photo_file, tmp_path, monkeypatch):
    from aicam_opt import png_writer

    def broken_band(rows, last):  # the signature and header are written by then: half a PNG is on disk
        raise OSError("disk full")

    monkeypatch.setattr(png_writer, "_deflate_band", broken_band)
    with pytest.raises(OSError):
        enhance_photo(enhancer, photo_file, tmp_path / "result.png")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_output_type_is_refused_before_work(enhancer, photo_file, tmp_path):
    with pytest.raises(AicamError, match="unsupported output type"):
        enhance_photo(enhancer, photo_file, tmp_path / "result.bmp")


def test_bad_videos(enhancer, photo_file, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(photo_file, frames / "00000.png")
    truncated_copy(photo_file, frames / "00001.png")
    with pytest.raises(AicamError, match="00001.png"):
        enhance_video(enhancer, frames, tmp_path / "out_frames")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AicamError, match="no frames"):
        enhance_video(enhancer, tmp_path / "empty", tmp_path / "out_empty")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(AicamError, match="empty"):
        enhance_video(enhancer, tmp_path / "clip.mp4", tmp_path / "out.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 4096)
    with pytest.raises(AicamError, match="cannot decode video"):
        enhance_video(enhancer, tmp_path / "junk.mp4", tmp_path / "out2.mp4")
    leftovers = {p.name for p in tmp_path.iterdir()}
    assert leftovers == {"frames", "empty", "clip.mp4", "junk.mp4"}


def test_cli_reports_errors_without_traceback(student_path, tmp_path, capsys):
    (tmp_path / "empty.jpg").write_bytes(b"")
    code = main(["enhance", str(tmp_path / "empty.jpg"), str(tmp_path / "out.jpg"), "--model", str(student_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "empty.jpg" in err and "Traceback" not in err
    assert not (tmp_path / "out.jpg").exists()


def test_bad_grid_momentum_is_refused_before_work(student_path, photo_file, tmp_path, capsys):
    code = main(["enhance", str(photo_file), str(tmp_path / "out.png"), "--model", str(student_path), "--grid-momentum", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--grid-momentum" in err and "[0, 1)" in err and not (tmp_path / "out.png").exists()


def scaled(module: torch.nn.Module, factor: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(factor)


def test_nan_weights_are_refused_before_any_work(make_student):
    """NaN weights loaded in memory (a checkpoint with them is refused on load). They need not show in the
    picture: grid_sample reads NaN coordinates as padding, the compiled kernel rounds to integers."""
    from aicam_opt.kernels.compiled import CompiledFullRes
    from aicam_opt.models.teacher import Generator, TeacherConfig

    for part in ("low_res", "full_res"):
        net = make_student()
        scaled(getattr(net, part), float("nan"))
        for compiled in (CompiledFullRes(net.full_res, net.cfg), None):
            with pytest.raises(AicamError, match=rf"model broken: NaN or infinite values in its weights \(tensor '{part}\."):
                Enhancer(net, "broken", compiled)
    teacher = Generator(TeacherConfig()).eval()
    scaled(teacher, float("nan"))
    with pytest.raises(AicamError, match="model broken: NaN or infinite values in its weights"):
        Enhancer(teacher, "broken")


def test_a_model_whose_output_overflows_writes_nothing(make_student, photo_file, tmp_path):
    """Finite weights so large that the arithmetic overflows to inf and NaN: an error, never a picture."""
    from aicam_opt.kernels.compiled import CompiledFullRes
    from aicam_opt.models.teacher import Generator, TeacherConfig

    out = tmp_path / "out.png"
    net = make_student()
    scaled(net.low_res, 1e30)
    for compiled in (CompiledFullRes(net.full_res, net.cfg), None):
        with pytest.raises(AicamError, match="NaN or infinite values in the bilateral grid"):
            enhance_photo(Enhancer(net, "huge", compiled), photo_file, out)
    teacher = Generator(TeacherConfig()).eval()
    scaled(teacher, 1e30)
    with pytest.raises(AicamError, match="NaN or infinite values in the enhanced picture"):
        enhance_photo(Enhancer(teacher, "huge"), photo_file, out)
    assert list(tmp_path.iterdir()) == []
