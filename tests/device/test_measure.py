"""`aicam-opt measure` against real TVM RPC servers on 127.0.0.1: the student, a report's winners through a
tracker, `--rpc local`, and the faults (another ISA, a remote killed mid-run, unreachable, malformed rows)."""
from __future__ import annotations

import json
import threading
import time

import pytest

from aicam_opt.cli import main
from aicam_opt.device.measure import MeasurementFailed, MeasureOptions, RemoteSpec, measure
from aicam_opt.device.remote import LocalServer
from aicam_opt.device.results import ModelMeasurement, WinnersMeasurement
from aicam_opt.latency.measurement_rows import load_measurements

from .conftest import WORKLOAD, free_port
from .test_link import needs_cross

pytestmark = pytest.mark.slow


def _sane(part: dict) -> None:
    spread = part["spread"]
    assert part["status"] == "measured" and 0.001 < part["measured_ms"] < 10_000
    assert spread["min_ms"] <= part["measured_ms"] <= spread["max_ms"] and spread["repeats"] == len(spread["times_ms"])


def test_student_through_an_rpc_server_beside_the_host_prediction(rpc_server, built_student, tmp_path, source):
    out, rows = tmp_path / "student.json", tmp_path / "rows.yaml"
    document = measure("student", RemoteSpec(rpc=rpc_server.address), MeasureOptions("host", WORKLOAD, repeat=5),
                       out, rows, source=source, built=built_student)
    data = json.loads(out.read_text())
    assert data == document.dump() and data["status"] == "measured"
    ModelMeasurement.model_validate(data)  # the written document reads back with its schema
    parts = data["parts"]
    for name in ("low_res", "full_res", "end_to_end"):
        _sane(parts[name])
        assert parts[name]["artifact"]["link"]["platform"] == "linux-x86_64" and parts[name]["artifact"]["isa"] == "x86_64"
    # measured beside predicted: the model prices the low-res graph and the fused kernel (from the host's
    # fitted kernel figures) on the host
    low, full = parts["low_res"], parts["full_res"]
    print(f"\nhost, {WORKLOAD}: low_res measured {low['measured_ms']:.2f} ms, predicted {low['predicted_ms']:.2f} ms; "
          f"full_res measured {full['measured_ms']:.2f} ms, predicted {full['predicted_ms']:.2f} ms")
    for part in (low, full):
        assert part["predicted_ms"] > 0 and part["ratio"] == pytest.approx(part["measured_ms"] / part["predicted_ms"])
    assert 1 / 3 < full["ratio"] < 3  # the kernel model is validated on this host (calibration report)
    total = data["total"]
    assert total["measured_from"] == "end_to_end" and total["measured_ms"] == parts["end_to_end"]["measured_ms"]
    assert total["predicted_ms"] > 0
    # one call of both parts costs about what the two calls cost (the same code; only the hand-over differs)
    assert 0.5 < total["measured_ms"] / total["sum_of_parts_ms"] < 2.0
    assert data["device"]["via"] == "rpc" and data["device"]["isa"] == "x86_64" and data["device"]["threads"] == 1
    written = load_measurements(rows).measurements
    assert [(r.part, r.ms) for r in written] == [(n, round(parts[n]["measured_ms"], 4)) for n in parts]
    assert all(r.runtime == "tvm" and r.workload == WORKLOAD and r.model == "student" for r in written)


def test_report_winners_through_a_tracker_with_two_devices(tracker, report_dir, built_tiny, tmp_path, source):
    out = tmp_path / "winners.json"
    document = measure(str(report_dir), RemoteSpec(tracker=tracker["address"], key=tracker["key"]),
                       MeasureOptions("host", WORKLOAD, repeat=3), out, source=source, built=built_tiny)
    assert isinstance(document, WinnersMeasurement)
    data = json.loads(out.read_text())
    WinnersMeasurement.model_validate(data)
    assert list(data["models"]) == ["tiny_fp32"] and data["status"] == "measured"
    model = data["models"]["tiny_fp32"]
    assert model["roles"] == ["fastest", "balanced"]  # one candidate folder, measured once
    assert data["device"]["via"] == "tracker" and data["device"]["key"] == tracker["key"]
    assert data["device"]["address"] in {s.address for s in tracker["servers"]}
    for name in ("low_res", "full_res", "end_to_end"):
        _sane(model["parts"][name])


def test_cli_rpc_local_starts_its_own_server(tiny_dir, tmp_path, capsys):
    out = tmp_path / "local.json"
    code = main(["measure", str(tiny_dir), "--target", "host", "--rpc", "local", "--workload", "64x96", "--repeat", "3",
                 "--json", str(out)])
    assert code == 0
    data = ModelMeasurement.model_validate(json.loads(out.read_text()))
    assert data.device is not None and data.device.via == "local" and data.status == "measured"
    assert data.command.startswith(f"aicam-opt measure {tiny_dir} --target host --rpc local")
    table = capsys.readouterr().out
    assert "| low_res " in table and "| total " in table and "end_to_end" in table


def test_artifact_for_another_isa_is_refused_before_upload(rpc_server, tiny_dir, tmp_path, source):
    """sd865's CPU built for an aarch64 Linux board, sent to this x86-64 server: an error before uploading."""
    needs_cross()
    out = tmp_path / "isa.json"
    with pytest.raises(MeasurementFailed, match=r"low_res-cpu.so: aarch64 code \(built for linux-aarch64\), but the RPC "
                                                r"server .* is x86_64.* \(x86_64\): nothing was uploaded"):
        measure(str(tiny_dir), RemoteSpec(rpc=rpc_server.address),
                MeasureOptions("sd865", WORKLOAD, repeat=3, os_name="linux"), out, source=source)
    data = json.loads(out.read_text())
    assert data["error"]["part"] == "low_res" and data["parts"]["low_res"]["status"] == "failed"
    assert data["status"] == "failed" and data["parts"]["low_res"]["artifact"]["isa"] == "aarch64"


