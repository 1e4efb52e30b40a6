"""The compression pipeline: candidate -> configured -> pruned -> recovered -> quantized -> exported
-> metrics. `build_candidate` does it all; each stage lives in its own module.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import save_yaml
from ..cost import model_cost
from ..data import DataSource
from ..evaluate.eval_set import require_evaluation_images
from ..latency import Assignment, Placement
from ..latency import load_model as load_latency_model
from ..latency.model import workload_latency_ms
from ..models.checkpoints import resolve_model, save_checkpoint
from ..models.inference import enhance_array, enhance_with_grid_every
from ..models.student import StudentNet
from .candidate import Candidate, check_feasible
from .folder import CandidateFolder
from .configure import configure
from .evaluation import References, candidate_quality, references
from .metrics import BaseFigures, CandidateMetrics, CandidateQuality, OnnxExport
from .prune import prune_student
from .quantize import (CompressedStudent, LowResGraph, calibration_images, export_onnx, qdq_node_counts,
                       quantize_full_res, quantize_low_res)
from .recover import recover

BUILD_SEED = 0

COST_WORKLOAD = "preview"
ONNX_IMAGE_SIZE = (512, 768)  # (H, W) of model.onnx's image input (see quantize.ExportedStudent)


@dataclass
class Built:
    candidate: Candidate
    float_net: StudentNet            # configured, pruned and recovered; float32 (what a checkpoint stores)
    deployed: CompressedStudent      # with the candidate's precisions (fake-quantized int8 / fp16)
    metrics: CandidateMetrics        # what metrics.json holds


def build_candidate(candidate: Candidate, source: DataSource, recover_steps: int = 20,
                    student: StudentNet | None = None, teacher: nn.Module | None = None,
                    refs: References | None = None, out_dir: str | Path | None = None,
                    eval_frames: int = 8, eval_source: DataSource | None = None) -> Built:
    """Build one candidate from `student` (default: the candidate's base), recovering against `teacher`
    (default: the committed one), calibrating and recovering on `source`'s training split and measuring on
    `eval_source`'s evaluation split (default: `source`'s). `refs`: the student/teacher outputs, reused
    across a search."""
    # The same candidate builds the same network whatever ran before it in the process (a new layer's
    # initialisation, the pruning trace's example draw): searches and their CI baseline replay exactly.
    with torch.random.fork_rng():
        torch.manual_seed(BUILD_SEED)
        return _build(candidate, source, recover_steps, student, teacher, refs, out_dir, eval_frames, eval_source)


def _build(candidate: Candidate, source: DataSource, recover_steps: int, student: StudentNet | None,
           teacher: nn.Module | None, refs: References | None, out_dir: str | Path | None, eval_frames: int,
           eval_source: DataSource | None) -> Built:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    eval_source = eval_source or source
    check_feasible(candidate, None)  # before loading or computing anything
    if refs is None:
        require_evaluation_images(eval_source)
    base = student if student is not None else resolve_model(candidate.base)
    target, cfg = check_feasible(candidate, base.cfg)
    teacher = teacher if teacher is not None else resolve_model("teacher")
    calibration = calibration_images(source, base.cfg.lowres_size, candidate.quantization.calibration_images)

    configured, inheritance = configure(base, cfg, calibration) if cfg != base.cfg.model_copy(update={"widths": None}) \
        else (copy.deepcopy(base).eval(), None)
    timings["configure_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    multiple = candidate.channel_multiple(target)
    taylor = _taylor_batch(calibration, teacher) if candidate.pruning.importance == "taylor" else None
    pruned = prune_student(configured, candidate.pruning, multiple, taylor)
    timings["prune_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    recovered, recovery = recover(pruned, source, recover_steps, teacher)
    timings["recover_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    deployed = deploy(recovered, candidate, source)
    timings["quantize_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    if refs is None:
        refs = references(eval_source, lambda img: enhance_array(base, img), lambda img: enhance_array(teacher, img), eval_frames)
    quality = candidate_quality(refs, lambda img: enhance_array(deployed, img),
                                clip=lambda: enhance_with_grid_every(deployed, candidate.video.grid_every))
    timings["evaluate_s"] = time.perf_counter() - clock

    metrics = CandidateMetrics(
        candidate=candidate.name,
        quality=CandidateQuality.model_validate(quality),
        **cost_metrics(recovered, candidate),
        base=BaseFigures(params=_params(base), macs=model_cost(base, COST_WORKLOAD).macs),
        architecture=cfg.model_dump(mode="json") | {"widths": recovered.cfg.resolved_widths().model_dump()},
        channel_multiple=multiple,
        inheritance=inheritance.summary() if inheritance else None,
        recovery=recovery,
        seconds={k: round(v, 2) for k, v in timings.items()},
        evaluated_on=eval_source.split_description(),
    )
    built = Built(candidate, recovered, deployed, metrics)
    if out_dir is not None:
        write_outputs(built, Path(out_dir))
    return built


def deploy(net: StudentNet, candidate: Candidate, source: DataSource) -> CompressedStudent:
    """The candidate at its precisions: NNCF int8 where asked, fp16 emulated, fp32 as is."""
    q = candidate.quantization
    size = net.cfg.lowres_size
    needs_calibration = "int8" in (q.low_res, q.full_res)
    calibration = calibration_images(source, size, q.calibration_images) if needs_calibration else []
    low_res = quantize_low_res(net, calibration) if q.low_res == "int8" else LowResGraph(net.low_res).eval()
    if q.low_res == "fp16":
        low_res = _Half(low_res)
    full_res: nn.Module = net.full_res
    if q.full_res == "int8":
        full_res = quantize_full_res(net.full_res, _full_res_calibration(net, source, q.calibration_images))
    return CompressedStudent(low_res, full_res, size, q.full_res).eval()


class _Half(nn.Module):
    """A part evaluated in half precision end to end (fp16 on the unit), returning float32."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = copy.deepcopy(module).half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.half()).float()


