"""Verdicts of the gate's comparison, summary loading and the tolerances file (no CLI)."""
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.gate import DEFAULT_TOLERANCES, Tolerance, compare, load_pair, load_summary, load_tolerances
from aicam_opt.gate.summary import Summary

FASTEST = "winners.fastest_within_0.3db"


@pytest.fixture(scope="module")
def tolerances():
    return load_tolerances()  # the committed reports/baseline/tolerances.yaml


def run(baseline: dict, current: dict, tolerances):
    return compare(Summary.model_validate(baseline), Summary.model_validate(current), tolerances)


def verdict(result, name: str) -> str:
    (row,) = [r for r in result.rows if r.name == name]
    return row.verdict


def test_committed_tolerances_load_with_every_family():
    tols = load_tolerances(DEFAULT_TOLERANCES)
    assert tols.macs.describe() == "exact"
    assert tols.latency.relative == 0.02 and tols.measured.relative == 0.25
    assert tols.psnr_drop.absolute == 0.1 and tols.deltae.absolute == 0.1


def test_unchanged_run_passes_with_every_figure_compared(pair, tolerances):
    result = run(*pair, tolerances)
    assert result.passed and not result.improvements
    names = {r.name for r in result.rows}
    assert "student.macs.video8k" in names and "student.quality.psnr" in names
    assert f"{FASTEST}.quality.flicker" in names and "winners.best_quality_within_budgets.peak_memory_mb.photo100mp" in names
    assert verdict(result, "winners.knee") == "ok"  # null in both runs
    assert verdict(result, "measured.fastest_within_0.3db.host_ms/reference_ms") == "ok"


def test_slower_candidate_fails_on_latency(pair, tolerances):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["predicted_latency_ms"]["preview"] *= 1.10
    result = run(baseline, current, tolerances)
    assert [r.name for r in result.failures] == [f"{FASTEST}.predicted_latency_ms.preview"]
    assert result.failures[0].verdict == "worse"


def test_another_candidate_winning_a_role_is_named_in_an_info_row(pair, tolerances):
    baseline, current = pair
    fastest = current["winners"]["fastest_within_0.3db"]
    fastest["trial"] = 7
    fastest["candidate"]["precision"]["low_res"] = "fp16"
    fastest["candidate"]["name"] = "default-t0007"  # naming fields are not configuration changes
    fastest["predicted_latency_ms"]["preview"] *= 1.10
    result = run(baseline, current, tolerances)
    (row,) = [r for r in result.rows if r.name == f"{FASTEST}.candidate"]
    assert (row.baseline, row.current, row.verdict) == ("trial 3", "trial 7", "info")
    assert row.note == "another candidate holds this role: precision.low_res int8 -> fp16"
    assert [r.name for r in result.failures] == [f"{FASTEST}.predicted_latency_ms.preview"]


def test_same_candidate_under_another_trial_number_gets_no_candidate_row(pair, tolerances):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["trial"] = 9
    current["winners"]["fastest_within_0.3db"]["candidate"]["description"] = "trial 9 of search 'default'"
    result = run(baseline, current, tolerances)
    assert result.passed and not [r for r in result.rows if r.metric == "candidate"]


def test_latency_within_tolerance_passes_and_large_gain_is_better(pair, tolerances):
    baseline, current = pair
    current["student"]["predicted_latency_ms"]["video8k"] *= 1.01
    current["winners"]["fastest_within_0.3db"]["predicted_latency_ms"]["preview"] *= 0.8
    result = run(baseline, current, tolerances)
    assert result.passed
    assert verdict(result, "student.predicted_latency_ms.video8k") == "ok"
    assert [r.name for r in result.improvements] == [f"{FASTEST}.predicted_latency_ms.preview"]


def test_worse_quality_candidate_fails(pair, tolerances):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["quality"]["psnr_drop_vs_student"] += 0.2
    result = run(baseline, current, tolerances)
    assert [r.name for r in result.failures] == [f"{FASTEST}.quality.psnr_drop_vs_student"]


def test_student_psnr_lower_is_worse(pair, tolerances):
    baseline, current = pair
    current["student"]["quality"]["psnr"] -= 0.2
    assert verdict(run(baseline, current, tolerances), "student.quality.psnr") == "worse"
    current["student"]["quality"]["psnr"] += 0.4
    assert verdict(run(baseline, current, tolerances), "student.quality.psnr") == "better"


