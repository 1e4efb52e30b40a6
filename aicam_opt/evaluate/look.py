"""Whether a look keeps a photographer's detail and leaves a finished photo alone (issue #22).

Measured per model, from the outputs `aicam-opt evaluate` already computes (nothing is enhanced twice
except the Expert C retouches, a few small images):
- tone: clipped-highlight and crushed-shadow fractions (`tone.tone_extremes`: all channels at the
  8-bit extremes, and the Rec. 709 luma variant) of the output against the input's, on every
  evaluation image and on every frame of the clip: the mean over images, the worst image, and the
  largest increase over the input on any one image;
- dark: the same on the darkest evaluation images, the DARK_SHARE of them with the lowest mean input
  luma (the photos as they are, not exposure-lowered copies): a dark input should get its shadows
  lifted, not crushed;
- retouched: model(Expert C) against Expert C over the FiveK evaluation pairs (PSNR, ΔE2000): how
  much the look changes a photo a professional already finished;
- flicker over pixels unclipped in input and output: `flicker.flicker(..., unclipped_in=frames)`.

`look_bars(report)` reads a report's figures against the issue's done-when bars.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from skimage.color import rgb2gray

from ..errors import AicamError
from .quality import mean_difference
from .tone import ToneExtremes, tone_extremes

Enhancer = Callable[[np.ndarray], np.ndarray]
DARK_SHARE = 0.25
VARIANTS = ("highlights", "highlights_luma", "shadows", "shadows_luma")
# The done-when bars of issue #22, in fractions of the image's pixels and dB.
HIGHLIGHT_MEAN_MARGIN = 0.005
HIGHLIGHT_WORST_MARGIN = 0.03
RETOUCHED_MIN_PSNR = 25.0


def _fractions(images: Mapping[str, np.ndarray]) -> dict[str, ToneExtremes]:
    return {name: tone_extremes(img) for name, img in images.items()}


def _summary(fractions: dict[str, ToneExtremes], inputs: dict[str, ToneExtremes] | None) -> dict:
    """Per variant: mean and worst fraction over the images; against `inputs` (a model's output) also
    the largest increase over the input on one image."""
    if not fractions:
        raise AicamError("tone extremes: no image to measure (the evaluation set is empty); give a data folder "
                         "with evaluation photos or FiveK pairs")
    out = {}
    for variant in VARIANTS:
        values = {name: getattr(t, variant) for name, t in fractions.items()}
        worst = max(values, key=values.get)
        figures: dict = {"mean": float(np.mean(list(values.values()))), "worst": values[worst], "worst_image": worst}
        if inputs is not None:
            increase = {name: v - getattr(inputs[name], variant) for name, v in values.items()}
            most = max(increase, key=increase.get)
            figures |= {"worst_increase": increase[most], "worst_increase_image": most}
        out[variant] = figures
    return out


def tone_block(inputs: Mapping[str, np.ndarray], outputs: Mapping[str, Mapping[str, np.ndarray]]) -> dict:
    """{"images": n, "input": figures, <model>: figures} over the images of `inputs`; `outputs[model]`
    holds the model's output for every one of them (same names)."""
    measured = _fractions(inputs)
    block: dict = {"images": len(measured), "input": _summary(measured, None)}
    for model, images in outputs.items():
        block[model] = _summary(_fractions({n: images[n] for n in inputs}), measured)
    return block


def darkest(inputs: Mapping[str, np.ndarray], share: float = DARK_SHARE) -> dict[str, float]:
    """The `share` darkest images (at least one) by mean Rec. 709 luma, darkest first: name -> mean luma."""
    luma = sorted(((float(rgb2gray(np.clip(x, 0, 1)).mean()), name) for name, x in inputs.items()))
    return {name: value for value, name in luma[:max(1, math.ceil(share * len(luma)))]}


def dark_block(inputs: Mapping[str, np.ndarray], outputs: Mapping[str, Mapping[str, np.ndarray]]) -> dict:
    """`tone_block` on the `darkest` evaluation images, with which ones and why."""
    dark = darkest(inputs)
    images, *figures = tone_block({n: inputs[n] for n in dark}, outputs).items()
    return {images[0]: images[1],
            "definition": f"the {len(dark)} darkest of the {len(inputs)} evaluation images by mean input luma "
                          f"(Rec. 709; the darkest {DARK_SHARE:.0%}, as they are, not exposure-lowered)",
            "mean_luma": dark, **dict(figures)}


def retouched(enhancers: Mapping[str, Enhancer], pairs: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Per model: PSNR / ΔE2000 of model(Expert C) against Expert C over `pairs` (input, Expert C)."""
    experts = {name: y for name, (_, y) in pairs.items()}
    return {model: mean_difference({n: enhance(y) for n, y in experts.items()}, experts)
            for model, enhance in enhancers.items()}


@dataclass(frozen=True)
class Bar:
    measure: str    # what is measured, on what
    value: float
    bar: str        # the done-when condition, with its reference value
    passed: bool
    fraction: bool = False  # value is a fraction of the pixels (shown in percent)

    @property
    def shown(self) -> str:
        return _pt(self.value) if self.fraction else f"{self.value:.3f}" if "flicker" in self.measure else f"{self.value:.2f}"


def _pt(fraction: float) -> str:
    return f"{fraction * 100:.2f} %"


def look_bars(report: Mapping, model: str = "student", reference: str = "teacher") -> list[Bar]:
    """The figures of issue #22's done-when in an `aicam-opt evaluate` report, for `model` (against the
    input, and against `reference` for the FiveK score and flicker)."""
    for key in ("tone", "retouched"):
        if not report.get(key) or model not in (report[key].get("photos", report[key]) if key == "tone" else report[key]):
            raise AicamError(f"the evaluation report has no '{key}' figures for {model}; run `aicam-opt evaluate` "
                             "with this version and that model")
    bars: list[Bar] = []
    fivek = report["fivek"]
    if reference in fivek and model in fivek:
        ident, ref, mod = fivek["identity"], fivek[reference], fivek[model]
        bars += [Bar(f"{reference} FiveK PSNR (dB)", ref["psnr"], f">= identity + 2 = {ident['psnr'] + 2:.2f}",
                     ref["psnr"] >= ident["psnr"] + 2),
                 Bar(f"{reference} FiveK ΔE2000", ref["deltae"], f"< identity {ident['deltae']:.2f}",
                     ref["deltae"] < ident["deltae"]),
                 Bar(f"{model} FiveK PSNR (dB)", mod["psnr"], f">= {reference} - 0.5 = {ref['psnr'] - 0.5:.2f}",
                     mod["psnr"] >= ref["psnr"] - 0.5)]
    tone = report["tone"]
    for where in ("photos", "clip"):
        block = tone.get(where)
        if not block:
            continue
        inp, out = block["input"]["highlights"], block[model]["highlights"]
        bars += [Bar(f"{model} clipped highlights, mean over {where}", out["mean"],
                     f"<= input + 0.5 pt = {_pt(inp['mean'] + HIGHLIGHT_MEAN_MARGIN)}",
                     out["mean"] <= inp["mean"] + HIGHLIGHT_MEAN_MARGIN, fraction=True),
                 Bar(f"{model} clipped highlights, largest rise on one of the {where} ({out['worst_increase_image']})",
                     out["worst_increase"], "<= + 3 pt", out["worst_increase"] <= HIGHLIGHT_WORST_MARGIN, fraction=True)]
    dark_in, dark_out = tone["dark"]["input"]["shadows"], tone["dark"][model]["shadows"]
    bars.append(Bar(f"{model} crushed shadows, mean over the dark images", dark_out["mean"],
                    f"<= input = {_pt(dark_in['mean'])}", dark_out["mean"] <= dark_in["mean"], fraction=True))
    psnr = report["retouched"][model]["psnr"]
    bars.append(Bar(f"{model}(Expert C) vs Expert C PSNR (dB)", psnr, f">= {RETOUCHED_MIN_PSNR:g}", psnr >= RETOUCHED_MIN_PSNR))
    for key, label in (("flicker", "all pixels"), ("flicker_unclipped", "pixels unclipped in input and output")):
        figures = report.get(key) or {}
        if model in figures and reference in figures:
            bars.append(Bar(f"{model} flicker, {label} (8-bit levels)", figures[model],
                            f"<= {reference} {figures[reference]:.3f}", figures[model] <= figures[reference]))
    return bars
