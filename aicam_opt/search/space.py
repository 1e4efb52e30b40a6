"""The search space: `search_spaces/*.yaml`, validated, and how a trial turns into a Candidate.

Each knob lists the values the sampler may choose (categorical: the compression transforms come in
discrete steps anyway: channel multiples, grid sizes, precisions). A part's unit and precision are
one knob (`"dsp:int8"`), so the sampler never proposes a precision the unit cannot run; the
choices are checked against the target when the space is loaded.

    name: default
    sampler: {kind: tpe, seed: 0, startup_trials: 8}
    objectives: [psnr_drop_vs_student, deltae_vs_student, latency_ms.preview]
    constraints: {latency_budgets: [preview, photo100mp], peak_memory: true, max_flicker_increase: 0.15}
    knobs:
      architecture: {num_branches: [1, 2, 3], switch: [soft, hard], ...}
      pruning: {groups: [splat, trunk, ...], ratios: [0.0, 0.25, 0.5], importance: [magnitude]}
      low_res: ["dsp:int8", "cpu:fp16"]
      full_res: ["gpu:fp16", "cpu:fp16"]
      video: {grid_every: [1, 2, 4]}   # optional; left out: the grid on every frame
    fidelity: {screen: {...}, full: {...}, promote: {...}}
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import optuna
from pydantic import Field, PrivateAttr, field_validator, model_validator

from ..compress.candidate import MAX_GRID_EVERY, Candidate, Importance, LayerGroup, VideoSpec
from ..config import Config, load_yaml
from ..errors import AicamError
from ..latency.target import Target

SEARCH_SPACES_DIR = Path(__file__).resolve().parents[2] / "search_spaces"

# Objective names: a quality metric of compress.evaluation.candidate_quality, or latency_ms.<workload>.
QUALITY_OBJECTIVES = ("psnr_drop_vs_student", "deltae_vs_student", "flicker")


class SamplerSpec(Config):
    kind: Literal["tpe", "nsga2", "random"] = "tpe"
    seed: int = 0
    startup_trials: int = Field(8, ge=1, description="tpe: random trials before the model takes over")
    population: int = Field(12, ge=2, description="nsga2: population size")


class ConstraintSpec(Config):
    latency_budgets: list[str] | None = Field(None, description="workloads whose latency budget is a constraint "
                                              "(null: every budget of the target)")
    peak_memory: bool = Field(True, description="the target's peak memory budget, at every budgeted workload")
    max_flicker_increase: float | None = Field(0.15, ge=0, description="8-bit levels of flicker over the "
                                               "uncompressed student's on the evaluation clip; null: no limit")


class ArchitectureKnobs(Config):
    """Choices per switch/guidance-map field; a field left out keeps the student's value."""

    num_branches: list[int] | None = None
    switch: list[Literal["soft", "hard"]] | None = None
    guide: list[Literal["ccm_curve", "luma_curve"]] | None = None
    self_similarity: list[bool] | None = None
    grid_depth: list[int] | None = None
    curve_knots: list[int] | None = None
    grid_size: list[int] | None = None
    lowres_size: list[int] | None = None

    @model_validator(mode="after")
    def _every_choice_makes_a_student(self) -> "ArchitectureKnobs":
        """A choice no student can take (num_branches 0, grid_size 1, ...) would fail every trial that
        draws it: refused when the space is loaded, before any work."""
        from pydantic import ValidationError

        from ..models.student import StudentConfig

        for name, choices in self.model_dump(exclude_none=True).items():
            if not choices:
                raise ValueError(f"{name}: give at least one choice, or leave the knob out")
            for value in choices:
                try:
                    StudentConfig(**{name: value})
                except ValidationError as err:
                    reason = err.errors()[0]["msg"]
                    raise ValueError(f"{name}: {value!r} is not a student the search can build ({reason}); "
                                     "remove it from the choices") from None
        return self


class PruningKnobs(Config):
    groups: list[LayerGroup] = Field(default_factory=list, description="layer groups with their own ratio knob")
    ratios: list[float] = Field(default_factory=lambda: [0.0], description="the ratios each group may take")
    importance: list[Importance] = Field(default_factory=lambda: ["magnitude"])

    @field_validator("ratios")
    @classmethod
    def _ratios_in_range(cls, v: list[float]) -> list[float]:
        if any(not 0 <= r < 1 for r in v):
            raise ValueError(f"pruning ratios must be in [0, 1), got {v}")
        return v


