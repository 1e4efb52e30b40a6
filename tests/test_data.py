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


def test_the_shared_folder_given_explicitly_is_evaluated_on_its_evaluation_split(shared_data):
    """`--data ../shared/data` (the folder the default finds) holds training images: it measures what the default does."""
    src = data.resolve(shared_data.root)
    assert src.explicit and not src.evaluated_whole
    assert data.fivek_pairs(src, "eval") == data.fivek_pairs(shared_data, "eval")
    assert data.photo_paths(src, "eval") == data.photo_paths(shared_data, "eval")
    assert data.clip_frames(src, "eval") == data.clip_frames(shared_data, "eval")
    assert "only its evaluation split is used" in src.split_description()
    assert "227 images of the training split (7 in fivek/input, 60 in photos/cbsd68, 20 in photos/kodak24, 140 in video/bedroom)" in src.split_description()


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # listing needs only the name


def test_training_split_images_are_found_by_place_and_name(tmp_path):
    for sub in ("input", "expert_c"):
        for name in ("a2917", "a4521", "mine"):  # a training pair, an evaluation pair, someone's own
            _touch(tmp_path / "fivek" / sub / f"{name}.png")
    for name in ("kodim05", "kodim22"):
        _touch(tmp_path / "photos" / "kodak24" / f"{name}.png")
    for i in range(10):  # cbsd68: all but the last 8 are training
        _touch(tmp_path / "photos" / "cbsd68" / f"{i:04d}.png")
    for i in range(3):
        _touch(tmp_path / "photos" / "holiday" / f"{i}.jpg")
    for i in range(data.VIDEO_TRAIN_FRAMES + 2):
        _touch(tmp_path / "video" / "long" / f"{i:05d}.jpg")
    for i in range(20):  # a clip shorter than the training part is not the split's clip
        _touch(tmp_path / "video" / "short" / f"{i:05d}.jpg")
    found = {p.relative_to(tmp_path).as_posix() for p in data.training_split_images(tmp_path)}
    assert found == {"fivek/input/a2917.png", "photos/kodak24/kodim05.png", "photos/cbsd68/0000.png",
                     "photos/cbsd68/0001.png", *(f"video/long/{i:05d}.jpg" for i in range(data.VIDEO_TRAIN_FRAMES))}


def test_a_folder_without_training_images_is_all_evaluation_data(tmp_path):
    for sub in ("input", "expert_c"):
        for name in ("a4521", "mine"):
            _touch(tmp_path / "fivek" / sub / f"{name}.png")
    for i in range(3):
        _touch(tmp_path / "photos" / "holiday" / f"{i}.jpg")
    for i in range(20):
        _touch(tmp_path / "video" / "short" / f"{i:05d}.jpg")
    src = data.resolve(tmp_path)
    assert src.evaluated_whole and "everything in it is evaluation data" in src.split_description()
    assert {p.name for p in data.fivek_pairs(src, "eval")} == {"a4521", "mine"}
    assert len(data.photo_paths(src, "eval")) == 3 and len(data.clip_frames(src, "eval")[0]) == 20
    # compress measures on it whole and calibrates on the default data's training split instead
    train, evaluation = data.build_sources(src)
    assert evaluation is src and train.root != tmp_path


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
