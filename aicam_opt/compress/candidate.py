"""A compression candidate: one typed, validated description of a smaller student.

    name: int8_lowres
    target: sd865
    architecture: {num_branches: 3, switch: soft, guide: ccm_curve, self_similarity: true,
                   grid_depth: 8, curve_knots: 16, grid_size: 16, lowres_size: 256}   # null/absent: keep the student's
    pruning: {ratios: {trunk: 0.5, local: 0.5}, importance: magnitude, protected: []}
    quantization: {low_res: int8, full_res: fp16}
    placement: {low_res: dsp, full_res: gpu}
    video: {grid_every: 4}   # absent: 1, the grid predicted on every frame

`check_feasible(candidate, base_config)` rejects what cannot be built or cannot run (a precision the
unit does not support, a grid below the network's minimum) before any compute: loading the target
file and the student's config is all it does.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..config import Config
from ..errors import AicamError
from ..latency.target import Precision, Target, UnitName, load_target
from ..models.student import StudentConfig

# Prunable layer groups of the low-res path (their output channels):
#   splat    the stride-2 stages (the image features at 1/2, 1/4, ... of the low-res input)
#   trunk    the fused feature width: local and global outputs, the switch's and every branch's input
#   local    between the two local-feature blocks
#   global   the two global-feature blocks
#   branches the refine block of each effect branch
# Never pruned (their outputs define the model's interface): the switch classifier, the
# self-similarity query/key, the grid heads (12 x D channels) and the whole full-res path.
LayerGroup = Literal["splat", "trunk", "local", "global", "branches"]
LAYER_GROUPS: tuple[str, ...] = ("splat", "trunk", "local", "global", "branches")
Importance = Literal["magnitude", "l1", "taylor", "bn_scale"]

# The low-res network's own floor: its global branch halves the G x G feature map twice (G >= 4),
# and the trilinear slice needs two luminance bins (D >= 2).
MIN_GRID_SIZE = 4
MIN_GRID_DEPTH = 2


class ArchitectureSpec(Config):
    """Switch and guidance-map configuration. A field left null keeps the source student's value."""

    num_branches: int | None = Field(None, ge=1, le=16, description="K effect branches (fewer: the most used are kept)")
    switch: Literal["soft", "hard"] | None = Field(None, description="hard: top-1, one branch computed per image")
    guide: Literal["ccm_curve", "luma_curve"] | None = None
    self_similarity: bool | None = None
    grid_depth: int | None = Field(None, ge=1, le=32, description="D: luminance bins of the bilateral grid")
    curve_knots: int | None = Field(None, ge=2, le=64, description="knots of the guide's tone curves (fewer: "
                                    "less arithmetic per full-res pixel)")
    grid_size: int | None = Field(None, ge=1, le=64, description="G: spatial cells per side")
    lowres_size: int | None = Field(None, ge=32, le=1024, description="side of the square low-res input")


class PruningSpec(Config):
    ratios: dict[LayerGroup, Annotated[float, Field(ge=0.0, lt=1.0)]] = Field(default_factory=dict,
                                            description="fraction of each group's channels to remove, in [0, 1)")
    importance: Importance = Field("magnitude", description="channel ranking: magnitude (L2), l1, taylor "
                                   "(|w * dL/dw| on training crops), bn_scale (|gamma| of the batch norms)")
    protected: list[LayerGroup] = Field(default_factory=list, description="groups never pruned whatever `ratios` says")

    def ratio(self, group: str) -> float:
        return 0.0 if group in self.protected else self.ratios.get(group, 0.0)  # type: ignore[arg-type]

    @property
    def active(self) -> bool:
        return any(self.ratio(g) > 0 for g in LAYER_GROUPS)


class QuantizationSpec(Config):
    """Precision of each part. int8 low-res: NNCF post-training quantization calibrated on training photos."""

    low_res: Precision = "fp32"
    full_res: Precision = "fp32"
    calibration_images: int = Field(32, ge=1, le=1000, description="training-split photos for activation ranges")


