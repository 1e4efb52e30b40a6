"""The look's measurements (issue #22) on constructed images and models with known clipping."""
from __future__ import annotations

import numpy as np
import pytest

from aicam_opt.data import DataSource
from aicam_opt.errors import AicamError
from aicam_opt.evaluate.documents import EvaluationReport
from aicam_opt.evaluate.look import darkest, look_bars, retouched, tone_block
from aicam_opt.evaluate.report import evaluate
from aicam_opt.evaluate.tone import tone_extremes


def doubled(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 2.0, 0.0, 1.0)


def constructed(bright_rows: int, dark_rows: int, size: int = 20) -> np.ndarray:
    """`bright_rows` rows at 0.6 (doubled: white), `dark_rows` at 0 (black either way), the rest at 0.3."""
    image = np.full((size, size, 3), 0.3, np.float32)
    image[:bright_rows] = 0.6
    image[size - dark_rows:] = 0.0
    return image


def test_doubling_clips_the_bright_rows_it_was_given():
    inputs = {"few": constructed(2, 1), "many": constructed(8, 4)}  # 10 % / 40 % bright, 5 % / 20 % black
    block = tone_block(inputs, {"doubled": {n: doubled(x) for n, x in inputs.items()}})
    assert block["images"] == 2
    assert block["input"]["highlights"]["mean"] == 0.0 and "worst_increase" not in block["input"]["highlights"]
    high = block["doubled"]["highlights"]
    assert high["mean"] == pytest.approx(0.25) and high["worst"] == pytest.approx(0.40) and high["worst_image"] == "many"
    assert high["worst_increase"] == pytest.approx(0.40) and high["worst_increase_image"] == "many"
    assert block["doubled"]["highlights_luma"]["mean"] == pytest.approx(0.25)
    # black stays black: the output's shadows equal the input's, so no rise
    assert block["input"]["shadows"]["mean"] == pytest.approx(0.125)
    assert block["doubled"]["shadows"]["mean"] == pytest.approx(0.125)
    assert block["doubled"]["shadows"]["worst_increase"] == 0.0


def test_the_dark_images_are_the_darkest_quarter_by_mean_luma():
    inputs = {f"gray{v}": np.full((4, 4, 3), v / 10, np.float32) for v in range(1, 9)}
    assert list(darkest(inputs)) == ["gray1", "gray2"]           # a quarter of 8
    assert list(darkest({"only": inputs["gray5"]})) == ["only"]  # never none


def test_changing_a_retouch_by_a_known_amount():
    rng = np.random.default_rng(0)
    expert = rng.uniform(0.0, 0.8, (16, 16, 3)).astype(np.float32)
    pairs = {"a": (expert * 0.5, expert)}
    result = retouched({"plus_tenth": lambda x: x + 0.1}, pairs)["plus_tenth"]
    assert result["psnr"] == pytest.approx(20.0, abs=1e-3) and result["images"] == 1  # MSE 0.01


def test_the_report_carries_the_figures_and_the_bars_read_them():
    embedded = DataSource(None, explicit=False)
    report = evaluate(embedded, {"teacher": lambda x: np.clip(x * 1.05, 0, 1), "student": doubled})
    EvaluationReport.checked(report)  # the schema describes what the writer wrote
    photos = report["tone"]["photos"]
    assert photos["images"] == 2 and "clip" not in report["tone"]  # the embedded set has no clip
    assert report["tone"]["dark"]["definition"].startswith("the 1 darkest of the 2")
    from aicam_opt.evaluate.eval_set import evaluation_photos, fivek_set

    inputs = evaluation_photos(embedded, fivek_set(embedded))
    expected = np.mean([tone_extremes(doubled(x)).highlights for x in inputs.values()])
    assert photos["student"]["highlights"]["mean"] == pytest.approx(expected)
    bars = {bar.measure: bar for bar in look_bars(report)}
    assert not bars["student clipped highlights, mean over photos"].passed  # doubling blows highlights
    assert bars["student crushed shadows, mean over the dark images"].passed  # and cannot crush shadows
    retouch = bars["student(Expert C) vs Expert C PSNR (dB)"]
    assert retouch.value == report["retouched"]["student"]["psnr"] and not retouch.passed


def test_bars_need_the_figures():
    with pytest.raises(AicamError, match="no 'tone' figures for student"):
        look_bars({"fivek": {}, "tone": {}, "retouched": {}})
