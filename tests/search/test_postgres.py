"""Several workers on one PostgreSQL study (a real server, see conftest.py): one is killed mid-trial,
the study still completes its budget, no trial lost or run twice, and the front is the one a single
worker finds; the database password shows nowhere.

What "the same front as a single worker with the same seed and budget" can honestly mean: with
several workers sampling concurrently, which candidates a seeded sampler proposes depends on the
order in which the workers ask (TPE conditions on whichever trials have finished; each worker's
sampler has its own copy of the seeded stream), so no sampler makes the front of a concurrent search
equal to a sequential one's in general. It holds where the outcome cannot depend on that order: the
whole space is a grid of 4 candidates (grid_space.yaml), enqueued into the study before the workers
start, with a budget of 4. Every candidate must then be evaluated exactly once whichever worker takes
it, and the front must be exactly the front of one worker that runs the same grid on its own; a lost
trial, a trial run twice or a budget overrun shows as a missing, repeated or extra candidate.
"""
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from aicam_opt.cli import main
from aicam_opt.latency.target import load_target
from aicam_opt.search.pareto import feasible_front, pick_winners
from aicam_opt.search.space import load_space
from aicam_opt.search.records import TrialRecord
from aicam_opt.search.study import GRACE_S, counted_trials, open_study

GRID = Path(__file__).with_name("grid_space.yaml")
WORKERS = 3


def grid_params(space) -> list[dict]:
    """Every candidate of `space` as Optuna parameters (the names search/space.py suggests)."""
    assert not space.knobs.pruning.groups, "enumerate pruning knobs too"
    knobs = {f: c for f, c in space.knobs.architecture.model_dump().items() if c}
    knobs.update(low_res=space.knobs.low_res, full_res=space.knobs.full_res)
    return [dict(zip(knobs, values)) for values in itertools.product(*knobs.values())]


def new_grid_study(out: Path, storage: str | None):
    """The grid study, every candidate queued: workers take them in whatever order they come."""
    space = load_space(GRID)
    study = open_study(space, load_target("sd865"), out, storage)
    for params in grid_params(space):
        study.enqueue_trial(params)
    return study


def optimize(out: Path, log: Path, storage: str | None, data_root: Path | None, budget: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "aicam_opt.cli", "optimize", "--target", "sd865", "--space", str(GRID),
           "--trials", str(budget), "--out", str(out), "--no-compile"]
    if storage:
        cmd += ["--storage", storage]
    env = {k: v for k, v in os.environ.items() if k != "AICAM_DATA"}
    # One thread each: several workers share the cores (torch's default, one thread per core each, thrashes).
    env["OMP_NUM_THREADS"] = "1"
    if data_root:
        env["AICAM_DATA"] = str(data_root)
    with log.open("w") as sink:
        return subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


@functools.cache
def storage_at(url: str) -> optuna.storages.RDBStorage:
    """One storage (one connection pool) per URL for the whole module: a URL string given to
    `optuna.load_study` builds a new engine each time, whose pooled connections stay open until it is
    garbage-collected, and polling with it exhausts the server's connections."""
    return optuna.storages.RDBStorage(url)


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="grid-sd865", storage=storage_at(url))


def front(study: optuna.Study) -> dict[str, list[float]]:
    return {t.user_attrs["candidate_key"]: t.values for t in feasible_front(study)}


@pytest.fixture(scope="module")
def multi_worker_run(postgres, data_source, tmp_path_factory):
    """Three workers on one study, one of them killed (SIGKILL) 3 s into a trial; then a single worker
    on the same grid (SQLite) for reference."""
    tmp = tmp_path_factory.mktemp("multi_worker")
    url = postgres.create_database("multi_worker")
    budget = len(grid_params(load_space(GRID)))
    new_grid_study(tmp / "reports", url)
    clock = time.perf_counter()
    workers = [optimize(tmp / "reports", tmp / f"worker{i}.log", url, data_source.root, budget) for i in range(WORKERS)]
    by_id = {f"{socket.gethostname()}:{w.pid}": w for w in workers}
    victim = killed_trial = None
    deadline = time.time() + 600
    while victim is None and time.time() < deadline:
        if any(w.poll() is not None for w in workers):
            logs = "\n".join((tmp / f"worker{i}.log").read_text()[-2000:] for i in range(WORKERS))
            pytest.fail(f"a worker ended before one could be killed mid-trial:\n{logs}")
        for trial in load(url).get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            # Well into its trial (heartbeat recorded, building the candidate): kill it as a crash would.
            if TrialRecord.from_trial(trial).worker in by_id and time.time() - trial.datetime_start.timestamp() > 3:
                victim, killed_trial = by_id[TrialRecord.from_trial(trial).worker], trial.number
                os.killpg(victim.pid, signal.SIGKILL)
                break
        time.sleep(0.3)
    assert victim is not None, "no worker was ever mid-trial"
    # The reference runs while the survivors finish (and wait out the dead worker's heartbeat).
    new_grid_study(tmp / "single", None)
    single = optimize(tmp / "single", tmp / "single.log", None, data_source.root, budget)
    for proc in [*workers, single]:
        proc.wait(timeout=900)
    seconds = time.perf_counter() - clock
    logs = {p.name: p.read_text() for p in sorted(tmp.glob("*.log"))}
    return {"tmp": tmp, "url": url, "budget": budget, "workers": workers, "victim": victim, "single": single,
            "killed_trial": killed_trial, "logs": logs, "seconds": seconds, "password": postgres.password}