@pytest.mark.parametrize("how", ["null", "removed"])
def test_lost_role_fails(pair, tolerances, how):
    baseline, current = pair
    if how == "null":
        current["winners"]["fastest_within_0.3db"] = None
    else:
        del current["winners"]["fastest_within_0.3db"]
    del current["measured"]["host_ms"]["fastest_within_0.3db"]  # a lost role is not compiled either
    result = run(baseline, current, tolerances)
    assert [(r.name, r.verdict) for r in result.failures] == [(FASTEST, "missing")]
    assert verdict(result, "measured.fastest_within_0.3db.host_ms/reference_ms") == "skipped (no measurement)"


def test_role_found_now_is_an_improvement(pair, tolerances):
    baseline, current = pair
    current["winners"]["knee"] = current["winners"]["fastest_within_0.3db"]
    result = run(baseline, current, tolerances)
    assert result.passed and verdict(result, "winners.knee") == "better"


def test_any_macs_growth_fails(pair, tolerances):
    baseline, current = pair
    current["student"]["macs"]["photo100mp"] += 1
    result = run(baseline, current, tolerances)
    assert [r.name for r in result.failures] == ["student.macs.photo100mp"]


def test_missing_workload_fails(pair, tolerances):
    baseline, current = pair
    del current["winners"]["best_quality_within_budgets"]["peak_memory_mb"]["video8k"]
    result = run(baseline, current, tolerances)
    assert [(r.name, r.verdict) for r in result.failures] == [
        ("winners.best_quality_within_budgets.peak_memory_mb.video8k", "missing")]


def test_speedup_rows_are_informational(pair, tolerances):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["speedup_vs_student"]["preview"] /= 2
    result = run(baseline, current, tolerances)
    assert result.passed and verdict(result, f"{FASTEST}.speedup_vs_student.preview") == "info"


def test_slower_machine_cancels_out_but_slower_winner_fails(pair, tolerances):
    baseline, current = pair
    measured = current["measured"]
    measured["reference_ms"] *= 2
    measured["host_ms"] = {role: ms * 2 for role, ms in measured["host_ms"].items()}
    assert run(baseline, current, tolerances).passed

    baseline, current = pair[0], {**pair[0], "measured": {"reference_ms": 12.5, "host_ms": {
        "fastest_within_0.3db": 620.0, "best_quality_within_budgets": 420.0}}}
    result = run(baseline, current, tolerances)
    assert [r.name for r in result.failures] == ["measured.fastest_within_0.3db.host_ms/reference_ms"]


def test_a_run_without_host_timings_is_missing_against_a_timed_baseline(pair, tolerances):
    baseline, current = pair
    del current["measured"]  # e.g. `optimize --no-compile`: the winners were never compiled or timed
    result = run(baseline, current, tolerances)
    assert not result.passed
    failures = [(r.name, r.verdict) for r in result.failures]
    assert failures == [(f"measured.{role}.host_ms/reference_ms", "missing") for role in baseline["measured"]["host_ms"]]
    assert all("make optimize" in r.note and "--no-compile" in r.note for r in result.failures)


def test_host_timings_new_in_this_run_are_information(pair, tolerances):
    baseline, current = pair
    del baseline["measured"]
    result = run(baseline, current, tolerances)
    assert result.passed
    measured = [r for r in result.rows if r.block.startswith("measured")]
    assert measured and all(r.verdict == "info" and "not in the baseline" in r.note for r in measured)


def test_host_timings_in_neither_run_are_skipped_visibly(pair, tolerances):
    baseline, current = pair
    del baseline["measured"], current["measured"]
    result = run(baseline, current, tolerances)
    assert result.passed
    measured = [r for r in result.rows if r.block.startswith("measured")]
    assert [(r.verdict, r.note) for r in measured] == [("skipped (no measurement)", "in neither run")]


def test_tolerance_is_the_larger_of_relative_and_absolute():
    tol = Tolerance(relative=0.02, absolute=0.05)
    assert tol.allowed(100.0) == pytest.approx(2.0) and tol.allowed(1.0) == 0.05
    assert tol.describe() == "±2% or ±0.05"