class VideoKnobs(Config):
    """How candidates run video (compress.candidate.VideoSpec); left out: the grid on every frame."""

    grid_every: list[int] = Field(default_factory=lambda: [1], description="key frame every N frames: the low-res "
                                  "part's time on video workloads / N, flicker measured with the reuse")

    @field_validator("grid_every")
    @classmethod
    def _whole_frames(cls, v: list[int]) -> list[int]:
        if not v or any(not 1 <= n <= MAX_GRID_EVERY for n in v):
            raise ValueError(f"grid_every choices must be whole numbers of frames from 1 (every frame) to "
                             f"{MAX_GRID_EVERY}, got {v}")
        return v


class Knobs(Config):
    architecture: ArchitectureKnobs = ArchitectureKnobs()
    pruning: PruningKnobs = PruningKnobs()
    video: VideoKnobs = VideoKnobs()
    low_res: list[str] = Field(default_factory=lambda: ["cpu:fp32"], description="unit:precision choices")
    full_res: list[str] = Field(default_factory=lambda: ["cpu:fp32"], description="unit:precision choices")

    @field_validator("low_res", "full_res")
    @classmethod
    def _unit_precision(cls, v: list[str]) -> list[str]:
        for choice in v:
            if choice.count(":") != 1:
                raise ValueError(f"'{choice}' is not unit:precision (e.g. dsp:int8)")
        if not v:
            raise ValueError("needs at least one unit:precision choice")
        return v


class FidelityLevel(Config):
    recover_steps: int = Field(0, ge=0, description="distillation steps after the transforms")
    photos: bool = Field(True, description="evaluate on the evaluation photos too, not only the FiveK pairs")
    frames: int = Field(8, ge=0, description="frames of the evaluation clip for flicker (0: no flicker)")
    calibration_images: int | None = Field(None, ge=1, description="int8 activation-range photos (null: the "
                                           "candidate's own, 32); fewer makes a cheap screen")


class PromoteRule(Config):
    """Which screened candidates earn the full evaluation (recovery + all images)."""

    max_psnr_drop: float = Field(1.0, description="screened PSNR drop at most this (what recovery can win back)")
    within_budgets: bool = Field(True, description="only candidates whose predicted latency and memory fit the budgets")


class Fidelity(Config):
    screen: FidelityLevel = FidelityLevel(recover_steps=0, photos=False, frames=4, calibration_images=8)
    full: FidelityLevel = FidelityLevel(recover_steps=20, photos=True, frames=8)
    promote: PromoteRule = PromoteRule()


class SearchSpace(Config):
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: str = Field("student", description="the student to compress: 'student' or a checkpoint path")
    sampler: SamplerSpec = SamplerSpec()
    objectives: list[str] = Field(default_factory=lambda: ["psnr_drop_vs_student", "deltae_vs_student",
                                                           "latency_ms.preview"], min_length=1)
    constraints: ConstraintSpec = ConstraintSpec()
    knobs: Knobs = Knobs()
    fidelity: Fidelity = Fidelity()
    quality_tolerance_db: float = Field(0.3, gt=0, description="'within X dB of the student' for the winners")
    _source: Path | None = PrivateAttr(None)  # the YAML file it was read from (load_space); None if built in code

    @property
    def source(self) -> str:
        """The space as a message names it: its file, or its name when it was built in code."""
        return str(self._source) if self._source is not None else f"the search space '{self.name}'"

    @model_validator(mode="after")
    def _objectives_known(self) -> "SearchSpace":
        for name in self.objectives:
            if name not in QUALITY_OBJECTIVES and not name.startswith("latency_ms."):
                raise ValueError(f"objective '{name}' is unknown; use {', '.join(QUALITY_OBJECTIVES)} or "
                                 "latency_ms.<workload> (a workload with a budget in the target)")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives repeat a name: {self.objectives}")
        return self

    @property
    def latency_objective(self) -> str:
        """The workload of the first latency objective (the Pareto plots' x axis)."""
        return next((o.split(".", 1)[1] for o in self.objectives if o.startswith("latency_ms.")), "preview")

    def check_against(self, target: Target, calibrated: set[tuple[str, str]] | None = None) -> None:
        """Every unit:precision choice exists on the target (and, given `calibrated`, has calibrated latency
        figures) and every latency objective has a budget."""
        if target.budgets is None:
            raise AicamError(f"targets/{target.name}.yaml has no `budgets:` block (the workloads a search prices and the "
                             "limits it keeps); add one (schema: Budgets in aicam_opt/latency/target.py) to search for it")
        where = f"search space '{self.name}'"
        for part in ("low_res", "full_res"):
            for choice in getattr(self.knobs, part):
                unit, precision = choice.split(":")
                if unit not in target.units:
                    raise AicamError(f"{where}: knobs.{part} choice '{choice}': target '{target.name}' has no unit "
                                     f"'{unit}'; its units are {', '.join(target.units)}")
                if precision not in target.units[unit].precisions:
                    raise AicamError(f"{where}: knobs.{part} choice '{choice}': the {unit} of {target.name} runs "
                                     f"only {', '.join(target.units[unit].precisions)}; remove the choice")
                if calibrated is not None and (unit, precision) not in calibrated:
                    raise AicamError(f"{where}: knobs.{part} choice '{choice}': targets/calibration/{target.name}.json "
                                     f"has no figures for it (calibrated: {', '.join(sorted(':'.join(c) for c in calibrated))}); "
                                     f"remove the choice or add measurements and run `aicam-opt calibrate --target {target.name}`")
        budgets = target.budgets.latency_ms
        for workload in self.constraints.latency_budgets or []:
            if workload not in budgets:
                raise AicamError(f"{where}: constraints.latency_budgets names '{workload}', which has no budget in "
                                 f"targets/{target.name}.yaml; use some of {', '.join(budgets)}")
            if budgets[workload] is None:
                raise AicamError(f"{where}: constraints.latency_budgets names '{workload}', whose budget in "
                                 f"targets/{target.name}.yaml is null (reported, not constrained); drop it from "
                                 "latency_budgets or give the target a budget for it")
        for name in self.objectives:
            if name.startswith("latency_ms.") and name.split(".", 1)[1] not in budgets:
                raise AicamError(f"{where}: objective '{name}': the workload has no latency budget in "
                                 f"targets/{target.name}.yaml; use one of {', '.join('latency_ms.' + w for w in budgets)}")


