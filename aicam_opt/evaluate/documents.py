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


class ExtremeFraction(JsonBlock):
    """One tone-extreme variant over a set of images (fractions of the pixels, evaluate.look)."""

    mean: float
    worst: float
    worst_image: str
    worst_increase: float | None = None       # a model's output over the input, on one image
    worst_increase_image: str | None = None


class ToneFigures(JsonBlock):
    highlights: ExtremeFraction
    highlights_luma: ExtremeFraction
    shadows: ExtremeFraction
    shadows_luma: ExtremeFraction


class ToneSet(JsonBlock):
    model_config = ConfigDict(extra="allow")

    images: int
    __pydantic_extra__: dict[str, ToneFigures]  # "input" first, then one entry per model


class DarkToneSet(ToneSet):
    definition: str                 # which images count as dark
    mean_luma: dict[str, float]     # those images, darkest first


class ToneBlock(JsonBlock):
    """Empty for a report written before the tone figures existed."""

    photos: ToneSet | None = None
    dark: DarkToneSet | None = None
    clip: ToneSet | None = None     # absent without a clip


class EvaluationReport(Document):
    data: str
    split: str                      # "eval" | "all" (a --data folder without training-split images)
    split_reason: str | None = None  # which images were measured and why
    fivek: FivekBlock
    fidelity: dict[str, Difference]
    scale_consistency: dict[str, Difference]
    flicker: FlickerBlock
    flicker_by_luma: FlickerByLuma
    tone: ToneBlock = ToneBlock()
    retouched: dict[str, Difference] = {}        # model(Expert C) against Expert C
    flicker_unclipped: dict[str, float] = {}     # over pixels neither the input nor the output clips; "input" first
    models: dict[str, str] | None = None
