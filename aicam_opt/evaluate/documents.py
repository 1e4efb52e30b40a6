"""The quality report of `aicam-opt evaluate` (shape in aicam_opt/evaluate/cli.py), one schema for the
writer (`--json`, `--out`) and its readers (the training manifest's eval figures, CI). Blocks named
by model (identity, teacher, student, model, <model>_grid_held) are typed as open mappings of the
same scores. It has no `schema` key (it never had one)."""
from __future__ import annotations

from pydantic import ConfigDict

from ..config import Document, JsonBlock


class PairScores(JsonBlock):
    psnr: float
    ssim: float
    deltae: float


class FivekScores(JsonBlock):
    """Means over the FiveK pairs (absent without pairs) and each pair's scores."""

    psnr: float | None = None
    ssim: float | None = None
    deltae: float | None = None
    per_pair: dict[str, PairScores]


class FivekBlock(JsonBlock):
    model_config = ConfigDict(extra="allow")

    pairs: list[str]
    __pydantic_extra__: dict[str, FivekScores]  # one entry per model, "identity" first


class Difference(JsonBlock):
    """Mean PSNR / ΔE2000 of one set of outputs against another, over `images` images."""

    psnr: float
    deltae: float
    images: int


class FlickerBlock(JsonBlock):
    """Empty without a clip."""

    model_config = ConfigDict(extra="allow")

    clip: str | None = None
    frames: int | None = None
    size: list[int] | None = None
    __pydantic_extra__: dict[str, float]  # 8-bit levels per model, "input" first


class FlickerByLuma(JsonBlock):
    """Empty without a clip."""

    model_config = ConfigDict(extra="allow")

    bands: list[list[float]] | None = None
    share: list[float] | None = None
    __pydantic_extra__: dict[str, list[float | None]]  # per model, one value per band (None: no pixels in it)


class EvaluationReport(Document):
    data: str
    split: str                      # "eval" | "all" (--data given explicitly)
    fivek: FivekBlock
    fidelity: dict[str, Difference]
    scale_consistency: dict[str, Difference]
    flicker: FlickerBlock
    flicker_by_luma: FlickerByLuma
    models: dict[str, str] | None = None
