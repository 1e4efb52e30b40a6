"""Calibration rows: one schema for shared/calibration/*.yaml and `measure --save-rows`, and its errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aicam_opt.device.results import DeviceInfo, ModelMeasurement, PartMeasurement, Spread
from aicam_opt.device.rows import open_rows, rows_of, save_rows
from aicam_opt.errors import AicamError
from aicam_opt.latency.measurement_rows import load_measurements

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "calibration"


def test_the_shared_calibration_files_validate():
    files = sorted(SHARED.glob("*.yaml"))
    if not files:
        pytest.skip(f"no shared calibration files at {SHARED}")
    for path in files:
        rows = load_measurements(path).measurements
        assert rows and all(r.ms > 0 for r in rows)


def _document(parts: dict[str, PartMeasurement]) -> ModelMeasurement:
    device = DeviceInfo(address="127.0.0.1:9090", via="local", triple="x86_64-pc-linux-gnu", cpu="znver3", isa="x86_64",
                        threads=1, units={"cpu": True})
    doc = ModelMeasurement(model="student", target="host", workload="240x320", height=240, width=320,
                           pixel_type="uint8", threads=1, repeat=3, number=1, measured_at_utc="2026-01-01T00:00:00Z",
                           command="aicam-opt measure student", device=device, parts=parts)
    doc.finish()
    return doc


def _measured(ms: list[float], precision: str = "fp32", kernel: str | None = None) -> PartMeasurement:
    spread = Spread.of(ms, 1)
    return PartMeasurement(unit="cpu", precision=precision, engine="x", kernel=kernel, status="measured",
                           measured_ms=spread.median_ms, spread=spread)


def test_rows_of_a_measurement_validate_and_accumulate(tmp_path):
    doc = _document({"low_res": _measured([2.0, 3.0, 4.0]), "full_res": _measured([5.0, 7.0, 6.0], kernel="c3_k16_d8_g16_uint8"),
                     "end_to_end": _measured([9.0, 9.5, 10.0], precision="int8+fp32")})
    assert doc.total.measured_ms == 9.5 and doc.total.measured_from == "end_to_end"
    rows = rows_of(doc)
    assert [(r.part, r.ms, r.min_ms, r.max_ms) for r in rows] == [("low_res", 3.0, 2.0, 4.0), ("full_res", 6.0, 5.0, 7.0)]
    assert rows[1].kernel == "c3_k16_d8_g16_uint8" and rows[0].workload == "240x320" and rows[0].cores == 1
    path = tmp_path / "rows.yaml"
    save_rows(path, None, [doc], "host", "aicam-opt measure student")
    save_rows(path, open_rows(path), [doc], "host", "aicam-opt measure student")  # a second run appends
    written = load_measurements(path)
    assert len(written.measurements) == 4 and written.target == "host" and "znver3" in written.device


@pytest.mark.parametrize("row, field", [
    ({"model": "student", "unit": "cpu", "precision": "fp32", "ms": -1.0, "source": "x"}, "measurements.0.ms"),
    ({"model": "student", "unit": "cpu", "precision": "fp64", "ms": 1.0, "source": "x"}, "measurements.0.precision"),
    ({"model": "student", "unit": "cpu", "precision": "fp32", "ms": 1.0, "source": "x", "msec": 2}, "measurements.0.msec"),
    ({"model": "student", "unit": "cpu", "precision": "fp32", "ms": 1.0}, "measurements.0.source"),
])
def test_a_malformed_rows_file_is_an_error_naming_the_row_and_field(tmp_path, row, field):
    path = tmp_path / "rows.yaml"
    path.write_text(yaml.safe_dump({"device": "phone", "measurements": [row]}))
    with pytest.raises(AicamError, match=rf"field '{field}'.*\n.*--save-rows {path}: fix or remove"):
        open_rows(path)


def test_rows_file_that_is_not_yaml_or_a_folder(tmp_path):
    bad = tmp_path / "rows.yaml"
    bad.write_text("device: [unclosed\n")
    with pytest.raises(AicamError, match="malformed YAML"):
        open_rows(bad)
    with pytest.raises(AicamError, match="is a folder"):
        open_rows(tmp_path)
