"""What one trial does: sample a candidate, build it at two fidelities, measure it, predict its cost.

Two-stage multi-fidelity (Optuna's pruners do not support multi-objective studies):
1. screen: build without recovery and measure on the FiveK evaluation pairs and a few clip frames
   (seconds); predict latency and memory on every budgeted workload (recovery never changes them);
2. full: only a candidate that fits the budgets and lost at most `promote.max_psnr_drop` dB at the
   screen is rebuilt with recovery and measured on every evaluation image and the longer clip. Its
   float weights, description and metrics go to reports/<target>/trials/<number>/ (a candidate
   folder, as `aicam-opt compress` writes: the compile step and the report read it).
What a trial found is its TrialRecord (records.py), stored as the trial's user attributes.
A trial's values are from the highest fidelity it reached (the record's `fidelity`); screened
values are pessimistic (no recovery), so a screened trial never pushes a full one off the front
unfairly. Winners are chosen among full-fidelity trials only.

A candidate equal to an earlier complete trial (same `candidate_key`) reuses its results: TPE and
NSGA-II re-propose points of a discrete space, and the work is not done twice.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import optuna
from torch import nn

from ..compress.build import build_candidate, write_outputs
from ..compress.candidate import Candidate
from ..compress.evaluation import References
from ..compress.metrics import CandidateQuality
from ..cost.shipped import shipped_student_cost
from ..data import DataSource
from ..errors import AicamError
from ..evaluate import flicker as flicker_metric
from ..images import write_photo
from ..latency import Assignment, Placement
from ..latency.memory import peak_memory_bytes
from ..latency.model import LatencyModel, workload_latency_ms
from ..latency.target import Target
from ..models.inference import enhance_array
from ..models.student import StudentNet
from .blocks import EvaluationSet, StudentQuality
from .folder import ReportFolder
from .records import CostFigures, ScreenResult, StudentRecord, TrialRecord
from .space import FidelityLevel, SearchSpace, candidate_key, suggest_candidate


@dataclass
class SearchContext:
    """Everything trials share, loaded once per run."""

    space: SearchSpace
    target: Target
    latency: LatencyModel
    source: DataSource
    student: StudentNet
    teacher: nn.Module
    refs_full: References
    refs_screen: References
    out_dir: Path

    @property
    def reports(self) -> ReportFolder:
        return ReportFolder(self.out_dir)


def subset_references(full: References, student: StudentNet, frames: int, photos: bool) -> References:
    """A cheaper reference set: the first `frames` clip frames and, without `photos`, the FiveK pairs only."""
    photos = dict(full.photos) if photos else {name: full.photos[name] for name in full.pairs}
    refs = replace(full, photos=photos, student={n: full.student[n] for n in photos},
                   teacher={n: full.teacher[n] for n in photos}, student_lab={n: full.student_lab[n] for n in photos},
                   teacher_lab={n: full.teacher_lab[n] for n in photos}, frames=full.frames[:frames],
                   motion=full.motion[:max(frames - 1, 0)], student_flicker=None)
    if len(refs.frames) > 1:
        refs.student_flicker = flicker_metric.flicker([enhance_array(student, f) for f in refs.frames], refs.motion)
    else:
        refs.frames, refs.motion = [], []
    return refs


def at_fidelity(candidate: Candidate, level: FidelityLevel) -> Candidate:
    if level.calibration_images is None:
        return candidate
    quantization = candidate.quantization.model_copy(update={"calibration_images": level.calibration_images})
    return candidate.model_copy(update={"quantization": quantization})


def placement_of(candidate: Candidate) -> Placement:
    return Placement(parts={
        "low_res": Assignment(candidate.placement.low_res, candidate.quantization.low_res),
        "full_res": Assignment(candidate.placement.full_res, candidate.quantization.full_res)})


def cost_figures(net: nn.Module, placement: Placement, target: Target, latency: LatencyModel,
                 grid_every: int = 1) -> CostFigures:
    """Predicted latency (ms), MACs and peak memory (MB) on every budgeted workload, of the program
    compile ships for this placement (the full-res part as the fused kernel where it is one). A video
    workload's latency is per frame with the low-res part run on one frame in `grid_every`; MACs and
    memory are a key frame's."""
    latency_ms: dict[str, float] = {}
    macs: dict[str, int] = {}
    peak_memory_mb: dict[str, float] = {}
    for workload in target.budgets.latency_ms:
        full = placement.of("full_res")
        cost = shipped_student_cost(net, workload, full.precision, target.unit(full.unit).kind)
        latency_ms[workload] = workload_latency_ms(latency.predict(cost.ops, placement), workload, grid_every)
        macs[workload] = cost.macs
        peak_memory_mb[workload] = peak_memory_bytes(cost.ops, placement, target, cost.height) / 1e6
    return CostFigures(latency_ms=latency_ms, macs=macs, peak_memory_mb=peak_memory_mb)


