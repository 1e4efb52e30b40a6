"""The study on real data: failing trials are recorded and the study goes on; a killed run resumes
without losing or redoing a completed trial; the CLI writes every report."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from aicam_opt.compress import build_candidate
from aicam_opt.errors import AicamError
from aicam_opt.latency.target import load_target
from aicam_opt.report import OUTPUTS
from aicam_opt.search.objective import Objective, make_context, student_figures
from aicam_opt.search.records import StudyRecord, TrialRecord
from aicam_opt.search.space import load_space
from aicam_opt.search.study import counted_trials, open_study, record_student, run_search

TINY = Path(__file__).with_name("tiny_space.yaml")

# Real studies: the references are evaluated once per module, trials build and recover
# real candidates, and the resume test runs and kills a search in a child process.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ctx(data_source, tmp_path_factory):
    space, target = load_space(TINY), load_target("sd865")
    return make_context(space, target, data_source, tmp_path_factory.mktemp("study"))


def test_failed_trials_are_recorded_and_the_study_goes_on(ctx):
    calls = []

    def flaky_build(candidate, source, **kwargs):
        calls.append(candidate.name)
        if len(calls) == 1:
            raise RuntimeError("transform exploded on purpose")
        built = build_candidate(candidate, source, **kwargs)
        if len(calls) == 2:
            built.metrics.quality.psnr_drop_vs_student = float("nan")
        return built

    study = open_study(ctx.space, ctx.target, ctx.out_dir)
    StudyRecord.store_student(study, student_figures(ctx))
    run_search(ctx, study, 3, objective=Objective(ctx, build=flaky_build))
    trials = study.get_trials()
    records = [TrialRecord.from_trial(t) for t in trials]
    assert [t.state for t in trials[:2]] == [TrialState.FAIL, TrialState.FAIL]
    assert "transform exploded on purpose" in records[0].fail_reason
    assert "non-finite psnr_drop_vs_student" in records[1].fail_reason
    assert trials[2].state == TrialState.COMPLETE and len(counted_trials(study)) == 3
    done = records[2]
    assert np.isfinite(trials[2].values).all() and done.fidelity == "full"
    assert ctx.reports.candidate(done.dir).weights.exists()
    # the predicted latency is the model's, and the constraints reach Optuna
    assert trials[2].values[1] == pytest.approx(done.figures.latency_ms["preview"])
    assert set(done.constraints) == {"latency_ms.preview", "peak_memory_mb"}


def test_the_student_block_records_what_quality_is_measured_on(ctx):
    measured_on = student_figures(ctx).measured_on
    refs = ctx.refs_full
    assert measured_on.data == ctx.source.description
    assert measured_on.pairs == sorted(refs.pairs) and measured_on.photos == sorted(refs.photos)
    assert measured_on.frames == len(refs.frames)
    assert (measured_on.clip is None) == (not refs.frames)
    if refs.frames:
        assert measured_on.clip == "bedroom"  # the eval split's clip in ../shared/data


def test_a_study_measured_on_other_images_is_not_resumed(ctx, tmp_path):
    study = open_study(ctx.space, ctx.target, tmp_path)
    record_student(study, ctx)
    record_student(study, ctx)  # the same images: resumes
    other = replace(ctx, refs_full=replace(ctx.refs_full, frames=[], clip=None))  # e.g. data without a clip
    with pytest.raises(AicamError, match="other evaluation images") as err:
        record_student(open_study(ctx.space, ctx.target, tmp_path), other)
    assert "frames" in str(err.value) and "DATA=" in str(err.value)


def test_a_study_of_another_space_is_not_resumed(ctx, tmp_path):
    open_study(ctx.space, ctx.target, tmp_path)
    changed = ctx.space.model_copy(update={"quality_tolerance_db": 0.5})
    with pytest.raises(AicamError, match="different search space"):
        open_study(changed, ctx.target, tmp_path)


def _completed_count(db: Path) -> int:
    """A plain read-only query: polling must neither disturb the running search nor fail with it."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:  # not created yet, or mid-write
        return 0


def _complete(db: Path) -> dict[int, list[float]]:
    try:
        study = optuna.load_study(study_name="tiny-sd865", storage=f"sqlite:///{db}")
    except Exception:  # not created yet
        return {}
    return {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))}


def test_killed_run_resumes_without_losing_or_redoing_trials(tmp_path, data_source):
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "aicam_opt.cli", "optimize", "--target", "sd865", "--space", str(TINY),
           "--trials", "4", "--out", str(out), "--no-compile"]
    env = {k: v for k, v in os.environ.items() if k != "AICAM_DATA"}
    if data_source.root:
        env["AICAM_DATA"] = str(data_source.root)
    log = tmp_path / "first_run.log"
    with log.open("w") as sink:
        first = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 600
    # Kill once one trial is complete: a trial whose candidate repeats an earlier one completes at once,
    # so waiting for more risks the whole (short) search finishing first.
    while time.time() < deadline and _completed_count(out / "study.db") < 1 and first.poll() is None:
        time.sleep(0.2)
    if first.poll() is not None:
        pytest.fail(f"the first run ended (exit {first.returncode}) before it could be killed:\n{log.read_text()[-3000:]}")
    os.killpg(first.pid, signal.SIGKILL)  # as a crash would: no clean-up
    first.wait()
    before = _complete(out / "study.db")
    assert 1 <= len(before) < 4, "the first run should have been killed mid-search"

    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stdout
    study = optuna.load_study(study_name="tiny-sd865", storage=f"sqlite:///{out / 'study.db'}")
    after = {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert all(after[n] == v for n, v in before.items()), "a completed trial changed or vanished"
    assert len(counted_trials(study)) == 4
    records = [TrialRecord.from_trial(t) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    computed = [r.candidate_key for r in records if r.reused_from is None]
    assert len(computed) == len(set(computed)), "a candidate was built twice"
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "aicam_opt.summary/1" and summary["trials"]["counted"] == 4
