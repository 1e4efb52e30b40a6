"""Does the sampler earn its keep? The search space's sampler against a random sampler, same budget.

    python -m aicam_opt.search.bench --trials 16 --out reports/bench/search.json

Both studies run in this process on the same references (same data, teacher, student) into
reports/bench/search/<sampler>/. Compared on the feasible fronts, objectives scaled to [0, 1] over
the union of both studies' feasible trials:
- hypervolume (reference point 1.1 in every scaled objective), higher is better;
- how many points of each front the other front dominates ("not dominated by random" = 0 points
  of the sampler's front are dominated by the random front).
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from ..config import save_json
from ..data import resolve
from ..latency.target import load_target
from .objective import calibrated_pairs, make_context, student_figures
from .pareto import complete_trials, dominates, feasible_front, hypervolume, is_feasible
from .records import StudyRecord
from .space import SamplerSpec, load_space
from .study import open_study, run_search


def compare_fronts(fronts: dict[str, list[list[float]]], feasible: list[list[float]]) -> dict:
    """Hypervolume of each front after scaling with the union of feasible trials, and cross-dominance."""
    union = np.array(feasible, dtype=float)
    low, high = union.min(axis=0), union.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = {name: ((np.array(front, dtype=float) - low) / span).tolist() for name, front in fronts.items() if front}
    reference = [1.1] * union.shape[1]
    out: dict = {"hypervolume": {name: hypervolume(points, reference) for name, points in scaled.items()},
                 "reference_point": reference, "scaled_by": {"low": low.tolist(), "high": high.tolist()}}
    names = list(fronts)
    for a in names:
        for b in names:
            if a != b:
                out[f"{a}_points_dominated_by_{b}"] = sum(any(dominates(q, p) for q in fronts[b]) for p in fronts[a])
    return out


def run(trials: int, out_path: Path, target_name: str, space_name: str = "default") -> dict:
    console = Console()
    space, target = load_space(space_name), load_target(target_name)
    work = out_path.parent / "search"
    shutil.rmtree(work, ignore_errors=True)
    ctx = make_context(space, target, resolve(None), work)
    space.check_against(target, calibrated_pairs(ctx.latency))
    student = student_figures(ctx)
    studies, seconds = {}, {}
    for kind in (space.sampler.kind, "random"):
        variant = space.model_copy(update={"sampler": SamplerSpec(kind=kind, seed=space.sampler.seed,
                                                                  startup_trials=space.sampler.startup_trials)})
        folder = work / kind
        ctx.space, ctx.out_dir = variant, folder
        study = open_study(variant, target, folder)
        StudyRecord.store_student(study, student)
        clock = time.perf_counter()
        console.rule(f"{kind}: {trials} trials")
        run_search(ctx, study, trials, console)
        studies[kind], seconds[kind] = study, time.perf_counter() - clock
    fronts = {kind: [list(t.values) for t in feasible_front(s)] for kind, s in studies.items()}
    feasible = [list(t.values) for s in studies.values() for t in complete_trials(s) if is_feasible(t)]
    result = {"command": f"python -m aicam_opt.search.bench --trials {trials}", "space": space.name,
              "target": target.name, "trials": trials, "objectives": space.objectives, "seconds": seconds,
              "front_size": {k: len(v) for k, v in fronts.items()},
              "feasible_trials": {k: sum(is_feasible(t) for t in complete_trials(s)) for k, s in studies.items()},
              **(compare_fronts(fronts, feasible) if feasible else {"hypervolume": {}}), "fronts": fronts}
    save_json(result, out_path)
    console.print(json.dumps({k: result[k] for k in ("hypervolume", "front_size", "feasible_trials")}, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--space", default="default")
    p.add_argument("--target", default="sd865")
    p.add_argument("--out", default="reports/bench/search.json")
    args = p.parse_args(argv)
    run(args.trials, Path(args.out), args.target, args.space)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
