"""The study records the budget it is searched to (what summary.json reports and the gate compares)."""
from types import SimpleNamespace

import optuna
import pytest
from rich.console import Console

from aicam_opt.latency.target import load_target
from aicam_opt.search.records import StudyRecord
from aicam_opt.search.space import load_space
from aicam_opt.search.study import open_study, run_search

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def test_run_search_records_the_largest_budget(tmp_path):
    space = load_space("default")
    study = open_study(space, load_target("sd865"), tmp_path)
    assert StudyRecord.from_study(study).budget is None  # not searched yet

    def objective(trial: optuna.Trial) -> list[float]:
        trial.suggest_float("x", 0, 1)
        return [1.0] * len(space.objectives)

    ctx = SimpleNamespace(space=space)  # what run_search itself reads of the context
    run_search(ctx, study, 2, Console(quiet=True), objective=objective)
    assert StudyRecord.from_study(study).budget == 2 and len(study.trials) == 2
    run_search(ctx, study, 1, Console(quiet=True), objective=objective)  # already holds 2: runs none
    assert StudyRecord.from_study(study).budget == 2 and len(study.trials) == 2
    run_search(ctx, study, 3, Console(quiet=True), objective=objective)
    assert StudyRecord.from_study(study).budget == 3 and len(study.trials) == 3
