"""The documents the compile step writes, one schema each for the writer and every reader (the report,
`aicam-opt optimize`, the CLI summary): the per-part manifest, the per-candidate report.json,
reports/<target>/compile.json and measured.json. Their keys are described in aicam_opt/compile/__init__.py
and compile/measure.py. Blocks whose inner shape belongs to one engine or one check (an artifact, a
failure, the op audit's detail) are kept as plain JSON objects.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..config import Document, JsonBlock

Json = dict[str, Any]


class Manifest(Document):
    """<out_dir>/<part>-<unit>.json: one part built (or not) for one unit."""

    SCHEMA = "aicam_opt.compile.manifest/1"

    part: str
    unit: str
    role: str                       # "placed" | "alternative"
    unit_name: str
    target: str
    status: str                     # "compiled" | "failed"
    engine: str | None
    tvm_target: Json | None
    tvm_target_built: Json | None
    precision: str
    compute: str | None
    inputs: list[Json]
    outputs: list[Json]
    artifact: Json | None
    params: Json | None
    graph: Json | None
    source: Json
    tools: dict[str, str | None]
    compile_seconds: float
    failure: Json | None
    attempts: list[Json]
    notes: list[str]


class PartEntry(JsonBlock):
    """One part of a candidate's compile report (candidate.PartReport.to_dict)."""

    part: str
    unit: str
    role: str
    precision: str
    status: str
    engine: str | None
    artifact: str | None
    artifact_sha256: str | None
    manifest: str
    compile_seconds: float
    failure_stage: str | None
    failure_op: str | None
    failure_reason: str | None
    failure: Json | None
    attempts: list[Json]

    @property
    def placed(self) -> bool:
        return self.role == "placed"


class VerifyQuality(JsonBlock):
    pairs: list[str]
    student_psnr: float
    compiled_psnr: float
    pytorch_deployed_psnr: float
    compiled_psnr_drop_vs_student: float
    pytorch_psnr_drop_vs_student: float
    predicted_psnr_drop_vs_student: float | None  # metrics.json's, when the candidate folder has one
    base: str


class PartTiming(JsonBlock):
    measured_ms: float
    predicted_ms: float | None
    ratio: float | None              # measured / predicted
    not_predicted: str | None        # why the model could not price it
    target_predicted_ms: float | None = None  # the part as it ships on the compile target (its unit and precision)


class HostBuildTiming(JsonBlock):
    """compile/verify.time_host_build: each part of the host build timed, beside the host target's prediction."""

    target: str
    height: int
    width: int
    pixel_type: str
    threads: int
    repeats: int
    parts: dict[str, PartTiming]
    shipped_on: str | None = None    # the compile target of target_predicted_ms


class HostVerification(JsonBlock):
    """compile/verify.verify_host's result, or {"error": ...} when the check itself could not run."""

    error: str | None = None
    host_target: Json | None = None
    photos: int | None = None
    long_side: int | None = None
    bars: dict[str, float] | None = None
    parts: dict[str, Json] | None = None
    passed: bool | None = None
    notes: list[str] | None = None
    per_photo: list[Json] | None = None
    compile_seconds: dict[str, float] | None = None
    timing: HostBuildTiming | None = None
    quality: VerifyQuality | None = None


class AuditRow(JsonBlock):
    """The op audit as a flat row: TVM's FLOP estimate against aicam_opt's count for one bucket or total."""

    part: str
    item: str
    ours: int | float | None
    tvm: int | float | None
    difference: float | None
    over_1pct: bool | None
    reason: str | None


class CandidateCompileReport(Document):
    """<out_dir>/report.json: one candidate compiled (candidate.CompileReport.to_dict)."""

    SCHEMA = "aicam_opt.compile.report/1"

    candidate: str
    candidate_dir: str
    target: str
    out_dir: str
    status: str                     # of the placed parts: "compiled" | "partial" | "failed"
    parts: list[PartEntry]
    verify: HostVerification | None
    op_audit: list[AuditRow]
    op_audit_detail: dict[str, Json] | None
    seconds: float
    notes: list[str]
    tools: dict[str, str | None]


class CompiledRole(JsonBlock):
    """A winner role in compile.json: where it came from and its compile report (or the error that stopped it)."""

    trial: int | None
    candidate_dir: str | None       # as in winners.json, relative to reports/<target>
    artifacts_dir: str
    schema_: str | None = Field(None, alias="schema")  # the report's
    candidate: str | None = None
    target: str | None = None
    out_dir: str | None = None
    status: str
    error: str | None = None        # the role could not be compiled at all
    parts: list[PartEntry]
    verify: HostVerification | None = None
    op_audit: list[AuditRow] | None = None
    op_audit_detail: dict[str, Json] | None = None
    seconds: float | None = None
    notes: list[str] | None = None
    tools: dict[str, str | None] | None = None
    candidate_path: str | None = None  # absolute


class CompileDocument(Document):
    """reports/<target>/compile.json: every winner role compiled."""

    SCHEMA = "aicam_opt.compile.winners/1"

    target: str
    winners_file: str
    created: str
    tools: dict[str, str | None]
    all_units: bool
    winners: dict[str, CompiledRole | None]
    seconds: float

    @classmethod
    def load_optional(cls, path) -> "CompileDocument | None":
        """compile.json when the winners were compiled, else None (the reports are written before that)."""
        if not Path(path).is_file():
            return None
        return cls.load(path, "Compile the winners again (`aicam-opt compile REPORT_DIR --winners`).")


class MeasuredTimings(Document):
    """reports/<target>/measured.json: host time of each winner and of the uncompressed student (compile/measure.py)."""

    workload: str
    reference: str
    reference_ms: float
    host_ms: dict[str, float]       # role -> best round (ms)
    ratio: dict[str, float] | None = None  # role -> median per-round time / the reference's (absent in older files)
    # role -> the trial timed: timings of earlier winners are ignored
    trials: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def load_optional(cls, path) -> "MeasuredTimings | None":
        if not Path(path).is_file():
            return None
        return cls.load(path, "Time the winners again (`aicam-opt optimize`, or compile/measure.py's measure_winners).")
