"""A study is not resumed with another search space, and the refusal names the space file actually
passed (not search_spaces/<name>.yaml), the fields that differ and the study file to delete."""
import shutil
from pathlib import Path

import optuna
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.latency.target import load_target
from aicam_opt.search.space import load_space
from aicam_opt.search.study import open_storage, open_study

TINY = Path(__file__).with_name("tiny_space.yaml")


def test_another_space_names_the_space_file_and_the_study_file(tmp_path):
    space_file = tmp_path / "my-space.yaml"
    shutil.copy(TINY, space_file)
    out = tmp_path / "reports"
    target = load_target("sd865")
    open_study(load_space(space_file), target, out)
    space_file.write_text(TINY.read_text(encoding="utf-8") + "quality_tolerance_db: 0.5\n", encoding="utf-8")
    with pytest.raises(AicamError, match="different search space") as err:
        open_study(load_space(space_file), target, out)
    message = str(err.value)
    assert str(space_file) in message and "search_spaces/tiny.yaml" not in message
    assert "quality_tolerance_db" in message and "0.3 -> 0.5" in message
    assert f"rm {out / 'study.db'}" in message


def test_a_space_by_name_is_named_by_its_file_and_an_rdb_study_by_its_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"  # stands for a server: the study is deleted by name
    target = load_target("sd865")
    space = load_space("default")
    open_study(space, target, tmp_path / "a", storage=url)
    changed = space.model_copy(update={"quality_tolerance_db": 0.5})
    with pytest.raises(AicamError) as err:
        open_study(changed, target, tmp_path / "b", storage=url)
    message = str(err.value)
    assert "search_spaces/default.yaml" in message
    assert f"optuna delete-study --study-name default-sd865 --storage {url}" in message
    assert optuna.study.get_all_study_names(open_storage(url)) == ["default-sd865"]


def test_optimize_refuses_another_space_before_costing_or_writing(tmp_path, capsys):
    """The refusal comes before the costing of the uncompressed models (about 18 s) writes cost.json."""
    from aicam_opt.cli import main

    space_file = tmp_path / "my-space.yaml"
    shutil.copy(TINY, space_file)
    out = tmp_path / "reports"
    open_study(load_space(space_file), load_target("sd865"), out)
    space_file.write_text(TINY.read_text(encoding="utf-8") + "quality_tolerance_db: 0.5\n", encoding="utf-8")
    assert main(["optimize", "--target", "sd865", "--space", str(space_file), "--trials", "1", "--out", str(out),
                 "--no-compile"]) == 2
    assert "different search space" in capsys.readouterr().err
    assert not (out / "cost.json").exists()