MAX_GRID_EVERY = 64  # about two seconds of video on one grid: a longer hold is a still, not a stream


class VideoSpec(Config):
    """How the candidate runs video (runtime/grid_reuse.py)."""

    grid_every: int = Field(1, ge=1, le=MAX_GRID_EVERY, description="the low-res part predicts the grid on one frame in N and "
                            "the frames between reuse it: video workloads are priced with its time / N, flicker is "
                            "measured with the reuse (`aicam-opt enhance --grid-every N` runs it)")


class PlacementSpec(Config):
    low_res: UnitName = "cpu"
    full_res: UnitName = "cpu"


class Candidate(Config):
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    target: str = Field("sd865", description="targets/<target>.yaml: supported precisions and channel multiples")
    base: str = Field("student", description="the student to start from: 'student' or a checkpoint path")
    architecture: ArchitectureSpec = ArchitectureSpec()
    pruning: PruningSpec = PruningSpec()
    quantization: QuantizationSpec = QuantizationSpec()
    placement: PlacementSpec = PlacementSpec()
    video: VideoSpec = VideoSpec()

    def student_config(self, base: StudentConfig) -> StudentConfig:
        """The configured (not yet pruned) architecture: `base` with the architecture fields overridden."""
        changes = {k: v for k, v in self.architecture.model_dump().items() if v is not None}
        fields = {**base.model_dump(), **changes, "widths": None}
        try:
            return StudentConfig.model_validate(fields)
        except ValueError as err:
            raise AicamError(f"candidate '{self.name}': architecture {changes} does not give a valid student: "
                             f"{_first_message(err)}. Choose grid_size so that lowres_size / grid_size is a power "
                             "of two >= 2") from None

    def channel_multiple(self, target: Target) -> int:
        """Channel counts of the low-res path are rounded to this: the vector width of its unit and precision."""
        return int(target.unit(self.placement.low_res).precision_spec(self.quantization.low_res).channel_multiple.value)


def _first_message(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    return errors()[0]["msg"] if callable(errors) else str(err)


def check_feasible(candidate: Candidate, base: StudentConfig | None) -> tuple[Target, StudentConfig | None]:
    """The target and configured StudentConfig, or AicamError naming what is impossible and the fix.

    With `base` None, everything that does not depend on the source student is checked (units,
    precisions, grid minimums) and no config is returned: a build calls this before loading anything."""
    name = f"candidate '{candidate.name}'"
    target = load_target(candidate.target)
    for part in ("low_res", "full_res"):
        unit_name = getattr(candidate.placement, part)
        precision = getattr(candidate.quantization, part)
        if unit_name not in target.units:
            raise AicamError(f"{name}: placement.{part} is '{unit_name}', which target '{target.name}' does not "
                             f"have; choose one of {', '.join(target.units)}")
        unit = target.units[unit_name]
        if precision not in unit.precisions:
            raise AicamError(f"{name}: quantization.{part} is {precision} but the {unit_name} ({unit.name}) of "
                             f"{target.name} supports only {', '.join(unit.precisions)} (targets/{target.name}.yaml); "
                             f"change the precision or place {part} on another unit")
    arch = candidate.architecture
    if arch.grid_size is not None and arch.grid_size < MIN_GRID_SIZE:
        raise AicamError(f"{name}: architecture.grid_size {arch.grid_size} is below the minimum {MIN_GRID_SIZE} "
                         "(the global branch halves the G x G features twice); use grid_size >= 4")
    if arch.grid_depth is not None and arch.grid_depth < MIN_GRID_DEPTH:
        raise AicamError(f"{name}: architecture.grid_depth {arch.grid_depth} is below the minimum {MIN_GRID_DEPTH} "
                         "(the trilinear slice interpolates between two luminance bins); use grid_depth >= 2")
    return target, (candidate.student_config(base) if base is not None else None)