def _full_res_calibration(net: StudentNet, source: DataSource, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(image, grid) pairs: training photos at 256 pixels long side and the grid the net predicts."""
    from ..data import load_photos

    photos = list(load_photos(source, "train", long_side=256).values())[:count]
    out = []
    with torch.no_grad():
        for p in photos:
            x = torch.from_numpy(np.ascontiguousarray(p.transpose(2, 0, 1)))[None]
            out.append((x, net.grid(x)))
    return out


def _taylor_batch(calibration: list[torch.Tensor], teacher: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Training photos (at the low-res size) and the teacher's output on them: Taylor importance's loss."""
    x = torch.cat(calibration[:8])
    with torch.no_grad():
        return x, teacher(x)


def _params(net: StudentNet) -> int:
    return sum(p.numel() for p in net.parameters())


def cost_metrics(net: StudentNet, candidate: Candidate) -> dict[str, Any]:
    """Parameters, MACs (preview workload; a hard switch counts one branch) and predicted latency."""
    cost = model_cost(net, COST_WORKLOAD)
    out: dict[str, Any] = {"params": _params(net), "macs": cost.macs,
                           "macs_low_res": cost.total("low_res")["macs"], "macs_full_res": cost.total("full_res")["macs"],
                           "workload": COST_WORKLOAD}
    placement = Placement(parts={
        "low_res": Assignment(candidate.placement.low_res, candidate.quantization.low_res),
        "full_res": Assignment(candidate.placement.full_res, candidate.quantization.full_res)})
    latency = load_latency_model(candidate.target)
    out["predicted_latency_ms"] = {
        workload: workload_latency_ms(latency.predict(model_cost(net, workload).ops if workload != COST_WORKLOAD
                                                      else cost.ops, placement), workload, candidate.video.grid_every)
        for workload in (COST_WORKLOAD, "photo100mp")}
    return out


def write_outputs(built: Built, out_dir: Path, onnx: bool = True) -> CandidateFolder:
    """The candidate folder (compress/folder.py): candidate.yaml, metrics.json, student.safetensors (float
    weights) and, with `onnx`, model.onnx (the search skips the export: the compile step exports what it compiles)."""
    folder = CandidateFolder(out_dir)
    folder.path.mkdir(parents=True, exist_ok=True)
    if onnx:
        clock = time.perf_counter()
        size = built.float_net.cfg.lowres_size
        onnx_path = export_onnx(built.deployed, folder.onnx, size, ONNX_IMAGE_SIZE)
        built.metrics.onnx = OnnxExport(path=onnx_path.name,
                                        inputs={"lowres": [1, 3, size, size], "image": [1, 3, *ONNX_IMAGE_SIZE]},
                                        qdq_nodes=qdq_node_counts(onnx_path),
                                        export_s=round(time.perf_counter() - clock, 2))
    save_checkpoint(built.float_net, "student", folder.weights)
    save_yaml(built.candidate, folder.candidate_file)
    built.metrics.save(folder.metrics_file)
    return folder
