"""Reading a search summary (`reports/<target>/summary.json`, schema "aicam_opt.summary/1").

Only the fields the gate compares are modelled; other keys are ignored, so the search may add keys
within schema version 1 without breaking the gate (a new major version is refused instead).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import format_validation_error
from ..errors import AicamError

SCHEMA_NAME = "aicam_opt.summary"
SCHEMA_MAJOR = "1"
SCHEMA = f"{SCHEMA_NAME}/{SCHEMA_MAJOR}"


class _Block(BaseModel):
    # NaN/inf would compare as "unchanged" against anything, so they are refused outright.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Figures(_Block):
    """Per-workload figures (keys: preview, video8k, photo100mp, ...)."""

    predicted_latency_ms: dict[str, float]
    macs: dict[str, int]
    peak_memory_mb: dict[str, float]


class StudentQuality(_Block):
    psnr: float


class EvaluationSet(_Block):
    """The images the quality figures were measured on."""

    data: str | None = None  # where they were read from: a path differs between machines, so not compared
    pairs: list[str]
    photos: list[str]
    clip: str | None
    frames: int

    def differences(self, other: "EvaluationSet") -> list[str]:
        return [f"{name} {getattr(self, name)!r} vs {getattr(other, name)!r}"
                for name in ("pairs", "photos", "clip", "frames") if getattr(self, name) != getattr(other, name)]


class Student(Figures):
    quality: StudentQuality
    measured_on: EvaluationSet | None = None  # absent in summaries written before it existed


class WinnerQuality(_Block):
    psnr_drop_vs_student: float
    deltae_vs_student: float
    flicker: float | None = None  # None: the evaluation data has no clip


class Winner(Figures):
    trial: int
    candidate: dict[str, Any]  # the candidate description: never gated, its changes shown as an info row
    quality: WinnerQuality
    speedup_vs_student: dict[str, float]


class Measured(_Block):
    reference_ms: float = Field(gt=0)
    host_ms: dict[str, Annotated[float, Field(gt=0)]]
    # median per-round host_ms / reference_ms; absent in summaries written before it existed
    ratio: dict[str, Annotated[float, Field(gt=0)]] | None = None


class Summary(_Block):
    target: str
    search_space: str
    trials: dict[str, int]
    student: Student
    winners: dict[str, Winner | None]
    measured: Measured | None = None


def _check_schema(raw: dict, path: Path) -> None:
    schema = raw.get("schema")
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_NAME + "/"):
        raise AicamError(f"{path}: not a search summary (schema {schema!r}, expected {SCHEMA!r}). "
                         "Pass the summary.json the search writes (reports/<target>/summary.json).")
    major = schema.removeprefix(SCHEMA_NAME + "/").split(".")[0]
    if major != SCHEMA_MAJOR:
        raise AicamError(f"{path}: schema {schema!r} has a different major version than this gate reads ({SCHEMA!r}). "
                         "Regenerate it with this version of aicam_opt (make optimize), or update the gate.")


def load_summary(path: str | os.PathLike, missing_hint: str) -> Summary:
    path = Path(path)
    if not path.is_file():
        raise AicamError(f"{path}: file not found. {missing_hint}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AicamError(f"{path}: not valid JSON ({err}). Regenerate it (make optimize) or restore it from git.") from None
    if not isinstance(raw, dict):
        raise AicamError(f"{path}: expected a JSON object at the top level, got {type(raw).__name__}")
    _check_schema(raw, path)
    try:
        return Summary.model_validate(raw)
    except ValidationError as err:
        problems = format_validation_error(str(path), err).split("\n", 1)[1]  # the per-field lines
        raise AicamError(f"{path}: not a valid {SCHEMA} summary ({err.error_count()} problem(s)):\n{problems}\n"
                         "Regenerate it with the search (make optimize).") from None


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
