"""`aicam-opt train teacher|student`: reproduce the committed checkpoints (fixed seed, CPU)."""
from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from ..config import load_yaml, save_json
from ..data import resolve
from ..models import checkpoints


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the teacher or the student and write its checkpoint + manifest entry")
    p.add_argument("kind", choices=["teacher", "student"])
    p.add_argument("--data", help="data folder (default: $AICAM_DATA, ../shared/data, else embedded photos)")
    p.add_argument("--config", help="YAML overriding the training config (see TeacherTrainConfig / StudentTrainConfig)")
    p.add_argument("--steps", type=int, help="override the number of training steps")
    p.add_argument("--out", help="checkpoint path (default: the committed one in aicam_opt/models/weights/)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def quality_summary(source, kind: str, model) -> dict:
    """The eval-split figures stored in the manifest (the full report: `aicam-opt evaluate`)."""
    from ..evaluate.report import evaluate
    from ..models.inference import enhance_array

    eval_split = source.with_fixed_split()  # even with --data: never the training photos
    report = evaluate(eval_split, {kind: lambda img: enhance_array(model, img)})
    strip = lambda m: {k: v for k, v in m.items() if k != "per_pair"}  # noqa: E731
    return {"source": "aicam_opt.evaluate.report.evaluate on the eval split", "fivek_pairs": report["fivek"]["pairs"],
            "fivek": {name: strip(report["fivek"][name]) for name in ("identity", kind)}, "flicker": report["flicker"]}


def run(args: argparse.Namespace) -> int:
    if args.kind == "teacher":
        from .teacher import TeacherTrainConfig as cfg_cls, train_teacher as train
    else:
        from .student import StudentTrainConfig as cfg_cls, train_student as train

    source = resolve(args.data)
    cfg = load_yaml(args.config, cfg_cls) if args.config else cfg_cls()
    if args.steps:
        cfg.steps = args.steps
    print(f"training the {args.kind} on {source.description}")
    model, info = train(source, cfg, show_progress=not args.no_progress)
    entry_metrics = quality_summary(source, args.kind, model)
    out = Path(args.out) if args.out else checkpoints.committed_path(args.kind)
    sha = checkpoints.save_checkpoint(model, args.kind, out)
    entry = {
        "file": out.name, "sha256": sha, "bytes": out.stat().st_size,
        "params": sum(p.numel() for p in model.parameters()),
        "config": model.cfg.model_dump(mode="json"), "train_config": cfg.model_dump(mode="json"),
        "data": {"source": source.description, **info["data"]},
        "training_seconds": info["seconds"], **({"stage_seconds": info["stage_seconds"]} if "stage_seconds" in info else {}),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "metrics": entry_metrics,
        "loss_history": info["history"],
    }
    if args.out:
        save_json(entry, out.with_suffix(".json"))
    else:
        checkpoints.write_manifest_entry(args.kind, entry)
    print(f"wrote {out} ({entry['bytes'] / 1e6:.2f} MB, sha256 {sha[:12]}…) in {info['seconds']:.0f} s")
    return 0
