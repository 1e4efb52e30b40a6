"""An mp4 is enhanced as a stream: each frame is decoded, enhanced and handed to the encoder before the
next is decoded, so memory does not grow with the clip (the 8K figures: the runtime bench's
video8k_mp4 section). The clip has a scene cut, which grid reuse must see through the mp4's compression."""
from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import skimage.data

from aicam_opt import images
from aicam_opt.runtime.enhance import Enhancer, enhance_video
from aicam_opt.runtime.grid_reuse import GridReuseConfig

SIZE = (96, 160)  # height, width
SCENE_FRAMES = 6  # frames of each scene; the cut is at frame 6


def panning(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    height, width = SIZE
    return [np.ascontiguousarray(photo[40:40 + height, 60 + 3 * t:60 + 3 * t + width]) for t in range(frames)]


@pytest.fixture(scope="module")
def clip_with_cut(tmp_path_factory) -> Path:
    frames = panning(skimage.data.astronaut(), SCENE_FRAMES) + panning(skimage.data.coffee(), SCENE_FRAMES)
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with images.video_writer(path) as put:
        for frame in frames:
            put(frame)
    return path


@pytest.mark.parametrize("grid_every", [1, 4])
def test_each_frame_is_decoded_enhanced_and_encoded_before_the_next_is_decoded(student, clip_with_cut, tmp_path,
                                                                                monkeypatch, grid_every):
    decoded, encoded, seen = [0], [0], []
    read_frames, put = imageio_ffmpeg.read_frames, images._Encoder.put

    def counting_reader(*args, **kwargs):  # what ffmpeg has handed over so far (its first item is the metadata)
        for item in read_frames(*args, **kwargs):
            if not isinstance(item, dict):
                decoded[0] += 1
            yield item

    def counting_put(self, frame):
        put(self, frame)
        encoded[0] += 1

    monkeypatch.setattr(imageio_ffmpeg, "read_frames", counting_reader)
    monkeypatch.setattr(images._Encoder, "put", counting_put)
    enhancer = Enhancer.for_module(student, "test student")
    assert enhancer.compiled is not None, enhancer.notes  # the path the CLI takes by default
    result = enhance_video(enhancer, clip_with_cut, tmp_path / "out.mp4", reuse=GridReuseConfig(grid_every=grid_every),
                           on_frame=lambda done: seen.append((done, decoded[0], encoded[0])))
    frames = 2 * SCENE_FRAMES
    assert result.frames == frames
    # after frame n: n frames decoded (not the whole clip read up front) and n encoded (none kept for later)
    assert seen == [(n, n, n) for n in range(1, frames + 1)]
    assert result.grids.cuts == 1
    assert result.grids.grids_predicted == 2 * -(-SCENE_FRAMES // grid_every)  # each scene starts on a key frame
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "out.mp4"))
    assert tuple(next(reader)["size"]) == (SIZE[1], SIZE[0]) and sum(1 for _ in reader) == frames
