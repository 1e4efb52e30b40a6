"""The study as tables (pandas): one row per trial, and the Pareto front."""
from __future__ import annotations

import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from ..search.pareto import is_feasible, pareto_front
from ..search.records import TrialRecord, trial_records
from ..search.space import SearchSpace


def exclusion_reason(constraints: dict[str, float] | None) -> str:
    """Why a complete trial is not a candidate: each constraint it broke and by how much ("" when none)."""
    reasons = []
    for name, excess in (constraints or {}).items():
        if excess <= 0:
            continue
        if name.startswith("latency_ms."):
            reasons.append(f"{name.split('.', 1)[1]} latency over its budget by {excess:.1f} ms")
        elif name == "peak_memory_mb":
            reasons.append(f"peak memory over its budget by {excess:.0f} MB")
        elif name == "flicker":
            reasons.append(f"flicker over the limit (student + allowance) by {excess:.3f}")
        else:
            reasons.append(f"{name} over its limit by {excess:.3g}")
    return "; ".join(reasons)


def trial_row(trial: FrozenTrial, space: SearchSpace, record: TrialRecord | None = None) -> dict:
    """Parameters, metrics, predicted latency/memory per workload, state, fidelity and duration, and the
    latency measured on the device (columns device.*) for the trials optimize --measure-top measured."""
    record = record or TrialRecord.from_trial(trial)
    row: dict = {"trial": trial.number, "state": trial.state.name, "fidelity": record.fidelity or "",
                 "feasible": record.feasible if trial.state.name == "COMPLETE" else False,
                 "duration_s": trial.duration.total_seconds() if trial.duration else None,
                 "reused_from": record.reused_from, "fail_reason": record.fail_reason or "",
                 "excluded_by": exclusion_reason(record.constraints) if trial.state.name == "COMPLETE" else ""}
    row.update({f"param.{k}": v for k, v in trial.params.items()})
    if trial.values:
        row.update({f"objective.{name}": v for name, v in zip(space.objectives, trial.values)})
    if record.quality is not None:
        row.update({f"quality.{key}": value for key, value in record.quality.to_json().items()})
    if record.figures is not None:
        for family, per_workload in record.figures.to_json().items():
            row.update({f"{family}.{w}": v for w, v in per_workload.items()})
    row.update({f"constraint.{k}": v for k, v in (record.constraints or {}).items()})
    row["params_count"] = record.params_count
    row["dir"] = record.dir or ""
    device = record.device
    row.update({"device.workload": device.workload if device else None,
                "device.measured_ms": device.measured_ms if device else None,
                "device.predicted_ms": device.predicted_ms if device else None,
                "device.device": device.device if device else None})
    return row


def trials_frame(study: optuna.Study, space: SearchSpace) -> pd.DataFrame:
    trials = study.get_trials(deepcopy=False)
    records = trial_records(study, trials)
    return pd.DataFrame([trial_row(t, space, records[t.number]) for t in trials])


def pareto_frame(front: list[FrozenTrial], space: SearchSpace, study: optuna.Study | None = None) -> pd.DataFrame:
    records = trial_records(study, front) if study is not None else {}
    return pd.DataFrame([trial_row(t, space, records.get(t.number)) for t in sorted(front, key=lambda t: t.values[-1])])


def front_of(study: optuna.Study) -> list[FrozenTrial]:
    """The feasible front, or (when no trial is feasible yet) the front of all complete trials, so the
    report still shows the trade-off; `feasible` in the table says which."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    feasible = [t for t in complete if is_feasible(t)]
    return pareto_front(feasible or complete)
