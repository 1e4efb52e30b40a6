"""`aicam-opt compile`: one COMMANDS line; summary JSON; exit 2 on a user error."""
from __future__ import annotations

import json

import pytest

from aicam_opt.cli import main


@pytest.mark.slow
def test_compile_command_writes_artifacts_and_prints_a_summary(candidates, tmp_path, capsys, aarch64_suffix):
    out = tmp_path / "out"
    code = main(["compile", str(candidates["tiny_fp32"]), "--target", "sd865", "--out", str(out),
                 "--no-verify", "--no-audit", "--threads", "1"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "compiled"
    assert {p["artifact"] for p in summary["parts"].values()} == {f"low_res-cpu{aarch64_suffix}",
                                                                   f"full_res-cpu{aarch64_suffix}"}
    assert (out / "report.json").is_file() and (out / "low_res-cpu.json").is_file()


def test_missing_candidate_folder_exits_2(tmp_path, capsys):
    assert main(["compile", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "candidate folder not found" in capsys.readouterr().err


def test_winners_mode_without_winners_json_exits_2(tmp_path, capsys):
    assert main(["compile", str(tmp_path), "--winners", "--target", "sd865"]) == 2
    assert "no winners.json" in capsys.readouterr().err


def test_all_units_option_reaches_compile_winners(tmp_path, capsys, monkeypatch):
    from aicam_opt.compile import cli, winners

    seen = {}

    def fake(report_dir, target, source, **options):
        seen.update(options)
        return {"winners": {"fastest": {"candidate": "c", "status": "compiled", "parts": [
            {"part": "low_res", "unit": "cpu", "role": "placed", "precision": "fp32", "status": "compiled",
             "engine": "relax_onnx", "artifact": "low_res-cpu.tar", "failure": None},
            {"part": "low_res", "unit": "dsp", "role": "alternative", "precision": "int8", "status": "compiled",
             "engine": "relax_onnx", "artifact": "low_res-dsp.tar", "failure": None}]}}}

    monkeypatch.setattr(winners, "compile_winners", fake)
    assert main(["compile", str(tmp_path), "--winners", "--all-units", "--no-verify", "--no-audit"]) == 0
    assert seen["all_units"] is True
    summary = json.loads(capsys.readouterr().out)["winners"]["fastest"]
    assert summary["parts"]["low_res"]["unit"] == "cpu"  # the placed build, not overwritten by the alternative
    assert summary["alternatives"]["low_res-dsp"]["precision"] == "int8"
    assert cli.summary({"parts": []})["parts"] == {}
