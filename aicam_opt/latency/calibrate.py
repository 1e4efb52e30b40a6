"""Calibration of the latency model: `aicam-opt calibrate --target NAME [--measure] [--validate]`.

What is fitted, to which measurements, and how it is validated is the target's `calibration:` block
(`target.CalibrationRecipe`); this module runs any such recipe, so another phone is another target
file plus its measurements:

- sources -> measured rows. `published_rows`: latencies published for the device, of reference
  networks built from their definitions (reference_models.py) and counted by the op counter.
  `host_bench`: onnxruntime timings of host_bench.CASES on this machine, kept in a file (`--measure`
  re-times them).
- runtimes: every row is attributed to the runtime that ran it (its `runtime` field, else its source
  letter through the source's `runtimes`); a figure belongs to a (unit, runtime) pair (runtimes.py).
- fit: each measured (unit, runtime) (in name order) gets the recipe's parameters, MAP-fitted in log
  space with the recipe's efficiency groups (fitting.py).
- validation: `leave_one_model_out` (refit without each model's rows, predict them) or `held_out`
  (the fit never sees the 'validation' rows; the committed calibration predicts them); per (unit,
  runtime), the figures the recipe's bars name and whether they are met (judged from `min_rows` rows).

Results: targets/calibration/<target>.json (what predictions use) and, with --validate,
reports/calibration/<target>.json plus a table.

`--measurements FILE... --out PATH`: the user's own rows (`aicam-opt measure --save-rows`, user_rows.py)
join the sources' rows in the fit; the refit goes to PATH (used through `--calibration PATH`), its
validation to PATH with the suffix .validation.json, with each user row measured, predicted before
and after.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import Field

from ..config import Config, load_yaml, save_json
from ..cost.records import OpCost
from ..errors import AicamError
from .fitting import Param, Row, fit, predict_rows
from .measurement_rows import MeasurementRow, load_measurements
from .model import Assignment, Calibration, calibration_path
from .target import PRECISIONS, TARGETS_DIR, CalibrationRecipe, HostBench, KernelTimings, PartRows, PublishedRows, Target
from .user_rows import UserRows, check_enough

REPO = TARGETS_DIR.parent
REPORTS_DIR = REPO / "reports" / "calibration"

Log = Callable[[str], None]


@dataclass
class Measurement:
    """One measured row: what the fit sees, and how tables name it."""

    row: Row
    columns: dict[str, Any]   # {"model", "unit", "runtime", "precision"} of a published row, {"case"} of a host case
    split: str | None = None  # "calibration" (fitted) or "validation" (held out); None: no split
    digits: int = 3           # decimals of predicted_ms in the fit rows (sub-millisecond host cases: 4)


@dataclass
class Measured:
    """The rows of a target's calibration sources, and what the calibration and its report say about them."""

    rows: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)           # where the rows come from
    report: dict[str, Any] = field(default_factory=dict)     # e.g. when and with which runtime they were timed
    nouns: list[str] = field(default_factory=list)           # "published", "host benchmark"


def source_path(file: str) -> Path:
    """A source's file: relative to the repository root (the folder holding targets/), or absolute."""
    return Path(os.path.normpath(REPO / file))


def _shown(path: Path) -> str:
    """A path as the notes show it: from the folder holding the repository (shared/calibration/...)."""
    try:
        return str(path.relative_to(REPO.parent))
    except ValueError:
        return str(path)


# --- published rows --------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def reference_ops(name: str) -> tuple[OpCost, ...]:
    """The counted ops of a reference network at 1x3x224x224 (cached: counting takes seconds)."""
    from . import reference_models
    from ..cost import count_torch as count_module

    return tuple(count_module(reference_models.build(name), (reference_models.example_input(),)))


