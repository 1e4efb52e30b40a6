"""`aicam-opt compress CANDIDATE.yaml --out DIR [--data DIR] [--recover-steps N]`.

Writes DIR/model.onnx (the whole student; QDQ low-res when int8), DIR/candidate.yaml,
DIR/metrics.json (quality vs student and teacher, params, MACs, predicted latency, stage times)
and DIR/student.safetensors (the float weights after pruning and recovery); the libraries' logs (NNCF, torch)
go to DIR/aicam-opt.log.
"""
from __future__ import annotations

import argparse
import json

import torch

from ..config import load_yaml
from ..data import build_sources, resolve
from ..logs import routed_logs
from .build import build_candidate
from .candidate import Candidate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compress", help="build one compression candidate and measure what it lost")
    p.add_argument("candidate", help="candidate YAML (see search_spaces/examples/)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data", help="data folder (default: $AICAM_DATA, ../shared/data, else embedded photos); one "
                   "holding training-split images is measured on its evaluation split, any other is all evaluation data")
    p.add_argument("--recover-steps", type=int, default=20, help="distillation steps after the transforms (0: none)")
    p.add_argument("--eval-frames", type=int, default=8, help="frames of the evaluation clip used for flicker")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show the libraries' logs (NNCF, torch, TVM) on the console; they always go to "
                        "OUT/aicam-opt.log")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    candidate = load_yaml(args.candidate, Candidate)
    if args.threads:
        torch.set_num_threads(args.threads)
    # training photos calibrate/recover, evaluation photos measure (data.build_sources)
    train_source, eval_source = build_sources(resolve(args.data))
    with routed_logs(args.out, verbose=args.verbose):
        built = build_candidate(candidate, train_source, recover_steps=args.recover_steps, out_dir=args.out,
                                eval_frames=args.eval_frames, eval_source=eval_source)
    metrics = built.metrics
    q = metrics.quality
    print(json.dumps({"out": args.out, "evaluated_on": metrics.evaluated_on, "psnr_drop_vs_student": round(q.psnr_drop_vs_student, 3),
                      "deltae_vs_student": round(q.deltae_vs_student, 3), "psnr_vs_teacher": round(q.psnr_vs_teacher, 2),
                      "params": metrics.params, "macs": metrics.macs, "seconds": metrics.seconds}, indent=2))
    return 0
