"""`aicam-opt optimize --target T` (`make optimize TARGET=sd865`): the main job.

1. cost the uncompressed student and teacher on every unit of the target at each budgeted workload
   (reports/<target>/cost.json);
2. search compression candidates with Optuna against the target's latency model (search/), resuming
   the study in reports/<target>/study.db if one is there;
3. write the reports (report/): trials.csv, pareto.csv/png/html, winners.json, summary.json, report.html;
   with `measure_top` K and a remote (--rpc HOST:PORT | --rpc local | --tracker HOST:PORT --key KEY):
   measure the K front candidates predicted fastest on the device (device/front.py), store the
   measurements in the study and rewrite the reports, whose winners are then picked by measured
   latency where it exists (search/pareto.py);
4. compile the winners with TVM for the units their placement names, verify them on this host
   (compile/) and time them against the uncompressed student (compile/measure.py), then rewrite
   the reports with the compile results and the timings (summary.json `measured`, for the gate).

    from aicam_opt.optimize import OptimizeOptions, run_optimize
    result = run_optimize(OptimizeOptions(target="sd865", trials=20))   # result.out: reports/sd865

`calibration`: a fitted calibration file (`aicam-opt calibrate --target T --measurements ROWS --out PATH`)
used for every prediction of the run instead of targets/calibration/<target>.json (latency.model.
using_calibration); a study made with another calibration is not resumed (search/study.py).

`aicam-opt optimize` (optimize_cli.py) and `aicam_opt.optimize_for` (api.py) are thin layers over it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from pydantic import Field

from .config import Config
from .data import resolve
from .latency.document import cost_document, shipped_cost
from .latency.documents import CostReport
from .errors import AicamError
from .logs import hide, log_written, routed_logs
from .latency.model import Assignment, LatencyModel, Placement, calibration_in_use, load_calibration, using_calibration
from .latency.target import load_target
from .report import write_reports
from .search.folder import ReportFolder
from .search.objective import calibrated_pairs, make_context
from .search.space import load_space
from .search.study import open_study, record_student, run_search, storage_password
from .search.winners import WinnersDocument
from .terminal import OutputConsole

if TYPE_CHECKING:
    from .compile.documents import CompileDocument, MeasuredTimings
    from .device.front import FrontMeasurement

DEFAULT_TRIALS = 20  # fits the 20-minute budget of `make optimize` on a 2-core machine (docs/results.md)


class OptimizeOptions(Config):
    """What `aicam-opt optimize` is asked to do (its flags, one field each)."""

    target: str                          # a targets/*.yaml name (e.g. sd865) or path
    space: str = "default"               # a search_spaces/*.yaml name or path
    trials: int = Field(DEFAULT_TRIALS, ge=1)  # search budget: trials the study should hold (resumes count)
    storage: str | None = None           # Optuna RDB URL shared by several workers (default: sqlite in `out`)
    data: str | None = None              # data folder (default: $AICAM_DATA, ../shared/data, else embedded photos)
    out: Path | None = None              # report folder (default: reports/<target>)
    compile: bool = True                 # compile the winners with TVM, verify and time them on this host
    placed_units_only: bool = False      # compile each winner's parts only for their placed units
    calibration: str | None = None       # a fitted calibration file in place of targets/calibration/<target>.json
    measure_top: int | None = Field(None, ge=1)  # measure the K front candidates predicted fastest on a device
    rpc: str | None = None               # the device: a TVM RPC server HOST:PORT, or "local" (this host)
    tracker: str | None = None           # ... or a TVM RPC tracker HOST:PORT with `key`
    key: str | None = None
    measure_repeat: int = Field(10, ge=1)  # timed repeats per part on the device
    measure_threads: int = Field(1, ge=1)  # CPU threads on the device
    device_os: str | None = None         # android | linux, if not the target's (device/build.py)
    ndk: str | None = None               # Android NDK to link Android parts (default $TVM_NDK_CC)
    verbose: bool = False                # library logs (NNCF, torch, TVM, Optuna) on the console too, not only in
                                         # <out>/aicam-opt.log


@dataclass(frozen=True)
class OptimizeResult:
    """Where the reports went and what they say (the documents as written to `out`)."""

    out: Path
    target: str
    winners: WinnersDocument             # winners.json
    compiled: "CompileDocument | None"   # compile.json; None with compile=False
    measured: "MeasuredTimings | None"   # measured.json: the host timings of the winners; None with compile=False
    seconds: float
    device: "list[FrontMeasurement] | None" = None  # the front candidates measured on the device (measure_top)


def cost_matrix(target, models=("student", "teacher")) -> list[dict]:
    """Predicted latency of each model, as compile ships it, on each unit (its fastest supported
    precision) and workload."""
    from .models.checkpoints import resolve_model

    latency = LatencyModel(target, load_calibration(target.name))
    rows = []
    for spec in models:
        net = resolve_model(spec)
        for workload in target.budgets.latency_ms:
            for unit_name, unit in target.units.items():
                precision = min(unit.precisions, key=lambda p: {"int8": 0, "fp16": 1, "fp32": 2}[p])
                placement = Placement(default=Assignment(unit_name, precision))
                cost = replace(shipped_cost(net, workload, placement, target), model=spec)
                rows.append(cost_document(spec, cost, target, latency.predict(cost.ops, placement), placement))
    return rows


def _remote(options: OptimizeOptions):
    """The device of --measure-top (device.measure.RemoteSpec), reached once before the search (a wrong
    address fails in seconds, not after it); None without --measure-top."""
    from .device.measure import RemoteSpec, probe_remote

    remote = (options.rpc, options.tracker, options.key)
    if options.measure_top is None:
        if any(remote):
            raise AicamError("--rpc/--tracker/--key name the device of --measure-top K; add --measure-top K (how many "
                             "front candidates to measure) or drop them")
        return None
    if options.rpc is None and options.tracker is None:
        raise AicamError("--measure-top K needs a device: --rpc HOST:PORT, --rpc local (this host) or --tracker "
                         "HOST:PORT --key KEY (docs/device.md)")
    spec = RemoteSpec(rpc=options.rpc, tracker=options.tracker, key=options.key)
    probe_remote(spec)
    return spec


def run_optimize(options: OptimizeOptions, console: Console | None = None) -> OptimizeResult:
    """The main job (module doc); the stages, the search's progress and the winners table go to `console`
    (default: stdout), the libraries' logs and warnings to <out>/aicam-opt.log (aicam_opt.logs)."""
    target = load_target(options.target)
    with using_calibration(target.name, options.calibration):
        remote = _remote(options)
        space = load_space(options.space)
        # The space against the target and its calibration before anything is written: a typo in a unit or
        # precision must not leave a study that blocks the corrected rerun.
        calibration = load_calibration(target.name)
        space.check_against(target, calibrated_pairs(LatencyModel(target, calibration)))
        # Even with --data the split holds: training photos calibrate and recover, evaluation photos measure.
        source = resolve(options.data).with_fixed_split()
        out = Path(options.out or Path("reports") / target.name)
        with routed_logs(out, verbose=options.verbose):
            if options.storage:
                hide(storage_password(options.storage))
            return _run_optimize(options, target, space, calibration, remote, source, out,
                                 console or OutputConsole())


