"""Host verification: the same graphs compiled for this x86-64 machine, run in the TVM runtime on real photos.

The phone's builds cannot run here (no aarch64 CPU, no OpenCL runtime, no DSP), so each part is
built again for `targets.HOST_TARGET` by its engine (`Engine.host_runner`) from the very same input:
the part's ONNX file for a Relax part, the same kernel definition (`kernels.fullres`, CPU schedule,
via the runtime's build cache) for the fused kernel. Then, on the evaluation photos ([0, 1] float32):

- low_res: the compiled grid vs PyTorch's, both sliced by the float32 PyTorch full-res path;
- full_res: the compiled full-res part fed the PyTorch grid, vs the deployed PyTorch model;
- end to end: compiled low-res then compiled full-res, vs the deployed PyTorch model.

Bars: a part at fp32 (end to end: both parts) must match to max abs error <= 1e-4; a quantized part
(int8 fake-quant, or fp16 emulated in PyTorch) must reach PSNR >= 45 dB against its fake-quant
PyTorch model. The fused kernel of an fp16 full-res part computes in float16 (the shipped variant,
kernels.spec.shipped_variant), and is also compared with the float32 PyTorch path
(`vs_float32_max_abs`: within one 8-bit step, 2^-8, expected).

Quality: the compiled model end to end on the FiveK evaluation pairs, PSNR against Expert C, and
its drop against the uncompressed student (the candidate's base), beside the drop predicted at
build time in metrics.json (measured there with the PyTorch deployed model).

Timing (`time_host_build`): each part of the host build timed on one thread at a 12 MP photo (float32
pixels, as the check feeds them), beside what the latency model predicts for the same build on the
`host` target. The host calibration has fp32 figures only and the host build of a quantized part
computes in float (TVM 0.27 lowers int8 QDQ to float arithmetic), so every part is priced at fp32; the
full-res kernel in the variant the part's precision ships (float16 arithmetic for an fp16 part).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data import DataSource, load_photos, sized_photo
from ..evaluate.eval_set import fivek_set
from ..evaluate.quality import psnr as _psnr
from ..models.checkpoints import resolve_model
from ..models.inference import enhance_array
from ..models.student import downsample
from ..kernels.lowres import to_nchw
from ..latency.model import Assignment, Placement
from ..latency.part_prediction import PARTS, predict_parts
from ..latency.target import load_target
from ..timing import run_times
from . import engines
from .parts import LoadedCandidate, LowResPart, Part
from .targets import host_target

MAX_ABS_BAR = 1e-4
PSNR_BAR = 45.0
TIMING_SIZE = (3000, 4000)  # (H, W): a 12 MP still
TIMING_REPEATS = 5


def _np_image(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t[0].detach().float().permute(1, 2, 0).numpy())


PSNR_CAP = 200.0  # identical images have infinite PSNR; reported as this (JSON has no inf)


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return min(PSNR_CAP, _psnr(output, reference))


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


class HostPipeline:
    """The candidate's two parts built for this host by their engines: `grid(low)` and `full(image, grid)`."""

    def __init__(self, loaded: LoadedCandidate, parts: dict[str, Part], workdir):
        self.loaded = loaded
        self.host = host_target()
        self._low = engines.get(parts["low_res"].engine).host_runner(parts["low_res"], loaded, self.host, workdir)
        self._full = engines.get(parts["full_res"].engine).host_runner(parts["full_res"], loaded, self.host, workdir)

    @property
    def seconds(self) -> dict[str, float]:
        """Compile seconds of the host builds (the full-res graph's grow with each photo size met)."""
        return {**self._low.seconds, **self._full.seconds}

    @property
    def notes(self) -> list[str]:
        return [*self._low.notes, *self._full.notes]

    def grid(self, low: torch.Tensor) -> np.ndarray:
        return self._low(low.numpy())

    def full(self, image: np.ndarray, grid: np.ndarray) -> np.ndarray:
        return self._full(image, np.ascontiguousarray(grid, dtype=np.float32))

    def enhance(self, image: np.ndarray) -> np.ndarray:
        low = downsample(to_nchw(image), self.loaded.net.cfg.lowres_size)
        return self.full(image, self.grid(low))


