"""The one train/eval split, the data folder's resolution, and the switch that makes CI fail without data."""
import pytest

from aicam_opt import data


def test_embedded_split_is_disjoint():
    assert set(data.embedded_photos("train")).isdisjoint(data.embedded_photos("eval"))


def test_split_is_disjoint_and_fixed(shared_data):
    data_source = shared_data
    train = {p.name for p in data.fivek_pairs(data_source, "train")}
    evals = {p.name for p in data.fivek_pairs(data_source, "eval")}
    assert evals == set(data.EVAL_FIVEK) and not train & evals
    train_photos = set(data.photo_paths(data_source, "train"))
    eval_photos = set(data.photo_paths(data_source, "eval"))
    assert eval_photos and not train_photos & eval_photos
    assert {p.stem for p in eval_photos} >= set(data.EVAL_KODAK)
    train_frames = {f for clip in data.clip_frames(data_source, "train") for f in clip}
    eval_frames = {f for clip in data.clip_frames(data_source, "eval") for f in clip}
    assert eval_frames and not train_frames & eval_frames


def test_explicit_data_uses_everything(shared_data):
    data_source = shared_data
    src = data.resolve(data_source.root)
    assert src.explicit
    assert len(data.fivek_pairs(src, "eval")) == len(data.fivek_pairs(data_source, "all"))


def test_explicit_data_still_trains_only_on_the_training_split(shared_data):
    """`aicam-opt train --data DIR` must not train on the evaluation pairs, photos or frames."""
    data_source = shared_data
    src = data.resolve(data_source.root)
    train_pairs = {p.name for p in data.fivek_pairs(src, "train")}
    assert train_pairs and not train_pairs & set(data.EVAL_FIVEK)
    assert data.photo_paths(src, "train") == data.photo_paths(data_source, "train")
    assert all(len(clip) == data.VIDEO_TRAIN_FRAMES for clip in data.clip_frames(src, "train"))


def test_embedded_fallback_without_data(tmp_path, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_repo_root", lambda: tmp_path)
    src = data.resolve()
    assert src.root is None
    photos = data.load_photos(src, "train")
    assert set(photos) == set(data.EMBEDDED_TRAIN)
    assert all(p.ndim == 3 and p.shape[2] == 3 and 0 <= p.min() and p.max() <= 1 for p in photos.values())


def test_bad_data_dir_is_an_error(tmp_path):
    from aicam_opt.errors import AicamError

    with pytest.raises(AicamError, match="not a directory"):
        data.resolve(tmp_path / "nope")


def test_missing_data_skips_and_fails_when_the_data_is_required(missing_data, monkeypatch):
    """CI sets AICAM_REQUIRE_DATA: a test that needs the real data must fail there, never skip."""
    monkeypatch.delenv("AICAM_REQUIRE_DATA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the clip is missing"):
        missing_data("the clip")
    monkeypatch.setenv("AICAM_REQUIRE_DATA", "1")
    with pytest.raises(pytest.fail.Exception, match="AICAM_REQUIRE_DATA is set but the clip is missing"):
        missing_data("the clip")
