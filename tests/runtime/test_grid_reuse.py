"""Video grid reuse: key frames every N frames, the grid held in between, and a scene cut that makes a
new key frame at once (with the smoothing restarted), on RGB and YUV 4:2:0 frames."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from aicam_opt.cli import main
from aicam_opt.errors import AicamError
from aicam_opt.images import list_photos, read_native
from aicam_opt.kernels.lowres import downsample_native, predict_grid, predict_grid_yuv, torch_threads
from aicam_opt.runtime.enhance import Enhancer
from aicam_opt.runtime.grid_reuse import GridReuseConfig, ReusedGrid
from aicam_opt.runtime.smoothing import SmoothingConfig
from aicam_opt.yuv import rgb_to_yuv420

SIZE = (96, 160)  # height, width of the test clip's frames


def panning(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    """`frames` crops of `photo` moving 3 px right a frame: ordinary camera motion."""
    height, width = SIZE
    return [np.ascontiguousarray(photo[40:40 + height, 60 + 3 * t:60 + 3 * t + width]) for t in range(frames)]


@pytest.fixture(scope="module")
def clip_with_cut() -> tuple[list[np.ndarray], int]:
    """Five frames of one scene (astronaut), then four of a very different one (coffee); the cut's index."""
    frames = panning(skimage.data.astronaut(), 5) + panning(skimage.data.coffee(), 4)
    return frames, 5


@pytest.fixture(scope="module")
def enhancer() -> Enhancer:
    from aicam_opt.models.checkpoints import load_model

    # the committed (trained) student: its grid follows the content, so a stale one shows
    return Enhancer(load_model(kind="student"), "committed student")


def run(enhancer: Enhancer, frames: list[np.ndarray], smoothing: SmoothingConfig, reuse: GridReuseConfig):
    grid_for = enhancer.temporal(smoothing, reuse)
    return [enhancer.enhance(frame, grid=grid_for(frame)) for frame in frames], grid_for.counts


def test_frames_between_key_frames_use_the_key_frames_grid(enhancer):
    frames = panning(skimage.data.astronaut(), 7)
    outputs, counts = run(enhancer, frames, SmoothingConfig.off(), GridReuseConfig(grid_every=3))
    for t, frame in enumerate(frames):
        key = frames[t - t % 3]  # frames 0, 3, 6 are key frames
        assert np.array_equal(outputs[t], enhancer.enhance(frame, grid=predict_grid(enhancer.model, key))), t
    assert counts.grids_predicted == 3 and counts.cuts == 0 and counts.frames == 7
    # the held grid is visibly not the frame's own (else the test above could not fail)
    own = enhancer.enhance(frames[2], grid=predict_grid(enhancer.model, frames[2]))
    assert np.abs(outputs[2].astype(int) - own.astype(int)).max() > 0


def test_grid_every_1_is_every_frames_smoothed_grid(enhancer):
    frames = panning(skimage.data.astronaut(), 4)
    outputs, counts = run(enhancer, frames, SmoothingConfig(), GridReuseConfig())
    from aicam_opt.runtime.smoothing import TemporalGrid

    tracker = TemporalGrid(enhancer.model, SmoothingConfig())
    for frame, got in zip(frames, outputs):
        with torch_threads(1):  # as the runtime runs it (another thread count rounds differently)
            grid = tracker(downsample_native(frame, enhancer.model.cfg.lowres_size))
        assert np.array_equal(got, enhancer.enhance(frame, grid=grid))
    assert counts.grids_predicted == 4


@pytest.mark.parametrize("grid_every", [1, 4])
def test_a_cut_makes_a_key_frame_at_once_and_restarts_the_smoothing(enhancer, clip_with_cut, grid_every):
    frames, cut = clip_with_cut
    outputs, counts = run(enhancer, frames, SmoothingConfig(), GridReuseConfig(grid_every=grid_every))
    fresh = predict_grid(enhancer.model, frames[cut])  # the first frame after the cut, no old scene blended in
    assert np.array_equal(outputs[cut], enhancer.enhance(frames[cut], grid=fresh))
    assert counts.cuts == 1
    if grid_every == 4:  # the frame after it holds that grid: no stale grid from before the cut
        assert np.array_equal(outputs[cut + 1], enhancer.enhance(frames[cut + 1], grid=fresh))
    # without the detector the old scene's look lingers on the new scene's first frame
    stale, _ = run(enhancer, frames, SmoothingConfig(), GridReuseConfig(grid_every=grid_every, cut_threshold=1.0))
    assert np.abs(stale[cut].astype(int) - outputs[cut].astype(int)).mean() > 0.5


