"""`aicam-opt enhance` on real photos (8-bit PNG, 16-bit TIFF, JPEG) and a short frame folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from aicam_opt.models.checkpoints import save_checkpoint
from aicam_opt.models.teacher import Generator, TeacherConfig
from aicam_opt.cli import main
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import predict_grid
from aicam_opt.images import read_native, write_native


def enhance(args: list[str], capsys) -> str:
    assert main(["enhance", *map(str, args)]) == 0
    return capsys.readouterr().err


def expected(student, pixels: np.ndarray) -> np.ndarray:
    return CompiledFullRes(student.full_res, student.cfg).run(pixels, predict_grid(student, pixels)[0])


def test_png_8_bit(student, student_path, photo_file, tmp_path, capsys):
    out = tmp_path / "out.png"
    log = enhance([photo_file, out, "--model", student_path, "--band-rows", "50"], capsys)
    assert "compiled full-res path" in log and "wrote" in log
    got = read_native(out)
    assert got.dtype == np.uint8
    assert np.array_equal(got, expected(student, read_native(photo_file)))


def test_tiff_16_bit_stays_16_bit(student, student_path, photo_file, tmp_path, capsys):
    pixels16 = read_native(photo_file).astype(np.uint16) * 257
    src, out = tmp_path / "in.tif", tmp_path / "out.tiff"
    tifffile.imwrite(src, pixels16, photometric="rgb")
    enhance([src, out, "--model", student_path], capsys)
    got = tifffile.imread(out)
    assert got.dtype == np.uint16 and got.shape == pixels16.shape
    assert np.array_equal(got, expected(student, pixels16))
    assert len(np.unique(got[..., 1])) > 256  # real 16-bit levels, not 8-bit values scaled up


def test_jpeg_in_and_out(student_path, photo_file, tmp_path, capsys):
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpeg"
    write_native(src, read_native(photo_file))
    enhance([src, out, "--model", student_path], capsys)
    got, original = read_native(out), read_native(src)
    assert got.shape == original.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - original.astype(int)).mean() > 2  # the effect was applied


def test_teacher_runs_in_pytorch_and_says_so(photo_file, tmp_path, capsys):
    import cv2

    torch.manual_seed(0)
    teacher_path = tmp_path / "teacher.safetensors"
    save_checkpoint(Generator(TeacherConfig()).eval(), "teacher", teacher_path)
    small = tmp_path / "small.png"
    write_native(small, cv2.resize(read_native(photo_file), (96, 64), interpolation=cv2.INTER_AREA))
    log = enhance([small, tmp_path / "out.png", "--model", teacher_path], capsys)
    assert "engine: PyTorch" in log
    assert read_native(tmp_path / "out.png").shape == (64, 96, 3)


def test_frame_folder_and_mp4(student_path, eval_frames, tmp_path, capsys):
    import cv2

    frames = tmp_path / "clip"
    frames.mkdir()
    for i, path in enumerate(eval_frames[:4]):
        write_native(frames / f"{i:05d}.png", cv2.resize(read_native(path), (320, 180), interpolation=cv2.INTER_AREA))
    out_dir = tmp_path / "enhanced"
    log = enhance([frames, out_dir, "--model", student_path], capsys)
    assert "4 frames" in log
    written = sorted(out_dir.iterdir())
    assert [p.name for p in written] == [f"{i:05d}.png" for i in range(4)]
    assert read_native(written[0]).shape == (180, 320, 3)
    mp4 = tmp_path / "enhanced.mp4"
    enhance([frames, mp4, "--model", student_path, "--max-frames", "3"], capsys)
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert tuple(meta["size"]) == (320, 180) and sum(1 for _ in reader) == 3
    steadier = tmp_path / "steadier"
    enhance([frames, steadier, "--model", student_path, "--grid-momentum", "0.95"], capsys)
    assert not np.array_equal(read_native(steadier / "00003.png"), read_native(out_dir / "00003.png"))
    assert np.array_equal(read_native(steadier / "00000.png"), read_native(out_dir / "00000.png"))  # same start


def test_png_16_bit_stays_16_bit(student, student_path, photo_file, tmp_path, capsys):
    pixels16 = read_native(photo_file).astype(np.uint16) * 250 + 17  # true 16-bit levels, no wrap
    src, out = tmp_path / "in16.png", tmp_path / "out16.png"
    write_native(src, pixels16)
    assert np.array_equal(read_native(src), pixels16)
    enhance([src, out, "--model", student_path], capsys)
    got = read_native(out)
    assert got.dtype == np.uint16 and np.array_equal(got, expected(student, pixels16))


def test_a_portrait_jpeg_comes_out_upright_with_its_exif_and_profile(student, student_path, photo_file, tmp_path, capsys):
    """Stored sideways with Orientation 6, as phones do: enhanced upright, Orientation 1, EXIF and ICC kept."""
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Acme", 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    src = tmp_path / "portrait.jpg"
    Image.fromarray(read_native(photo_file)).save(src, exif=exif.tobytes(), icc_profile=icc, quality=95)
    with Image.open(src) as img:
        upright = np.asarray(img.transpose(Image.Transpose.ROTATE_270))
    for out in (tmp_path / "out.png", tmp_path / "out.jpg", tmp_path / "out.tif"):
        enhance([src, out, "--model", student_path], capsys)
        with Image.open(out) as img:
            got_exif, got_icc, size = img.getexif(), img.info.get("icc_profile"), img.size
            taken = got_exif.get_ifd(0x8769).get(0x9003)
        assert size == (upright.shape[1], upright.shape[0]) and got_icc == icc
        assert (got_exif[0x010F], got_exif[0x0112], taken) == ("Acme", 1, "2024:05:06 07:08:09")
    assert np.array_equal(read_native(tmp_path / "out.png"), expected(student, upright))


def test_alpha_passes_through_unchanged_and_a_jpeg_refuses_it(student, student_path, photo_file, tmp_path, capsys):
    import cv2

    rgb = read_native(photo_file)
    alpha = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)[None, :].repeat(rgb.shape[0], axis=0)
    src = tmp_path / "cutout.png"
    cv2.imwrite(str(src), np.dstack([rgb[:, :, ::-1], alpha]))
    for out in (tmp_path / "out.png", tmp_path / "out.tif"):
        enhance([src, out, "--model", student_path], capsys)
        got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED) if out.suffix == ".png" else tifffile.imread(out)[:, :, [2, 1, 0, 3]]
        assert got.shape == (*rgb.shape[:2], 4) and np.array_equal(got[:, :, 3], alpha)
        assert np.array_equal(got[:, :, 2::-1], expected(student, rgb))
    assert main(["enhance", str(src), str(tmp_path / "out.jpg"), "--model", str(student_path)]) == 2
    err = capsys.readouterr().err
    assert "cutout.png: has an alpha channel" in err and "PNG or TIFF" in err
    assert not (tmp_path / "out.jpg").exists()
    opaque = tmp_path / "opaque.png"  # an alpha channel that hides nothing: a JPEG loses nothing
    cv2.imwrite(str(opaque), np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)]))
    enhance([opaque, tmp_path / "opaque.jpg", "--model", student_path], capsys)