def constraint_values(space: SearchSpace, target: Target, figures: CostFigures,
                      quality: CandidateQuality) -> dict[str, float]:
    """Optuna constraints: <= 0 is satisfied. Named so reports can say which budget a trial broke."""
    out: dict[str, float] = {}
    budgets = target.budgets.latency_ms
    for workload in (space.constraints.latency_budgets if space.constraints.latency_budgets is not None else budgets):
        budget = budgets[workload]
        if budget is not None:  # a null budget is reported, not constrained (latency.target.Budgets)
            out[f"latency_ms.{workload}"] = figures.latency_ms[workload] - budget.value
    if space.constraints.peak_memory:
        out["peak_memory_mb"] = max(figures.peak_memory_mb.values()) - target.budgets.peak_memory_mb.value
    allowance = space.constraints.max_flicker_increase
    if allowance is not None and quality.flicker is not None and quality.flicker_student is not None:
        out["flicker"] = quality.flicker - (quality.flicker_student + allowance)
    return out


def objective_values(space: SearchSpace, figures: CostFigures, quality: CandidateQuality) -> list[float]:
    values = []
    for name in space.objectives:
        value = figures.latency_ms[name.split(".", 1)[1]] if name.startswith("latency_ms.") else quality.metric(name)
        if value is None or not math.isfinite(value):
            raise AicamError(f"objective {name} is {value}: the candidate's outputs are not finite (NaN/inf) or "
                             "the metric was not measured (flicker needs evaluation frames)")
        values.append(float(value))
    return values


def _finite_quality(quality: CandidateQuality, stage: str) -> None:
    bad = quality.non_finite()
    if bad:
        raise AicamError(f"{stage}: the candidate's outputs give non-finite {', '.join(bad)} (NaN or inf pixels); "
                         "the transform broke the model")


def promoted(space: SearchSpace, constraints: dict[str, float], screen_quality: CandidateQuality) -> bool:
    rule = space.fidelity.promote
    if rule.within_budgets and any(v > 0 for k, v in constraints.items() if k != "flicker"):
        return False
    return screen_quality.psnr_drop_vs_student <= rule.max_psnr_drop


def save_sample(path: Path, refs: References, enhance: Callable[[np.ndarray], np.ndarray]) -> None:
    """input | candidate output of the first evaluation pair (FiveK, or a pseudo-pair), side by side, for the report."""
    name = sorted(refs.pairs)[0]
    before = refs.pairs[name][0]
    scale = max(1, int(math.ceil(max(before.shape[:2]) / 512)))
    before = before[::scale, ::scale]
    after = np.clip(enhance(before), 0, 1)
    write_photo(path, np.concatenate([before, after], axis=1))


class Objective:
    """The callable Optuna runs: one trial, returns the objective values."""

    def __init__(self, ctx: SearchContext, build: Callable[..., Any] = build_candidate):
        self.ctx = ctx
        self.build = build  # injectable so tests can make a transform fail

    def __call__(self, trial: optuna.Trial) -> list[float]:
        ctx = self.ctx
        candidate = suggest_candidate(trial, ctx.space, ctx.target)
        record = TrialRecord(candidate=candidate, candidate_key=candidate_key(candidate))
        record.store(trial)
        earlier = self._earlier_result(trial, record.candidate_key)
        if earlier is not None:
            return earlier
        try:
            return self._measure(trial, record)
        except Exception as err:  # recorded on the trial; the study goes on (optimize(catch=...))
            record.fail_reason = f"{type(err).__name__}: {err}"[:2000]
            record.store(trial, "fail_reason")
            raise

    def _earlier_result(self, trial: optuna.Trial, key: str) -> list[float] | None:
        """The values of an earlier complete trial of the same candidate, its record copied onto `trial`."""
        for other in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            earlier = TrialRecord.from_trial(other)
            if earlier.candidate_key == key and other.number != trial.number:
                reused = earlier.reused(other.number)
                reused.store(trial, *(name for name in reused.to_json() if name not in ("candidate", "candidate_key")))
                _set_constraints(trial, earlier.constraints or {})
                return list(other.values)
        return None

    def _build(self, candidate: Candidate, level: FidelityLevel, refs: References) -> Any:
        ctx = self.ctx
        return self.build(at_fidelity(candidate, level), ctx.source, recover_steps=level.recover_steps,
                          student=ctx.student, teacher=ctx.teacher, refs=refs)

    def _measure(self, trial: optuna.Trial, record: TrialRecord) -> list[float]:
        ctx, space = self.ctx, self.ctx.space
        candidate = record.candidate
        clock = time.perf_counter()
        screen = self._build(candidate, space.fidelity.screen, ctx.refs_screen)
        quality = screen.metrics.quality
        _finite_quality(quality, "screen")
        figures = cost_figures(screen.float_net, placement_of(candidate), ctx.target, ctx.latency,
                               candidate.video.grid_every)
        constraints = constraint_values(space, ctx.target, figures, quality)
        record.screen = ScreenResult(quality=quality, seconds=round(time.perf_counter() - clock, 2))
        record.params_count = screen.metrics.params
        record.fidelity = "screen"
        record.store(trial, "screen", "params_count", "fidelity")

        if promoted(space, constraints, quality):
            clock = time.perf_counter()
            full = self._build(candidate, space.fidelity.full, ctx.refs_full)
            quality = full.metrics.quality
            _finite_quality(quality, "full evaluation")
            constraints = constraint_values(space, ctx.target, figures, quality)
            # the trial's folder records its predicted figures per budgeted workload too
            full.metrics.latency_ms, full.metrics.macs = figures.latency_ms, figures.macs
            full.metrics.peak_memory_mb = figures.peak_memory_mb
            folder = write_outputs(full, ctx.reports.trial(trial.number).path, onnx=False)
            save_sample(folder.sample, ctx.refs_full, lambda img: enhance_array(full.deployed, img))
            record.fidelity = "full"
            record.dir = ReportFolder.trial_dir(trial.number)
            record.full_seconds = round(time.perf_counter() - clock, 2)
            record.store(trial, "fidelity", "dir", "full_seconds")

        record.quality, record.figures, record.constraints = quality, figures, constraints
        record.store(trial, "quality", "figures", "constraints")
        _set_constraints(trial, constraints)
        return objective_values(space, figures, quality)