def test_a_cut_in_yuv_420_frames(enhancer, clip_with_cut):
    frames, cut = clip_with_cut
    standard = "bt601_full"
    yuv = [rgb_to_yuv420(f, standard, "nv12") for f in frames]
    grid_for = enhancer.temporal_yuv(SmoothingConfig(), GridReuseConfig(grid_every=4))
    outputs = [enhancer.enhance_yuv(f, standard, grid=grid_for(f, standard)) for f in yuv]
    fresh = predict_grid_yuv(enhancer.model, yuv[cut], standard)
    for t in (cut, cut + 1):
        expected = enhancer.enhance_yuv(yuv[t], standard, grid=fresh)
        assert np.array_equal(outputs[t].y, expected.y) and np.array_equal(outputs[t].uv, expected.uv)
    assert grid_for.counts.cuts == 1 and grid_for.counts.grids_predicted == 3  # frames 0, 4 and 5 (the cut)


def test_the_real_clips_ordinary_motion_is_no_cut(shared_data, student):
    """All 200 frames of the handheld clip, compared with key frames up to 16 frames back: no cut."""
    paths = list_photos(shared_data.root / "video" / "bedroom")
    assert len(paths) >= 100
    thumbnails = [downsample_native(read_native(p), student.cfg.lowres_size) for p in paths]
    for grid_every in (1, 8, 16):
        grids = ReusedGrid(student, SmoothingConfig(), GridReuseConfig(grid_every=grid_every))
        for thumbnail in thumbnails:
            grids(thumbnail)
        assert grids.counts.cuts == 0, grid_every
        assert grids.counts.grids_predicted == -(-len(paths) // grid_every)
    # and the same clip cut against another scene is one
    grids = ReusedGrid(student, SmoothingConfig(), GridReuseConfig(grid_every=8))
    for thumbnail in thumbnails[:10] + [downsample_native(skimage.data.coffee(), student.cfg.lowres_size)]:
        grids(thumbnail)
    assert grids.counts.cuts == 1


@pytest.mark.parametrize("grid_every", [0, -2, 1.5, True])
def test_bad_grid_every_is_refused(grid_every):
    with pytest.raises(AicamError, match="--grid-every .*at least 1"):
        GridReuseConfig(grid_every=grid_every)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_bad_cut_threshold_is_refused(threshold):
    with pytest.raises(AicamError, match=r"--cut-threshold .*\(0, 1\]"):
        GridReuseConfig(cut_threshold=threshold)


@pytest.mark.parametrize("flag,value,message", [("--grid-every", "0", "--grid-every 0: must be a whole number"),
                                                ("--cut-threshold", "2", "--cut-threshold 2.0: must be in (0, 1]")])
def test_cli_refuses_bad_values_before_any_work(tmp_path, capsys, flag, value, message):
    frames = tmp_path / "frames"
    frames.mkdir()
    from aicam_opt.images import write_native

    for t, frame in enumerate(panning(skimage.data.astronaut(), 2)):
        write_native(frames / f"{t:05d}.png", frame)
    out = tmp_path / "out.mp4"
    assert main(["enhance", str(frames), str(out), flag, value]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_reports_grids_and_cuts(enhancer, clip_with_cut, tmp_path, capsys):
    from aicam_opt.images import write_native
    from aicam_opt.models.checkpoints import save_checkpoint

    frames, _ = clip_with_cut
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, frame in enumerate(frames):
        write_native(folder / f"{t:05d}.png", frame)
    model = tmp_path / "student.safetensors"
    save_checkpoint(enhancer.model, "student", model)
    assert main(["enhance", str(folder), str(tmp_path / "out"), "--model", str(model), "--pytorch",
                 "--grid-every", "4"]) == 0
    assert "9 frames; 3 grids predicted (a key frame every 4), 1 scene cut detected" in capsys.readouterr().err