def _row_runtime(r: MeasurementRow, source: PublishedRows, target: Target, where: str) -> str:
    """The runtime that ran row `r`: its `runtime` field, else its source letter's in the recipe; one the
    unit lists with figures of its own."""
    runtime = r.runtime or source.runtimes.get(r.source)
    unit = target.units[r.unit]
    if runtime is None:
        raise AicamError(f"{where}: no `runtime` field and source '{r.source}' has no entry in the source's "
                         f"`runtimes` in {target.file} ({source.runtimes or 'none'}); say which runtime ran it")
    if runtime not in unit.runtimes:
        raise AicamError(f"{where}: runtime '{runtime}' is not one the {r.unit} of target '{target.name}' ships "
                         f"through ({', '.join(unit.runtimes)}); add it to units.{r.unit}.runtimes in {target.file}")
    if unit.runtimes[runtime].figures_from is not None:
        raise AicamError(f"{where}: runtime '{runtime}' on the {r.unit} takes its figures from "
                         f"'{unit.runtimes[runtime].figures_from}' in {target.file}; rows of its own mean it should "
                         "be fitted: drop its `figures_from`")
    return runtime


def _published(source: PublishedRows, target: Target, remeasure: bool, log: Log) -> Measured:
    from .reference_models import REFERENCE_MODELS

    path = source_path(source.file)
    if not path.is_file():
        raise AicamError(f"{path}: the published measurements of target '{target.name}' (calibration.sources file "
                         f"{source.file!r} in {target.file}) are missing; they live in shared/calibration/ beside the repo")
    rows = []
    for i, r in enumerate(load_measurements(path).measurements):
        where = f"{path}: measurements[{i}] ({r.model}, {r.unit}, {r.precision})"
        if r.model not in source.models:
            raise AicamError(f"{where}: model '{r.model}' is not in the source's `models` in {target.file} "
                             f"({', '.join(source.models)}); add it there")
        if r.model not in REFERENCE_MODELS:
            raise AicamError(f"{where}: no reference network '{r.model}' in aicam_opt/latency/reference_models.py "
                             f"(it has {', '.join(REFERENCE_MODELS)}); add its definition there")
        if r.unit not in target.units or r.precision not in target.units[r.unit].precisions:
            raise AicamError(f"{where}: target '{target.name}' has no {r.unit} unit running {r.precision} "
                             f"(units: {', '.join(f'{u} {list(x.precisions)}' for u, x in target.units.items())})")
        runtime = _row_runtime(r, source, target, where)
        cores = int(r.cores or 1) if target.units[r.unit].kind == "cpu" else None
        rows.append(Measurement(Row(r.model, list(reference_ops(r.model)), Assignment(r.unit, r.precision, cores, runtime),
                                    r.ms),
                                {"model": r.model, "unit": r.unit, "runtime": runtime, "precision": r.precision}))
    note = (f"Fitted to {_shown(path)} ({source.about}) with the reference networks of "
            "aicam_opt/latency/reference_models.py counted by the op counter.")
    return Measured(rows, [note], {}, ["published"])


# --- host benchmark ----------------------------------------------------------------------------------------

HOST_BENCH_RUNTIME = "onnxruntime"  # host_bench times every case through onnxruntime's CPU provider


@lru_cache(maxsize=None)
def host_case_ops(name: str) -> tuple[OpCost, ...]:
    from ..cost import count_torch as count_module
    from .host_bench import CASES_BY_NAME, case_inputs

    module, inputs = case_inputs(CASES_BY_NAME[name])
    return tuple(count_module(module, inputs))


def host_bench_rows(cases: list[dict], source: HostBench, target: Target) -> Measured:
    """Host benchmark timings (`host_bench.measure`'s records) as measured rows on the target's CPU in fp32."""
    from .host_bench import CASES_BY_NAME

    path = source_path(source.file)
    target.unit("cpu").precision_spec("fp32")  # what onnxruntime's CPU provider runs
    for m in cases:
        if m["name"] not in CASES_BY_NAME:
            raise AicamError(f"{path}: case '{m['name']}' is not in host_bench.CASES; rerun "
                             f"`aicam-opt calibrate --target {target.name} --measure`")
    rows = [Measurement(Row(m["name"], list(host_case_ops(m["name"])),
                            Assignment("cpu", "fp32", int(m.get("threads", 1)), HOST_BENCH_RUNTIME), m["ms"]),
                        {"case": m["name"]}, m["split"], digits=4) for m in cases]
    stamp, threads = cases[0].get("measured_at_utc", "?"), int(cases[0].get("threads", 1))
    thread_s = f"{threads} thread" + ("s" if threads != 1 else "")
    note = (f"Fitted to the 'calibration' cases of {path.name} (onnxruntime {_ort_version()}, CPU, {thread_s}), "
            f"measured {stamp} UTC {source.about}.")
    report = {"measured_at_utc": stamp, "runtime": f"onnxruntime {_ort_version()} CPUExecutionProvider, {thread_s}"}
    return Measured(rows, [note], report, ["host benchmark"])


