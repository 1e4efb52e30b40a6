"""The budget several workers share, on an in-memory study: places go in trial order, a dead worker's
trial frees its place; and a storage URL's password shows in no message."""
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from aicam_opt.errors import AicamError
from aicam_opt.search import study as study_module
from aicam_opt.search.records import TrialRecord
from aicam_opt.search.study import open_storage, redacted, release_dead_trials, within_budget

SECRET = "s3cret-pw"
# The rules are checked on trials made with ask(), outside Study.optimize, where the heartbeat runs.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def new_study() -> optuna.Study:
    return optuna.create_study(storage=open_storage("sqlite:///:memory:"), directions=["minimize"])


def test_places_go_in_trial_order_and_a_dead_trial_frees_its_place():
    study = new_study()
    study.add_trial(create_trial(value=1.0))
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "ValueError: bad"}))  # spent
    first, second = study.ask(), study.ask()  # two workers asked at once for the last place of 3
    assert within_budget(study, first.number, 3) and not within_budget(study, second.number, 3)
    study.tell(first, state=TrialState.FAIL)  # its worker died: no reason recorded, no place held
    assert within_budget(study, second.number, 3)
    study.enqueue_trial({"x": 1})  # a re-queued trial holds a place before it runs
    assert not within_budget(study, study.ask().number, 3)


def test_a_trial_that_never_reached_its_objective_is_released(monkeypatch):
    study = new_study()
    working, stuck = study.ask(), study.ask()
    TrialRecord(worker="host:1").store(working, "worker")
    release_dead_trials(study)  # both within the grace period
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.RUNNING]
    monkeypatch.setattr(study_module, "GRACE_S", -1)
    release_dead_trials(study)
    assert study.trials[working.number].state == TrialState.RUNNING  # its heartbeat decides
    assert study.trials[stuck.number].state == TrialState.FAIL


@pytest.mark.parametrize("url", [f"postgresql+psycopg://aicam:{SECRET}@db.example:5432/optuna",
                                 f"postgresql+psycopg://aicam:{SECRET}@db.example:port/optuna",  # unparsable
                                 f"mysql+pymysql://aicam:{SECRET}@db.example/optuna"])
def test_a_storage_url_is_shown_without_its_password(url):
    shown = redacted(url)
    assert SECRET not in shown and "aicam:***@db.example" in shown


@pytest.mark.parametrize("url", [f"postgresql+psycopg://aicam:{SECRET}@127.0.0.1:1/optuna",
                                 f"postgresql+psycopg://aicam:{SECRET}@127.0.0.1:port/optuna",
                                 f"nosuchdb://aicam:{SECRET}@127.0.0.1/optuna"])
@pytest.mark.parametrize("existing", [False, True])
def test_storage_errors_do_not_show_the_password(url, existing):
    with pytest.raises(AicamError) as err:
        open_storage(url, existing=existing)
    assert SECRET not in str(err.value) and "aicam:***@127.0.0.1" in str(err.value), str(err.value)