@pytest.mark.parametrize("text, field", [
    ("latency: {relative: 0.02}\nspeedup: {relative: 0.1}\n", "speedup"),      # unknown family
    ("latency: {relative: 0.02, absolut: 1}\n", "absolut"),                    # typo in a key
    ("latency: {}\n", "latency"),                                               # neither given
    ("latency: {relative: -0.1}\n", "relative"),                                # negative
])
def test_bad_tolerances_name_the_file_and_field(tmp_path, text, field):
    good = DEFAULT_TOLERANCES.read_text(encoding="utf-8").replace("latency:\n  relative: 0.02\n", "")
    path = tmp_path / "tolerances.yaml"
    path.write_text(good + text, encoding="utf-8")
    with pytest.raises(AicamError) as err:
        load_tolerances(path)
    assert str(path) in str(err.value) and field in str(err.value)


@pytest.mark.parametrize("schema, accepted", [
    ("aicam_opt.summary/1", True), ("aicam_opt.summary/1.2", True),
    ("aicam_opt.summary/2", False), ("aicam_opt.cost/1", False), (None, False),
])
def test_schema_major_version_is_checked(pair, write_json, schema, accepted):
    doc = pair[0]
    if schema is None:
        del doc["schema"]
    else:
        doc["schema"] = schema
    path = write_json("summary.json", doc)
    if accepted:
        assert load_summary(path, "").target == "sd865"
    else:
        with pytest.raises(AicamError, match="schema") as err:
            load_summary(path, "")
        assert path in str(err.value)


def test_malformed_summary_names_the_file_and_field(pair, write_json):
    doc = pair[0]
    doc["student"]["macs"]["preview"] = "a lot"
    path = write_json("summary.json", doc)
    with pytest.raises(AicamError, match=r"student\.macs\.preview") as err:
        load_summary(path, "")
    assert path in str(err.value)


def test_target_mismatch_is_refused(pair, write_json):
    baseline, current = pair
    current["target"] = "host"
    with pytest.raises(AicamError, match="target mismatch"):
        load_pair(write_json("base.json", baseline), write_json("cur.json", current))


def test_measured_ratio_is_preferred_to_best_times(pair, tolerances):
    """A run that records per-round ratios is judged on them: one slow round (a best time that got unlucky)
    does not fail the gate, a winner that is slower in every round does."""
    baseline, current = pair
    for doc in pair:
        measured = doc["measured"]
        measured["ratio"] = {role: ms / measured["reference_ms"] for role, ms in measured["host_ms"].items()}
    current["measured"]["host_ms"] = {role: ms * 1.5 for role, ms in current["measured"]["host_ms"].items()}
    result = run(baseline, current, tolerances)
    assert verdict(result, "measured.fastest_within_0.3db.host_ms/reference_ms") == "ok"
    current["measured"]["ratio"]["fastest_within_0.3db"] *= 1.5
    result = run(baseline, current, tolerances)
    assert [r.name for r in result.failures] == ["measured.fastest_within_0.3db.host_ms/reference_ms"]


def test_quality_measured_on_other_images_is_refused_naming_both(pair, write_json):
    """A machine without ../shared/data measures on the embedded photos: its lower PSNR is not a regression."""
    baseline, current = pair
    current["student"]["measured_on"].update(data="embedded scikit-image photos", pairs=["degraded/rocket"],
                                             photos=["degraded/rocket", "rocket"], clip=None, frames=0)
    with pytest.raises(AicamError, match="different evaluation images") as err:
        load_pair(write_json("base.json", baseline), write_json("cur.json", current))
    assert "'bedroom' vs None" in str(err.value) and "/work/shared/data" in str(err.value)


def test_the_data_path_alone_does_not_make_runs_incomparable(pair, write_json):
    baseline, current = pair
    current["student"]["measured_on"]["data"] = "/ci/checkout/../shared/data"
    load_pair(write_json("base.json", baseline), write_json("cur.json", current))


def test_summaries_without_the_evaluation_set_still_compare(pair, write_json):
    baseline, current = pair
    del baseline["student"]["measured_on"]
    load_pair(write_json("base.json", baseline), write_json("cur.json", current))


def test_flicker_absent_on_both_sides_is_skipped_and_absent_now_is_missing(pair, tolerances):
    baseline, current = pair
    for doc in pair:
        for w in doc["winners"].values():
            if w:
                w["quality"]["flicker"] = None
    result = run(baseline, current, tolerances)
    assert verdict(result, f"{FASTEST}.quality.flicker") == "skipped (no measurement)" and result.passed
    baseline["winners"]["fastest_within_0.3db"]["quality"]["flicker"] = 2.45
    result = run(baseline, current, tolerances)
    assert verdict(result, f"{FASTEST}.quality.flicker") == "missing" and not result.passed