def _host_bench(source: HostBench, target: Target, remeasure: bool, log: Log) -> Measured:
    """The committed timings, or fresh ones (saved) when `remeasure` or none exist."""
    path = source_path(source.file)
    if remeasure or not path.is_file():
        from .host_bench import measure

        log(f"measuring {path.name} on this machine (onnxruntime, 1 thread, medians of repeats)...")
        save_json({"command": f"aicam-opt calibrate --target {target.name} --measure", "cases": measure(log=log)}, path)
    try:
        cases = json.loads(path.read_text())["cases"]
    except (ValueError, KeyError) as err:
        raise AicamError(f"{path}: unreadable ({err}); rerun `aicam-opt calibrate --target {target.name} --measure`") from None
    return host_bench_rows(cases, source, target)


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


# --- compiled parts across a search space ----------------------------------------------------------------

def _part_rows(source: PartRows, target: Target, remeasure: bool, log: Log) -> Measured:
    """The `low_res` rows of an `aicam-opt measure space:NAME` file, their ops counted from each row's
    student configuration; the source's `validation` models held out."""
    from .user_rows import read_user_rows

    path = source_path(source.file)
    if not path.is_file():
        raise AicamError(f"{path}: the compiled-part timings of target '{target.name}' (calibration.sources file "
                         f"{source.file!r} in {target.file}) are missing; measure them: aicam-opt measure space:default "
                         f"--target {target.name} --rpc local --save-rows {source.file}")
    document = load_measurements(path)
    for i, row in enumerate(document.measurements):
        if row.part == "low_res" and row.student is None:
            raise AicamError(f"{path}: measurements[{i}] ({row.model}): no `student` configuration to count the part's "
                             "ops from; measure the rows again with this version (aicam-opt measure writes it)")
    user = read_user_rows([path], target, parts=("low_res",))
    rows = []
    for r in user.of("ops"):
        split = "validation" if r.row.model in source.validation else "calibration"
        rows.append(Measurement(r.fit_row(), {"model": r.label, "unit": r.row.unit, "runtime": r.assignment.runtime,
                                              "precision": r.row.precision}, split, digits=4))
    if not rows:
        raise AicamError(f"{path}: no low_res rows to fit; measure them: aicam-opt measure space:default --target "
                         f"{target.name} --rpc local --save-rows {source.file}")
    missing = sorted(set(source.validation) - {r.row.model for r in user.rows})
    if missing:
        raise AicamError(f"{target.file}: calibration source {source.file}: validation names {', '.join(missing)}, "
                         f"which {path.name} has no rows of; name models it holds")
    note = (f"Fitted to the low_res rows of {path.name} ({len(rows)} architectures of the search space, {source.about}; "
            f"measured {document.measured_at_utc or '?'} by `{document.command or 'aicam-opt measure'}`).")
    return Measured(rows, [note], {}, ["compiled low-res"])


# source kind -> (reader, whether `--measure` can re-time it on this machine)
SOURCES: dict[str, tuple[Callable[[Any, Target, bool, Log], Measured], bool]] = {
    "published_rows": (_published, False),
    "host_bench": (_host_bench, True),
    "part_rows": (_part_rows, False),  # re-timed by `aicam-opt measure space:NAME --save-rows` (compile's build)
}


def measurements(target: Target, remeasure: bool = False, log: Log = print) -> Measured:
    """Every source of the target's calibration recipe, read (host benchmarks re-timed when `remeasure`)."""
    recipe = target.calibration_recipe()
    if remeasure and not any(SOURCES[s.kind][1] for s in recipe.sources):
        raise AicamError(f"{target.file}: --measure re-times measurements on this machine, and none of the sources "
                         f"of target '{target.name}' ({', '.join(s.kind for s in recipe.sources)}) can be; drop --measure")
    measured = Measured()
    for source in recipe.sources:
        reader, measurable = SOURCES[source.kind]
        part = reader(source, target, remeasure and measurable, log)
        measured.rows += part.rows
        measured.notes += part.notes
        measured.report.update(part.report)
        measured.nouns += [n for n in part.nouns if n not in measured.nouns]
    return measured


