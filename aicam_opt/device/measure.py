"""`aicam-opt measure`: build the parts for the remote, time them there, set the times beside the predictions.

Order of work, so that a wrong address fails in seconds and nothing measured is ever lost:
1. read MODEL (device.models) and an existing --save-rows file (validated: a malformed file stops
   the run before anything is built);
2. check that the remote is there (a bounded TCP connect to the server or the tracker handshake);
   `--rpc local` starts the local server now, so that it comes up while the parts build;
3. build and link every part for the remote's platform (device.build) and predict it (device.predict);
4. connect (a tracker: wait at most `wait` seconds for a free device under the key), ask the remote
   what it is (device.remote.device_info) and set its thread pool;
5. time each part on its unit (device.timing), in the order low_res, full_res, end_to_end; after
   every part the document (--json FILE) and the rows (--save-rows) are rewritten atomically.
A failure while timing (the remote killed or gone, an artifact it cannot load, another ISA) marks
that part failed, records the error in the document, saves both outputs, and raises AicamError
naming the part, what was kept and the fix.
"""
from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..config import save_json
from ..cost.workloads import parse_workload, workload_name
from ..data import DataSource, resolve
from ..errors import AicamError
from ..kernels.spec import PixelType
from . import remote as remotes
from .build import PART_ORDER, BuiltPart, build_model
from .models import SPACE_PREFIX, ModelToMeasure, resolve_models
from .predict import predict
from .results import DeviceInfo, MeasureError, ModelMeasurement, PartMeasurement, Spread, WinnersMeasurement
from .rows import open_rows, save_rows
from .timing import RemoteFailure, time_part

LOCAL = "local"
# Loading, building and pricing a model trace it with torch, whose dispatch modes are process-global:
# one thread at a time. Several measure() calls may run in threads (optimize --measure-top behind a
# tracker), each timing on its own device at once; only this host-side work takes turns.
HOST_WORK = threading.RLock()


class MeasurementFailed(AicamError):
    """A measure run that stopped: the message names the part and the fix; `document` holds what was measured."""

    def __init__(self, message: str, document: ModelMeasurement | WinnersMeasurement):
        super().__init__(message)
        self.document = document


@dataclass
class RemoteSpec:
    """Where to measure: `rpc` HOST:PORT or "local", or `tracker` HOST:PORT with `key`."""

    rpc: str | None = None
    tracker: str | None = None
    key: str | None = None
    connect_timeout: float = remotes.DEFAULT_CONNECT_TIMEOUT_S
    wait: float = remotes.DEFAULT_WAIT_S
    session_timeout: float = 0.0

    def __post_init__(self) -> None:
        if (self.rpc is None) == (self.tracker is None):
            raise AicamError("give exactly one of --rpc HOST:PORT, --rpc local or --tracker HOST:PORT --key KEY")
        if self.tracker is not None and not self.key:
            raise AicamError("--tracker needs --key KEY: the device key the servers registered with (their --key)")
        if self.rpc is not None and self.rpc != LOCAL:
            remotes.parse_address(self.rpc, "--rpc")
        if self.tracker is not None:
            remotes.parse_address(self.tracker, "--tracker")


@dataclass
class MeasureOptions:
    target: str
    workload: str = "preview"
    repeat: int = 10
    number: int = 1
    threads: int = 1
    pixel_type: PixelType = "uint8"
    sample: int = 12       # MODEL space:NAME: how many architectures to draw, and the sampler's seed
    seed: int = 0
    os_name: str | None = None
    ndk: str | None = None
    command: str = "aicam_opt.device.measure.measure (Python API)"

    def __post_init__(self) -> None:
        if self.repeat < 1 or self.number < 1:
            raise AicamError("--repeat and --number must be at least 1")
        if self.threads < 1:
            raise AicamError("--threads must be at least 1")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Outputs:
    """The document and the rows file, rewritten after every change."""

    def __init__(self, document: ModelMeasurement | WinnersMeasurement, json_path: Path | None,
                 rows_path: Path | None, target: str, command: str):
        self.document, self.json_path, self.rows_path = document, json_path, rows_path
        self.existing_rows = open_rows(rows_path) if rows_path else None
        self.target, self.command = target, command

    @property
    def models(self) -> list[ModelMeasurement]:
        doc = self.document
        return list(doc.models.values()) if isinstance(doc, WinnersMeasurement) else [doc]

    def save(self) -> None:
        self.document.finish()
        if self.json_path is not None:
            save_json(self.document.dump(), self.json_path)
        if self.rows_path is not None:
            save_rows(self.rows_path, self.existing_rows, self.models, self.target, self.command)

    def where(self) -> str:
        kept = [str(p) for p in (self.json_path, self.rows_path) if p is not None]
        return " and ".join(kept) if kept else "the JSON printed below (pass --json FILE / --save-rows FILE to keep it)"