def _run_optimize(options: OptimizeOptions, target, space, calibration, remote, source, out: Path,
                  console: Console) -> OptimizeResult:
    start = time.perf_counter()
    folder = ReportFolder(out)
    console.rule(f"aicam-opt optimize --target {target.name} --space {space.name} --trials {options.trials}")
    console.print(f"   latency model: {calibration_in_use(target.name)} (fingerprint {calibration.fingerprint()})")
    # A study made with another space or calibration is refused before any costing or file is written.
    study = open_study(space, target, out, options.storage, calibration=calibration.fingerprint())

    console.print("[bold]1. Uncompressed student and teacher on each unit[/bold]")
    CostReport.checked({"target": target.name, "reports": cost_matrix(target)}).save(folder.cost)
    console.print(f"   wrote {folder.cost}")

    console.print(f"[bold]2. Search[/bold] ({space.sampler.kind}, seed {space.sampler.seed}, objectives "
                  f"{', '.join(space.objectives)}; data {source.description})")
    ctx = make_context(space, target, source, out)
    record_student(study, ctx)
    run_search(ctx, study, options.trials, console)

    console.print("[bold]3. Reports[/bold]")
    winners = write_reports(out, study, space, target.name)
    print_winners(console, winners)
    device = None
    if remote is not None and options.measure_top is not None:
        console.print(f"[bold]3b. Measure the {options.measure_top} front candidate(s) predicted fastest on the "
                      "device[/bold]")
        from .device.front import measure_front

        device = measure_front(out, study, space, options.target, remote, options.measure_top, source,
                               repeat=options.measure_repeat, threads=options.measure_threads,
                               os_name=options.device_os, ndk=options.ndk, log=console.print)
        if any(m.latency is not None for m in device):
            print_device(console, device, space.latency_objective)
            winners = write_reports(out, study, space, target.name)
            console.print("   winners picked again, by measured latency where it exists:")
            print_winners(console, winners)
        for m in device:
            if m.latency is None:
                console.print(f"   trial {m.trial} not measured (its prediction stands): {m.error}")
    compiled = measured = None
    if options.compile:
        console.print("[bold]4. Compile the winners, verify and time them on this host[/bold]")
        from .compile import compile_winners
        from .compile.documents import CompileDocument
        from .compile.measure import measure_winners

        compiled = CompileDocument.model_validate(compile_winners(out, target.name, source,
                                                                  all_units=not options.placed_units_only))
        for role, entry in compiled.winners.items():
            if entry:
                parts = ", ".join(f"{p.part}@{p.unit}: {p.status}" for p in entry.parts if p.placed)
                passed = entry.verify.passed if entry.verify is not None else None
                console.print(f"   {role}: {parts}; host check passed: {passed}")
        measured = measure_winners(out)
        console.print(f"   host time (12 MP, 1 thread): student {measured.reference_ms:.0f} ms; "
                      + ", ".join(f"{r} {ms:.0f} ms" for r, ms in measured.host_ms.items()))
        write_reports(out, study, space, target.name)
    seconds = time.perf_counter() - start
    written = log_written()
    console.print(f"wrote {out}/{{{', '.join(ReportFolder.REPORTS)}}} in {seconds:.0f} s"
                  + (f"; library logs and warnings in {written}" if written else "; the libraries logged nothing"))
    return OptimizeResult(out, target.name, winners, compiled, measured, seconds, device)