# --- fit ------------------------------------------------------------------------------------------------

def _groups(recipe: CalibrationRecipe) -> dict[str, tuple[str, ...]]:
    return {group: tuple(classes) for group, classes in recipe.groups.items()}


def _groups_of(rows: list[Measurement]) -> list[tuple[str, str]]:
    """The measured (unit, runtime) pairs, in name order: each is fitted on its own rows."""
    return sorted({(m.row.assignment.unit, m.row.assignment.runtime) for m in rows})


def _in(m: Measurement, group: tuple[str, str]) -> bool:
    return (m.row.assignment.unit, m.row.assignment.runtime) == group


def group_name(group: tuple[str, str]) -> str:
    return f"{group[0]}/{group[1]}"


def fit_rows(recipe: CalibrationRecipe, rows: list[Measurement]) -> list[Measurement]:
    """The rows the fit sees: all of them, except the held-out ('validation') ones of a held_out recipe."""
    if recipe.validation.method != "held_out":
        return rows
    unsplit = [m.row.model for m in rows if m.split is None]
    if unsplit:
        raise AicamError(f"calibration.validation.method held_out needs rows split into 'calibration' and "
                         f"'validation' (a host_bench source); {', '.join(unsplit[:3])} have no split")
    return [m for m in rows if m.split == "calibration"]


def fit_units(target: Target, rows: list[Measurement], exclude_model: str | None = None,
              groups: list[tuple[str, str]] | None = None) -> tuple[Calibration, dict]:
    """Each measured (unit, runtime) fitted in turn (only `groups`, if given; without `exclude_model`'s rows):
    the calibration and the parameters, keyed 'unit/runtime'."""
    recipe = target.calibration_recipe()
    cal: Calibration | None = None
    parameters = {}
    for group in groups or _groups_of(rows):
        unit, runtime = group
        group_rows = [m.row for m in rows if _in(m, group)]
        precisions = sorted({r.assignment.precision for r in group_rows}, key=PRECISIONS.index)
        params = [Param(name, prior, sigma, np.inf if upper is None else upper)
                  for name, prior, sigma, upper in recipe.parameters_for(target.unit(unit), unit, runtime, precisions)]
        fitted = [r for r in group_rows if r.model != exclude_model]
        parameters[group_name(group)], cal = fit(target, unit, runtime, fitted, params, _groups(recipe), base=cal)
    return cal, parameters


def fit_target(target: Target, measured: Measured, command: str = "") -> Calibration:
    """The target's calibration fitted to `measured`, with its notes and the fit's rows for people."""
    recipe = target.calibration_recipe()
    rows = fit_rows(recipe, measured.rows)
    cal, parameters = fit_units(target, rows)
    ordered = [m for group in _groups_of(rows) for m in rows if _in(m, group)]
    predicted = predict_rows(target, cal, [m.row for m in ordered])
    cal.command = command
    cal.fitted_at_utc = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    cal.notes = [*measured.notes,
                 "Efficiency groups: " + "; ".join(f"{g} = {', '.join(c)}" for g, c in recipe.groups.items()),
                 *recipe.notes]
    cal.fit = {"parameters": parameters,
               "rows": [{**m.columns, "measured_ms": m.row.ms, "predicted_ms": round(float(p), m.digits)}
                        for m, p in zip(ordered, predicted)]}
    return cal


def with_user_rows(target: Target, measured: Measured, user: UserRows) -> Measured:
    """The sources' rows plus the user's graph rows (user_rows.py), fitted alongside (a held_out recipe:
    as 'calibration' rows, so the held-out rows stay held out)."""
    recipe = target.calibration_recipe()
    check_enough(user, {unit for unit, _ in _groups_of(fit_rows(recipe, measured.rows))},
                 {u for u, k in recipe.kernels.items() if isinstance(k, KernelTimings)})
    split = "calibration" if recipe.validation.method == "held_out" else None
    rows = [Measurement(r.fit_row(), {"model": r.label, "unit": r.row.unit, "precision": r.row.precision}, split)
            for r in user.of("ops")]
    return Measured(measured.rows + rows, [*measured.notes, user.note()], dict(measured.report),
                    [*measured.nouns, "user's"])