def test_remote_killed_mid_run_keeps_what_was_measured(built_tiny, tiny_dir, tmp_path, source):
    out, rows = tmp_path / "killed.json", tmp_path / "killed.yaml"
    server = LocalServer(port=free_port(), port_end=65535).start().wait_ready()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            measure(str(tiny_dir), RemoteSpec(rpc=server.address), MeasureOptions("host", WORKLOAD, repeat=3000),
                    out, rows, source=source, built=built_tiny)
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            failure.append(err)

    worker = threading.Thread(target=run)
    try:
        worker.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # low_res first (a tiny graph: about a second), then seconds of full_res
            if out.is_file() and json.loads(out.read_text())["parts"]["low_res"]["status"] == "measured":
                break
            time.sleep(0.05)
        else:
            pytest.fail("low_res was never measured")
        server.kill()
        worker.join(timeout=60)
    finally:
        server.stop()
    assert not worker.is_alive() and failure and isinstance(failure[0], MeasurementFailed)
    data = json.loads(out.read_text())
    killed = data["error"]["part"]  # full_res, unless this machine ran all of it within the poll
    assert killed in ("full_res", "end_to_end") and data["parts"][killed]["status"] == "failed"
    message = str(failure[0])
    # the kill lands while the part is uploaded or while it runs: either way the part and the stage are named
    assert f"tiny_fp32 {killed}: the RPC server" in message and ("failed during the run" in message
                                                                 or "failed during the upload" in message)
    assert "Restart the RPC server" in message and "Kept: tiny_fp32 low_res" in message
    assert data["status"] == "partial" and data["parts"]["low_res"]["status"] == "measured"
    measured = [name for name, part in data["parts"].items() if part["status"] == "measured"]
    assert [r.part for r in load_measurements(rows).measurements] == measured


def test_unreachable_remote_is_a_quick_error_with_the_fix(tmp_path, capsys):
    clock = time.monotonic()
    code = main(["measure", "student", "--target", "host", "--rpc", f"127.0.0.1:{free_port()}", "--connect-timeout", "2"])
    assert code == 2 and time.monotonic() - clock < 60
    assert "is unreachable" in capsys.readouterr().err


def test_malformed_rows_file_stops_the_run_before_building(tmp_path, tiny_dir, capsys):
    rows = tmp_path / "rows.yaml"
    rows.write_text("device: phone\nmeasurements:\n  - {model: a, unit: cpu, precision: fp32, ms: fast, source: x}\n")
    code = main(["measure", str(tiny_dir), "--target", "host", "--rpc", "local", "--save-rows", str(rows)])
    err = capsys.readouterr().err
    assert code == 2 and "field 'measurements.0.ms'" in err and "fix or remove the malformed rows" in err
    assert rows.read_text().count("model:") == 1  # untouched


def test_nothing_buildable_is_an_error_naming_the_missing_linker(rpc_server, tiny_dir, tmp_path, monkeypatch, source):
    """sd865's units are Android: without an NDK nothing links, which is said before connecting to anything."""
    monkeypatch.delenv("TVM_NDK_CC", raising=False)
    with pytest.raises(MeasurementFailed, match=r"(?s)nothing can be measured.*\n  low_res: no linker for android-aarch64 "
                                                r"on this machine: give the Android NDK with --ndk PATH"):
        measure(str(tiny_dir), RemoteSpec(rpc=rpc_server.address),
                MeasureOptions("sd865", WORKLOAD, repeat=3), tmp_path / "none.json", source=source)


def test_architectures_of_a_space_in_one_session_each_run_their_own_library(rpc_server, tmp_path, source):
    """`measure space:FILE`: two architectures through one server. Their parts share file names
    (low_res-cpu.so), and here their full-res kernels are byte-identical (the architectures differ in the
    low-res network only): each low-res part must run as its own library, the shared kernel loaded once
    (uploading a file over one the remote has mapped crashes it), and each row carries the student
    configuration its ops are counted from."""
    space = tmp_path / "two.yaml"
    space.write_text("name: two\ndescription: two architectures\nobjectives: [latency_ms.preview]\n"
                     "knobs:\n  architecture: {lowres_size: [64], grid_size: [8], grid_depth: [4], "
                     "num_branches: [1, 2]}\n")
    rows = tmp_path / "rows.yaml"
    document = measure(f"space:{space}", RemoteSpec(rpc=rpc_server.address),
                       MeasureOptions("host", WORKLOAD, repeat=3, sample=2), None, rows, source=source)
    assert isinstance(document, WinnersMeasurement) and document.space == str(space)
    assert document.status == "measured" and len(document.models) == 2
    for model in document.models.values():
        for name in ("low_res", "full_res", "end_to_end"):
            _sane(model.parts[name].model_dump(mode="json"))
    written = [r for r in load_measurements(rows).measurements if r.part == "low_res"]
    assert sorted(r.student["num_branches"] for r in written) == [1, 2]
    assert all(r.student["lowres_size"] == 64 and r.student["grid_depth"] == 4 for r in written)
