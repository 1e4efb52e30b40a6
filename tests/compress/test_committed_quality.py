"""With the committed checkpoints: an int8 low-res student with recovery stays within 0.3 dB PSNR
of the uncompressed student on the evaluation photos, and the benchmark records the time to build,
recover and evaluate one candidate (into a temporary folder; the published figures come from
`python -m aicam_opt.compress.bench`). A real recovery and a full evaluation: `make bench`."""
from pathlib import Path

import pytest

from aicam_opt.config import load_yaml
from aicam_opt.models.checkpoints import committed_path

EXAMPLES = Path(__file__).resolve().parents[2] / "search_spaces" / "examples"


@pytest.fixture(scope="module")
def committed(shared_data):
    """The quality bar is defined on the real data."""
    if not (committed_path("student").is_file() and committed_path("teacher").is_file()):
        pytest.skip("the committed student/teacher checkpoints are not there yet (`make train`)")
    return shared_data


@pytest.mark.bench
def test_int8_lowres_with_recovery_loses_at_most_0_3_db(committed):
    from aicam_opt.compress import Candidate, build_candidate

    candidate = load_yaml(EXAMPLES / "int8_lowres.yaml", Candidate)
    built = build_candidate(candidate, committed, recover_steps=20, eval_frames=4)
    quality = built.metrics.quality
    print(quality)
    assert quality.pairs >= 3
    assert quality.psnr_drop_vs_student <= 0.3, quality


@pytest.mark.bench
def test_compress_benchmark(committed, tmp_path):
    from aicam_opt.compress import bench

    results = bench.run(tmp_path / "compress.json", candidates=("int8_lowres",), recover_steps=20, threads=2)
    one = results["candidates"]["int8_lowres"]
    assert one["quality"]["psnr_drop_vs_student"] <= 0.3
    # the aim is <= 60 s on 2 cores; recorded, asserted loosely (a loaded host is slower)
    assert one["candidate_total_s"] < 180, one["seconds"]