def test_a_killed_worker_loses_no_trial_and_none_runs_twice(multi_worker_run):
    run = multi_worker_run
    logs = "\n".join(f"--- {name}\n{text[-3000:]}" for name, text in run["logs"].items())
    survivors = [w for w in run["workers"] if w is not run["victim"]]
    assert run["victim"].returncode == -signal.SIGKILL
    assert all(w.returncode == 0 for w in survivors) and run["single"].returncode == 0, logs
    study, budget = load(run["url"]), run["budget"]
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == budget == len(counted_trials(study)), logs
    # each candidate of the grid once, computed (not reused from a duplicate)
    assert sorted(map(str, (t.params for t in complete))) == sorted(map(str, grid_params(load_space(GRID))))
    assert len({t.user_attrs["candidate_key"] for t in complete}) == budget
    assert not any("reused_from" in t.user_attrs for t in complete)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # the killed trial failed by the heartbeat and was re-queued once; another worker ran it
    killed = study.trials[run["killed_trial"]]
    assert killed.state == TrialState.FAIL and "fail_reason" not in killed.user_attrs
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE and retries[0].params == killed.params
    victim_id = TrialRecord.from_trial(killed).worker
    assert TrialRecord.from_trial(retries[0]).worker != victim_id
    assert f"trial {killed.number} was lost with its worker" in logs
    # any other failed trial found the budget taken as it started, and computed nothing
    others = [t for t in trials if t.state == TrialState.FAIL and t.number != killed.number]
    assert all(TrialRecord.from_trial(t).surplus is not None and "candidate" not in t.user_attrs for t in others), others
    # the three workers shared the work: the victim's trial, and trials completed by both survivors
    assert len({TrialRecord.from_trial(t).worker for t in complete} - {victim_id}) == len(survivors), \
        [TrialRecord.from_trial(t).worker for t in complete]
    summary = json.loads((run["tmp"] / "reports" / "summary.json").read_text())
    assert summary["trials"]["counted"] == budget
    # the heartbeat's grace period bounds what the kill costs: the dead trial is noticed within it
    print(f"3 workers + 1 reference worker, {budget} trials each: {run['seconds']:.0f} s (grace {GRACE_S} s)")


def test_several_workers_find_the_front_of_a_single_worker(multi_worker_run):
    run = multi_worker_run
    several = load(run["url"])
    single = optuna.load_study(study_name="grid-sd865", storage=f"sqlite:///{run['tmp'] / 'single' / 'study.db'}")
    assert len(single.get_trials(states=(TrialState.COMPLETE,))) == run["budget"]
    # every candidate measured alike by whichever worker ran it, hence the same front and winners
    values = {t.user_attrs["candidate_key"]: t.values for t in several.get_trials(states=(TrialState.COMPLETE,))}
    for trial in single.get_trials(states=(TrialState.COMPLETE,)):
        assert values[trial.user_attrs["candidate_key"]] == pytest.approx(trial.values, rel=1e-9, abs=1e-12)
    expected, got = front(single), front(several)
    assert expected, "the reference front is empty: nothing to compare"
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-12), key
    space = load_space(GRID)
    assert ({r: t and t.user_attrs["candidate_key"] for r, t in pick_winners(several, space).items()}
            == {r: t and t.user_attrs["candidate_key"] for r, t in pick_winners(single, space).items()})


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_the_database_password_shows_nowhere(multi_worker_run, postgres, capsys, monkeypatch):
    run = multi_worker_run
    secret, tmp = run["password"], run["tmp"]
    assert secret in run["url"]
    # every output of the run: the workers' console and logs, and every report file
    assert [name for name, text in run["logs"].items() if secret in text] == []
    assert _files_holding(tmp / "reports", secret.encode()) == []
    # the report regenerated from the PostgreSQL study, and the errors about that storage
    assert main(["report", str(tmp / "reports"), "--storage", run["url"]]) == 0
    wrong = run["url"].replace(secret, secret + "x")
    assert main(["report", str(tmp / "reports"), "--storage", wrong]) == 2
    assert main(["report", str(tmp / "reports"), "--storage", run["url"], "--study", "nope"]) == 2
    unparsable = run["url"].replace(f":{postgres.port}/", ":port/")
    assert main(["report", str(tmp / "reports"), "--storage", unparsable]) == 2
    out = capsys.readouterr()
    assert "password authentication failed" in out.err and "no study 'nope'" in out.err, out.err
    assert "***" in out.err and secret not in out.out + out.err, out.err
    assert _files_holding(tmp / "reports", secret.encode()) == []
    # what docs/multi-worker.md advises: the password kept out of the URL, in PGPASSWORD
    monkeypatch.setenv("PGPASSWORD", secret)
    assert main(["report", str(tmp / "reports"), "--storage", run["url"].replace(f":{secret}@", "@")]) == 0
