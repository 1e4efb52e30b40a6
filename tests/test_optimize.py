"""`aicam-opt optimize`: costs the uncompressed models, searches, and writes every report."""
import json
from pathlib import Path

import pytest

from aicam_opt.cli import main
from aicam_opt.report import OUTPUTS

TINY = Path(__file__).resolve().parent / "search" / "tiny_space.yaml"


@pytest.mark.slow
def test_optimize_costs_searches_and_reports(tmp_path, capsys):
    assert main(["optimize", "--target", "sd865", "--space", str(TINY), "--trials", "2", "--out", str(tmp_path),
                 "--no-compile"]) == 0
    printed = capsys.readouterr().out
    assert "uncompressed student" in printed and "winners on sd865" in printed
    cost = json.loads((tmp_path / "cost.json").read_text())
    rows = {(r["model"], r["workload"]["name"], next(iter(r["placement"].values()))["unit"]) for r in cost["reports"]}
    assert ("student", "preview", "gpu") in rows and ("teacher", "photo100mp", "dsp") in rows
    student_preview = [r for r in cost["reports"] if r["model"] == "student" and r["workload"]["name"] == "preview"]
    teacher_preview = [r for r in cost["reports"] if r["model"] == "teacher" and r["workload"]["name"] == "preview"]
    # The student exists because it is far cheaper than the teacher on every unit.
    assert all(s["total"]["macs"] * 50 < t["total"]["macs"] for s, t in zip(student_preview, teacher_preview))
    for name in OUTPUTS:
        assert (tmp_path / name).exists(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["trials"]["counted"] == 2 and summary["student"]["predicted_latency_ms"]["preview"] > 0
    # the search it comes from, which the gate compares (tiny_space.yaml: random sampler, seed 3)
    assert summary["budget"] == {"trials": 2, "sampler": "random", "seed": 3}


def test_unknown_target_is_a_clear_error(tmp_path, capsys):
    assert main(["optimize", "--target", "sd999", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sd999" in err and "sd865" in err


def test_unknown_search_space_is_a_clear_error(tmp_path, capsys):
    assert main(["optimize", "--target", "sd865", "--space", "nope", "--out", str(tmp_path)]) == 2
    assert "search space 'nope' not found" in capsys.readouterr().err
