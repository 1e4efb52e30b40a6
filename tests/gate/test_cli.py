"""`aicam-opt gate` end to end: the table, the final line and the exit codes 0 / 1 / 2."""
import pytest

from aicam_opt.cli import main

FASTEST = "winners.fastest_within_0.3db"


def gate(capsys, baseline: str, current: str, *extra: str) -> tuple[int, str, str]:
    code = main(["gate", "--baseline", baseline, "--current", current, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def final_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_unchanged_run_passes(pair, write_json, capsys):
    code, out, _ = gate(capsys, write_json("base.json", pair[0]), write_json("cur.json", pair[1]))
    assert code == 0
    assert "predicted_latency_ms.preview" in out and "host_ms/reference_ms" in out
    assert final_line(out).startswith("gate passed for sd865")


def test_slower_candidate_fails_and_is_named(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["predicted_latency_ms"]["preview"] *= 1.10
    code, out, _ = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 1
    assert "worse" in out and "+10.0%" in out
    last = final_line(out)
    assert last.startswith("gate FAILED for sd865: 1 regression(s)")
    assert f"{FASTEST}.predicted_latency_ms.preview (worse" in last and "tolerance ±2%" in last


def test_failure_caused_by_another_winner_points_at_the_baseline_refresh(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["candidate"]["placement"]["low_res"] = "gpu"
    current["winners"]["fastest_within_0.3db"]["predicted_latency_ms"]["preview"] *= 1.10
    base_path, cur_path = write_json("base.json", baseline), write_json("cur.json", current)
    code, out, _ = gate(capsys, base_path, cur_path)
    assert code == 1
    assert (f"{FASTEST}: trial 3 -> trial 3; another candidate holds this role: placement.low_res dsp -> gpu"
            in out.splitlines())
    assert f"cp {cur_path} {base_path}" in final_line(out)


def test_worse_quality_candidate_fails(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"]["quality"]["psnr_drop_vs_student"] += 0.2
    code, out, _ = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 1 and f"{FASTEST}.quality.psnr_drop_vs_student" in final_line(out)


def test_lost_role_fails(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["fastest_within_0.3db"] = None
    code, out, _ = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 1
    assert "no longer finds" in out and f"{FASTEST} (missing" in final_line(out)


def test_macs_growth_fails(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["best_quality_within_budgets"]["macs"]["video8k"] += 1_000_000
    code, out, _ = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 1
    assert "winners.best_quality_within_budgets.macs.video8k (worse, +1,000,000" in final_line(out)
    assert "tolerance exact" in final_line(out)


def test_measured_timings_are_normalised_by_the_reference(pair, write_json, capsys):
    baseline, current = pair
    base = write_json("base.json", baseline)
    measured = current["measured"]
    measured["reference_ms"] *= 2  # the whole machine is 2x slower: not a regression
    measured["host_ms"] = {role: ms * 2 for role, ms in measured["host_ms"].items()}
    code, out, _ = gate(capsys, base, write_json("cur.json", current))
    assert code == 0, out

    measured["reference_ms"] /= 2  # only the winner is 2x slower: a regression
    code, out, _ = gate(capsys, base, write_json("cur.json", current))
    assert code == 1
    assert final_line(out).count("host_ms/reference_ms") == 2  # both winners, each named


def test_missing_measurement_fails_and_says_how_to_make_it(pair, write_json, capsys):
    baseline, current = pair
    del current["measured"]  # a summary without host timings no longer passes as "2 skipped"
    code, out, _ = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 1 and "skipped" not in final_line(out)
    assert "measured.fastest_within_0.3db.host_ms/reference_ms (missing" in final_line(out)
    assert "--no-compile" in " ".join(out.split())


def test_improvement_passes_and_suggests_refreshing_the_baseline(pair, write_json, capsys):
    baseline, current = pair
    current["winners"]["knee"] = current["winners"]["fastest_within_0.3db"]
    base, cur = write_json("base.json", baseline), write_json("cur.json", current)
    code, out, _ = gate(capsys, base, cur)
    assert code == 0 and "better" in out
    assert f"cp {cur} {base}" in out


def test_malformed_json_names_the_file(pair, write_json, capsys):
    base = write_json("base.json", pair[0])
    cur = write_json("cur.json", '{"schema": "aicam_opt.summary/1", "target": ')
    code, out, err = gate(capsys, base, cur)
    assert code == 2 and out == ""
    assert cur in err and "not valid JSON" in err


def test_wrong_schema_names_the_file(pair, write_json, capsys):
    baseline, current = pair
    current["schema"] = "aicam_opt.summary/2"
    cur = write_json("cur.json", current)
    code, _, err = gate(capsys, write_json("base.json", baseline), cur)
    assert code == 2 and cur in err and "major version" in err


def test_target_mismatch_exits_2(pair, write_json, capsys):
    baseline, current = pair
    current["target"] = "host"
    code, _, err = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 2 and "target mismatch" in err and "reports/baseline/host.json" in err


def test_run_on_other_evaluation_images_exits_2(pair, write_json, capsys):
    baseline, current = pair
    current["student"]["measured_on"].update(pairs=["degraded/rocket"], clip=None, frames=0)
    code, _, err = gate(capsys, write_json("base.json", baseline), write_json("cur.json", current))
    assert code == 2 and "different evaluation images" in err and "DATA=" in err


def test_missing_baseline_says_how_to_create_it(pair, write_json, tmp_path, capsys):
    cur = write_json("cur.json", pair[1])
    base = str(tmp_path / "baseline" / "sd865.json")
    code, _, err = gate(capsys, base, cur)
    assert code == 2 and base in err and f"cp {cur} {base}" in err


@pytest.mark.parametrize("text, expected", [
    ("latency: {relative: 0.02}\nlatenc: {relative: 0.02}\n", "latenc"),   # unknown key
    ("latency: [relative: 0.02\n", "malformed YAML"),                        # syntax error
])
def test_bad_tolerances_yaml_exits_2_naming_the_file(pair, write_json, tmp_path, capsys, text, expected):
    tolerances = tmp_path / "tolerances.yaml"
    tolerances.write_text(text, encoding="utf-8")
    code, _, err = gate(capsys, write_json("base.json", pair[0]), write_json("cur.json", pair[1]),
                        "--tolerances", str(tolerances))
    assert code == 2 and str(tolerances) in err and expected in err
