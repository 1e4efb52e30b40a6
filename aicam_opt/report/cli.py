"""`aicam-opt report DIR [--storage URL] [--study NAME]`: regenerate every report from the study alone."""
from __future__ import annotations

import argparse
from pathlib import Path

import optuna

from ..errors import AicamError
from ..search.space import SearchSpace
from ..search.study import STUDY_FILE, open_storage, redacted, storage_url
from .write import OUTPUTS, write_reports


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="regenerate trials.csv, the Pareto plots, winners/summary.json and report.html")
    p.add_argument("dir", help="report folder of a search (e.g. reports/sd865)")
    p.add_argument("--storage", help=f"Optuna storage URL (default: DIR/{STUDY_FILE})")
    p.add_argument("--study", help="study name, when the storage holds several")
    p.set_defaults(func=run)


def load_search(out_dir: Path, storage: str | None = None, name: str | None = None) -> tuple[optuna.Study, SearchSpace, str]:
    """The study in a report folder (or storage), with the search space and target it was made with."""
    if storage is None and not (out_dir / STUDY_FILE).exists():
        raise AicamError(f"{out_dir / STUDY_FILE} does not exist: run `make optimize TARGET=...` (or "
                         "`aicam-opt optimize --target T --out DIR`) first, or pass --storage URL")
    url = storage_url(out_dir, storage)
    shown = redacted(url)  # the password never reaches a message
    rdb = open_storage(url, existing=True)
    names = optuna.study.get_all_study_names(storage=rdb)
    if name is None:
        if len(names) != 1:
            raise AicamError(f"{shown} holds {len(names)} studies ({', '.join(names) or 'none'}); choose one with --study")
        name = names[0]
    elif name not in names:
        raise AicamError(f"no study '{name}' in {shown}; it holds {', '.join(names) or 'none'}")
    study = optuna.load_study(study_name=name, storage=rdb)
    attrs = study.user_attrs
    if "space" not in attrs or "student" not in attrs:
        raise AicamError(f"study '{name}' in {shown} was not made by aicam-opt optimize (no search space/student "
                         "recorded); nothing to report")
    return study, SearchSpace.model_validate(attrs["space"]), attrs["target"]


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.dir)
    study, space, target = load_search(out_dir, args.storage, args.study)
    write_reports(out_dir, study, space, target)
    print(f"wrote {', '.join(OUTPUTS)} in {out_dir}")
    return 0
