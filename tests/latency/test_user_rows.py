"""The user's measurement rows in a refit (latency/user_rows.py), a fitted calibration in use
(latency.model.using_calibration), and the study that refuses to mix two calibrations."""
from pathlib import Path

import pytest
import yaml

from aicam_opt.cli import main
from aicam_opt.errors import AicamError
from aicam_opt.latency.model import calibration_in_use, calibration_path, load_calibration, using_calibration
from aicam_opt.latency.target import load_target
from aicam_opt.latency.user_rows import check_enough, read_user_rows

KERNEL = "c3_k16_d8_g16_uint8"


def rows_file(tmp_path: Path, rows: list[dict], target: str | None = "host", name: str = "rows.yaml") -> Path:
    document = {"device": "a test device", "measurements": rows, **({"target": target} if target else {})}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def part_row(**fields) -> dict:
    return {"model": "student", "part": "low_res", "unit": "cpu", "precision": "fp32", "ms": 5.0, "source": "test",
            "runtime": "tvm", "cores": 1, "workload": "240x320", **fields}


def test_rows_become_fit_rows_kernel_rows_and_predicted_only_rows(tmp_path):
    path = rows_file(tmp_path, [part_row(), part_row(part="full_res", kernel=KERNEL, ms=2.0),
                                part_row(part="end_to_end", kernel=KERNEL, ms=8.0),
                                {"model": "mobilenet_v1", "unit": "cpu", "precision": "fp32", "ms": 30.0, "source": "A"}])
    user = read_user_rows([path], load_target("host"))
    assert [r.role for r in user.rows] == ["ops", "kernel", "end_to_end", "ops"]
    low = user.rows[0]
    assert low.ops and {op.part for op in low.ops} == {"low_res"} and low.assignment.cores == 1
    assert user.rows[1].kernel[1:] == (240, 320, 1)
    assert {op.part for op in user.rows[2].ops} == {"low_res", "full_res"}
    assert set(user.kernel_rows()) == {"cpu"}


@pytest.mark.parametrize("row, target, message", [
    (part_row(unit="gpu"), "host", "has no unit 'gpu'"),
    (part_row(precision="int8"), "host", "does not run int8"),
    (part_row(runtime="onnxruntime"), "host", "runtime 'onnxruntime'"),
    (part_row(workload=None), "host", "needs `workload: HxW`"),
    (part_row(part="full_res"), "host", "must name it"),
    (part_row(candidate="/nonexistent/folder"), "host", "has no student.safetensors"),
    ({"model": "vgg", "unit": "cpu", "precision": "fp32", "ms": 3.0, "source": "A"}, "host", "no reference network"),
    (part_row(), "sd865", "measured for target 'sd865', not 'host'"),
])
def test_a_row_the_refit_cannot_use_is_an_error_naming_file_and_row(tmp_path, row, target, message):
    path = rows_file(tmp_path, [{k: v for k, v in row.items() if v is not None}], target)
    with pytest.raises(AicamError, match="rows.yaml") as err:
        read_user_rows([path], load_target("host"))
    assert message in str(err.value)


def test_a_malformed_rows_file_is_an_error_naming_the_field(tmp_path):
    path = rows_file(tmp_path, [part_row(ms=-1)])
    with pytest.raises(AicamError, match=r"measurements\.0\.ms"):
        read_user_rows([path], load_target("host"))
    with pytest.raises(AicamError, match="no rows"):
        read_user_rows([rows_file(tmp_path, [], name="empty.yaml")], load_target("host"))


def test_too_few_rows_to_fit_a_unit_or_a_kernel_alone(tmp_path):
    sd865 = load_target("sd865")  # its CPU's kernel figures come from another target, not from timings
    one_size = rows_file(tmp_path, [part_row(part="full_res", kernel=KERNEL), part_row(part="full_res", kernel=KERNEL)],
                         "sd865")
    user = read_user_rows([one_size], sd865)
    with pytest.raises(AicamError, match="one size cannot"):
        check_enough(user, {"cpu", "gpu", "dsp"}, set())
    two_sizes = rows_file(tmp_path, [part_row(part="full_res", kernel=KERNEL),
                                     part_row(part="full_res", kernel=KERNEL, workload="480x640")], "sd865", "two.yaml")
    check_enough(read_user_rows([two_sizes], sd865), {"cpu", "gpu", "dsp"}, set())
    lone = read_user_rows([rows_file(tmp_path, [part_row()], "sd865", "lone.yaml")], sd865)
    with pytest.raises(AicamError, match="at least 2"):
        check_enough(lone, {"gpu", "dsp"}, set())  # no source rows for the CPU: one row alone cannot fit it


def test_calibrate_measurements_needs_out_and_checks_rows_before_fitting(tmp_path, capsys):
    path = rows_file(tmp_path, [part_row(unit="dsp")])
    assert main(["calibrate", "--target", "host", "--measurements", str(path)]) == 2
    assert "--measurements needs --out PATH" in capsys.readouterr().err
    assert main(["calibrate", "--target", "host", "--measurements", str(path), "--out", str(tmp_path / "x.json")]) == 2
    assert "has no unit 'dsp'" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_a_fitted_calibration_replaces_the_committed_one_within_the_block(tmp_path):
    committed = load_calibration("host")
    refit = committed.model_copy(deep=True)
    refit.units["cpu"]["onnxruntime"]["fp32"].per_call_overhead_us += 100
    path = tmp_path / "refit.json"
    path.write_text(refit.model_dump_json())
    with using_calibration("host", path):
        assert load_calibration("host").units["cpu"]["onnxruntime"]["fp32"].per_call_overhead_us == \
            committed.units["cpu"]["onnxruntime"]["fp32"].per_call_overhead_us + 100
        assert calibration_in_use("host") == path
        assert load_calibration("sd865").target == "sd865"  # other targets keep theirs
    assert calibration_in_use("host") == calibration_path("host")
    assert load_calibration("host").fingerprint() == committed.fingerprint() != refit.fingerprint()
    with pytest.raises(AicamError, match="fitted for target 'host', not 'sd865'"):
        with using_calibration("sd865", path):
            pass


def test_cost_with_a_fitted_calibration(tmp_path, capsys):
    import json

    refit = load_calibration("host")
    refit.units["cpu"]["tvm"]["fp32"].per_call_overhead_us += 5000  # +5 ms on the one call (tvm: what ships)
    path = tmp_path / "refit.json"
    path.write_text(refit.model_dump_json())
    args = ["cost", "student", "--target", "host", "--workload", "64x64", "--json"]
    assert main(args) == 0
    before = json.loads(capsys.readouterr().out)["total"]["latency_ms"]
    assert main([*args, "--calibration", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(before + 5.0, abs=1e-6)


def test_a_study_is_not_resumed_with_another_calibration(tmp_path):
    from aicam_opt.search.space import load_space
    from aicam_opt.search.study import open_study

    space = load_space(Path(__file__).resolve().parents[1] / "search" / "tiny_space.yaml")
    target = load_target("sd865")
    open_study(space, target, tmp_path, calibration="aaaaaaaaaaaa")
    open_study(space, target, tmp_path, calibration="aaaaaaaaaaaa")  # the same: resumed
    with pytest.raises(AicamError, match="another calibration"):
        open_study(space, target, tmp_path, calibration="bbbbbbbbbbbb")