def _new_document(model: ModelToMeasure, options: MeasureOptions, height: int, width: int) -> ModelMeasurement:
    return ModelMeasurement(model=model.label, candidate_dir=model.candidate_dir,
                            student=model.loaded.net.cfg.model_dump(mode="json"), roles=model.roles,
                            target=options.target, os=options.os_name, workload=workload_name((height, width)),
                            height=height, width=width, pixel_type=options.pixel_type, threads=options.threads,
                            repeat=options.repeat, number=options.number, measured_at_utc=_now(),
                            command=options.command)


def _fill_parts(document: ModelMeasurement, built: list[BuiltPart], model: ModelToMeasure, options: MeasureOptions,
                height: int, width: int) -> None:
    predicted = predict(model, options.target, height, width, options.threads, options.pixel_type)
    for part in built:
        entry = PartMeasurement(unit=part.unit, precision=part.precision, engine=part.engine, kernel=part.kernel,
                                artifact=part.artifact())
        if part.part == "end_to_end":
            entry.predicted_ms, entry.predicted_missing = predicted.total_ms, predicted.total_missing
        else:
            entry.predicted_ms = predicted.parts.get(part.part)
            entry.predicted_missing = predicted.missing.get(part.part)
        if part.skipped:
            entry.status, entry.reason = "skipped", part.skipped
        document.parts[part.part] = entry  # type: ignore[index]
    document.total.predicted_ms, document.total.predicted_missing = predicted.total_ms, predicted.total_missing
    if predicted.total_ms is not None:
        document.notes.append("predicted total: the parts plus the model's call overheads and transfers "
                              "(LatencyModel.predict of the shipped cost)")


@contextlib.contextmanager
def _local_server() -> Iterator[remotes.LocalServer]:
    server = remotes.LocalServer().start()
    try:
        yield server
    finally:
        server.stop()


def probe_remote(spec: RemoteSpec) -> None:
    """Fail fast on an unreachable server or tracker, before minutes of building."""
    if spec.tracker is not None:
        remotes.tracker_summary(spec.tracker, spec.connect_timeout)
    elif spec.rpc != LOCAL:
        remotes.check_server(spec.rpc or "", spec.connect_timeout)


def _connect(spec: RemoteSpec, local: remotes.LocalServer | None) -> remotes.Remote:
    if local is not None:
        local.wait_ready()
        return remotes.connect_rpc(local.address, spec.connect_timeout, spec.session_timeout, via="local")
    if spec.tracker is not None:
        return remotes.connect_tracker(spec.tracker, spec.key or "", spec.wait, spec.connect_timeout,
                                       spec.session_timeout)
    return remotes.connect_rpc(spec.rpc or "", spec.connect_timeout, spec.session_timeout)


def _time_model(remote: remotes.Remote, document: ModelMeasurement, built: list[BuiltPart], options: MeasureOptions,
                outputs: Outputs, log: Callable[[str], None]) -> None:
    for part in sorted(built, key=lambda p: PART_ORDER.index(p.part)):
        entry = document.parts[part.part]  # type: ignore[index]
        if entry.status == "skipped":
            continue
        units = (document.device.units if document.device else {}) or {}
        if part.unit in units and not units[part.unit]:
            entry.status = "skipped"
            entry.reason = f"the remote has no {part.unit} device ({remotes.UNIT_DEVICES[part.unit]} in TVM)"
            outputs.save()
            continue
        log(f"timing {document.model} {part.part} on the {part.unit} ({options.repeat} repeats)")
        try:
            times = time_part(remote, part, options.repeat, options.number)
        except (RemoteFailure, AicamError) as err:
            entry.status = "failed"
            if isinstance(err, RemoteFailure):
                entry.reason = f"the remote failed during the {err.stage}: {err.reason}"
                message = (f"{document.model} {part.part}: the {remote.describe()} failed during the {err.stage} "
                           f"({err.reason}). Restart the RPC server on the device (or see its log) and measure again")
            else:
                entry.reason = message = f"{document.model} {part.part}: {err}"
            document.error = MeasureError(part=part.part, message=message)
            raise AicamError(message) from None
        entry.spread = Spread.of(times, options.number)
        entry.measured_ms = entry.spread.median_ms
        entry.status = "measured"
        entry.ratio = entry.measured_ms / entry.predicted_ms if entry.predicted_ms else None
        outputs.save()


