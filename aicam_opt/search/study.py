"""The Optuna study: storage, sampler, resume, the trial loop and its live progress display.

Storage is SQLite in the report folder by default (reports/<target>/study.db); any Optuna RDB URL
works instead, so several workers on several machines can share one study (each runs
`aicam-opt optimize --target T --storage postgresql+psycopg://user@host/db`, see docs/multi-worker.md).
The budget is shared: a worker starts a trial only while the study's counted, running and queued
trials leave room, and waits for the others' running trials before it stops (one of them may die
and be re-queued). A heartbeat marks a worker's trial as failed when the worker dies; the next
worker to look re-queues its parameters once (RetryHeartbeatStaleTrialCallback), so a killed worker
loses only the trial it was running, which another worker then runs, and a resumed run adds trials
until the budget is met: completed trials are never redone.

A storage URL's password never reaches a message or a report: everything shows `redacted(url)`.
"""
from __future__ import annotations

import datetime
import logging
import os
import re
import socket
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import AicamError
from ..latency.target import Target
from ..terminal import OutputConsole
from .folder import ReportFolder
from .objective import Objective, SearchContext, student_figures
from .pareto import feasible_front, pick_winners
from .records import StudyRecord, TrialRecord
from .space import SearchSpace, sampler_for

HEARTBEAT_S = 10  # a dead worker's trial is failed (and re-queued) 2 heartbeats after its last one
GRACE_S = 2 * HEARTBEAT_S
POLL_S = 2  # how often a worker with no room left in the budget looks again at the others' trials


def storage_url(out_dir: Path, url: str | None = None) -> str:
    return url or f"sqlite:///{ReportFolder(out_dir).study.resolve()}"


def redacted(url: str) -> str:
    """`url` with its password masked (***): the only form of a storage URL any message shows."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable: mask everything between '://user:' and the last '@'
        return re.sub(r"(://[^:/@]*):.*@", r"\1:***@", url)


def storage_password(url: str) -> str | None:
    """The password in a storage URL, if any (what the log file masks)."""
    try:
        return sqlalchemy.engine.make_url(url).password
    except Exception:
        found = re.search(r"://[^:/@]*:(.*)@", url)
        return found.group(1) if found else None


def _scrubbed(text: str, url: str) -> str:
    """A driver's error message, with the URL and its password (as given or URL-encoded) masked."""
    text = text.replace(url, redacted(url))
    password = storage_password(url)
    for form in {password, quote(password or "", safe="")} - {None, ""}:
        text = text.replace(form, "***")
    return text


def _error_text(err: Exception, url: str) -> str:
    # SQLAlchemy appends a blank line and a link to its docs: the first line is the driver's message.
    return _scrubbed(f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}", url)


def _check_holds_a_study(url: str) -> None:
    """Refuse, without writing anything, a storage that is not an Optuna study database: an empty,
    damaged or foreign SQLite file, or a database without Optuna's tables."""
    shown = redacted(url)
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except Exception as err:
        raise AicamError(f"study storage {shown}: not a valid database URL ({_error_text(err, url)}); give an "
                         "Optuna RDB URL such as postgresql+psycopg://user@host/db") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
            try:
                holds = sqlalchemy.inspect(engine).has_table("studies")
            finally:
                engine.dispose()
        except ImportError as err:
            raise _driver_missing(url, err) from None
        except Exception as err:
            raise AicamError(f"study storage {shown}: cannot open it ({_error_text(err, url)}). Check the "
                             "--storage URL (host, port, database, user; the password can come from "
                             "PGPASSWORD or ~/.pgpass)") from None
        if not holds:
            raise AicamError(f"study storage {shown} holds no Optuna study (no 'studies' table): pass the "
                             "--storage URL the search ran with") from None
        return
    path = Path(parsed.database or "")
    rerun = (f"delete it and run `aicam-opt optimize --target T --out {path.parent}` again (the reports are made "
             "from the study), or point at the report folder or --storage of an intact study")
    if not parsed.database or parsed.database == ":memory:" or not path.is_file():
        raise AicamError(f"study storage {shown}: {path} is not a file; run `aicam-opt optimize --target T "
                         "--out DIR` first, or pass the report folder or --storage URL of a search")
    if path.stat().st_size == 0:
        raise AicamError(f"{path} is empty (0 bytes): not a study (an interrupted first run or a failed copy "
                         f"leaves this). Nothing was changed; {rerun}")
    # Only reads (mode=rw: never creates the file; a crashed writer's journal is rolled back, as Optuna would).
    try:
        with sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=30) as con:
            check = con.execute("PRAGMA quick_check(1)").fetchone()[0]
            holds = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'studies'").fetchone()
        con.close()
    except sqlite3.Error as err:
        raise AicamError(f"{path} is not a readable SQLite database ({err}): the study file is damaged. Nothing "
                         f"was changed; restore it from a copy, or {rerun}") from None
    if check != "ok":
        raise AicamError(f"{path} is a damaged SQLite database (integrity check: {check}). Nothing was changed; "
                         f"restore it from a copy, or {rerun}")
    if holds is None:
        raise AicamError(f"{path} is a SQLite database without an Optuna study in it (no 'studies' table). "
                         f"Nothing was changed; {rerun}")


