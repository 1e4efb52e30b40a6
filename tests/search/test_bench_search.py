"""`make bench`: regenerates reports/bench/search.json: the search space's sampler against a random
sampler with the same budget. The front must not be dominated by the random one (issue: "the
front is not dominated by a random-sampler run of the same budget")."""
from __future__ import annotations

from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench" / "search.json"


@pytest.mark.bench
def test_sampler_front_not_dominated_by_random():
    from aicam_opt.search import bench

    result = bench.run(trials=12, out_path=REPORT, target_name="sd865")
    sampler = "tpe"
    assert result["front_size"][sampler] > 0
    assert result["hypervolume"][sampler] >= result["hypervolume"]["random"] * 0.95, result["hypervolume"]
    assert result[f"{sampler}_points_dominated_by_random"] < result["front_size"][sampler], result
