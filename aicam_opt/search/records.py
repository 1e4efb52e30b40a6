"""What a study stores about its trials and its reference, typed: the objective writes these records,
the front, the winners, the report and the summary read them. Nothing else reads Optuna user
attributes.

A trial's record is stored as one Optuna user attribute per field, under the field's name
(`candidate`, `candidate_key`, `fidelity`, `screen`, `params_count`, `quality`, `figures`,
`constraints`, `dir`, `full_seconds`, `reused_from`, `fail_reason`), so studies written before the
record existed read the same. The study's own attributes: `space` (the SearchSpace), `target` (its
name), `budget` (the largest --trials it was searched to), `student` (StudentRecord: the uncompressed
student's figures, every trial's reference), `calibration` (the fingerprint of the latency calibration
its predictions used) and, per trial measured on the device after the search, `device_trial_<number>`
(DeviceLatency; `trial_records` puts it in the trial's record as `device`).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import optuna
from optuna.trial import FrozenTrial
from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError

from ..compress.candidate import Candidate
from ..compress.metrics import CandidateQuality
from ..config import JsonBlock, format_validation_error
from ..errors import AicamError
from .blocks import EvaluationSet, StudentQuality
from .space import SearchSpace

Fidelity = Literal["screen", "full"]

# A Candidate is always stored whole (every field, defaults included), as Candidate.model_dump gives it.
CandidateDescription = Annotated[Candidate, PlainSerializer(lambda c: c.model_dump(mode="json"), return_type=dict)]


class CostFigures(JsonBlock):
    """Predicted latency (ms), MACs and peak memory (MB) on every budgeted workload."""

    latency_ms: dict[str, float]
    macs: dict[str, int]
    peak_memory_mb: dict[str, float]


class ScreenResult(JsonBlock):
    """The screen build's quality (no recovery, fewer images) and how long the screen took."""

    quality: CandidateQuality
    seconds: float


class DeviceLatency(JsonBlock):
    """The candidate measured on a device after the search (`optimize --measure-top K`): the compiled
    parts timed over TVM RPC at the latency objective's workload, beside the latency model's figure for
    the same program and threads."""

    workload: str                      # the budgeted workload measured (the search's latency objective)
    measured_ms: float                 # end to end (both parts in one call), else the sum of the parts
    measured_from: str                 # "end_to_end" | "sum_of_parts"
    predicted_ms: float | None = None  # the latency model, same program and threads (None: could not price it)
    parts_ms: dict[str, float]         # part -> measured median
    device: str                        # what the remote reported, and where it was reached
    threads: int
    measured_at_utc: str


class TrialRecord(JsonBlock):
    """Everything a trial found out. Fields appear as the trial goes: a failed trial may hold only the
    candidate and its failure; a screened trial has no folder; a reused one copies an earlier trial's."""

    model_config = ConfigDict(validate_assignment=True)

    candidate: CandidateDescription | None = None
    candidate_key: str | None = None        # equal keys compute the same thing (space.candidate_key)
    fidelity: Fidelity | None = None        # the highest fidelity reached; the values are from it
    screen: ScreenResult | None = None
    params_count: int | None = None
    quality: CandidateQuality | None = None
    figures: CostFigures | None = None
    constraints: dict[str, float] | None = None  # Optuna's: <= 0 is satisfied
    dir: str | None = None                  # the candidate folder, relative to the report folder (full only)
    full_seconds: float | None = None
    reused_from: int | None = None          # the trial whose results this one copies (same candidate_key)
    fail_reason: str | None = None
    worker: str | None = None               # host:pid of the worker that ran it (several workers, one study)
    surplus: str | None = None              # why it did not run: other workers had taken the budget
    device: DeviceLatency | None = None     # measured on the device after the search (a study attribute)

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> "TrialRecord":
        return _validated(cls, trial.user_attrs, f"the user attributes of trial {trial.number}")

    def store(self, trial: optuna.Trial, *fields: str) -> None:
        """Write `fields` (default: every field given) as the trial's user attributes."""
        stored = self.to_json()
        for name in fields or tuple(stored):
            trial.set_user_attr(name, stored[name])

    def reused(self, origin: int) -> "TrialRecord":
        """The record of a trial that reuses this one's results: the trial they were computed in is `origin`."""
        update = {"reused_from": self.reused_from if self.reused_from is not None else origin}
        return self.model_copy(update=update)

    # what the front, the winners and the report ask of a trial
    @property
    def feasible(self) -> bool:
        return self.constraints is not None and all(v <= 0 for v in self.constraints.values())

    @property
    def within_flicker_limit(self) -> bool:
        return (self.constraints or {}).get("flicker", 0.0) <= 0

    @property
    def is_full(self) -> bool:
        return self.fidelity == "full"

    def latency(self, workload: str) -> float:
        if self.figures is None:
            raise AicamError("a trial without predicted figures was asked for its latency (it failed before the "
                             "cost was predicted)")
        return self.figures.latency_ms[workload]

    def measured_latency(self, workload: str) -> float | None:
        """The device's latency at `workload`, if the trial was measured there."""
        return self.device.measured_ms if self.device is not None and self.device.workload == workload else None

    def with_measured_latency(self) -> "TrialRecord":
        """The record as winners are picked from it: a measured trial's device latency stands for its predicted
        latency at that workload, and its budget constraint there is re-checked with it (measured - budget)."""
        if self.device is None or self.figures is None:
            return self
        workload, measured = self.device.workload, self.device.measured_ms
        predicted = self.figures.latency_ms[workload]
        figures = self.figures.model_copy(update={"latency_ms": {**self.figures.latency_ms, workload: measured}})
        constraints = dict(self.constraints or {})
        key = f"latency_ms.{workload}"
        if key in constraints:
            constraints[key] += measured - predicted  # the budget is predicted - constraint
        return self.model_copy(update={"figures": figures, "constraints": constraints})


