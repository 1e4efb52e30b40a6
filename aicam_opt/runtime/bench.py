"""Benchmark of the full-res runtime on this machine: `python -m aicam_opt.runtime.bench --out FILE`.

Records (JSON, plus a markdown table on stdout):
- memory bandwidth (numpy copy: bytes read + written per second) and the implied floor for the
  full-res path (it must read the image once and write it once);
- megapixels/s of the compiled full-res path at 12 MP and 100 MP (uint8 and float32 pixels), and
  of PyTorch eager and onnxruntime (opset 20 GridSample export of `FullResPath`) on the same model;
- frames/s at 1080p, 4K and 8K: full-res path alone for all three engines, and compiled end to end
  per frame (low-res path on the frame + full-res path);
- flicker on the real clip's evaluation frames: with and without temporal smoothing, swept over the
  grid's momentum and over grid reuse (a key frame every N frames: flicker, low-res time per frame
  amortised, scene cuts detected);
- a real photo upscaled to 12240x8160 (100 MP) enhanced end to end by the CLI in a child process:
  wall time and peak RSS, against the input + output buffers.
PyTorch and onnxruntime are not run at 100 MP: their intermediates (12 coefficient planes, sample
coordinates, ...) need > 10 GB and minutes there; the JSON says so.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..config import save_json
from ..data import sized_photo as real_photo
from ..timing import best_time, memory_bandwidth_gbps
from ..errors import AicamError
from ..models.student import StudentConfig, StudentNet

SIZES = {"12MP": (3000, 4000), "100MP": (8160, 12240)}
# PyTorch eager's FullResPath holds ~0.5 KB of intermediates per pixel (the 3 x 16 curve-knot
# planes, 12 coefficient planes, sample coordinates): 16 GB at 8K. onnxruntime's plan is similar.
BASELINE_BYTES_PER_PIXEL = 520
VIDEO = {"1080p": (1080, 1920), "4K": (2160, 3840), "8K": (4320, 7680)}






def bench_student() -> tuple[StudentNet, str]:
    """The committed student if there is one, else a seeded student with perturbed weights (same cost)."""
    from ..models.checkpoints import committed_path, load_model

    if committed_path("student").is_file():
        return load_model(kind="student"), "committed student checkpoint"
    torch.manual_seed(0)
    net = StudentNet(StudentConfig()).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net, "StudentNet(StudentConfig()) with seeded random perturbation (no committed checkpoint yet)"




class Engines:
    """The three ways to run the same `FullResPath` on an HxWx3 picture."""

    def __init__(self, net: StudentNet):
        from ..kernels.compiled import CompiledFullRes

        self.net = net
        self.compiled = CompiledFullRes(net.full_res, net.cfg)
        self.grid = torch.randn(1, 12, net.cfg.grid_depth, net.cfg.grid_size, net.cfg.grid_size) * 0.1
        self.grid += net.low_res.branches[0].head.bias.detach().view(1, 12, net.cfg.grid_depth, 1, 1)
        self._ort: dict[tuple[int, int], Path] = {}
        self._onnx_dir = tempfile.TemporaryDirectory(prefix="aicam_onnx_")

    def compiled_fn(self, pixels: np.ndarray) -> Callable[[], object]:
        out = np.empty_like(pixels)
        grid = self.grid[0].numpy()
        return lambda: self.compiled.run(pixels, grid, out=out)

    def torch_fn(self, x: torch.Tensor, threads: int) -> Callable[[], object]:
        def run() -> None:
            before = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                with torch.no_grad():
                    self.net.full_res(x, self.grid)
            finally:
                torch.set_num_threads(before)
        return run

    def ort_fn(self, x: torch.Tensor, threads: int) -> Callable[[], object]:
        import onnxruntime as ort

        shape = tuple(x.shape[-2:])
        if shape not in self._ort:
            path = Path(self._onnx_dir.name) / f"fullres_{shape[0]}x{shape[1]}.onnx"
            torch.onnx.export(self.net.full_res, (x, self.grid), str(path), opset_version=20, dynamo=True,
                              input_names=["image", "grid"], output_names=["enhanced"])
            self._ort[shape] = path
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(self._ort[shape]), options, providers=["CPUExecutionProvider"])
        feeds = {"image": x.numpy(), "grid": self.grid.numpy()}
        return lambda: session.run(None, feeds)

    def baseline(self, kind: str, x: torch.Tensor, repeats: int, threads: list[int] | None = None) -> dict:
        """Best time of PyTorch/onnxruntime over 1 and all threads (on a loaded host, spinning
        intra-op threads can make the multi-threaded run the slower one; the baseline gets the better)."""
        make = self.torch_fn if kind == "pytorch" else self.ort_fn
        per_threads = {n: best_time(make(x, n), repeats) for n in (threads or sorted({1, os.cpu_count() or 1}))}
        best = min(per_threads, key=per_threads.get)
        return {"s": per_threads[best], "threads": best, "s_by_threads": per_threads}


def baseline_fits(needed_bytes: int) -> bool:
    """Whether a PyTorch/onnxruntime run fits in the free memory (with a margin; the host is shared)."""
    import psutil

    return needed_bytes * 1.5 < psutil.virtual_memory().available


def nchw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels.astype(np.float32).transpose(2, 0, 1) / 255.0))[None]


# The child runs the real `aicam-opt enhance` (its read-ahead included) from a bare interpreter: importing
# this module first would load torch before the command starts. It prints its peak RSS (VmHWM) last.
E2E_CHILD = """import json, sys
from aicam_opt.cli import main
code = main(["enhance", sys.argv[1], sys.argv[2], "--model", sys.argv[3]])
from aicam_opt.timing import peak_rss_bytes
print(json.dumps({"exit_code": code, "peak_rss_mb": peak_rss_bytes() / 2**20}))
"""


def run_e2e_100mp(model_path: Path, work: Path, rounds: int = 3) -> dict:
    """`aicam-opt enhance photo.png out.png` on a real 100 MP photo in a child process, as a user runs it:
    wall time from the interpreter's start to its exit (imports, model load, decode, enhance, encode),
    best of `rounds`, and the child's peak RSS."""
    import cv2

    height, width = SIZES["100MP"]
    src, dst = work / "photo_100mp.png", work / "photo_100mp_enhanced.png"
    big = real_photo(height, width)
    cv2.imwrite(str(src), big[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del big
    walls, peaks = [], []
    for _ in range(rounds):
        dst.unlink(missing_ok=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", E2E_CHILD, str(src), str(dst), str(model_path)],
                              capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise AicamError(f"100 MP end-to-end run failed:\n{proc.stderr[-2000:]}")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        peaks.append(report["peak_rss_mb"])
    engine = next((line.split("engine: ", 1)[1] for line in proc.stderr.splitlines() if "engine: " in line), "")
    out = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    buffers = 2 * height * width * 3  # the uint8 input and output pictures
    return {
        "command": "aicam-opt enhance photo_100mp.png photo_100mp_enhanced.png --model student.safetensors",
        "engine": engine, "size": f"{width}x{height}", "megapixels": width * height / 1e6,
        "wall_s": min(walls), "wall_s_rounds": walls, "peak_rss_mb": max(peaks),
        "input_bytes": src.stat().st_size, "output_bytes": dst.stat().st_size, "output_shape": list(out.shape),
        "input_plus_output_buffers_mb": buffers / 2**20, "peak_rss_beyond_buffers_mb": max(peaks) - buffers / 2**20,
    }


def clip_flicker(net: StudentNet, repeats: int = 3) -> dict:
    """Flicker (the suite's metric, `evaluate.flicker`, 8-bit levels) of the real clip's evaluation
    frames enhanced with and without temporal smoothing, and with grid reuse (timed `repeats` times)."""
    from ..data import clip_frames, resolve
    from ..evaluate.flicker import clip_motion, flicker
    from ..kernels.compiled import CompiledFullRes
    from .enhance import Enhancer
    from ..kernels.lowres import to_float
    from ..images import read_native
    from .grid_reuse import GridReuseConfig
    from .smoothing import SmoothingConfig, settle_frames

    source = resolve()
    clips = clip_frames(source, "eval") if source.root else []
    if not clips:
        return {"skipped": "no video clip in the data folder"}
    frames = [read_native(p) for p in clips[0]]
    inputs = [to_float(f) for f in frames]
    enhancer = Enhancer(net, "bench student", CompiledFullRes(net.full_res, net.cfg))
    motion = clip_motion(inputs)
    row: dict = {"clip": str(clips[0][0].parent), "frames": f"{clips[0][0].stem}..{clips[0][-1].stem}",
                 "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "input": flicker(inputs, motion)}

    def run(smoothing: SmoothingConfig, reuse: GridReuseConfig | None = None) -> dict:
        grid_for = enhancer.temporal(smoothing, reuse)
        start = time.perf_counter()
        outputs = [enhancer.enhance(frame, grid=grid_for(frame)) for frame in frames]
        fps = len(frames) / (time.perf_counter() - start)
        outputs = [to_float(o) for o in outputs]
        counts = grid_for.counts
        return {"flicker": flicker(outputs, motion), "flicker_unclipped": flicker(outputs, motion, unclipped_in=inputs),
                "fps_end_to_end": fps, "grids_predicted": counts.grids_predicted, "cuts": counts.cuts,
                "thumbnail_ms_per_frame": counts.thumbnail_s / counts.frames * 1e3,
                "predict_ms_per_frame": counts.predict_s / counts.frames * 1e3,
                "lowres_ms_per_frame": (counts.thumbnail_s + counts.predict_s) / counts.frames * 1e3}

    row["without_smoothing"] = run(SmoothingConfig.off())
    # Steadiness against lag: the default's weight EMA and hysteresis, the grid's momentum swept; the
    # default momentum's pass is the "with_smoothing" figure.
    default = SmoothingConfig()
    row["grid_momentum_sweep"] = {}
    for momentum in GRID_MOMENTA:
        result = run(replace(default, grid_momentum=momentum))
        if momentum == default.grid_momentum:
            row["with_smoothing"] = result
        row["grid_momentum_sweep"][f"{momentum:g}"] = {"flicker": result["flicker"], "settle_frames": settle_frames(momentum)}
    # Grid reuse: a key frame every N frames, the default smoothing on the grids predicted. Outputs are
    # the same pass to pass; the times are each one's best of `repeats` passes (the host is shared).
    row["grid_every_sweep"] = {}
    for n in GRID_EVERY:
        passes = [run(default, GridReuseConfig(grid_every=n)) for _ in range(repeats)]
        best = {key: min(p[key] for p in passes) for key in passes[0] if key.endswith("_ms_per_frame")}
        row["grid_every_sweep"][str(n)] = {**passes[0], **best, "fps_end_to_end": max(p["fps_end_to_end"] for p in passes),
                                           "timing_passes": repeats}
    return row


GRID_MOMENTA = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)
GRID_EVERY = (1, 2, 4, 8)


SECTIONS = ("photo", "video", "video_flicker", "e2e_100mp", "video8k_mp4")


def measure_photo(engines: Engines, bandwidth: float, repeats: int, quick: bool) -> dict:
    photo = {}
    for name, (h, w) in SIZES.items():
        pixels = real_photo(h, w)
        mp = h * w / 1e6
        row: dict = {"megapixels": mp, "memory_bandwidth_gb_s": bandwidth}
        t8 = best_time(engines.compiled_fn(pixels), repeats)
        t32 = best_time(engines.compiled_fn(pixels.astype(np.float32) / 255.0), repeats)
        row["compiled_uint8"] = {"s": t8, "mp_s": mp / t8}
        row["compiled_float32"] = {"s": t32, "mp_s": mp / t32}
        # The memory floor: read the picture once and write it once at the measured bandwidth.
        row["bandwidth_floor_s"] = {"uint8": 2 * 3 * h * w / (bandwidth * 1e9), "float32": 2 * 12 * h * w / (bandwidth * 1e9)}
        if name == "12MP":
            row["compiled_uint8_by_spec"] = {
                key: {"s": s, "mp_s": mp / s, "distance_to_bandwidth_floor": s / row["bandwidth_floor_s"]["uint8"]}
                for key, s in time_specs(pixels, engines.net.cfg, repeats).items()}
        row["distance_to_bandwidth_floor"] = {"uint8": t8 / row["bandwidth_floor_s"]["uint8"],
                                              "float32": t32 / row["bandwidth_floor_s"]["float32"]}
        needed = BASELINE_BYTES_PER_PIXEL * h * w
        if name == "12MP" and baseline_fits(needed):
            x = nchw(pixels)
            torch_run = engines.baseline("pytorch", x, 1 if quick else 2)
            ort_run = engines.baseline("onnxruntime", x, 1 if quick else 2)
            tt, to = torch_run["s"], ort_run["s"]
            row["pytorch_eager_float32"] = {**torch_run, "mp_s": mp / tt}
            row["onnxruntime_float32"] = {**ort_run, "mp_s": mp / to}
            row["speedup_compiled_float32_vs_onnxruntime"] = to / t32
            row["speedup_compiled_float32_vs_pytorch"] = tt / t32
            del x
        else:
            row["pytorch_eager_float32"] = row["onnxruntime_float32"] = (
                f"not run: ~{needed / 2**30:.0f} GB of intermediates (and minutes per run) exceed the free memory "
                "of this shared host")
        photo[name] = row
        del pixels
    return photo


# The spec of a search winner (luma guide, 8 curve knots, grid D=4 x 16 x 16), beside the student's.
WINNER_SPEC = "c1_k8_d4_g16_uint8"


def time_specs(pixels: np.ndarray, cfg: StudentConfig, repeats: int) -> dict[str, float]:
    """Best time of the compiled uint8 kernel on `pixels` for the student's spec and WINNER_SPEC, each in
    both slice forms (weights of a trained student's ranges: speed does not depend on them)."""
    from ..kernels.bench import kernel_inputs
    from ..kernels.compiled import load_kernel
    from ..kernels.spec import KernelSpec, spec_for

    out = np.empty_like(pixels)
    times = {}
    for base in (spec_for(cfg, "uint8"), KernelSpec.from_key(WINNER_SPEC)):
        for form in ("tent", "taps"):
            spec = replace(base, slice=form)
            fn, weights = load_kernel(spec), kernel_inputs(spec, *pixels.shape[:2])[1]
            times[spec.key] = best_time(lambda: fn(pixels, *weights, out, 0, pixels.shape[0]), repeats)
    return times


def measure_video(engines: Engines, repeats: int, baseline_threads: dict[str, int]) -> dict:
    from ..kernels.lowres import predict_grid

    video = {}
    for name, (h, w) in VIDEO.items():
        frame = real_photo(h, w)
        t8 = best_time(engines.compiled_fn(frame), repeats)
        te = best_time(lambda: engines.compiled.run(frame, predict_grid(engines.net, frame)[0]), repeats)
        row: dict = {"compiled_fullres_fps": 1 / t8, "compiled_end_to_end_fps": 1 / te,
                     "pytorch_eager_fullres_fps": None, "onnxruntime_fullres_fps": None}
        needed = BASELINE_BYTES_PER_PIXEL * h * w
        if baseline_fits(needed):
            x = nchw(frame)
            # One run each, with the thread count that won at 12 MP (a PyTorch 8K run takes minutes here).
            row["pytorch_eager_fullres_fps"] = 1 / engines.baseline("pytorch", x, 1, [baseline_threads["pytorch"]])["s"]
            row["onnxruntime_fullres_fps"] = 1 / engines.baseline("onnxruntime", x, 1, [baseline_threads["onnxruntime"]])["s"]
            del x
        else:
            row["baselines_skipped"] = (f"PyTorch/onnxruntime not run: ~{needed / 2**30:.0f} GB of intermediates "
                                        "exceed the free memory of this shared host")
        video[name] = row
        del frame
    return video


def run(out_path: Path, quick: bool = False, sections: tuple[str, ...] = SECTIONS) -> dict:
    """Measure `sections` and write them into `out_path` (other sections already there are kept)."""
    from ..kernels.compiled import load_kernel, spec_for

    net, weights = bench_student()
    engines = Engines(net)
    for dtype in ("uint8", "float32"):
        load_kernel(spec_for(net.cfg, dtype))  # compile (or load) outside the timings
    results: dict = json.loads(out_path.read_text()) if out_path.is_file() and set(sections) != set(SECTIONS) else {}
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for name in SECTIONS:  # sections kept from an earlier run keep that run's time and load
        if isinstance(results.get(name), dict) and "_measured_at_utc" not in results[name]:
            results[name]["_measured_at_utc"] = results.get("measured_at_utc", "unknown")
            results[name]["_load_average_1m"] = results.get("host", {}).get("load_average_1m_at_start", float("nan"))
    results.update({
        "host": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "student_weights": weights,
        "note": "timings are the best of several runs on a shared host; each section records when it was "
                "measured and the load average",
        "memory_bandwidth_gb_s": memory_bandwidth_gbps(),
        "measured_at_utc": stamp,
    })
    repeats = 3 if quick else 5

    def section(name: str, value: dict) -> None:
        results[name] = {**value, "_measured_at_utc": stamp, "_load_average_1m": os.getloadavg()[0]}

    if "photo" in sections:
        section("photo", measure_photo(engines, results["memory_bandwidth_gb_s"], repeats, quick))
    if "video" in sections:
        threads = {}
        for kind, key in (("pytorch", "pytorch_eager_float32"), ("onnxruntime", "onnxruntime_float32")):
            entry = results.get("photo", {}).get("12MP", {}).get(key)
            threads[kind] = entry["threads"] if isinstance(entry, dict) else 1
        section("video", measure_video(engines, repeats, threads))
    if "video_flicker" in sections:
        section("video_flicker", clip_flicker(net, 2 if quick else 3))
    if "e2e_100mp" in sections:
        with tempfile.TemporaryDirectory(prefix="aicam_bench_") as tmp:
            from ..models.checkpoints import save_checkpoint

            model_path = Path(tmp) / "student.safetensors"
            save_checkpoint(net, "student", model_path)
            section("e2e_100mp", run_e2e_100mp(model_path, Path(tmp), rounds=1 if quick else 3))
    if "video8k_mp4" in sections:
        from . import bench_video8k

        with tempfile.TemporaryDirectory(prefix="aicam_bench_8k_") as tmp:
            from ..models.checkpoints import save_checkpoint

            model_path = Path(tmp) / "student.safetensors"
            save_checkpoint(net, "student", model_path)
            section("video8k_mp4", bench_video8k.measure(model_path, Path(tmp), quick))
    save_json(results, out_path)
    return results


def photo_bandwidth(row: dict) -> float:
    """The bandwidth measured with the photo section (older reports: implied by its uint8 floor)."""
    if "memory_bandwidth_gb_s" in row:
        return row["memory_bandwidth_gb_s"]
    return 2 * 3 * row["megapixels"] * 1e6 / row["bandwidth_floor_s"]["uint8"] / 1e9


def baseline_cell(entry: dict | str) -> str:
    return f"{entry['s']:.2f} s ({entry['mp_s']:.1f} MP/s)" if isinstance(entry, dict) else "not run (memory)"


def markdown(results: dict) -> str:
    """The measured sections as markdown; sections not in `results` (not measured yet) are left out."""
    when = ", ".join(f"{k} {results[k]['_measured_at_utc']} (load {results[k]['_load_average_1m']:.1f})"
                     for k in SECTIONS if k in results)
    lines = [f"Measured on this host ({results['host']['cores']} cores, shared with other jobs): {when}. "
             f"Weights: {results['student_weights']}."]
    if "photo" in results:
        p12, p100 = results["photo"]["12MP"], results["photo"]["100MP"]
        lines += [
            "",
            "| full-res path | 12 MP | 100 MP |",
            "| --- | --- | --- |",
            f"| compiled (TVM), uint8 | {p12['compiled_uint8']['s']*1e3:.0f} ms ({p12['compiled_uint8']['mp_s']:.0f} MP/s) | "
            f"{p100['compiled_uint8']['s']*1e3:.0f} ms ({p100['compiled_uint8']['mp_s']:.0f} MP/s) |",
            f"| compiled (TVM), float32 | {p12['compiled_float32']['s']*1e3:.0f} ms ({p12['compiled_float32']['mp_s']:.0f} MP/s) | "
            f"{p100['compiled_float32']['s']*1e3:.0f} ms ({p100['compiled_float32']['mp_s']:.0f} MP/s) |",
            f"| PyTorch eager, float32 | {baseline_cell(p12['pytorch_eager_float32'])} | not run (memory/time) |",
            f"| onnxruntime (opset 20), float32 | {baseline_cell(p12['onnxruntime_float32'])} | not run (memory/time) |",
            f"| memory floor (read + write once at {photo_bandwidth(p12):.1f} GB/s), uint8 / float32 | "
            f"{p12['bandwidth_floor_s']['uint8']*1e3:.1f} / {p12['bandwidth_floor_s']['float32']*1e3:.1f} ms | "
            f"{p100['bandwidth_floor_s']['uint8']*1e3:.1f} / {p100['bandwidth_floor_s']['float32']*1e3:.1f} ms |",
            f"| compiled vs floor, uint8 / float32 | {p12['distance_to_bandwidth_floor']['uint8']:.0f}x / "
            f"{p12['distance_to_bandwidth_floor']['float32']:.0f}x | {p100['distance_to_bandwidth_floor']['uint8']:.0f}x / "
            f"{p100['distance_to_bandwidth_floor']['float32']:.0f}x |",
            *(f"| compiled (TVM), uint8, kernel {key} | {r['s']*1e3:.0f} ms ({r['distance_to_bandwidth_floor']:.0f}x the floor) "
              "| not run |" for key, r in p12.get("compiled_uint8_by_spec", {}).items()),
            "",
            (f"Compiled float32 at 12 MP: {p12['speedup_compiled_float32_vs_onnxruntime']:.0f}x faster than onnxruntime, "
             f"{p12['speedup_compiled_float32_vs_pytorch']:.0f}x faster than PyTorch eager."
             if "speedup_compiled_float32_vs_onnxruntime" in p12 else "Baselines at 12 MP were not run (memory)."),
        ]
    if "video" in results:
        lines += ["",
                  "| frames/s | compiled full-res | compiled end to end (low-res + full-res) | PyTorch eager full-res | onnxruntime full-res |",
                  "| --- | --- | --- | --- | --- |"]
        for name, row in results["video"].items():
            if not isinstance(row, dict):
                continue
            if row["pytorch_eager_fullres_fps"] is None:
                baselines = "not run (memory) | not run (memory)"
            else:
                baselines = f"{row['pytorch_eager_fullres_fps']:.2f} | {row['onnxruntime_fullres_fps']:.2f}"
            lines.append(f"| {name} | {row['compiled_fullres_fps']:.1f} | {row['compiled_end_to_end_fps']:.1f} | {baselines} |")
    fl = results.get("video_flicker", {})
    if "with_smoothing" in fl:
        lines += ["", f"Flicker on the real clip ({fl['clip']}, frames {fl['frames']}, {fl['size']}; "
                  f"`evaluate.flicker`, 8-bit levels): without smoothing {fl['without_smoothing']['flicker']:.3f}, "
                  f"with smoothing {fl['with_smoothing']['flicker']:.3f} (the input clip itself: {fl['input']:.3f}); "
                  f"end to end {fl['with_smoothing']['fps_end_to_end']:.1f} frames/s.", ]
    if "grid_momentum_sweep" in fl:
        lines += ["", "| grid momentum | flicker | frames to follow 90 % of a change |", "| --- | --- | --- |"]
        lines += [f"| {m} | {r['flicker']:.3f} | {r['settle_frames']:.1f} |" for m, r in fl["grid_momentum_sweep"].items()]
    if "grid_every_sweep" in fl:
        lines += ["", "| grid every N frames | flicker | flicker (unclipped pixels) | grids predicted | scene cuts | "
                  "low-res ms/frame (thumbnail + network) | end to end frames/s |", "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {n} | {r['flicker']:.3f} | {r['flicker_unclipped']:.3f} | {r['grids_predicted']} | {r['cuts']} | "
                  f"{r['lowres_ms_per_frame']:.1f} ({r['thumbnail_ms_per_frame']:.1f} + {r['predict_ms_per_frame']:.1f}) | "
                  f"{r['fps_end_to_end']:.1f} |" for n, r in fl["grid_every_sweep"].items()]
    if "e2e_100mp" in results:
        e2e = results["e2e_100mp"]
        lines += [
            "",
            f"100 MP end to end (real photo upscaled to {e2e['size']}, PNG in and out, `{e2e['command']}` in a child "
            f"process, from the interpreter's start to its exit, best of {len(e2e['wall_s_rounds'])}): "
            f"{e2e['wall_s']:.1f} s; peak RSS {e2e['peak_rss_mb']:.0f} MB = {e2e['input_plus_output_buffers_mb']:.0f} MB "
            f"input + output buffers + {e2e['peak_rss_beyond_buffers_mb']:.0f} MB; PNG {e2e['input_bytes'] / 1e6:.0f} MB in, "
            f"{e2e['output_bytes'] / 1e6:.0f} MB out.",
        ]
    if "video8k_mp4" in results:
        from . import bench_video8k

        lines += bench_video8k.markdown(results["video8k_mp4"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aicam_opt.runtime.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("reports/bench/runtime.json"))
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for the pytest benchmark)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {', '.join(SECTIONS)} to re-measure; the others are kept "
                             "from --out if it exists")
    args = parser.parse_args(argv)
    sections = tuple(x.strip() for x in args.sections.split(",") if x.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"--sections: unknown {unknown}; choose from {', '.join(SECTIONS)}")
    results = run(args.out, quick=args.quick, sections=sections)
    print(markdown(results))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
