"""The gate compares like with like: summaries record the search they come from (its trial budget,
space, sampler and seed); winners of searches that differ are not judged, and the gate says which
baseline to use. Summaries written before the budget was recorded still load ("budget unknown")."""
import json
import shutil
from pathlib import Path

import pytest

from aicam_opt.cli import main
from aicam_opt.gate import load_summary

REPO = Path(__file__).resolve().parents[2]


def gate(capsys, baseline: str, current: str) -> tuple[int, str, str]:
    code = main(["gate", "--baseline", baseline, "--current", current])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_summary_without_a_budget_loads_as_budget_unknown(pair, write_json):
    del pair[0]["budget"]
    assert load_summary(write_json("old.json", pair[0]), "").budget is None


def test_a_longer_search_is_not_judged_against_a_smoke_baseline(pair, write_json, capsys, tmp_path):
    """`make optimize` (20 trials) then `make gate` against the 4-trial smoke baseline: other candidates
    win in a longer search; that is no regression, and the gate says what to run instead."""
    baseline, current = pair
    current["budget"]["trials"] = 20
    current["trials"] = {"complete": 20, "failed": 0, "full_fidelity": 9, "counted": 20}
    current["winners"]["fastest_within_0.3db"]["quality"]["deltae_vs_student"] += 1.0  # another winner
    (tmp_path / "reports" / "baseline").mkdir(parents=True)
    base = str(tmp_path / "reports" / "baseline" / "sd865.json")
    Path(base).write_text(json.dumps(baseline), encoding="utf-8")
    cur = write_json("summary.json", current)
    code, out, err = gate(capsys, base, cur)
    assert code == 2 and out == ""
    assert "gate FAILED" not in err and "which is no regression" in err
    assert f"{base} comes from a search of 4 trials" in err and "20 trials" in err
    assert "make optimize TARGET=sd865 TRIALS=4" in err            # the baseline's budget, to rerun with
    per_budget = str(tmp_path / "reports" / "baseline" / "sd865-20trials.json")
    assert f"cp {cur} {per_budget}" in err and f"BASELINE={per_budget}" in err


def test_a_baseline_of_the_same_budget_beside_the_given_one_is_named(pair, write_json, capsys, tmp_path):
    baseline, current = pair
    current["budget"]["trials"] = 20
    folder = tmp_path / "baselines"
    folder.mkdir()
    (folder / "sd865.json").write_text(json.dumps(baseline), encoding="utf-8")
    (folder / "long-run.json").write_text(json.dumps(current), encoding="utf-8")
    (folder / "tolerances.yaml").write_text("not a summary", encoding="utf-8")
    code, _, err = gate(capsys, str(folder / "sd865.json"), write_json("summary.json", current))
    assert code == 2 and f"BASELINE={folder / 'long-run.json'}" in err


@pytest.mark.parametrize("field, value, says", [
    ("seed", 7, "seed 7"), ("sampler", "nsga2", "nsga2"),
])
def test_another_sampler_or_seed_is_not_judged(pair, write_json, capsys, field, value, says):
    baseline, current = pair
    current["budget"][field] = value
    code, out, err = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 2 and out == "" and says in err


def test_another_search_space_is_not_judged(pair, write_json, capsys):
    baseline, current = pair
    current["search_space"] = "fast"
    code, out, err = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 2 and out == ""
    assert "space default" in err and "space fast" in err and "SPACE=default" in err


@pytest.mark.parametrize("side", ["baseline", "current"])
def test_an_unknown_budget_is_compared_and_said(pair, write_json, capsys, side):
    baseline, current = pair
    unknown = baseline if side == "baseline" else current
    del unknown["budget"]
    base, cur = write_json("base.json", baseline), write_json("cur.json", current)
    code, out, _ = gate(capsys, base, cur)
    assert code == 0
    path = base if side == "baseline" else cur
    assert f"{path}: trial budget unknown" in " ".join(out.split())


def test_the_committed_baseline_is_the_smoke_run_ci_gates_against():
    """CI: `make optimize TARGET=sd865 TRIALS=12 && make gate TARGET=sd865`: the summary it writes records
    12 trials of the default space's sampler and seed, so the baseline must say the same."""
    from aicam_opt.search.space import load_space

    summary = load_summary(REPO / "reports" / "baseline" / "sd865.json", "")
    space = load_space("default")
    assert summary.budget is not None
    assert (summary.budget.trials, summary.trials.counted) == (12, 12)
    assert (summary.search_space, summary.budget.sampler, summary.budget.seed) == (
        space.name, space.sampler.kind, space.sampler.seed)
    assert "TRIALS=12" in (REPO / ".ci" / "run").read_text() and "make gate TARGET=sd865" in (REPO / ".ci" / "run").read_text()
