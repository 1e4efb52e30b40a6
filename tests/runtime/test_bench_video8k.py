"""The runtime bench's video8k_mp4 section: how its figures are printed, and how the command's processes
are told apart (the measurement itself: `python -m aicam_opt.runtime.bench --sections video8k_mp4`)."""
from __future__ import annotations

import subprocess
import sys
import time

import psutil

from aicam_opt.runtime import bench, bench_video8k


def run_row(grid_every: int, frames: int, python_mb: float, flicker: float | None) -> dict:
    row = {"grid_every": grid_every, "frames": frames, "fps_end_to_end": 0.3456, "peak_rss_mb": 1900.0,
           "sampled_peak_rss_mb": {"python": python_mb, "ffmpeg_decoder": 1250.0, "ffmpeg_encoder": 1800.0},
           "sampled_peak_rss_sum_mb": 3500.0}
    if flicker is not None:
        row.update(flicker=flicker, flicker_unclipped=flicker + 1.5)
    return row


def test_markdown_prints_the_runs_and_the_growth_with_the_clip():
    section = {"clip": "/data/video/bedroom", "frames": "00140..00155", "source_size": "960x540", "size": "7680x4320",
               "input_flicker": 3.05, "frame_8k_uint8_mb": 94.9,
               "runs": {"every1_8frames": run_row(1, 8, 751.0, None), "every1_16frames": run_row(1, 16, 753.0, 2.559),
                        "every4_16frames": run_row(4, 16, 752.0, 2.561)},
               "peak_rss_growth_mb": {"frames": [8, 16], "python": 2.0, "ffmpeg_decoder": 10.0, "ffmpeg_encoder": 700.0,
                                      "largest_process": 650.0, "sum_of_processes": 712.0},
               "_measured_at_utc": "2026-12-05T13:15:00+00:00", "_load_average_1m": 3.8}
    text = bench.markdown({"host": {"cores": 2}, "student_weights": "committed student checkpoint",
                           "video8k_mp4": section})
    assert "video8k_mp4 2026-12-05T13:15:00+00:00 (load 3.8)" in text
    assert "| 1 | 8 | 0.35 | 751 MB | 1250 MB | 1800 MB | 3500 MB | - | - |" in text
    assert "| 4 | 16 | 0.35 | 752 MB | 1250 MB | 1800 MB | 3500 MB | 2.561 | 4.061 |" in text
    assert "Python +2 MB, ffmpeg decoder +10 MB, ffmpeg encoder +700 MB" in text
    skipped = bench.markdown({"host": {"cores": 2}, "student_weights": "w",
                              "video8k_mp4": {"skipped": "no video clip in the data folder", **{
                                  k: section[k] for k in ("_measured_at_utc", "_load_average_1m")}}})
    assert "8K mp4 through `aicam-opt enhance`: no video clip in the data folder." in skipped


def test_the_tree_sampler_tells_the_command_from_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run(['sleep', '2'])"])
    try:
        memory = bench_video8k.TreeMemory()
        root = psutil.Process(child.pid)
        for _ in range(40):  # until the grandchild exists (or 2 s)
            memory.sample(root)
            if len(memory.peaks) == 2:
                break
            time.sleep(0.05)
        assert set(memory.peaks) == {"python", "ffmpeg_decoder"}  # a child without libx264 counts as the decoder
        assert 0 < memory.peaks["python"] <= bench_video8k.peak_rss_so_far(child.pid)  # a high-water mark only rises
        assert memory.total_peak >= memory.peaks["python"]
    finally:
        child.kill()
        child.wait()
    assert bench_video8k.ffmpeg_role(["ffmpeg", "-vcodec", "libx264", "out.mp4"]) == "ffmpeg_encoder"
