"""Hardware in the loop for the search: `aicam-opt optimize ... --measure-top K (--rpc | --tracker --key)`.

After the search, the K candidates of the front with the lowest predicted latency objective (the
feasible front's full-fidelity trials, or every complete trial's front when none is feasible: the
front the report shows) are built for the remote as `aicam-opt measure` builds a candidate folder
(compile.parts, linked for the remote's platform), timed there at the latency objective's workload,
and each result is stored in the study as the trial's `device` measurement (search.records.
DeviceLatency): the reports then show it beside the prediction and pick the winners by it
(search.pareto).

Several devices under one tracker key share the work: one measuring thread per device the tracker
lists under the key, each asking the tracker for a free device per candidate (TVM's tracker hands
each request a different idle server). The builds run first, one after another (TVM compiles use
every core). `--rpc local` starts one local server for all the candidates.

A candidate whose measurement fails is reported and left unmeasured (its prediction stands); what
was measured is stored as soon as it is, so a failure later loses nothing. Each measurement's full
document is kept in <report>/device/trial_<n>.json (device.results).
"""
from __future__ import annotations

import contextlib
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import optuna

from ..cost.workloads import parse_workload
from ..data import DataSource
from ..errors import AicamError
from ..search.folder import ReportFolder
from ..search.pareto import is_feasible, pareto_front, complete_trials
from ..search.records import DeviceLatency, TrialRecord, store_device_measurement
from ..search.space import SearchSpace
from . import remote as remotes
from .build import BuiltPart, build_model
from .measure import LOCAL, MeasureOptions, RemoteSpec, measure, probe_remote
from .models import resolve_models
from .results import ModelMeasurement
from .rows import device_description

Log = Callable[[str], None]
DEVICE_DIR = "device"


@dataclass
class FrontMeasurement:
    trial: int
    folder: Path
    latency: DeviceLatency | None = None
    error: str | None = None


def top_of_front(study: optuna.Study, space: SearchSpace, k: int) -> list[tuple[int, str]]:
    """(trial number, candidate folder relative to the report) of the K front candidates predicted fastest."""
    complete = complete_trials(study)
    feasible = [t for t in complete if is_feasible(t)]
    records = {t.number: TrialRecord.from_trial(t) for t in complete}
    front = [t for t in pareto_front(feasible or complete) if records[t.number].is_full and records[t.number].dir]
    front.sort(key=lambda t: (records[t.number].latency(space.latency_objective), t.number))
    return [(t.number, records[t.number].dir or "") for t in front[:k]]


def _workers(spec: RemoteSpec) -> int:
    """Devices that can measure at once: the servers the tracker lists under the key, else one."""
    if spec.tracker is None:
        return 1
    summary = remotes.tracker_summary(spec.tracker, spec.connect_timeout)
    servers = [s for s in summary.get("server_info", []) if str(s.get("key", "")).split(":", 1)[-1] == spec.key]
    return max(1, len(servers))


def device_latency(document: ModelMeasurement, workload: str) -> DeviceLatency | None:
    total = document.total
    if total.measured_ms is None or total.measured_from is None:
        return None
    device = document.device
    described = device_description(device) + (f", server {device.address}" if device and device.via == "tracker" else "")
    return DeviceLatency(workload=workload, measured_ms=total.measured_ms, measured_from=total.measured_from,
                         predicted_ms=total.predicted_ms,
                         parts_ms={name: p.measured_ms for name, p in document.parts.items() if p.measured_ms is not None},
                         device=described, threads=document.threads,
                         measured_at_utc=document.measured_at_utc)


def measure_front(out: Path, study: optuna.Study, space: SearchSpace, target: str, spec: RemoteSpec, k: int,
                  source: DataSource, repeat: int = 10, threads: int = 1, os_name: str | None = None,
                  ndk: str | None = None, log: Log = print) -> list[FrontMeasurement]:
    """Measure the K front candidates predicted fastest (module doc); store each in the study as it lands."""
    if k < 1:
        raise AicamError("--measure-top K: give K of at least 1 (the number of front candidates to measure)")
    folder = ReportFolder(out)
    todo = [FrontMeasurement(n, folder.path / d) for n, d in top_of_front(study, space, k)]
    if not todo:
        log("   no full-fidelity candidate on the front to measure")
        return []
    workload = space.latency_objective
    height, width = parse_workload(workload)
    documents = folder.path / DEVICE_DIR
    documents.mkdir(parents=True, exist_ok=True)
    probe_remote(spec)  # fail fast on a wrong address, before minutes of building
    with contextlib.ExitStack() as stack:
        local = None
        if spec.rpc == LOCAL:  # started now, so that it comes up while the candidates build
            local = remotes.LocalServer().start()
            stack.callback(local.stop)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aicam_measure_top_")))
        built: dict[int, tuple[str, list[BuiltPart]]] = {}
        for item in todo:
            _, models, _ = resolve_models(str(item.folder), target, source)
            model = models[0]
            log(f"   building trial {item.trial} ({model.label}) for the remote")
            built[item.trial] = (model.label, build_model(model, target, height, width, work / str(item.trial),
                                                          os_name=os_name, ndk=ndk, log=log))
        if local is not None:
            local.wait_ready()
            spec = RemoteSpec(rpc=local.address, connect_timeout=spec.connect_timeout,
                              session_timeout=spec.session_timeout)
        options = MeasureOptions(target=target, workload=workload, repeat=repeat, threads=threads, os_name=os_name,
                                 ndk=ndk, command=f"aicam-opt optimize --target {target} --measure-top {k}")

        def one(item: FrontMeasurement) -> FrontMeasurement:
            label, parts = built[item.trial]
            try:
                document = measure(str(item.folder), spec, options, documents / f"trial_{item.trial:04d}.json",
                                   source=source, log=log, built={label: parts})
            except AicamError as err:
                item.error = str(err)
                return item
            assert isinstance(document, ModelMeasurement)
            item.latency = device_latency(document, workload)
            if item.latency is None:
                item.error = document.total.measured_missing or "no total was measured"
            return item

        workers = min(_workers(spec), len(todo))
        log(f"   measuring {len(todo)} candidate(s) on {workers} device(s) at {workload} ({height}x{width})")
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # stored from this thread (the study's storage), each as soon as it is measured
            for done in as_completed([pool.submit(one, item) for item in todo]):
                item = done.result()
                if item.latency is not None:
                    store_device_measurement(study, item.trial, item.latency)
    return todo


__all__ = ["FrontMeasurement", "measure_front", "top_of_front", "device_latency", "DEVICE_DIR"]