def _bar(precision: str) -> str:
    return "max_abs" if precision == "fp32" else "psnr"


def _passes(stats: dict[str, float], bar: str) -> bool:
    return stats["max_abs"] <= MAX_ABS_BAR if bar == "max_abs" else stats["psnr"] >= PSNR_BAR


def verify_host(loaded: LoadedCandidate, parts: dict[str, Part], source: DataSource, workdir,
                long_side: int = 768, max_photos: int | None = None, quality: bool = True,
                target_name: str | None = None) -> dict[str, Any]:
    """Compile both parts for this host and check them on the evaluation photos (see the module doc);
    `target_name`: the target the parts were compiled for, whose prediction the timing shows beside."""
    pipeline = HostPipeline(loaded, parts, workdir)
    photos = load_photos(source, "eval", long_side=long_side)
    names = sorted(photos)[:max_photos] if max_photos else sorted(photos)
    low_part = LowResPart(loaded.deployed).eval()
    float_full = loaded.net.full_res
    per_photo = []
    for name in names:
        image = photos[name]
        x = to_nchw(image)
        with torch.no_grad():
            low = downsample(x, loaded.net.cfg.lowres_size)
            ref_grid = low_part(low)
            reference = _np_image(loaded.deployed(x))  # the deployed model end to end
            compiled_grid = pipeline.grid(low)
            # The low-res part alone: both grids sliced by the float32 full-res path.
            low_ref = _np_image(float_full(x, ref_grid))
            low_got = _np_image(float_full(x, torch.from_numpy(compiled_grid)))
        full_got = pipeline.full(image, ref_grid.numpy())  # the full-res part alone: PyTorch's grid
        end_to_end = pipeline.full(image, compiled_grid)
        per_photo.append({
            "photo": name, "size": list(image.shape[:2]),
            "low_res": {"grid_max_abs": _max_abs(compiled_grid, ref_grid.numpy()), "max_abs": _max_abs(low_got, low_ref),
                        "psnr": psnr(low_got, low_ref)},
            "full_res": {"max_abs": _max_abs(full_got, reference), "psnr": psnr(full_got, reference),
                         "vs_float32_max_abs": _max_abs(full_got, low_ref)},
            "end_to_end": {"max_abs": _max_abs(end_to_end, reference), "psnr": psnr(end_to_end, reference)}})
    precisions = {name: parts[name].precision for name in ("low_res", "full_res")}
    precisions["end_to_end"] = "fp32" if set(precisions.values()) == {"fp32"} else "quantized"
    result: dict[str, Any] = {"host_target": pipeline.host, "photos": len(per_photo), "long_side": long_side,
                              "bars": {"max_abs": MAX_ABS_BAR, "psnr_db": PSNR_BAR}, "parts": {}}
    for part_name, precision in precisions.items():
        bar = _bar(precision)
        worst_abs = max(e[part_name]["max_abs"] for e in per_photo)
        worst_psnr = min(e[part_name]["psnr"] for e in per_photo)
        summary = {"precision": precision, "bar": bar, "max_abs": worst_abs, "min_psnr": worst_psnr,
                   "passed": _passes({"max_abs": worst_abs, "psnr": worst_psnr}, bar)}
        if part_name == "low_res":
            summary["grid_max_abs"] = max(e["low_res"]["grid_max_abs"] for e in per_photo)
        if part_name == "full_res":
            summary["engine"] = parts["full_res"].engine
            summary["vs_float32_max_abs"] = max(e["full_res"]["vs_float32_max_abs"] for e in per_photo)
        result["parts"][part_name] = summary
    result["passed"] = all(p["passed"] for p in result["parts"].values())
    if pipeline.notes:
        result["notes"] = pipeline.notes
    result["per_photo"] = per_photo
    result["compile_seconds"] = {k: round(v, 2) for k, v in pipeline.seconds.items()}
    result["timing"] = time_host_build(pipeline, target_name=target_name)
    if quality:
        result["quality"] = fivek_quality(loaded, pipeline, source)
    return result


