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
    console = capsys.readouterr()
    printed = console.out
    assert "uncompressed student" in printed and "winners on sd865" in printed
    # the libraries' logs go to the log file beside the reports, which the last line names
    log = tmp_path / "aicam-opt.log"
    assert (f"library logs and warnings in {log}" in printed) == log.exists()  # created by the first line written
    assert not log.exists() or log.read_text().startswith("==== ")
    assert "INFO:" not in printed + console.err and "search: trial 1 complete, 2/2" in printed  # a line per trial
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


def test_a_device_without_measure_top_and_measure_top_without_a_device_are_errors(tmp_path, capsys):
    assert main(["optimize", "--target", "sd865", "--space", str(TINY), "--out", str(tmp_path), "--rpc", "local"]) == 2
    assert "add --measure-top K" in capsys.readouterr().err
    assert main(["optimize", "--target", "sd865", "--space", str(TINY), "--out", str(tmp_path), "--measure-top", "1"]) == 2
    assert "--measure-top K needs a device" in capsys.readouterr().err
    assert not (tmp_path / "study.db").exists()


def test_a_calibration_of_another_target_is_refused_before_anything_is_written(tmp_path, capsys):
    other = tmp_path / "host.json"
    other.write_text((Path(__file__).resolve().parents[1] / "targets" / "calibration" / "host.json").read_text())
    assert main(["optimize", "--target", "sd865", "--space", str(TINY), "--out", str(tmp_path / "r"),
                 "--calibration", str(other)]) == 2
    assert "fitted for target 'host', not 'sd865'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_target_without_budgets_is_a_clear_error(tmp_path, capsys):
    import yaml

    host = yaml.safe_load((Path(__file__).resolve().parents[1] / "targets" / "host.yaml").read_text())
    del host["budgets"]
    path = tmp_path / "host.yaml"
    path.write_text(yaml.safe_dump(host))
    assert main(["optimize", "--target", str(path), "--space", str(TINY), "--out", str(tmp_path / "r")]) == 2
    assert "has no `budgets:` block" in capsys.readouterr().err


def test_an_unreachable_device_fails_before_the_search(tmp_path, capsys):
    from tests.device.conftest import free_port

    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["optimize", "--target", "sd865", "--space", str(TINY), "--out", str(tmp_path / "r"),
                 "--measure-top", "1", "--rpc", address]) == 2
    assert f"RPC server {address} is unreachable" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
