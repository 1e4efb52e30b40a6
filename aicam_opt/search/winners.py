"""winners.json: the winners of a search, documented (schema "aicam_opt.winners/1"). Written by the report
step, read by the compile step and the host timing; the schema lives here, below both.

    {"schema": "aicam_opt.winners/1", "target": ..., "search_space": ..., "roles": {role: meaning},
     "student": {...figures of the uncompressed student..., "measured_on": {"data", "pairs", "photos", "clip",
                 "frames"}: the evaluation images every quality figure of the run comes from},
     "winners": {role: null | {"trial", "dir", "candidate", "fidelity", "quality", "predicted_latency_ms",
                               "macs", "peak_memory_mb", "speedup_vs_student", "constraints",
                               "measured" (only when measured on the device: records.DeviceLatency),
                               "budgets": {workload: {"budget_ms", "predicted_ms", "met", "constraint"}}}}}

`budgets` holds every latency budget of the target, met or violated, whether or not the search space
enforces it (`constraint`): a budget the space only reports (the 8K frame, which no candidate of the
default space meets yet) is shown violated here instead of vanishing.

`dir` is the winner's candidate folder relative to the report folder (search.folder.ReportFolder).
"""
from __future__ import annotations

from optuna.trial import FrozenTrial

from ..compress.metrics import FiniteQuality
from ..config import Document
from ..latency.target import Budgets
from .blocks import Finite, StudentBlock
from .records import CandidateDescription, DeviceLatency, StudentRecord, TrialRecord
from .space import SearchSpace

ROLE_MEANING = {
    "fastest_within": "the lowest predicted {workload} latency among full-fidelity candidates within {tol:g} dB "
                      "PSNR of the uncompressed student (and within the flicker limit)",
    "best_quality_within_budgets": "the lowest PSNR drop among full-fidelity candidates that meet every constraint "
                                   "(latency budgets, peak memory, flicker)",
    "knee": "the balanced trade-off: the feasible front's point nearest the ideal point, objectives scaled to [0, 1]",
}


class BudgetCheck(Finite):
    """One latency budget of the target against a winner's predicted time."""

    budget_ms: float
    predicted_ms: float
    met: bool
    constraint: bool  # the search space enforces it (else it is reported only)


def budget_checks(latency_ms: dict[str, float], budgets: Budgets, space: SearchSpace) -> dict[str, BudgetCheck]:
    """Each budgeted workload of `budgets` with a predicted time: met or violated, and whether it constrained."""
    enforced = space.constraints.latency_budgets
    return {w: BudgetCheck(budget_ms=figure.value, predicted_ms=latency_ms[w], met=latency_ms[w] <= figure.value,
                           constraint=enforced is None or w in enforced)
            for w, figure in budgets.latency_ms.items() if figure is not None and w in latency_ms}


class WinnerEntry(Finite):
    """A winning trial: its candidate, folder, quality and predicted figures (the fields of blocks.Figures)."""

    trial: int
    dir: str | None
    candidate: CandidateDescription
    fidelity: str | None
    quality: FiniteQuality
    predicted_latency_ms: dict[str, float]
    macs: dict[str, int]
    peak_memory_mb: dict[str, float]
    speedup_vs_student: dict[str, float]
    # against the student at its fastest uncompressed placement: what compression bought beyond placement
    speedup_vs_student_best_placement: dict[str, float] | None = None
    constraints: dict[str, float]
    # measured on the device after the search (optimize --measure-top), beside predicted_latency_ms
    measured: DeviceLatency | None = None
    budgets: dict[str, BudgetCheck] | None = None  # absent in documents written before it was recorded

    @classmethod
    def of(cls, trial: FrozenTrial, student: StudentRecord, device: DeviceLatency | None = None,
           budgets: Budgets | None = None, space: SearchSpace | None = None) -> "WinnerEntry":
        record = TrialRecord.from_trial(trial)
        figures = record.figures
        return cls.model_validate({
            "trial": trial.number, "dir": record.dir, "candidate": record.candidate, "fidelity": record.fidelity,
            "quality": record.quality.to_json(), "predicted_latency_ms": figures.latency_ms, "macs": figures.macs,
            "peak_memory_mb": figures.peak_memory_mb,
            "speedup_vs_student": {w: student.latency_ms[w] / ms for w, ms in figures.latency_ms.items() if ms > 0},
            **({"speedup_vs_student_best_placement": {w: student.best_latency_ms[w] / ms
                                                      for w, ms in figures.latency_ms.items() if ms > 0}}
               if student.best_latency_ms else {}),
            "constraints": record.constraints or {}, **({"measured": device.to_json()} if device else {}),
            **({"budgets": {w: b.to_json() for w, b in budget_checks(figures.latency_ms, budgets, space).items()}}
               if budgets is not None and space is not None else {})})


def student_block(student: StudentRecord) -> StudentBlock:
    """The study's student record as the documents show it (its latency named predicted_latency_ms)."""
    block = {"predicted_latency_ms": student.latency_ms, "macs": student.macs, "peak_memory_mb": student.peak_memory_mb,
             "placement": student.placement, "quality": student.quality.to_json(), "params": student.params}
    if student.best_placement is not None:
        block["best_placement"] = student.best_placement
        block["best_predicted_latency_ms"] = student.best_latency_ms
    if student.measured_on is not None:
        block["measured_on"] = student.measured_on.to_json()
    return StudentBlock.model_validate(block)


class WinnersDocument(Document):
    SCHEMA = "aicam_opt.winners/1"

    target: str
    search_space: str
    roles: dict[str, str]
    student: StudentBlock
    winners: dict[str, WinnerEntry | None]

    @classmethod
    def load_from(cls, path) -> "WinnersDocument":
        return cls.load(path, "Regenerate it from the study (`aicam-opt report DIR`) or re-run the search.",
                        missing="Run the search first (`aicam-opt optimize --target T`).")


def role_meanings(space: SearchSpace, roles: list[str]) -> dict[str, str]:
    out = {}
    for role in roles:
        key = "fastest_within" if role.startswith("fastest_within") else role
        out[role] = ROLE_MEANING[key].format(workload=space.latency_objective, tol=space.quality_tolerance_db)
    return out


def winners_document(target: str, space: SearchSpace, student: StudentRecord,
                     winners: dict[str, FrozenTrial | None], devices: dict[int, DeviceLatency] | None = None,
                     budgets: Budgets | None = None) -> WinnersDocument:
    """`devices`: trial number -> its device measurement (records.device_measurements); with the target's
    `budgets`, each winner's `budgets` block (met or violated per workload)."""
    devices = devices or {}
    return WinnersDocument(target=target, search_space=space.name, roles=role_meanings(space, list(winners)),
                           student=student_block(student),
                           winners={role: WinnerEntry.of(t, student, devices.get(t.number), budgets, space) if t else None
                                    for role, t in winners.items()})
