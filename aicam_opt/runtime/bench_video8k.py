"""The runtime bench's `video8k_mp4` section: the real clip at 8K through `aicam-opt enhance`, mp4 to mp4.

The clip's evaluation frames are upscaled to 7680x4320 and encoded as an H.264 mp4 (one frame at a
time: the clip is never held). The real command (`python -m aicam_opt.cli enhance IN.mp4 OUT.mp4`)
then runs in a child process with the bench's student, at `--grid-every 1` and `--grid-every 4`, and
at 1x and 2x the frame count (`--max-frames`) so that its peak RSS can be compared across clip
lengths. Memory is watched two ways: the child's exact peak RSS from `wait4` (the largest single
process of the command's tree: Python or one of its ffmpeg processes), and a sampler (every 50 ms)
that reads the high-water mark of the Python process, the ffmpeg decoder and the ffmpeg encoder
apart, and the peak of their sum.
Flicker (`evaluate.flicker`, 8-bit levels) is measured on the output decoded frame by frame and
area-downscaled to 960x540 (8K optical flow would take minutes a pair), with the motion of the
input mp4 downscaled the same way.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AicamError

SIZE_8K = (4320, 7680)  # height, width
FLICKER_SIZE = (540, 960)  # height, width of the copies flicker is measured on
FRAMES = 16  # the longer run; the shorter one has half as many
QUICK_FRAMES = 8
GRID_EVERY = (1, 4)
SAMPLE_S = 0.05


def write_clip_8k(frames: list[Path], dst: Path, size: tuple[int, int] = SIZE_8K) -> None:
    """Each frame read, upscaled (bicubic) and handed to the encoder before the next is read."""
    import cv2

    from ..images import read_native, video_writer

    height, width = size
    with video_writer(dst, fps=30.0) as put:
        for path in frames:
            put(cv2.resize(read_native(path), (width, height), interpolation=cv2.INTER_CUBIC))


@dataclass
class TreeMemory:
    """Peak RSS (bytes) of each kind of process in a command's tree (its high-water mark as last seen),
    and the peak of their sum (sampled)."""

    peaks: dict[str, int] = field(default_factory=dict)
    total_peak: int = 0

    def sample(self, root: "psutil.Process") -> None:  # noqa: F821
        import psutil

        total = 0
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for process in processes:
            try:
                rss = process.memory_info().rss
                kind = "python" if process.pid == root.pid else ffmpeg_role(process.cmdline())
                high_water = peak_rss_so_far(process.pid)
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, OSError):
                continue
            total += rss
            self.peaks[kind] = max(self.peaks.get(kind, 0), rss, high_water)
        self.total_peak = max(self.total_peak, total)


def peak_rss_so_far(pid: int) -> int:
    """The process's own high-water mark (Linux VmHWM): exact between samples, unlike a sampled RSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def ffmpeg_role(cmdline: list[str]) -> str:
    return "ffmpeg_encoder" if "libx264" in cmdline else "ffmpeg_decoder"


def run_enhance(src: Path, dst: Path, model_path: Path, grid_every: int, frames: int) -> dict:
    """The real `aicam-opt enhance` in a child process: wall time, its own enhance time, peak RSS."""
    import psutil

    command = [sys.executable, "-m", "aicam_opt.cli", "enhance", str(src), str(dst), "--model", str(model_path),
               "--grid-every", str(grid_every), "--max-frames", str(frames)]
    log = dst.with_suffix(".log")
    memory = TreeMemory()
    with open(log, "w+") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "COLUMNS": "200"})
        root = psutil.Process(child.pid)
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                memory.sample(root)
                done.wait(SAMPLE_S)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        stderr.seek(0)
        messages = stderr.read()
    if child.returncode != 0:
        raise AicamError(f"aicam-opt enhance (grid every {grid_every}, {frames} frames) failed with exit status "
                         f"{child.returncode}:\n{messages[-2000:]}")
    found = re.search(r"wrote .*: (\d+) frames.*? in ([0-9.]+) s", messages, re.S)
    if found is None or int(found.group(1)) != frames:
        raise AicamError(f"aicam-opt enhance: expected '{frames} frames ... in N s' in its output:\n{messages[-2000:]}")
    enhance_s = float(found.group(2))
    mb = 2**20
    return {
        "command": " ".join(["aicam-opt", *command[3:]]), "frames": frames, "grid_every": grid_every,
        "wall_s_including_start": wall, "enhance_s": enhance_s, "fps_end_to_end": frames / enhance_s,
        "peak_rss_mb": usage.ru_maxrss * 1024 / mb,  # Linux: kB; the largest single process of the tree
        "sampled_peak_rss_mb": {kind: rss / mb for kind, rss in sorted(memory.peaks.items())},
        "sampled_peak_rss_sum_mb": memory.total_peak / mb,
        "summary": messages.strip().splitlines()[-1],
    }