def _driver_missing(url: str, err: ImportError) -> AicamError:
    return AicamError(f"study storage {redacted(url)}: its database driver is not installed ({err.__cause__ or err}). "
                      "For PostgreSQL install the postgres extra (pip install -e '.[postgres]', psycopg) and use "
                      "a postgresql+psycopg:// URL")


def open_storage(url: str, existing: bool = False) -> RDBStorage:
    """Optuna's RDB storage at `url`, with the heartbeat that re-queues a dead worker's trial.
    `existing`: only read a study already there (the reports): a storage that holds none is refused
    untouched, never given a fresh schema."""
    optuna.logging.set_verbosity(logging.WARNING)
    # Heartbeats and metric names are marked experimental; they are what resume and the reports rely on.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if existing:
        _check_holds_a_study(url)
    try:
        return RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S, skip_table_creation=existing,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    except ImportError as err:
        raise _driver_missing(url, err) from None
    except Exception as err:
        fix = ("pass the report folder of a search or its --storage URL" if existing else
               "Give a writable folder (--out) or a reachable Optuna RDB URL (--storage)")
        raise AicamError(f"study storage {redacted(url)}: cannot open it ({_error_text(err, url)}). {fix}") from None


def study_name(space: SearchSpace, target: Target) -> str:
    return f"{space.name}-{target.name}"


