"""The evaluation set: FiveK (or embedded pseudo-) pairs plus the evaluation photos, never a training image."""
from __future__ import annotations

import numpy as np

from aicam_opt.data import EVAL_FIVEK, DataSource, load_photos
from aicam_opt.evaluate.eval_set import PHOTO_LONG_SIDE, evaluation_photos, evaluation_split, fivek_set

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


def test_an_explicit_folder_is_evaluated_whole(tmp_path):
    assert evaluation_split(DataSource(tmp_path, explicit=True)) == "all"
    assert evaluation_split(DataSource(tmp_path, explicit=False)) == "eval"