def _set_constraints(trial: optuna.Trial, constraints: dict[str, float]) -> None:
    for name, value in constraints.items():
        trial.set_constraint(name, value)

def make_context(space: SearchSpace, target: Target, source: DataSource, out_dir: Path,
                 student: StudentNet | None = None, teacher: nn.Module | None = None) -> SearchContext:
    """Load the models and compute the references every trial compares against (once per run)."""
    from ..compress.evaluation import references
    from ..latency.model import LatencyModel, load_calibration
    from ..models.checkpoints import resolve_model

    student = student if student is not None else resolve_model(space.base)
    teacher = teacher if teacher is not None else resolve_model("teacher")
    full, screen = space.fidelity.full, space.fidelity.screen
    refs = references(source, lambda img: enhance_array(student, img), lambda img: enhance_array(teacher, img),
                      max(full.frames, screen.frames))
    if not full.photos or screen.frames > full.frames:
        refs = subset_references(refs, student, full.frames, full.photos)
    screen_refs = subset_references(refs, student, screen.frames, screen.photos)
    return SearchContext(space, target, LatencyModel(target, load_calibration(target.name)), source, student, teacher,
                         refs, screen_refs, out_dir)


def _fastest(ctx: SearchContext, precisions: tuple[str, ...]) -> Placement:
    """The student's placement, each part on a calibrated unit at one of `precisions`, that runs the
    latency objective's workload fastest."""
    pairs = sorted(p for p in calibrated_pairs(ctx.latency) if p[1] in precisions)
    workload = ctx.space.latency_objective
    # the shipped program depends only on the full-res unit and precision: costed once per pair, not per
    # combination of the two parts' pairs
    ops = {(unit, precision): shipped_student_cost(ctx.student, workload, precision, ctx.target.unit(unit).kind).ops
           for unit, precision in pairs}

    def predicted(low: tuple[str, str], full: tuple[str, str]) -> float:
        placement = Placement(parts={"low_res": Assignment(*low), "full_res": Assignment(*full)})
        return ctx.latency.predict(ops[full], placement).latency_ms

    low, full = min(((low, full) for low in pairs for full in pairs), key=lambda lf: predicted(*lf))
    return Placement(parts={"low_res": Assignment(*low), "full_res": Assignment(*full)})


def student_figures(ctx: SearchContext) -> StudentRecord:
    """The uncompressed student, the reference of every speed-up: float32 (no compression), each part on
    the unit where it runs fastest at fp32 for the latency objective's workload; and, so that a winner's
    speed-up can be told apart from what placement alone buys, the student at its fastest placement
    with fp16 allowed (still no pruning or int8)."""
    placement = _fastest(ctx, ("fp32",))
    best = _fastest(ctx, ("fp32", "fp16"))
    figures = cost_figures(ctx.student, placement, ctx.target, ctx.latency)
    best_figures = cost_figures(ctx.student, best, ctx.target, ctx.latency)
    named = lambda p: {part: f"{p.of(part).unit}:{p.of(part).precision}" for part in ("low_res", "full_res")}  # noqa: E731
    return StudentRecord(**dict(figures), placement=named(placement),
                         best_placement=named(best), best_latency_ms=best_figures.latency_ms,
                         quality=StudentQuality(psnr=ctx.refs_full.student_psnr, flicker=ctx.refs_full.student_flicker),
                         params=sum(p.numel() for p in ctx.student.parameters()),
                         measured_on=EvaluationSet(data=ctx.source.description, **ctx.refs_full.evaluation_set()))


def calibrated_pairs(latency: LatencyModel) -> set[tuple[str, str]]:
    """(unit, precision) pairs the target's calibration prices through each unit's default runtime (the
    runtime the search places parts on)."""
    return {(name, precision) for name, unit in latency.target.units.items()
            for precision in latency.calibration.precisions(name, unit.figures_runtime(None))}
