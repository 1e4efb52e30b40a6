"""The study as tables (pandas): one row per trial, and the Pareto front."""
from __future__ import annotations

import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from ..search.pareto import is_feasible, pareto_front
from ..search.space import SearchSpace


def trial_row(trial: FrozenTrial, space: SearchSpace) -> dict:
    """Parameters, metrics, predicted latency/memory per workload, state, fidelity and duration."""
    attrs = trial.user_attrs
    row: dict = {"trial": trial.number, "state": trial.state.name, "fidelity": attrs.get("fidelity", ""),
                 "feasible": is_feasible(trial) if trial.state.name == "COMPLETE" else False,
                 "duration_s": trial.duration.total_seconds() if trial.duration else None,
                 "reused_from": attrs.get("reused_from"), "fail_reason": attrs.get("fail_reason", "")}
    row.update({f"param.{k}": v for k, v in trial.params.items()})
    if trial.values:
        row.update({f"objective.{name}": v for name, v in zip(space.objectives, trial.values)})
    for key, value in attrs.get("quality", {}).items():
        if isinstance(value, (int, float)) or value is None:
            row[f"quality.{key}"] = value
    for family, per_workload in attrs.get("figures", {}).items():
        row.update({f"{family}.{w}": v for w, v in per_workload.items()})
    row.update({f"constraint.{k}": v for k, v in attrs.get("constraints", {}).items()})
    row["params_count"] = attrs.get("params_count")
    row["dir"] = attrs.get("dir", "")
    return row


def trials_frame(study: optuna.Study, space: SearchSpace) -> pd.DataFrame:
    return pd.DataFrame([trial_row(t, space) for t in study.get_trials(deepcopy=False)])


def pareto_frame(front: list[FrozenTrial], space: SearchSpace) -> pd.DataFrame:
    return pd.DataFrame([trial_row(t, space) for t in sorted(front, key=lambda t: t.values[-1])])


def front_of(study: optuna.Study) -> list[FrozenTrial]:
    """The feasible front, or (when no trial is feasible yet) the front of all complete trials, so the
    report still shows the trade-off; `feasible` in the table says which."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    feasible = [t for t in complete if is_feasible(t)]
    return pareto_front(feasible or complete)