def open_study(space: SearchSpace, target: Target, out_dir: Path, storage: str | None = None,
               create: bool = True, calibration: str | None = None) -> optuna.Study:
    """The study of `space` on `target`: created, or loaded to resume. A study made from a different
    search space under the same name is an error (its trials would not mean the same thing), and so is
    one whose predictions came from another latency calibration (`calibration`: its fingerprint)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    url = storage_url(out_dir, storage)
    shown = redacted(url)
    rdb = open_storage(url)
    name = study_name(space, target)
    sampler = sampler_for(space)
    if not create:
        try:
            return optuna.load_study(study_name=name, storage=rdb, sampler=sampler)
        except KeyError:
            raise AicamError(f"no study '{name}' in {shown}; run `aicam-opt optimize --target {target.name}` "
                             "first") from None
    try:
        study = optuna.create_study(study_name=name, storage=rdb, sampler=sampler,
                                    directions=["minimize"] * len(space.objectives))
    except optuna.exceptions.DuplicatedStudyError:
        # Joining a study that other workers (or an earlier run) already sample: the space's seed would
        # replay the proposals the study began with (every worker the same ones), so draw afresh. A new
        # study keeps the seed: one worker's search from scratch is reproducible.
        sampler.reseed_rng()
        study = optuna.load_study(study_name=name, storage=rdb, sampler=sampler)
    recorded = StudyRecord.from_study(study).space
    current = space.model_dump(mode="json")
    if recorded is not None and recorded != current:
        start_over = (f"delete the study file to start over: rm {ReportFolder(out_dir).study.resolve()}"
                      if storage is None else
                      f"delete the study to start over: optuna delete-study --study-name {name} --storage {shown}")
        raise AicamError(f"the study '{name}' in {shown} was made with a different search space than "
                         f"{space.source} ({space_changes(recorded, current)}); resuming would mix incomparable "
                         f"trials. Use another --out/--storage, or {start_over}")
    if recorded is None:
        study.set_metric_names(list(space.objectives))
        StudyRecord.store_space(study, space, target.name)
    if calibration is not None:
        used = StudyRecord.from_study(study).calibration
        if used is not None and used != calibration:
            raise AicamError(f"the study '{name}' in {shown} predicted its latencies with another calibration of "
                             f"'{target.name}' (fingerprint {used}, now {calibration}); resuming would rank trials "
                             "priced by two models. Use another --out/--storage for the new calibration, or the "
                             "--calibration the study was made with")
        if used is None:
            StudyRecord.store_calibration(study, calibration)
    return study


def _flat(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def space_changes(recorded: dict, current: dict, shown: int = 5) -> str:
    """The fields of two stored search spaces that differ, as "field study -> now" (at most `shown`)."""
    before, now = _flat(recorded), _flat(current)
    changes = [f"{key} {before.get(key, '—')} -> {now.get(key, '—')}" for key in sorted(set(before) | set(now))
               if before.get(key) != now.get(key)]
    more = f"; and {len(changes) - shown} more" if len(changes) > shown else ""
    return "study -> now: " + "; ".join(changes[:shown]) + more


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


def is_counted(trial: FrozenTrial) -> bool:
    """Whether a trial spent the budget: complete, or failed with a recorded reason (a worker killed
    mid-trial leaves no reason: its trial is re-queued instead)."""
    return trial.state == TrialState.COMPLETE or (trial.state == TrialState.FAIL
                                                  and TrialRecord.from_trial(trial).fail_reason is not None)


def counted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that spend the budget: complete ones, and ones that failed with a recorded reason (a
    worker killed mid-trial leaves no reason: its trial is re-queued instead)."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)) if is_counted(t)]


def front_status(study: optuna.Study, space: SearchSpace) -> str:
    front = feasible_front(study)
    winners = pick_winners(study, space)
    fastest = next(iter(winners.values()))
    best = f"fastest within {space.quality_tolerance_db:g} dB: " + (
        f"{TrialRecord.from_trial(fastest).latency(space.latency_objective):.1f} ms (trial {fastest.number})"
        if fastest else "none yet")
    failed = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    return f"front {len(front)} | {best} | failed {failed}"


class SurplusTrial(Exception):
    """A trial that found the budget already taken as it started (workers that asked at the same
    moment): it fails before computing anything, and neither counts nor is re-queued."""


def holds_a_place(trial: FrozenTrial) -> bool:
    """Whether a trial takes a place in the budget: counted, running, or queued to run (a re-queued one)."""
    return is_counted(trial) or trial.state in (TrialState.RUNNING, TrialState.WAITING)


def within_budget(study: optuna.Study, number: int, n_trials: int) -> bool:
    """Whether trial `number` has a place: places go in trial order, so workers that started trials at
    the same moment agree on which of them run."""
    ahead = [t for t in study.get_trials(deepcopy=False) if t.number <= number and holds_a_place(t)]
    return len(ahead) <= n_trials


def release_dead_trials(study: optuna.Study) -> None:
    """Fail the trials of dead workers so that their places free up: heartbeat-stale ones (the callback
    re-queues each once), and running ones that never reached their objective GRACE_S after they began
    (a worker killed in the moment between asking and its first heartbeat: they would never go stale)."""
    fail_stale_trials(study)
    now = datetime.datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if (TrialRecord.from_trial(trial).worker is None and trial.datetime_start is not None
                and (now - trial.datetime_start).total_seconds() > GRACE_S):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


def run_search(ctx: SearchContext, study: optuna.Study, n_trials: int, console: Console | None = None,
               objective: Callable[[optuna.Trial], list[float]] | None = None) -> None:
    """Run trials until the study holds `n_trials` counted trials (resuming where it stands), sharing
    the budget with any other worker on the same study."""
    console = console or OutputConsole()
    objective = objective or Objective(ctx)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    StudyRecord.store_budget(study, n_trials)  # what the summary records and the gate compares
    done = len(counted_trials(study))
    if done >= n_trials:
        console.print(f"study already holds {done} trials (budget {n_trials}): nothing to run")
        return
    if done:
        console.print(f"resuming: {done} of {n_trials} trials already in {study.study_name}")

    def budgeted(trial: optuna.Trial) -> list[float]:
        if not within_budget(study, trial.number, n_trials):
            TrialRecord(surplus=f"the budget of {n_trials} trials was taken by other workers").store(trial, "surplus")
            raise SurplusTrial(f"trial {trial.number}: the budget of {n_trials} trials was taken by other workers "
                               "as it started; it computed nothing and does not count")
        TrialRecord(worker=worker).store(trial, "worker")
        return objective(trial)

    seen_failed = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    columns = (TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    # Into a pipe or a log a live bar shows nothing until it ends: one line per finished trial instead.
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task("search", total=n_trials, completed=done, status=front_status(study, ctx.space))

        def update(study: optuna.Study, trial: FrozenTrial) -> None:
            counted, status = len(counted_trials(study)), front_status(study, ctx.space)
            progress.update(task, completed=counted, status=status)
            if not console.is_terminal:
                console.print(f"search: trial {trial.number} {trial.state.name.lower()}, {counted}/{n_trials} | {status}")
            seen_failed.add(trial.number)
            record = TrialRecord.from_trial(trial)
            if trial.state == TrialState.FAIL and record.surplus is None:
                progress.console.print(f"[yellow]trial {trial.number} failed[/yellow]: {record.fail_reason or 'interrupted'}")

        while True:
            release_dead_trials(study)
            trials = study.get_trials(deepcopy=False)
            for trial in trials:
                if trial.state == TrialState.FAIL and trial.number not in seen_failed:
                    seen_failed.add(trial.number)
                    retry = next((t.number for t in trials if t.system_attrs.get("failed_trial") == trial.number), None)
                    if retry is not None:
                        progress.console.print(f"[yellow]trial {trial.number} was lost with its worker[/yellow] (no "
                                               f"heartbeat for {GRACE_S} s): re-queued as trial {retry}")
            counted = sum(map(is_counted, trials))
            if counted >= n_trials:
                break
            running = [t.number for t in trials if t.state == TrialState.RUNNING]
            if counted + len(running) < n_trials:
                # One trial per call, re-counting each time: other workers add trials to the same study.
                study.optimize(budgeted, n_trials=1, catch=(Exception,), callbacks=[update], gc_after_trial=False)
            else:  # the rest of the budget is running elsewhere; one of those workers may die and its trial come back
                progress.update(task, completed=counted, status=f"waiting for trial{'s' * (len(running) > 1)} "
                                f"{', '.join(map(str, running))} of other workers")
                time.sleep(POLL_S)


__all__ = ["counted_trials", "open_storage", "open_study", "redacted", "run_search", "storage_password", "storage_url"]
