"""One typed config system: pydantic models, loaded from YAML with `safe_load`; and the base of
every JSON document the suite writes and reads back.

Every config class in the suite (targets, search spaces, candidates, model and training configs)
derives from `Config` and is read with `load_yaml`, so a wrong field always produces the same kind
of error: the file, the field path, what was given and what is allowed. Every output document
(summary.json, winners.json, compile.json, metrics.json, ...) is a `Document`: its writer builds the
model and saves it, its readers load it through the same model.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class JsonBlock(BaseModel):
    """A typed part of a JSON document. Reading ignores keys the model does not know (a newer writer may
    add keys within a schema version); writing leaves out the optional keys that were not given, as
    the documents always did (e.g. `measured` before the winners are timed)."""

    model_config = ConfigDict(extra="ignore", validate_by_name=True, serialize_by_alias=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


D = TypeVar("D", bound="Document")


class Document(JsonBlock):
    """A JSON output document. `SCHEMA` ("<name>/<major>", None for documents without one) is written as
    the document's first key; a reader refuses another name or another major version."""

    SCHEMA: ClassVar[str | None] = None
    schema_: str | None = Field(None, alias="schema")

    @model_validator(mode="before")
    @classmethod
    def _schema_key(cls, data: Any) -> Any:
        if cls.SCHEMA and isinstance(data, dict) and "schema" not in data and "schema_" not in data:
            data = {"schema": cls.SCHEMA, **data}
        return data

    def save(self, path: str | os.PathLike) -> None:
        save_json(self.to_json(), path)

    @classmethod
    def checked(cls: type[D], raw: dict[str, Any]) -> D:
        """The model of a document its writer assembled as a dict. A key the schema would drop, or a value it
        would change, is a bug in the writer or the schema: raised here, never written or lost silently."""
        document = cls.model_validate(raw)
        if not _same_json(json.loads(json.dumps(document.to_json())), json.loads(json.dumps(raw))):
            raise ValueError(f"{cls.__name__} does not describe what its writer wrote: the schema and the writer "
                             f"differ (schema: {json.dumps(document.to_json())[:2000]}; written: "
                             f"{json.dumps(raw)[:2000]})")
        return document

    @classmethod
    def from_json(cls: type[D], raw: Any, source: str, fix: str) -> D:
        """Validate a parsed document; AicamError naming `source`, the field and `fix` (how to regenerate it)."""
        if not isinstance(raw, dict):
            raise AicamError(f"{source}: expected a JSON object at the top level, got {type(raw).__name__}. {fix}")
        if cls.SCHEMA:
            name, major = cls.SCHEMA.split("/")
            schema = raw.get("schema")
            if not isinstance(schema, str) or not schema.startswith(name + "/"):
                raise AicamError(f"{source}: not a {name} document (schema {schema!r}, expected {cls.SCHEMA!r}). {fix}")
            if schema.removeprefix(name + "/").split(".")[0] != major:
                raise AicamError(f"{source}: schema {schema!r} has a different major version than this version of "
                                 f"aicam_opt reads ({cls.SCHEMA!r}). {fix}")
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            problems = format_validation_error(source, err).split("\n", 1)[1]
            what = f"a valid {cls.SCHEMA}" if cls.SCHEMA else f"a valid {cls.__name__}"
            raise AicamError(f"{source}: not {what} document ({err.error_count()} problem(s)):\n{problems}\n"
                             f"{fix}") from None

    @classmethod
    def load(cls: type[D], path: str | os.PathLike, fix: str, missing: str | None = None) -> D:
        """Read and validate `path`. `fix`: how to make a good one; `missing`: what to do when it does not exist."""
        path = Path(path)
        if not path.is_file():
            raise AicamError(f"{path}: file not found. {missing or fix}")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise AicamError(f"{path}: not valid JSON ({err}). {fix}") from None
        return cls.from_json(raw, str(path), fix)


def _same_json(a: Any, b: Any) -> bool:
    """Equal JSON values, keys in the same order; 1 and 1.0 are the same number, NaN is NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)
    return type(a) is type(b) and a == b