def calibrate(target: Target, remeasure: bool = False, log: Log = print, user: UserRows | None = None,
              command: str | None = None) -> Calibration:
    """Fit `target` as its `calibration:` block says (AicamError naming the file if it has none), with the
    user's rows (`user`, user_rows.py) added to its sources when given."""
    from .kernel_calibration import fit_kernels

    command = command or f"aicam-opt calibrate --target {target.name}" + (" --measure" if remeasure else "")
    measured = measurements(target, remeasure, log)
    if user is not None:
        measured = with_user_rows(target, measured, user)
    cal = fit_target(target, measured, command)
    cal.kernels = fit_kernels(target, remeasure, log, user.kernel_rows() if user is not None else None)
    return cal


# --- validation -----------------------------------------------------------------------------------------

def _leave_one_model_out(target: Target, cal: Calibration | None, measured: Measured):
    """Refit without each model, predict its rows: (records, their (unit, runtime) groups, the method's description).
    Each (unit, runtime) is fitted on its own rows, so only the groups that ran the model are refitted."""
    rows = measured.rows
    records, groups = [], []
    for model in sorted({m.row.model for m in rows}):
        ran_it = [g for g in _groups_of(rows) if any(_in(m, g) and m.row.model == model for m in rows)]
        without, _ = fit_units(target, rows, exclude_model=model, groups=ran_it)
        for group in ran_it:
            held_out = [m for m in rows if _in(m, group) and m.row.model == model]
            for m, p in zip(held_out, predict_rows(target, without, [m.row for m in held_out])):
                records.append({**m.columns, "measured_ms": m.row.ms, "predicted_ms": float(p)})
                groups.append(group_name(group))
    return records, groups, f"leave-one-model-out over the {' and '.join(measured.nouns)} rows, per unit and runtime"


def _held_out(target: Target, cal: Calibration | None, measured: Measured):
    """The committed calibration (or `cal`) predicts the 'validation' rows the fit never saw."""
    from .model import load_calibration

    cal = cal or load_calibration(target.name)
    held_out = [m for m in measured.rows if m.split == "validation"]
    predicted = predict_rows(target, cal, [m.row for m in held_out])
    records = [{**m.columns, "measured_ms": m.row.ms, "predicted_ms": p} for m, p in zip(held_out, predicted)]
    return records, [group_name((m.row.assignment.unit, m.row.assignment.runtime)) for m in held_out], \
        "fit on the calibration cases, predict the held-out validation models"


VALIDATIONS = {"leave_one_model_out": _leave_one_model_out, "held_out": _held_out}


