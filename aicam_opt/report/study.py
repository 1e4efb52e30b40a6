"""The study behind a report folder, with the search space and target it was made with."""
from __future__ import annotations

from pathlib import Path

import optuna

from ..errors import AicamError
from ..search.space import SearchSpace
from ..search.study import STUDY_FILE, storage_url


def load_search(out_dir: Path, storage: str | None = None, name: str | None = None) -> tuple[optuna.Study, SearchSpace, str]:
    """The study in a report folder (or storage), with the search space and target it was made with."""
    if storage is None and not (out_dir / STUDY_FILE).exists():
        raise AicamError(f"{out_dir / STUDY_FILE} does not exist: run `make optimize TARGET=...` (or "
                         "`aicam-opt optimize --target T --out DIR`) first, or pass --storage URL")
    url = storage_url(out_dir, storage)
    names = optuna.study.get_all_study_names(storage=url)
    if name is None:
        if len(names) != 1:
            raise AicamError(f"{url} holds {len(names)} studies ({', '.join(names) or 'none'}); choose one with --study")
        name = names[0]
    elif name not in names:
        raise AicamError(f"no study '{name}' in {url}; it holds {', '.join(names) or 'none'}")
    study = optuna.load_study(study_name=name, storage=url)
    attrs = study.user_attrs
    if "space" not in attrs or "student" not in attrs:
        raise AicamError(f"study '{name}' in {url} was not made by aicam-opt optimize (no search space/student "
                         "recorded); nothing to report")
    return study, SearchSpace.model_validate(attrs["space"]), attrs["target"]