class StudentRecord(CostFigures):
    """The uncompressed student: float32, each part on the unit where it runs fastest at fp32; the
    reference of every speed-up and quality drop of the study."""

    placement: dict[str, str]                # part -> "unit:precision"
    quality: StudentQuality
    params: int
    measured_on: EvaluationSet | None = None  # absent in studies made before it was recorded
    best_placement: dict[str, str] | None = None    # fastest placement with fp16 allowed (no compression)
    best_latency_ms: dict[str, float] | None = None  # its latency per workload


class StudyRecord(BaseModel):
    """A study's own user attributes, as `open_study` and `record_student` store them."""

    space: dict[str, Any] | None = None  # SearchSpace.model_dump(mode="json"): compared as stored on resume
    target: str | None = None
    budget: int | None = None  # the largest --trials the study was searched to; absent in older studies
    student: StudentRecord | None = None
    calibration: str | None = None  # Calibration.fingerprint() of the figures the study's predictions used

    @classmethod
    def from_study(cls, study: optuna.Study) -> "StudyRecord":
        return _validated(cls, study.user_attrs, f"the user attributes of study '{study.study_name}'")

    def search_space(self) -> SearchSpace:
        return _validated(SearchSpace, self.space or {}, "the study's search space")

    @staticmethod
    def store_space(study: optuna.Study, space: SearchSpace, target: str) -> None:
        study.set_user_attr("space", space.model_dump(mode="json"))
        study.set_user_attr("target", target)

    @staticmethod
    def store_budget(study: optuna.Study, trials: int) -> None:
        """Record that the study is searched to `trials`; a rerun with a smaller --trials finds the trials
        already there and runs none, so the study's results stay those of the larger budget."""
        recorded = StudyRecord.from_study(study).budget
        study.set_user_attr("budget", max(trials, recorded or 0))

    @staticmethod
    def store_calibration(study: optuna.Study, fingerprint: str) -> None:
        study.set_user_attr("calibration", fingerprint)

    @staticmethod
    def store_student(study: optuna.Study, student: StudentRecord) -> None:
        study.set_user_attr("student", student.to_json())


# One study attribute per measured trial (a finished trial's own attributes cannot change), so several
# workers measuring different trials never overwrite each other.
DEVICE_ATTR = "device_trial_"


def device_measurements(study: optuna.Study) -> dict[int, DeviceLatency]:
    """Trial number -> its device measurement (optimize --measure-top), from the study's attributes."""
    return {int(key[len(DEVICE_ATTR):]): _validated(DeviceLatency, value, f"the study attribute {key}")
            for key, value in study.user_attrs.items() if key.startswith(DEVICE_ATTR)}


def store_device_measurement(study: optuna.Study, number: int, latency: DeviceLatency) -> None:
    study.set_user_attr(f"{DEVICE_ATTR}{number}", latency.to_json())


def trial_records(study: optuna.Study, trials: list[FrozenTrial]) -> dict[int, TrialRecord]:
    """Each trial's record, with its device measurement (if any) in `device`."""
    devices = device_measurements(study)
    records = {}
    for t in trials:
        record = TrialRecord.from_trial(t)
        records[t.number] = record.model_copy(update={"device": devices[t.number]}) if t.number in devices else record
    return records


def _validated(cls: type, attrs: dict[str, Any], what: str) -> Any:
    try:
        return cls.model_validate(attrs)
    except ValidationError as err:
        problems = format_validation_error(what, err).split("\n", 1)[1]
        raise AicamError(f"{what} do not match this version of aicam_opt:\n{problems}\nThe study was made by another "
                         "version: report it with that version, or start a new study (another --out, or delete "
                         "the report folder's study.db)") from None
