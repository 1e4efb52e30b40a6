"""The Optuna study: storage, sampler, resume, the trial loop and its live progress display.

Storage is SQLite in the report folder by default (reports/<target>/study.db); any Optuna RDB URL
works instead, so several workers on several machines can share one study (each runs
`aicam-opt optimize --target T --storage postgresql://user:pass@host/db` and they stop together
when the study holds the budget's trials). A heartbeat marks a worker's trial as failed when the
worker dies; the next worker to ask for a trial re-queues its parameters once
(RetryHeartbeatStaleTrialCallback), so a killed run loses only the trial it was running and a resumed run
adds trials until the budget is met: completed trials are never redone.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Callable

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import AicamError
from ..latency.target import Target
from .folder import ReportFolder
from .objective import Objective, SearchContext, student_figures
from .pareto import feasible_front, pick_winners
from .records import StudyRecord, TrialRecord
from .space import SearchSpace, sampler_for

HEARTBEAT_S = 10  # a dead worker's trial is failed (and re-queued) 2 heartbeats after its last one


def storage_url(out_dir: Path, url: str | None = None) -> str:
    return url or f"sqlite:///{ReportFolder(out_dir).study.resolve()}"


def study_name(space: SearchSpace, target: Target) -> str:
    return f"{space.name}-{target.name}"


def open_study(space: SearchSpace, target: Target, out_dir: Path, storage: str | None = None,
               create: bool = True) -> optuna.Study:
    """The study of `space` on `target`: created, or loaded to resume. A study made from a different
    search space under the same name is an error (its trials would not mean the same thing)."""
    optuna.logging.set_verbosity(logging.WARNING)
    # Heartbeats and metric names are marked experimental; they are what resume and the reports rely on.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    out_dir.mkdir(parents=True, exist_ok=True)
    url = storage_url(out_dir, storage)
    try:
        rdb = RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=2 * HEARTBEAT_S,
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    except Exception as err:
        raise AicamError(f"study storage {url}: cannot open it ({type(err).__name__}: {err}). Give a writable "
                         "folder (--out) or a reachable Optuna RDB URL (--storage)") from None
    name = study_name(space, target)
    sampler = sampler_for(space)
    if not create:
        try:
            return optuna.load_study(study_name=name, storage=rdb, sampler=sampler)
        except KeyError:
            raise AicamError(f"no study '{name}' in {url}; run `aicam-opt optimize --target {target.name}` "
                             "first") from None
    study = optuna.create_study(study_name=name, storage=rdb, sampler=sampler, load_if_exists=True,
                                directions=["minimize"] * len(space.objectives))
    recorded = StudyRecord.from_study(study).space
    current = space.model_dump(mode="json")
    if recorded is not None and recorded != current:
        raise AicamError(f"the study '{name}' in {url} was made with a different search space (compare "
                         f"search_spaces/{space.name}.yaml with the study's); resuming would mix incomparable "
                         "trials. Use another --out/--storage, or delete the study file to start over")
    if recorded is None:
        study.set_metric_names(list(space.objectives))
        StudyRecord.store_space(study, space, target.name)
    return study


def record_student(study: optuna.Study, ctx: SearchContext) -> None:
    """Store the uncompressed student's figures, every trial's reference, once per study. A study whose
    quality was measured on other evaluation images (another --data, or none: the embedded photos) is
    not resumed: its trials and this run's would not be comparable."""
    student = StudyRecord.from_study(study).student
    recorded = student.measured_on if student is not None else None
    if recorded is None:  # a new study, or one made before the images were recorded
        StudyRecord.store_student(study, student_figures(ctx))
        return
    current = ctx.refs_full.evaluation_set()
    before = {key: value for key, value in recorded.to_json().items() if key != "data"}
    if before != current:
        changed = "; ".join(f"{key} {before.get(key)!r} -> {value!r}" for key, value in current.items()
                            if before.get(key) != value)
        raise AicamError(f"the study '{study.study_name}' measured quality on other evaluation images "
                         f"({recorded.data}; now {ctx.source.description}: {changed}). Resuming would mix "
                         "incomparable trials: run with the data it used (DATA=...), another --out, or delete the "
                         "report folder's study.db to start over")


def counted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that spend the budget: complete ones, and ones that failed with a recorded reason (a
    worker killed mid-trial leaves no reason: its trial is re-queued instead)."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
            if t.state == TrialState.COMPLETE or TrialRecord.from_trial(t).fail_reason is not None]


def front_status(study: optuna.Study, space: SearchSpace) -> str:
    front = feasible_front(study)
    winners = pick_winners(study, space)
    fastest = next(iter(winners.values()))
    best = f"fastest within {space.quality_tolerance_db:g} dB: " + (
        f"{TrialRecord.from_trial(fastest).latency(space.latency_objective):.1f} ms (trial {fastest.number})"
        if fastest else "none yet")
    failed = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    return f"front {len(front)} | {best} | failed {failed}"


def run_search(ctx: SearchContext, study: optuna.Study, n_trials: int, console: Console | None = None,
               objective: Callable[[optuna.Trial], list[float]] | None = None) -> None:
    """Run trials until the study holds `n_trials` counted trials (resuming where it stands)."""
    console = console or Console()
    objective = objective or Objective(ctx)
    done = len(counted_trials(study))
    if done >= n_trials:
        console.print(f"study already holds {done} trials (budget {n_trials}): nothing to run")
        return
    if done:
        console.print(f"resuming: {done} of {n_trials} trials already in {study.study_name}")
    columns = (TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("search", total=n_trials, completed=done, status=front_status(study, ctx.space))

        def update(study: optuna.Study, trial: FrozenTrial) -> None:
            progress.update(task, completed=len(counted_trials(study)), status=front_status(study, ctx.space))
            if trial.state == TrialState.FAIL:
                reason = TrialRecord.from_trial(trial).fail_reason
                progress.console.print(f"[yellow]trial {trial.number} failed[/yellow]: {reason or 'interrupted'}")

        while len(counted_trials(study)) < n_trials:
            # One trial per call, re-counting each time: other workers add trials to the same study.
            study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[update], gc_after_trial=False)


__all__ = ["counted_trials", "open_study", "run_search", "storage_url"]
