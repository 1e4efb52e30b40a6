"""The evaluation set: FiveK (or embedded pseudo-) pairs plus the evaluation photos, never a training image."""
from __future__ import annotations

import numpy as np
import pytest

from aicam_opt.data import EVAL_FIVEK, DataSource, load_photos
from aicam_opt.errors import AicamError
from aicam_opt.evaluate.eval_set import PHOTO_LONG_SIDE, evaluation_photos, evaluation_split, fivek_set
from aicam_opt.evaluate.quality import mean_difference, mean_metrics, mean_psnr

EMBEDDED = DataSource(None, explicit=False)


def test_embedded_pairs_are_degraded_copies_named_apart_from_the_photos():
    pairs = fivek_set(EMBEDDED)
    assert pairs and all(name.startswith("degraded/") for name in pairs)
    for x, y in pairs.values():
        assert x.shape == y.shape and max(x.shape[:2]) == 512
        assert np.abs(x - y).mean() > 0.01  # a real degradation, not the photo itself
    photos = evaluation_photos(EMBEDDED, pairs)
    full_size = set(photos) - set(pairs)
    assert full_size == set(load_photos(EMBEDDED, "eval"))
    assert all(max(photos[n].shape[:2]) <= PHOTO_LONG_SIDE for n in full_size)  # downscaled, never enlarged
    assert not full_size & set(load_photos(EMBEDDED, "train"))


def test_pair_inputs_are_the_same_arrays_so_their_outputs_can_be_reused():
    pairs = fivek_set(EMBEDDED)
    photos = evaluation_photos(EMBEDDED, pairs)
    assert all(photos[name] is x for name, (x, _) in pairs.items())


def test_shared_data_gives_the_fivek_evaluation_pairs_and_photos(shared_data):
    pairs = fivek_set(shared_data)
    assert sorted(pairs) == sorted(EVAL_FIVEK)
    photos = evaluation_photos(shared_data, pairs)
    assert not set(photos) & set(load_photos(shared_data, "train", long_side=64))


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_an_explicit_folder_is_evaluated_whole_unless_it_holds_training_images(tmp_path):
    _touch(tmp_path / "photos" / "holiday" / "beach.jpg")
    assert evaluation_split(DataSource(tmp_path, explicit=True)) == "all"
    assert evaluation_split(DataSource(tmp_path, explicit=False)) == "eval"
    _touch(tmp_path / "photos" / "kodak24" / "kodim01.png")  # a training photo of the split
    assert evaluation_split(DataSource(tmp_path, explicit=True)) == "eval"


def test_no_evaluation_image_is_an_error_before_any_compute(tmp_path):
    for i in range(3):
        _touch(tmp_path / "video" / "clip" / f"{i:05d}.jpg")
    with pytest.raises(AicamError, match=f"data folder {tmp_path}: no evaluation images: found no FiveK pair and no "
                                         "photo.*put pairs in fivek/input/NAME"):
        fivek_set(DataSource(tmp_path, explicit=True))
    _touch(tmp_path / "photos" / "kodak24" / "kodim01.png")
    with pytest.raises(AicamError, match=r"no image of the fixed split's evaluation part \(only 1 of its training "
                                         r"part\).*or give a folder without training-split images"):
        fivek_set(DataSource(tmp_path, explicit=True))


def test_a_mean_over_zero_images_is_an_error_not_nan():
    for empty_mean in (lambda: mean_metrics([]), lambda: mean_difference({}, {}), lambda: mean_psnr({}, {})):
        with pytest.raises(AicamError, match="over zero images"):
            empty_mean()
