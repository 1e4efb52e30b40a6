"""The loop on this host, through the commands: measure -> calibrate -> optimize --calibration --measure-top."""
import json
from pathlib import Path

import pandas as pd
import pytest

from aicam_opt.cli import main
from aicam_opt.latency.model import load_calibration_file

HOST_SPACE = Path(__file__).resolve().parent / "host_space.yaml"

pytestmark = pytest.mark.slow


def test_measure_calibrate_optimize_on_this_host(tmp_path, capsys):
    rows, refit, out = tmp_path / "rows.yaml", tmp_path / "host_refit.json", tmp_path / "report"
    assert main(["measure", "student", "--target", "host", "--rpc", "local", "--workload", "240x320", "--repeat", "3",
                 "--save-rows", str(rows)]) == 0
    capsys.readouterr()

    assert main(["calibrate", "--target", "host", "--measurements", str(rows), "--out", str(refit)]) == 0
    printed = capsys.readouterr().out
    assert "meets" in printed or "does NOT meet" in printed  # the validation, as `calibrate --validate` prints it
    assert load_calibration_file(refit, "host").command.startswith("aicam-opt calibrate --target host --measurements")
    report = json.loads(refit.with_suffix(".validation.json").read_text())
    compared = {r["model"].split()[1]: r for r in report["measurements"]["rows"]}
    assert set(compared) == {"low_res", "full_res", "end_to_end"}
    for part in ("low_res", "full_res"):  # the refit's prediction moved toward what was measured
        r = compared[part]
        assert abs(r["predicted_after_ms"] - r["measured_ms"]) < abs(r["predicted_before_ms"] - r["measured_ms"]), r
    assert not compared["end_to_end"]["fitted"]

    assert main(["optimize", "--target", "host", "--space", str(HOST_SPACE), "--trials", "2", "--out", str(out),
                 "--no-compile", "--calibration", str(refit), "--measure-top", "1", "--rpc", "local",
                 "--measure-repeat", "3"]) == 0
    printed = capsys.readouterr().out
    assert str(refit) in printed.replace("\n", "")  # the run's latency model
    trials = pd.read_csv(out / "trials.csv")
    measured = trials[trials["device.measured_ms"].notna()]
    assert len(measured) == 1 and measured["device.workload"].iloc[0] == "preview"
    row = measured.iloc[0]
    assert row["device.measured_ms"] > 0 and row["device.predicted_ms"] > 0
    winners = json.loads((out / "winners.json").read_text())["winners"]
    entry = next(w for w in winners.values() if w is not None)
    assert entry["trial"] == row["trial"] and entry["measured"]["measured_ms"] == pytest.approx(row["device.measured_ms"])
    # the prediction beside it is the refit's, for the same program (the search priced the same candidate)
    assert entry["measured"]["predicted_ms"] == pytest.approx(entry["predicted_latency_ms"]["preview"], rel=1e-6)
    assert "measured on the device" in (out / "report.html").read_text()
    document = json.loads((out / "device" / f"trial_{int(row['trial']):04d}.json").read_text())
    assert document["status"] == "measured" and document["total"]["measured_ms"] == pytest.approx(row["device.measured_ms"])
    print(f"measured {row['device.measured_ms']:.2f} ms, predicted {row['device.predicted_ms']:.2f} ms (refit)")
