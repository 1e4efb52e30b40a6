"""The study behind a report folder, with the search space and target it was made with."""
from __future__ import annotations

from pathlib import Path

import optuna

from ..errors import AicamError
from ..search.space import SearchSpace
from ..search.folder import ReportFolder
from ..search.records import StudyRecord
from ..search.study import open_storage, redacted, storage_url


def load_search(out_dir: Path, storage: str | None = None, name: str | None = None) -> tuple[optuna.Study, SearchSpace, str]:
    """The study in a report folder (or storage), with the search space and target it was made with."""
    if storage is None and not ReportFolder(out_dir).study.exists():
        raise AicamError(f"{ReportFolder(out_dir).study} does not exist: run `make optimize TARGET=...` (or "
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
    record = StudyRecord.from_study(study)
    if record.space is None or record.student is None:
        raise AicamError(f"study '{name}' in {shown} was not made by aicam-opt optimize (no search space/student "
                         "recorded); nothing to report")
    return study, record.search_space(), record.target
