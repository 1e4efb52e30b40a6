"""`--save-rows FILE`: the measurements as calibration rows (latency.measurement_rows' schema).

Rows accumulate: an existing FILE is read and validated first (a malformed file is an error before
anything is measured, so no measurement is appended to something a calibration cannot read), this
run's rows are appended to its rows (a second run of the same measurement is another sample), and
the file is rewritten atomically after every part, so a run that stops keeps what it measured.

A row per measured part: model (the label), part, unit, precision, ms (the median), min_ms, max_ms,
repeats, runtime "tvm", cores (the remote's thread count for a CPU part), workload "HxW", candidate
(the folder; absent for the committed student), kernel (the fused kernel's spec key), source (the
command, the remote and the date). end_to_end rows only when both parts run at one precision (a
calibration row has one).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .. import atomic
from ..config import validate
from ..errors import AicamError
from ..latency.measurement_rows import MeasurementFile, MeasurementRow, load_measurements
from .results import DeviceInfo, ModelMeasurement

PRECISIONS = ("fp32", "fp16", "int8")


def device_description(device: DeviceInfo | None) -> str:
    if device is None:
        return "unknown device"
    what = " ".join(filter(None, [device.cpu, device.triple])) or "a TVM RPC remote"
    where = f"key {device.key} at tracker {device.tracker}" if device.via == "tracker" else device.address
    return f"{what} ({where})"


def open_rows(path: str | Path) -> MeasurementFile | None:
    """The existing rows of FILE (None: no file yet); AicamError naming the row and field if malformed."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        raise AicamError(f"--save-rows {path}: is a folder; give a .yaml file to write the rows to")
    try:
        return load_measurements(path)
    except AicamError as err:
        raise AicamError(f"{err}\n--save-rows {path}: fix or remove the malformed rows (schema: aicam_opt/latency/"
                         "measurement_rows.py; e.g. `ms` must be a positive number, `precision` fp32|fp16|int8), or "
                         "write to another file") from None


def rows_of(model: ModelMeasurement) -> list[MeasurementRow]:
    rows = []
    source = f"aicam-opt measure, {device_description(model.device)}, {model.measured_at_utc}"
    for name, part in model.parts.items():
        if part.status != "measured" or part.measured_ms is None or part.spread is None:
            continue
        if part.precision not in PRECISIONS:
            continue  # end_to_end of parts at two precisions
        cpu = part.unit == "cpu"
        fields: dict[str, Any] = {
            "model": model.model, "part": name, "unit": part.unit, "precision": part.precision,
            "ms": round(part.measured_ms, 4), "min_ms": round(part.spread.min_ms, 4),
            "max_ms": round(part.spread.max_ms, 4), "repeats": part.spread.repeats, "runtime": "tvm",
            "cores": model.threads if cpu else None, "workload": f"{model.height}x{model.width}",
            "candidate": model.candidate_dir, "student": model.student,
            "kernel": part.kernel, "source": source}
        rows.append(validate(MeasurementRow, {k: v for k, v in fields.items() if v is not None},
                             f"row for {model.model} {name}"))
    return rows


def save_rows(path: str | Path, existing: MeasurementFile | None, models: list[ModelMeasurement], target: str,
              command: str) -> MeasurementFile:
    """Write `existing`'s rows, then those of `models`, to `path` (atomically)."""
    new = [row for model in models for row in rows_of(model)]
    devices = [device_description(m.device) for m in models if m.device is not None]
    document = MeasurementFile(device=existing.device if existing else (devices[0] if devices else "unknown device"),
                               target=(existing.target if existing else None) or target,
                               measured_at_utc=models[0].measured_at_utc if models else None,
                               command=command, measurements=[*(existing.measurements if existing else []), *new])
    text = yaml.safe_dump(document.model_dump(mode="json", exclude_none=True), sort_keys=False, width=160)
    atomic.write_text(path, text)
    return document


__all__ = ["open_rows", "save_rows", "rows_of", "device_description"]