def validate(target: Target, cal: Calibration | None = None, measured: Measured | None = None) -> dict:
    """Out-of-sample predictions as the recipe's validation method makes them, per (unit, runtime) against its
    bars (a pair with fewer than the recipe's `min_rows` rows is reported, not judged: `passes` None).

    held_out predicts with `cal` (default: the committed calibration) the rows of `measured` (default:
    the committed measurements it was fitted with: one session's timings, so the held-out rows saw the
    same machine load as the fit)."""
    from scipy.stats import spearmanr

    recipe = target.calibration_recipe()
    measured = measured or measurements(target)
    records, groups, method = VALIDATIONS[recipe.validation.method](target, cal, measured)
    bars = recipe.validation.bars
    table = pd.DataFrame(records)
    table["abs_error"] = (table.predicted_ms - table.measured_ms).abs() / table.measured_ms
    if bars.max_ratio is not None:
        table["ratio"] = np.maximum(table.predicted_ms / table.measured_ms, table.measured_ms / table.predicted_ms)
    per_runtime = {}
    for group, g in table.groupby(pd.Series(groups, index=table.index)):
        figures: dict[str, Any] = {"rows": len(g)}
        passes = True
        if bars.median_abs_error is not None:
            figures["median_abs_error"] = float(g.abs_error.median())
            passes &= figures["median_abs_error"] <= bars.median_abs_error
        if bars.max_ratio is not None:
            figures["max_ratio"] = float(g.ratio.max())
            passes &= figures["max_ratio"] <= bars.max_ratio
        if bars.spearman is not None:
            figures["spearman"] = float(spearmanr(g.measured_ms, g.predicted_ms).statistic)
            passes &= figures["spearman"] >= bars.spearman
        per_runtime[group] = {**figures, "passes": bool(passes) if len(g) >= recipe.validation.min_rows else None}
    report: dict[str, Any] = {"target": target.name, "method": method, **measured.report,
                              "bars": bars.model_dump(exclude_none=True), "min_rows": recipe.validation.min_rows}
    if recipe.validation.notes:
        report["notes"] = recipe.validation.notes
    # rows of different sources name themselves by different columns (a host case, a model): each row keeps its own
    rows = [{k: v for k, v in r.items() if not (isinstance(v, float) and np.isnan(v))}
            for r in table.round(4).to_dict(orient="records")]
    report = {**report, "per_runtime": per_runtime, "rows": rows}
    if recipe.kernels:
        from .kernel_calibration import validate_kernels

        report["kernels"] = validate_kernels(target)
    artifacts = _artifact_rows(target, report, table, groups)
    if artifacts:  # the shipped artifacts' held-out rows, in one block: what the docs and the issue bars quote
        report["artifacts"] = artifacts
    return report


def _artifact_rows(target: Target, report: dict, table: pd.DataFrame, groups: list[str]) -> dict | None:
    """Held-out predictions of what `compile` ships, as measured on this machine: the fused kernel's timed
    configurations, and the graph rows of each unit's default runtime when it is fitted to rows of its
    own (TVM's low-res build on the host), each held out of the fit that predicts it."""
    from scipy.stats import spearmanr

    pairs: dict[str, list[tuple[float, float]]] = {}
    for unit, kernels in report.get("kernels", {}).items():
        if "table" in kernels:
            pairs[f"{unit} fused kernel"] = [(t["measured_ms"], t["predicted_ms"]) for t in kernels["table"]]
    for group in sorted(set(groups)):
        unit_name, runtime = group.split("/")
        unit = target.units[unit_name]
        if runtime == unit.default_runtime and unit.runtimes[runtime].figures_from is None:
            rows = table[pd.Series(groups, index=table.index) == group]
            pairs[f"{unit_name} {runtime} graph"] = list(zip(rows.measured_ms, rows.predicted_ms))
    if not pairs:
        return None
    every = [pair for rows in pairs.values() for pair in rows]

    def figures(rows: list[tuple[float, float]]) -> dict[str, Any]:
        measured, predicted = np.array([m for m, _ in rows]), np.array([p for _, p in rows])
        ratio = np.maximum(predicted / measured, measured / predicted)
        return {"rows": len(rows), "median_abs_error": float(np.median(np.abs(predicted / measured - 1))),
                "worst_ratio": float(ratio.max()),
                "spearman": float(spearmanr(measured, predicted).statistic) if len(rows) > 2 else None}
    return {**figures(every), "by_artifact": {name: figures(rows) for name, rows in pairs.items()}}


# --- results --------------------------------------------------------------------------------------------

def save_calibration(cal: Calibration, path: str | Path | None = None) -> Path:
    """Write `cal` to `path` (default: the target's committed targets/calibration/<target>.json)."""
    path = Path(path) if path is not None else calibration_path(cal.target)
    if path.is_dir():
        raise AicamError(f"--out {path}: is a folder; give the .json file to write the calibration to")
    save_json(cal, path)
    return path


def save_report(report: dict, path: str | Path | None = None) -> Path:
    path = Path(path) if path is not None else REPORTS_DIR / f"{report['target']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_json(report, path)
    return path


__all__ = ["Measured", "Measurement", "calibrate", "with_user_rows", "fit_target", "fit_units", "group_name",
           "host_bench_rows", "measurements", "reference_ops", "save_calibration", "save_report", "source_path", "validate"]