def measure(model_spec: str, spec: RemoteSpec, options: MeasureOptions, json_path: str | Path | None = None,
            rows_path: str | Path | None = None, build_dir: str | Path | None = None,
            source: DataSource | None = None, log: Callable[[str], None] = lambda _: None,
            built: dict[str, list[BuiltPart]] | None = None) -> ModelMeasurement | WinnersMeasurement:
    """Measure MODEL on the remote (see the module doc). `built`: parts already built for this remote's
    platform, by model label (skips step 3's build; the tests reuse one build for several remotes)."""
    source = source or resolve(None)
    height, width = parse_workload(options.workload)
    with HOST_WORK:
        kind, models, winners = resolve_models(model_spec, options.target, source, options.sample, options.seed)
    documents = {m.label: _new_document(m, options, height, width) for m in models}
    if kind in ("report", "space"):
        document: ModelMeasurement | WinnersMeasurement = WinnersMeasurement(
            report_dir=str(winners.parent) if winners else None, winners_file=winners.name if winners else None,
            space=model_spec[len(SPACE_PREFIX):] if kind == "space" else None, target=options.target,
            measured_at_utc=_now(), command=options.command, models=documents)
    else:
        document = documents[models[0].label]
    outputs = Outputs(document, Path(json_path) if json_path else None, Path(rows_path) if rows_path else None,
                      options.target, options.command)
    try:
        _run(models, documents, document, spec, options, outputs, height, width, build_dir, log, built)
    except AicamError as err:
        if document.error is None:
            failed = next((d.error for d in documents.values() if d.error is not None), None)
            document.error = failed or MeasureError(message=str(err))
        outputs.save()
        measured = [f"{d.model} {name}" for d in documents.values() for name, p in d.parts.items()
                    if p.status == "measured"]
        kept = f"\nKept: {', '.join(measured)} measured, in {outputs.where()}" if measured else ""
        raise MeasurementFailed(f"{err}{kept}", document) from None
    outputs.save()
    return document


def _run(models: list[ModelToMeasure], documents: dict[str, ModelMeasurement],
         document: ModelMeasurement | WinnersMeasurement, spec: RemoteSpec, options: MeasureOptions, outputs: Outputs,
         height: int, width: int, build_dir: str | Path | None, log: Callable[[str], None],
         built: dict[str, list[BuiltPart]] | None) -> None:
    probe_remote(spec)
    with contextlib.ExitStack() as stack:
        local = stack.enter_context(_local_server()) if spec.rpc == LOCAL else None
        work = Path(build_dir) if build_dir else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="aicam_measure_")))
        parts: dict[str, list[BuiltPart]] = {}
        with HOST_WORK:
            for model in models:
                parts[model.label] = (built or {}).get(model.label) or build_model(
                    model, options.target, height, width, work / model.label, options.pixel_type, options.os_name,
                    options.ndk, log)
                _fill_parts(documents[model.label], parts[model.label], model, options, height, width)
        outputs.save()
        runnable = [p for built_parts in parts.values() for p in built_parts if not p.skipped]
        if not runnable:
            reasons = sorted({f"{p.part}: {p.skipped}" for built_parts in parts.values() for p in built_parts})
            raise AicamError("nothing can be measured, no part could be built for the remote:\n  " + "\n  ".join(reasons))
        remote = _connect(spec, local)
        try:
            device = DeviceInfo(**remotes.device_info(remote, options.threads))
            document.device = device
            for model_document in documents.values():
                model_document.device = device
            outputs.save()
            for label, model_document in documents.items():
                try:
                    _time_model(remote, model_document, parts[label], options, outputs, log)
                except AicamError as err:
                    if local is None:
                        raise
                    raise AicamError(f"{err}\nThe local server's log ends:\n{local.log_tail()}") from None
        finally:
            remote.close()


__all__ = ["measure", "MeasureOptions", "RemoteSpec", "MeasurementFailed", "LOCAL", "probe_remote"]
