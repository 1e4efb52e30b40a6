"""Benchmark (`make bench`): the search space's sampler against a random sampler with the same budget.
The front must not be dominated by the random one (issue: "the front is not dominated by a
random-sampler run of the same budget"). Writes into a temporary folder; the published figures come
from `python -m aicam_opt.search.bench --trials 12` (docs/results.md)."""
from __future__ import annotations

import pytest


@pytest.mark.bench
def test_sampler_front_not_dominated_by_random(tmp_path):
    from aicam_opt.search import bench

    result = bench.run(trials=12, out_path=tmp_path / "search.json", target_name="sd865")
    sampler = "tpe"
    assert result["front_size"][sampler] > 0
    assert result["hypervolume"][sampler] >= result["hypervolume"]["random"] * 0.95, result["hypervolume"]
    assert result[f"{sampler}_points_dominated_by_random"] < result["front_size"][sampler], result