def downscaled_frames(video: Path, size: tuple[int, int] = FLICKER_SIZE) -> list[np.ndarray]:
    """The video decoded one frame at a time, each area-downscaled to `size` as float32 in [0, 1]."""
    import cv2

    from ..images import read_video_frames
    from ..kernels.lowres import to_float

    height, width = size
    return [to_float(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
            for frame in read_video_frames(video)]


def measure(model_path: Path, work: Path, quick: bool = False) -> dict:
    """The section's figures; the clip's 8K mp4 and the outputs live in `work`."""
    from ..data import clip_frames, resolve
    from ..evaluate.flicker import clip_motion, flicker

    source = resolve()
    clips = clip_frames(source, "eval") if source.root else []
    if not clips:
        return {"skipped": "no video clip in the data folder"}
    longer = QUICK_FRAMES if quick else FRAMES
    shorter = longer // 2
    paths = clips[0][:longer]
    src = work / "clip_8k.mp4"
    start = time.perf_counter()
    write_clip_8k(paths, src)
    row: dict = {"clip": str(paths[0].parent), "frames": f"{paths[0].stem}..{paths[-1].stem}",
                 "source_size": None, "size": f"{SIZE_8K[1]}x{SIZE_8K[0]}", "input_mp4_mb": src.stat().st_size / 2**20,
                 "input_write_s": time.perf_counter() - start,
                 "flicker_measured_at": f"{FLICKER_SIZE[1]}x{FLICKER_SIZE[0]} (area-downscaled output, decoded frame by frame)"}
    from ..images import read_native

    first = read_native(paths[0])
    row["source_size"] = f"{first.shape[1]}x{first.shape[0]}"
    inputs = downscaled_frames(src)
    motion = clip_motion(inputs)
    row["input_flicker"] = flicker(inputs, motion)
    runs = {}
    for grid_every in GRID_EVERY:
        for frames in (shorter, longer) if grid_every == 1 else (longer,):
            dst = work / f"enhanced_every{grid_every}_{frames}.mp4"
            result = run_enhance(src, dst, model_path, grid_every, frames)
            if frames == longer:
                outputs = downscaled_frames(dst)
                result["flicker"] = flicker(outputs, motion)
                result["flicker_unclipped"] = flicker(outputs, motion, unclipped_in=inputs)
                result["output_mp4_mb"] = dst.stat().st_size / 2**20
                del outputs
            runs[f"every{grid_every}_{frames}frames"] = result
            dst.unlink()
    row["runs"] = runs
    short, long = runs[f"every1_{shorter}frames"], runs[f"every1_{longer}frames"]
    row["peak_rss_growth_mb"] = {  # from N to 2N frames; memory that does not grow with the clip: about zero
        "frames": [shorter, longer],
        **{kind: long["sampled_peak_rss_mb"].get(kind, 0.0) - short["sampled_peak_rss_mb"].get(kind, 0.0)
           for kind in ("python", "ffmpeg_decoder", "ffmpeg_encoder")},
        "largest_process": long["peak_rss_mb"] - short["peak_rss_mb"],
        "sum_of_processes": long["sampled_peak_rss_sum_mb"] - short["sampled_peak_rss_sum_mb"],
    }
    row["frame_8k_uint8_mb"] = SIZE_8K[0] * SIZE_8K[1] * 3 / 2**20
    return row


def markdown(row: dict) -> list[str]:
    """Lines for the bench's markdown."""
    if "runs" not in row:
        return ["", f"8K mp4 through `aicam-opt enhance`: {row.get('skipped', 'not measured')}."]
    lines = ["", f"The real clip at 8K through `aicam-opt enhance`, mp4 in and out ({row['clip']}, frames {row['frames']}, "
             f"{row['source_size']} upscaled to {row['size']}; H.264 crf 10 by imageio-ffmpeg's ffmpeg; the command in a "
             f"child process; flicker on the output decoded and downscaled to {FLICKER_SIZE[1]}x{FLICKER_SIZE[0]}, "
             f"input clip {row['input_flicker']:.3f}):", "",
             "| grid every N | frames | end to end frames/s | peak RSS, Python | ffmpeg decoder | ffmpeg encoder | "
             "sum | flicker | flicker (unclipped) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in row["runs"].values():
        rss = result["sampled_peak_rss_mb"]
        flick = (f"{result['flicker']:.3f} | {result['flicker_unclipped']:.3f}" if "flicker" in result else "- | -")
        lines.append(f"| {result['grid_every']} | {result['frames']} | {result['fps_end_to_end']:.2f} | "
                     f"{rss.get('python', 0):.0f} MB | {rss.get('ffmpeg_decoder', 0):.0f} MB | "
                     f"{rss.get('ffmpeg_encoder', 0):.0f} MB | {result['sampled_peak_rss_sum_mb']:.0f} MB | {flick} |")
    growth = row["peak_rss_growth_mb"]
    lines += ["", f"Peak RSS from {growth['frames'][0]} to {growth['frames'][1]} frames (grid every 1): Python "
              f"{growth['python']:+.0f} MB, ffmpeg decoder {growth['ffmpeg_decoder']:+.0f} MB, ffmpeg encoder "
              f"{growth['ffmpeg_encoder']:+.0f} MB, all processes together {growth['sum_of_processes']:+.0f} MB; the "
              f"largest process (exact, wait4) {growth['largest_process']:+.0f} MB. One 8K RGB frame is "
              f"{row['frame_8k_uint8_mb']:.0f} MB."]
    return lines

