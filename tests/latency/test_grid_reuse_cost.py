"""Video grid reuse in the latency model: the low-res part's time per frame divided by N, the rest
(full-res path with the downsample the cut detector reads, calls, transfers) paid on every frame."""
from __future__ import annotations

import json

import pytest

from aicam_opt.api import predict_cost
from aicam_opt.cli import main
from aicam_opt.errors import AicamError

PLACE = ("low_res=cpu:fp16", "full_res=gpu:fp16")


@pytest.mark.parametrize("workload", ["video8k", "preview"])
def test_amortised_latency_is_low_res_over_n_plus_the_rest(workload):
    every = predict_cost("student", "sd865", workload, place=PLACE)
    reused = predict_cost("student", "sd865", workload, place=PLACE, grid_every=4)
    parts = reused.prediction.parts_ms
    rest = parts["full_res"] + reused.prediction.call_overhead_ms + reused.prediction.transfer_ms
    assert parts["low_res"] > 0.1  # a real share to amortise
    assert reused.latency_ms_per_frame == pytest.approx(parts["low_res"] / 4 + rest, rel=1e-9)
    assert reused.latency_ms == pytest.approx(every.latency_ms)  # a key frame still pays it all
    assert every.latency_ms_per_frame == pytest.approx(every.latency_ms)
    block = reused.document()["grid_reuse"]
    assert block["grid_every"] == 4 and block["low_res_ms_per_frame"] == pytest.approx(parts["low_res"] / 4)
    assert block["latency_ms_per_frame"] == pytest.approx(reused.latency_ms_per_frame)
    assert "grid_reuse" not in every.document()


def test_cost_cli_prints_the_amortised_figure(capsys):
    assert main(["cost", "student", "--target", "sd865", "--workload", "preview", "--grid-every", "4",
                 *[arg for p in PLACE for arg in ("--place", p)], "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["grid_reuse"]["grid_every"] == 4 and doc["grid_reuse"]["within_budget"] is not None


@pytest.mark.parametrize("grid_every,workload,message", [
    (0, "video8k", "--grid-every 0: must be a whole number of frames, at least 1"),
    (2, "photo100mp", "--grid-every 2: grid reuse is for video frames"),
])
def test_bad_grid_every_is_refused(grid_every, workload, message):
    with pytest.raises(AicamError, match=message):
        predict_cost("student", "sd865", workload, grid_every=grid_every)


def test_a_model_without_a_grid_is_refused(capsys):
    assert main(["cost", "teacher", "--target", "sd865", "--workload", "preview", "--grid-every", "2"]) == 2
    assert "has no low-res part that predicts a grid" in capsys.readouterr().err
