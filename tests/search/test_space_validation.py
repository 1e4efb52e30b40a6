"""A search space or budget that cannot work is refused before any file is written or compute starts."""
from __future__ import annotations

import pytest
import yaml

from aicam_opt.cli import main
from aicam_opt.errors import AicamError
from aicam_opt.search.space import SEARCH_SPACES_DIR, load_space

DEFAULT = yaml.safe_load((SEARCH_SPACES_DIR / "default.yaml").read_text())


def _space(tmp_path, edit):
    raw = yaml.safe_load(yaml.safe_dump(DEFAULT))
    edit(raw)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("knob, choices", [("num_branches", [0]), ("grid_size", [1]), ("grid_depth", [64]),
                                           ("num_branches", [])])
def test_a_choice_no_student_can_take_is_refused_when_the_space_loads(tmp_path, knob, choices):
    path = _space(tmp_path, lambda r: r["knobs"]["architecture"].update({knob: choices}))
    with pytest.raises(AicamError, match=rf"{knob}"):
        load_space(str(path))


def test_a_unit_typo_is_refused_before_any_file_is_written(tmp_path, capsys):
    path = _space(tmp_path, lambda r: r["knobs"]["low_res"].__setitem__(0, "gpuu:fp16"))
    out = tmp_path / "reports"
    code = main(["optimize", "--target", "sd865", "--space", str(path), "--out", str(out), "--no-compile"])
    assert code == 2 and "gpuu" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())  # no cost.json, no study.db to block the rerun


@pytest.mark.parametrize("trials", ["0", "-1", "two"])
def test_a_budget_below_one_trial_is_refused(trials, capsys):
    with pytest.raises(SystemExit) as done:
        main(["optimize", "--target", "sd865", "--trials", trials])
    assert done.value.code == 2 and "--trials" in capsys.readouterr().err