def _tvm_threads(n: int) -> None:
    """TVM's thread pool in this process: n threads (0: TVM's default, one per core)."""
    import tvm

    tvm.get_global_func("runtime.config_threadpool")(1, n)


def time_host_build(pipeline: HostPipeline, size: tuple[int, int] = TIMING_SIZE, repeats: int = TIMING_REPEATS,
                    threads: int = 1, target_name: str | None = None) -> dict[str, Any]:
    """Each part of the host build timed (median of `repeats` after a warm-up, `threads` TVM threads) beside
    the latency model's prediction of the same build on the `host` target (see the module doc), and, with
    `target_name`, the prediction of the part as it ships there (its placement, 8-bit pixels)."""
    height, width = size
    image = sized_photo(height, width).astype(np.float32) / 255.0
    low = downsample(to_nchw(image), pipeline.loaded.net.cfg.lowres_size)
    grid = pipeline.grid(low)
    calls = {"low_res": lambda: pipeline.grid(low), "full_res": lambda: pipeline.full(image, grid)}
    _tvm_threads(threads)
    try:
        measured = {part: float(np.median(run_times(call, repeats, warmup=True))) * 1e3 for part, call in calls.items()}
    finally:
        _tvm_threads(0)
    fp32 = Assignment("cpu", "fp32", threads)
    predicted = predict_parts(pipeline.loaded.net, Placement(default=fp32, parts={part: fp32 for part in PARTS}), "host",
                              height, width, pixel_type="float32",
                              full_res_built_as=pipeline.loaded.candidate.quantization.full_res)
    shipped = None
    if target_name is not None:
        candidate, target = pipeline.loaded.candidate, load_target(target_name)
        placed = {part: Assignment(getattr(candidate.placement, part), getattr(candidate.quantization, part),
                                   threads if target.unit(getattr(candidate.placement, part)).kind == "cpu" else None)
                  for part in PARTS}
        shipped = predict_parts(pipeline.loaded.net, Placement(default=placed["low_res"], parts=placed), target.name,
                                height, width)
    parts = {}
    for part in PARTS:
        ms = predicted.parts.get(part)
        parts[part] = {"measured_ms": round(measured[part], 3), "predicted_ms": None if ms is None else round(ms, 3),
                       "ratio": None if ms is None else round(measured[part] / ms, 3),
                       "not_predicted": predicted.missing.get(part)}
        if shipped is not None:
            on_target = shipped.parts.get(part)
            parts[part]["target_predicted_ms"] = None if on_target is None else round(on_target, 3)
    return {"target": "host", "height": height, "width": width, "pixel_type": "float32", "threads": threads,
            "repeats": repeats, "parts": parts, **({"shipped_on": target_name} if target_name else {})}


def fivek_quality(loaded: LoadedCandidate, pipeline: HostPipeline, source: DataSource) -> dict[str, Any]:
    """PSNR vs Expert C on the FiveK evaluation pairs: compiled model, deployed PyTorch model, base student."""
    pairs = fivek_set(source)
    base = resolve_model(loaded.candidate.base)
    compiled, deployed, student = [], [], []
    for _, (x, y) in sorted(pairs.items()):
        compiled.append(psnr(pipeline.enhance(x), y))
        deployed.append(psnr(enhance_array(loaded.deployed, x), y))
        with torch.no_grad():
            student.append(psnr(enhance_array(base, x), y))
    student_psnr, compiled_psnr, deployed_psnr = map(lambda v: float(np.mean(v)), (student, compiled, deployed))
    predicted = loaded.metrics.quality.psnr_drop_vs_student if loaded.metrics is not None else None
    return {"pairs": sorted(pairs), "student_psnr": student_psnr, "compiled_psnr": compiled_psnr,
            "pytorch_deployed_psnr": deployed_psnr, "compiled_psnr_drop_vs_student": student_psnr - compiled_psnr,
            "pytorch_psnr_drop_vs_student": student_psnr - deployed_psnr, "predicted_psnr_drop_vs_student": predicted,
            "base": loaded.candidate.base}