def load_space(spec: str | Path) -> SearchSpace:
    """A search space by name (search_spaces/<name>.yaml) or path."""
    path = Path(spec)
    if not path.suffix:
        path = SEARCH_SPACES_DIR / f"{spec}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in SEARCH_SPACES_DIR.glob("*.yaml"))
        raise AicamError(f"search space '{spec}' not found ({path}); known: {', '.join(known) or 'none'}, "
                         "or give a path to a YAML file")
    space = load_yaml(path, SearchSpace)
    space._source = path
    return space


def suggest_candidate(trial: optuna.Trial, space: SearchSpace, target: Target) -> Candidate:
    """Sample every knob of `space` in `trial` and describe the result as a Candidate."""
    arch = {field: trial.suggest_categorical(field, choices)
            for field, choices in space.knobs.architecture.model_dump().items() if choices}
    pruning = space.knobs.pruning
    ratios = {g: trial.suggest_categorical(f"prune_{g}", pruning.ratios) for g in pruning.groups}
    importance = trial.suggest_categorical("importance", pruning.importance) if pruning.groups else "magnitude"
    low_unit, low_precision = trial.suggest_categorical("low_res", space.knobs.low_res).split(":")
    full_unit, full_precision = trial.suggest_categorical("full_res", space.knobs.full_res).split(":")
    # a single choice is not a parameter of the study (a space without the knob samples as it always did)
    grid_choices = space.knobs.video.grid_every
    grid_every = trial.suggest_categorical("grid_every", grid_choices) if len(grid_choices) > 1 else grid_choices[0]
    description = {
        "name": f"{space.name}-t{trial.number:04d}",
        "description": f"trial {trial.number} of search '{space.name}'",
        "target": target.name,
        "base": space.base,
        "architecture": arch,
        "pruning": {"ratios": {g: r for g, r in ratios.items() if r > 0}, "importance": importance},
        "quantization": {"low_res": low_precision, "full_res": full_precision},
        "placement": {"low_res": low_unit, "full_res": full_unit},
        "video": {"grid_every": grid_every},
    }
    return Candidate.model_validate(description)


def candidate_key(candidate: Candidate) -> str:
    """Identity of what a candidate computes (name and description excluded): equal keys, equal results.
    Video settings at their defaults are left out, so a candidate keeps the key it had before they existed."""
    body = candidate.model_dump(mode="json", exclude={"name", "description"})
    if body["video"] == VideoSpec().model_dump(mode="json"):
        del body["video"]
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def sampler_for(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The sampler the space names, seeded. Budgets reach it as trial constraints (Trial.set_constraint):
    TPE and NSGA-II prefer feasible trials."""
    s = space.sampler
    if s.kind == "tpe":
        # multivariate: the knobs interact (a precision only pays off on some units, pruning on some widths).
        return optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=s.startup_trials, multivariate=True)
    if s.kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=s.seed, population_size=s.population)
    return optuna.samplers.RandomSampler(seed=s.seed)

