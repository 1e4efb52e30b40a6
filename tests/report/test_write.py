"""Every report is written, holds what it should, escapes user text, regenerates from the study
alone, and report.html renders in a real headless browser."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from aicam_opt.cli import main
from aicam_opt.gate.summary import load_summary
from aicam_opt.report import OUTPUTS, write_reports
from aicam_opt.search.records import StudyRecord
from aicam_opt.search.winners import WinnersDocument

EVIL = "<script>alert('x')</script>"  # as tests/report/conftest.py puts in every user-controlled string


@pytest.fixture(scope="module")
def written(report_dir):
    out, study, space = report_dir
    winners = write_reports(out, study, space, "sd865")
    return out, winners


def test_all_outputs_written(written):
    out, _ = written
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp*")), "a temporary file was left behind"


def test_trials_and_pareto_tables(written):
    out, _ = written
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials["trial"]) == [0, 1, 2, 3]
    assert list(trials["state"]) == ["COMPLETE"] * 3 + ["FAIL"]
    for column in ("param.full_res", "quality.psnr_drop_vs_student", "latency_ms.preview", "latency_ms.photo100mp",
                   "macs.video8k", "peak_memory_mb.photo100mp", "constraint.latency_ms.preview", "duration_s",
                   "fail_reason", "feasible"):
        assert column in trials.columns, column
    front = pd.read_csv(out / "pareto.csv")
    assert set(front["trial"]) == {0, 1, 2}


def test_winners_follow_their_definitions(written):
    out, winners = written
    doc = json.loads((out / "winners.json").read_text())
    assert doc == winners.to_json()
    assert WinnersDocument.load_from(out / "winners.json") == winners  # what compile and the host timing read
    assert doc["winners"]["fastest_within_0.3db"]["trial"] == 1
    assert doc["winners"]["best_quality_within_budgets"]["trial"] == 0
    assert doc["winners"]["fastest_within_0.3db"]["speedup_vs_student"]["preview"] == pytest.approx(99 / 20)
    assert set(doc["roles"]) == set(doc["winners"])


def test_each_winner_reports_every_latency_budget_met_or_violated(written, report_dir):
    """The 8K frame (33.3 ms) is reported per winner even where the space does not enforce it."""
    out, winners = written
    space = report_dir[2]
    fastest = json.loads((out / "winners.json").read_text())["winners"]["fastest_within_0.3db"]
    latency = fastest["predicted_latency_ms"]
    assert set(fastest["budgets"]) == {"preview", "video8k", "photo100mp"}
    for workload, budget in {"preview": 33.0, "video8k": 33.3, "photo100mp": 2000.0}.items():
        check = fastest["budgets"][workload]
        assert check["budget_ms"] == budget and check["predicted_ms"] == latency[workload]
        assert check["met"] == (latency[workload] <= budget)
        enforced = space.constraints.latency_budgets
        assert check["constraint"] == (enforced is None or workload in enforced)
    assert fastest["budgets"]["video8k"]["met"] is False  # 16x the preview time in the fixture
    html = (out / "report.html").read_text()
    assert "video8k: {:.1f} / 33.3 ms <b>VIOLATED</b>".format(latency["video8k"]) in html


def test_summary_is_what_the_gate_reads(written):
    out, _ = written
    summary = load_summary(out / "summary.json", "run make optimize")
    assert summary.target == "sd865" and summary.winners["knee"] is not None
    raw = json.loads((out / "summary.json").read_text())
    assert raw["trials"] == {"complete": 3, "failed": 1, "full_fidelity": 3, "counted": 4}
    assert summary.student.measured_on.pairs == ["a4521", "a4576"] and summary.student.measured_on.frames == 8


def test_summary_records_the_budget_the_study_was_searched_to(written, tmp_path):
    """The gate compares like with like: the summary says which search it comes from, from the study alone
    (`aicam-opt report`); a study made before the budget was recorded says nothing ("budget unknown")."""
    out, _ = written
    assert "budget" not in json.loads((out / "summary.json").read_text())  # the fixture's study has none
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(*OUTPUTS))
    study = optuna.load_study(study_name="evil-sd865", storage=f"sqlite:///{copy / 'study.db'}")
    StudyRecord.store_budget(study, 20)
    StudyRecord.store_budget(study, 4)  # a rerun with a smaller --trials runs nothing: the study stays a 20-trial one
    assert main(["report", str(copy)]) == 0
    assert json.loads((copy / "summary.json").read_text())["budget"] == {"trials": 20, "sampler": "tpe", "seed": 0}
    assert "budget 20 trials" in (copy / "report.html").read_text()


def test_report_says_what_quality_was_measured_on(written):
    page = (written[0] / "report.html").read_text()
    assert "2 FiveK evaluation pair(s), 3 photo(s) in all; flicker on 8 frames of clip bedroom" in page


def test_embedded_data_without_a_clip_is_said_plainly():
    from aicam_opt.report.html import evaluation_text
    from aicam_opt.search.blocks import EvaluationSet

    text = evaluation_text(EvaluationSet(data="embedded scikit-image photos", pairs=["degraded/rocket"],
                                         photos=["degraded/rocket", "rocket"], clip=None, frames=0))
    assert "1 pseudo-pair(s)" in text and "FiveK evaluation" not in text
    assert "flicker was not measured and the flicker limit was not applied" in text


def test_report_html_escapes_and_shows_the_cost_tables(written):
    out, _ = written
    page = (out / "report.html").read_text()
    assert EVIL not in page and "&lt;script&gt;" in page
    assert 'id="winners"' in page or "id='winners'" in page
    assert "ops-fastest_within_0.3db" in page and "grid_sample" in page  # where the time goes, op by op
    assert page.count("data:image/jpeg;base64,") >= 2 and "data:image/png;base64," in page
    assert "broke" in page  # failed trials with their reason


def test_reports_regenerate_from_the_study_alone(written, tmp_path):
    out, _ = written
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(*OUTPUTS))
    assert main(["report", str(copy)]) == 0
    assert json.loads((copy / "winners.json").read_text()) == json.loads((out / "winners.json").read_text())
    assert main(["report", str(tmp_path / "nothing")]) == 2


@pytest.mark.slow
def test_report_renders_in_headless_chromium(written, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        if os.environ.get("AICAM_REQUIRE_BROWSER"):
            pytest.fail("AICAM_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
        pytest.skip("chromium not installed (.ci/run installs it: apt-get install chromium)")
    out, _ = written
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "report.html").resolve().as_uri()
    dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "Winners" in dom and "fastest_within_0.3db" in dom
    assert "alert(" not in dom.split("<body")[1].replace("&lt;script&gt;alert(", "")  # escaped, not a script
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2400", url],
                   capture_output=True, timeout=120)
    from aicam_opt.images import read_photo

    pixels = read_photo(shot).pixels
    assert pixels.shape[0] >= 2000 and np.std(pixels) > 0.05, "the page rendered blank"


@pytest.mark.slow
def test_host_timings_reach_the_summary_for_the_current_winners_only(written):
    from aicam_opt.compile.documents import MeasuredTimings
    from aicam_opt.compile.measure import measure_winners
    from aicam_opt.search.folder import ReportFolder

    out, _ = written
    measured = measure_winners(out, repeats=1).to_json()
    assert MeasuredTimings.load(ReportFolder(out).measured, "").to_json() == measured
    assert measured["reference_ms"] > 0 and set(measured["host_ms"]) == {"fastest_within_0.3db",
                                                                          "best_quality_within_budgets", "knee"}
    from aicam_opt.cli import main as cli

    assert cli(["report", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["measured"]["host_ms"] == measured["host_ms"]
    assert summary["measured"]["ratio"] == measured["ratio"] and set(measured["ratio"]) == set(measured["host_ms"])
    stale = {**measured, "trials": {role: 99 for role in measured["trials"]}}  # timings of other candidates
    ReportFolder(out).measured.write_text(json.dumps(stale))
    assert cli(["report", str(out)]) == 0
    stale_summary = json.loads((out / "summary.json").read_text())["measured"]
    assert stale_summary["host_ms"] == {} and stale_summary["ratio"] == {}
