"""`aicam-opt report DIR [--storage URL] [--study NAME]`: regenerate every report from the study alone."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..search.folder import ReportFolder
from .study import load_search
from .write import OUTPUTS, write_reports


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="regenerate trials.csv, the Pareto plots, winners/summary.json and report.html")
    p.add_argument("dir", help="report folder of a search (e.g. reports/sd865)")
    p.add_argument("--storage", help=f"Optuna storage URL (default: DIR/{ReportFolder.STUDY_FILE})")
    p.add_argument("--study", help="study name, when the storage holds several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.dir)
    study, space, target = load_search(out_dir, args.storage, args.study)
    write_reports(out_dir, study, space, target)
    print(f"wrote {', '.join(OUTPUTS)} in {out_dir}")
    return 0
