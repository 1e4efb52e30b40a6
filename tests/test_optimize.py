"""`aicam-opt optimize` runs what exists, writes its reports and says what is not built."""
import json

from aicam_opt.cli import main


def test_optimize_writes_reports_and_says_what_is_missing(tmp_path, capsys):
    assert main(["optimize", "--target", "sd865", "--out", str(tmp_path), "--max-frames", "3", "--trials", "4"]) == 0
    printed = capsys.readouterr().out
    assert "Not built yet" in printed and "--trials 4 was ignored" in printed
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert {"identity", "teacher", "student"} <= set(evaluation["fivek"])
    cost = json.loads((tmp_path / "cost.json").read_text())
    rows = {(r["model"], r["workload"]["name"], next(iter(r["placement"].values()))["unit"]) for r in cost["reports"]}
    assert ("student", "preview", "gpu") in rows and ("teacher", "photo100mp", "dsp") in rows
    student_preview = [r for r in cost["reports"] if r["model"] == "student" and r["workload"]["name"] == "preview"]
    teacher_preview = [r for r in cost["reports"] if r["model"] == "teacher" and r["workload"]["name"] == "preview"]
    # The student exists because it is far cheaper than the teacher on every unit.
    assert all(s["total"]["macs"] * 50 < t["total"]["macs"] for s, t in zip(student_preview, teacher_preview))


def test_unknown_target_is_a_clear_error(tmp_path, capsys):
    assert main(["optimize", "--target", "sd999", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sd999" in err and "sd865" in err