def print_device(console: Console, measured: "list[FrontMeasurement]", workload: str) -> None:
    table = Table(title=f"front candidates on the device at {workload} (median; model = the latency model's "
                        "prediction for the same program and threads)")
    for col in ("trial", "measured ms", "model ms", "measured / model", "from", "device or error"):
        table.add_column(col)
    for m in measured:
        lat = m.latency
        if lat is None:
            table.add_row(str(m.trial), "-", "-", "-", "-", m.error or "not measured")
            continue
        ratio = f"{lat.measured_ms / lat.predicted_ms:.2f}x" if lat.predicted_ms else "-"
        model = f"{lat.predicted_ms:.2f}" if lat.predicted_ms is not None else "-"
        table.add_row(str(m.trial), f"{lat.measured_ms:.2f}", model, ratio, lat.measured_from, lat.device)
    console.print(table)


def print_winners(console: Console, doc: WinnersDocument) -> None:
    student = doc.student.predicted_latency_ms
    table = Table(title=f"winners on {doc.target} (predicted; speed-up vs the uncompressed student)")
    device = any(w is not None and w.measured is not None for w in doc.winners.values())
    for col in ("role", "trial", "PSNR drop dB", "ΔE2000", *[f"{w} ms" for w in student], "speed-up",
                *(["measured on the device ms"] if device else [])):
        table.add_column(col)
    first = next(iter(student))
    table.add_row("uncompressed student", "-", "0", "0", *[f"{v:.1f}" for v in student.values()], "1.00x",
                  *([""] if device else []))
    for role, w in doc.winners.items():
        if w is None:
            table.add_row(role, "-", "no candidate qualified", "", *["" for _ in student], "", *([""] if device else []))
            continue
        q = w.quality
        measured = [f"{w.measured.workload}: {w.measured.measured_ms:.1f}" if w.measured else "-"] if device else []
        table.add_row(role, str(w.trial), f"{q.psnr_drop_vs_student:.3f}", f"{q.deltae_vs_student:.2f}",
                      *[f"{w.predicted_latency_ms[k]:.1f}" for k in student], f"{w.speedup_vs_student[first]:.2f}x",
                      *measured)
    console.print(table)
