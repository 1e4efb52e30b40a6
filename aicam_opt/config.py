"""One typed config system: pydantic models, loaded from YAML with `safe_load`.

Every config class in the suite (targets, search spaces, candidates, model and training configs)
derives from `Config` and is read with `load_yaml`, so a wrong field always produces the same kind
of error: the file, the field path, what was given and what is allowed.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from . import atomic
from .errors import AicamError


class Config(BaseModel):
    """Base of every config: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


C = TypeVar("C", bound=BaseModel)


def format_validation_error(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid configuration ({err.error_count()} problem(s)):"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "<top level>"
        given = e.get("input")
        given_txt = "" if isinstance(given, dict) else f" (given: {given!r})"
        lines.append(f"  - field '{field}': {e['msg']}{given_txt}")
    return "\n".join(lines)


def validate(cls: type[C], raw: Any, source: str) -> C:
    """Validate a plain dict against `cls`, raising AicamError that names `source` and the field."""
    if not isinstance(raw, dict):
        raise AicamError(f"{source}: expected a mapping of fields at the top level, got {type(raw).__name__}")
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        raise AicamError(format_validation_error(source, err)) from None


def read_yaml(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise AicamError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise AicamError(f"{path}: malformed YAML: {err}. Fix the syntax at the position shown.") from None
    except UnicodeDecodeError:
        raise AicamError(f"{path}: not a UTF-8 text file") from None


def load_yaml(path: str | os.PathLike, cls: type[C]) -> C:
    """Load a YAML (or JSON, a subset of YAML) file into the config class `cls`."""
    return validate(cls, read_yaml(path), str(path))


def save_yaml(obj: BaseModel, path: str | os.PathLike) -> None:
    atomic.write_text(path, yaml.safe_dump(obj.model_dump(mode="json"), sort_keys=False))


def save_json(data: Any, path: str | os.PathLike) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
