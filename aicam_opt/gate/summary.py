"""Reading a search summary (`reports/<target>/summary.json`, schema "aicam_opt.summary/1") through the
schema its writer uses (aicam_opt/report/summary.py).

Keys the model does not know are ignored, so the search may add keys within schema version 1
without breaking the gate (a new major version is refused instead).
"""
from __future__ import annotations

import os

from ..errors import AicamError
from ..report.summary import SCHEMA, Measured, Summary, SummaryWinner
from ..search.blocks import EvaluationSet, Figures

Winner = SummaryWinner

__all__ = ["SCHEMA", "EvaluationSet", "Figures", "Measured", "Summary", "Winner", "load_pair", "load_summary"]


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
    return baseline, current
