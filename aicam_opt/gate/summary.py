"""Reading a search summary (`reports/<target>/summary.json`, schema "aicam_opt.summary/1") through the
schema its writer uses (aicam_opt/report/summary.py).

Two summaries compare only when they come from the same search: target, evaluation images, search
space, trial budget, sampler and seed (`comparable_search`). A summary written before the budget was
recorded ("budget unknown") is compared, and the gate says that it could not check the budgets.

Keys the model does not know are ignored, so the search may add keys within schema version 1
without breaking the gate (a new major version is refused instead).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import AicamError
from ..report.summary import SCHEMA, Measured, SearchBudget, Summary, SummaryWinner
from ..search.blocks import EvaluationSet, Figures

Winner = SummaryWinner

__all__ = ["SCHEMA", "EvaluationSet", "Figures", "Measured", "SearchBudget", "Summary", "Winner", "load_pair",
           "load_summary", "unknown_budgets"]


def load_summary(path: str | os.PathLike, missing_hint: str) -> Summary:
    return Summary.load(path, "Pass the summary.json the search writes (reports/<target>/summary.json); regenerate "
                              "it with the search (make optimize) or restore it from git.", missing=missing_hint)


def load_pair(baseline_path: str | os.PathLike, current_path: str | os.PathLike) -> tuple[Summary, Summary]:
    """Both summaries, checked to describe the same target (comparing sd865 with host means nothing)."""
    baseline = load_summary(baseline_path, f"Create the baseline from a run you trust: cp {current_path} {baseline_path}")
    current = load_summary(current_path, f"Run the search first: make optimize TARGET={baseline.target}")
    if baseline.target != current.target:
        raise AicamError(f"target mismatch: {baseline_path} is for '{baseline.target}' but {current_path} is for "
                         f"'{current.target}'. Compare against reports/baseline/{current.target}.json.")
    b_set, c_set = baseline.student.measured_on, current.student.measured_on
    if b_set is not None and c_set is not None and b_set.differences(c_set):
        # e.g. a machine without ../shared/data measures on the embedded photos: its PSNR is not a regression
        raise AicamError(f"{baseline_path} and {current_path} measured quality on different evaluation images "
                         f"({'; '.join(b_set.differences(c_set))}), so their quality figures are not comparable. "
                         f"Run the search on the data the baseline used (make optimize DATA=<folder>; baseline: "
                         f"{b_set.data}), or make a baseline "
                         f"for this data: cp {current_path} <your baseline>.")
    comparable_search(baseline, current, baseline_path, current_path)
    return baseline, current


def _search(summary: Summary) -> tuple:
    budget = summary.budget
    return summary.search_space, budget.trials, budget.sampler, budget.seed


def _search_text(summary: Summary) -> str:
    return f"space {summary.search_space}, budget unknown" if summary.budget is None else \
        summary.budget.describe(summary.search_space)


def same_search(a: Summary, b: Summary) -> bool:
    """Whether the winners of `a` and `b` come from searches that compare: same target and space, and, when
    both recorded it, the same budget, sampler and seed."""
    if a.target != b.target or a.search_space != b.search_space:
        return False
    return a.budget is None or b.budget is None or _search(a) == _search(b)


def baselines_for(current: Summary, current_path: str | os.PathLike, folder: Path) -> list[Path]:
    """Summaries in `folder` (the baseline's) made by the same search as `current`, by path."""
    found = []
    for path in sorted(folder.glob("*.json")):
        if path.resolve() == Path(current_path).resolve():
            continue
        try:
            candidate = Summary.load(path, "")
        except AicamError:  # not a summary, or a broken one: not a baseline to suggest
            continue
        if candidate.budget is not None and current.budget is not None and same_search(candidate, current):
            found.append(path)
    return found


def comparable_search(baseline: Summary, current: Summary, baseline_path: str | os.PathLike,
                      current_path: str | os.PathLike) -> None:
    """Refuse (AicamError, exit 2) to judge the winners of searches that differ: a search with another budget,
    space, sampler or seed finds other candidates, which is no regression. The message says what to run."""
    if same_search(baseline, current):
        return
    target = current.target
    folder = Path(baseline_path).parent
    out = Path(current_path).parent
    lines = [f"{baseline_path} comes from a search of {_search_text(baseline)} but {current_path} from one of "
             f"{_search_text(current)}: a different search finds other winners, which is no regression, "
             "so the gate does not compare them."]
    matching = baselines_for(current, current_path, folder)
    if matching:
        lines.append("A baseline made by the same search as this run: "
                     + "; ".join(f"make gate TARGET={target} BASELINE={path}" for path in matching) + ".")
    else:
        rerun = f"make optimize TARGET={target}"
        if baseline.search_space != current.search_space or baseline.search_space != "default":
            rerun += f" SPACE={baseline.search_space}"
        if baseline.budget is not None:
            rerun += f" TRIALS={baseline.budget.trials}"
        lines.append(f"To gate against {baseline_path}, rerun the search as it was made, into a fresh report folder "
                     f"(move {out} aside first, e.g. mv {out} {out}-previous: a study there is resumed and keeps "
                     f"its trials): {rerun}, then make gate TARGET={target}.")
        if current.budget is not None:
            name = (f"{target}-{current.budget.trials}trials.json" if current.search_space == "default" else
                    f"{target}-{current.search_space}-{current.budget.trials}trials.json")
            per_search = folder / name
            lines.append(f"Or, if this run is one you trust, make it the baseline for its search: cp {current_path} "
                         f"{per_search}, then make gate TARGET={target} BASELINE={per_search}.")
    raise AicamError(" ".join(lines))


def unknown_budgets(baseline: Summary, current: Summary, baseline_path: str | os.PathLike,
                    current_path: str | os.PathLike) -> list[str]:
    """What the gate could not check: a summary from before budgets were recorded."""
    return [f"{path}: trial budget unknown (written before summaries recorded it), so the gate cannot check that "
            f"both runs searched alike; refresh it from a run of this version to be sure"
            for summary, path in ((baseline, baseline_path), (current, current_path)) if summary.budget is None]
