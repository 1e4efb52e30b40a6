"""The output policy of `enhance`: refused before any work (unwritable, under a file, the input itself,
an impossible frame rate), and no temporaries left behind by SIGTERM, nor for long by SIGKILL."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aicam_opt import atomic
from aicam_opt.cli import main
from aicam_opt.images import read_native, write_native

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, prefix: tuple[str, ...] = ()) -> list[str]:
    return [*prefix, sys.executable, "-m", "aicam_opt.cli", *map(str, args)]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def frames(photo_file, tmp_path_factory) -> Path:
    """24 frames of a real photo (a pan), enough work for a signal to arrive mid-run."""
    pixels = read_native(photo_file)
    pixels = pixels[:pixels.shape[0] // 2 * 2, :pixels.shape[1] // 2 * 2]  # H.264 needs even sizes
    folder = tmp_path_factory.mktemp("clip") / "frames"
    folder.mkdir()
    for i in range(24):
        write_native(folder / f"{i:05d}.png", np.ascontiguousarray(np.roll(pixels, 4 * i, axis=1)))
    return folder


def test_unwritable_output_folder_is_refused_before_any_work(photo_file, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root writes anywhere: drop the capability that lets it, as a normal user lacks it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder unwritable")
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
    # The model does not exist: an output check made after loading it would report the model instead.
    result = subprocess.run(cli("enhance", photo_file, locked / "out.png", "--model", tmp_path / "missing.safetensors",
                                prefix=prefix), capture_output=True, text=True, env=ENV, cwd=ROOT)
    locked.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert f"cannot write into {locked}" in result.stderr and "Traceback" not in result.stderr
    assert list(locked.iterdir()) == []


def test_output_under_a_file_is_refused(student_path, photo_file, tmp_path, capsys):
    (tmp_path / "x.png").write_bytes(b"a file")
    assert main(["enhance", str(photo_file), str(tmp_path / "x.png" / "out.png"), "--model", str(student_path)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_the_input_is_never_the_output(student_path, photo_file, frames, tmp_path, capsys):
    src = tmp_path / "x.png"
    shutil.copy(photo_file, src)
    before = src.read_bytes()
    for out in (src, tmp_path / "." / "x.png", Path(os.path.relpath(src))):
        assert main(["enhance", str(src), str(out), "--model", str(student_path)]) == 2
        assert "the output is the input" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert main(["enhance", str(frames), str(frames), "--model", str(student_path)]) == 2
    assert "the output is the input" in capsys.readouterr().err
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not decoded: refused before")
    assert main(["enhance", str(clip), str(clip), "--model", str(student_path)]) == 2
    assert "the output is the input" in capsys.readouterr().err and clip.read_bytes() == b"not decoded: refused before"


@pytest.mark.parametrize("fps", ["0", "-30", "nan", "inf"])
def test_an_impossible_frame_rate_is_refused_before_any_work(student_path, frames, tmp_path, capsys, fps):
    assert main(["enhance", str(frames), str(tmp_path / "out.mp4"), "--model", str(student_path), "--fps", fps]) == 2
    err = capsys.readouterr().err
    assert f"--fps {fps}" in err and "above 0" in err
    assert not (tmp_path / "out.mp4").exists()


def is_temporary_output(path: Path) -> bool:
    """The output being written (a folder of frames, or the .mp4), not check_output's short-lived probe file."""
    return atomic.TEMP_MARK in path.name and (path.is_dir() or path.suffix == ".mp4")


@pytest.mark.parametrize("output", ["clip.mp4", "clip"])
def test_sigterm_cleans_up_like_ctrl_c(student_path, frames, tmp_path, output):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run = subprocess.Popen(cli("enhance", frames, out_dir / output, "--model", student_path, "--pytorch"),
                           stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not any(map(is_temporary_output, out_dir.iterdir())):  # it appears when the frames start
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it wrote anything"
        time.sleep(0.02)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted" in err and list(out_dir.iterdir()) == []


def test_temporaries_of_a_killed_run_are_removed_by_the_next_run(student_path, photo_file, tmp_path, capsys):
    killed = "\n".join([
        "import os, signal, sys",
        "from aicam_opt import atomic",
        "with atomic.atomic_path(sys.argv[1]) as tmp:",
        "    tmp.write_bytes(b'half a picture')",
        "    os.kill(os.getpid(), signal.SIGKILL)",
    ])
    assert subprocess.run([sys.executable, "-c", killed, str(tmp_path / "a.png")], env=ENV).returncode == -signal.SIGKILL
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".a.png" + atomic.TEMP_MARK)  # hidden and recognisably ours
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:  # a temporary of a run still going is not touched
        busy = tmp_path / f".b.png{atomic.TEMP_MARK}{atomic.HOST}.{sleeper.pid}.abcd1234.png"
        busy.write_bytes(b"being written")
        assert main(["enhance", str(photo_file), str(tmp_path / "c.png"), "--model", str(student_path)]) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([busy.name, "c.png"])
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("folder", [False, True])
def test_an_interrupt_a_library_swallowed_still_stops_the_rename(tmp_path, folder):
    """A KeyboardInterrupt lost inside some library's code must not let the half-done output appear."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    target = tmp_path / ("frames" if folder else "a.png")
    try:
        atomic.handle_interrupts()
        with pytest.raises(KeyboardInterrupt):
            with (atomic.atomic_dir if folder else atomic.atomic_path)(target) as tmp:
                (tmp / "00000.png" if folder else tmp).write_bytes(b"half a picture")
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                except KeyboardInterrupt:
                    pass  # what a library with a bare `except:` does
        assert list(tmp_path.iterdir()) == []
        atomic.handle_interrupts()  # the next command in this process starts afresh
        atomic.write_bytes(target.with_suffix(".txt"), b"ok")
        assert target.with_suffix(".txt").read_bytes() == b"ok"
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
