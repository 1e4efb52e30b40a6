"""Benchmark of the compression stage: time to build, recover (search budget) and evaluate one
candidate on this machine, and what each example candidate loses. Writes reports/bench/compress.json.

    nice -n 15 .venv/bin/python -m aicam_opt.compress.bench [--recover-steps 20] [--threads 2]

The student's and teacher's outputs on the evaluation split (`references_s`) are computed once per
search, so they are reported apart from the per-candidate time (`candidate_total_s`).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from ..config import load_yaml, save_json
from ..data import resolve
from ..models.checkpoints import load_model
from ..models.inference import enhance_array
from .build import build_candidate
from .candidate import Candidate
from .evaluation import references

EXAMPLES = Path(__file__).resolve().parents[2] / "search_spaces" / "examples"
DEFAULT_CANDIDATES = ("int8_lowres", "pruned50", "hard_switch_k1")
REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench" / "compress.json"


def run(out: Path = REPORT, candidates=DEFAULT_CANDIDATES, recover_steps: int = 20, threads: int = 2,
        eval_frames: int = 8) -> dict:
    torch.set_num_threads(threads)
    source = resolve()
    student, teacher = load_model(kind="student"), load_model(kind="teacher")
    clock = time.perf_counter()
    refs = references(source, lambda img: enhance_array(student, img), lambda img: enhance_array(teacher, img), eval_frames)
    results: dict = {
        "command": f"python -m aicam_opt.compress.bench --recover-steps {recover_steps} --threads {threads}",
        "host": {"cpus": os.cpu_count(), "torch_threads": threads, "load_average_at_start": list(os.getloadavg()),
                 "python": platform.python_version(), "torch": torch.__version__},
        "data": source.description, "recover_steps": recover_steps, "eval_frames": eval_frames,
        "references_s": round(time.perf_counter() - clock, 2), "candidates": {},
    }
    for name in candidates:
        candidate = load_yaml(EXAMPLES / f"{name}.yaml", Candidate)
        clock = time.perf_counter()
        built = build_candidate(candidate, source, recover_steps=recover_steps, student=student, teacher=teacher,
                                refs=refs, eval_frames=eval_frames)
        m = built.metrics
        results["candidates"][name] = {
            "candidate_total_s": round(time.perf_counter() - clock, 2), "seconds": m.seconds,
            "quality": m.quality.to_json(), "params": m.params, "macs": m.macs,
            "base": m.base.to_json(), "predicted_latency_ms": m.predicted_latency_ms, "recovery": m.recovery,
        }
        print(f"{name}: {results['candidates'][name]['candidate_total_s']:.1f} s, "
              f"PSNR drop vs student {m.quality.psnr_drop_vs_student:+.3f} dB, "
              f"params {m.params} (student {m.base.params})", flush=True)
    save_json(results, out)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aicam_opt.compress.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--recover-steps", type=int, default=20, help="the search's recovery budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-frames", type=int, default=8)
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES),
                        help="comma-separated names of search_spaces/examples/*.yaml")
    args = parser.parse_args(argv)
    run(args.out, tuple(c for c in args.candidates.split(",") if c), args.recover_steps, args.threads, args.eval_frames)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
