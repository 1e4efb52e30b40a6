"""Compile one candidate folder for a target: each part for its unit, host verification, op audit.

`compile_candidate(candidate_dir, target_name, out_dir, source)` writes into out_dir:
    low_res.onnx                 the deployed low-res part's graph (QDQ when int8): what Relax imports
    <part>-<unit>.tar | .so      the artifact (see backend.export_artifact); absent for a failed part
    <part>-<unit>.cl             GPU parts: the generated OpenCL source (also inside the artifact)
    <part>-<unit>.params.safetensors   fused kernel: its weight inputs (ccm, curves, mix)
    <part>-<unit>.json           the manifest (schema in aicam_opt/compile/__init__.py), also for a failed part
    report.json                  CompileReport.to_dict(): what compile.json holds per role
A part that fails to compile is recorded (stage, op, reason) and the other part still compiles.

With `all_units=True` each part is also compiled for every other unit of the target ("alternative"
builds, `compile_alternatives`): at the precision that unit runs closest to the candidate's (the same
if the unit supports it, else int8 on the DSP and fp16 on the GPU/CPU), from the candidate's float
weights deployed at that precision (`compress.build.deploy` of a Candidate copy with the part's
placement and quantization changed). They get artifacts and manifests `<part>-<unit>.*` like the
placed parts (the graph of a changed precision: `<part>-<precision>.onnx`) and PartReports with role
"alternative"; they are not verified on the host nor audited, and do not change the report's status.
"""
from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from ..compress.folder import CandidateFolder
from ..data import DataSource, resolve
from ..errors import AicamError
from ..latency.target import Unit, load_target
from ..logs import native_stderr_to_log
from . import backend, engines, unit_kinds
from .documents import CandidateCompileReport, Manifest
from .failures import CompileFailure, error_reason
from .parts import (PARTS, RELAX_ONNX, LoadedCandidate, Part, export_full_res_onnx, export_low_res_onnx,
                    full_res_kernel_part, full_res_onnx_part, kernel_can_represent, load_candidate, low_res_part)
from .targets import tvm_target
from .verify import verify_host

MANIFEST_SCHEMA = Manifest.SCHEMA
REPORT_SCHEMA = CandidateCompileReport.SCHEMA
ARTIFACT_SUFFIXES = (".tar", ".so", ".cl", ".params.safetensors", ".json")


def tool_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name, dist in (("tvm", "apache-tvm"), ("torch", "torch"), ("onnx", "onnx"), ("nncf", "nncf"),
                       ("onnxscript", "onnxscript")):
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class PartReport:
    part: str
    unit: str
    precision: str
    status: str                          # "compiled" | "failed"
    engine: str | None                   # the engine that produced the artifact (or the last one tried)
    manifest: str                        # file name of the manifest in out_dir
    artifact: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    compile_seconds: float = 0.0
    role: str = "placed"                 # "placed" (the candidate's unit) | "alternative" (all_units)

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure or {}
        return {"part": self.part, "unit": self.unit, "role": self.role, "precision": self.precision,
                "status": self.status,
                "engine": self.engine, "artifact": self.artifact["file"] if self.artifact else None,
                "artifact_sha256": self.artifact["sha256"] if self.artifact else None, "manifest": self.manifest,
                "compile_seconds": round(self.compile_seconds, 2), "failure_stage": failure.get("stage"),
                "failure_op": failure.get("op"), "failure_reason": failure.get("reason"),
                "failure": self.failure, "attempts": self.attempts}


@dataclass
class CompileReport:
    candidate: str
    candidate_dir: str
    target: str
    out_dir: str
    parts: dict[str, PartReport]
    verify: dict[str, Any] | None = None
    op_audit: dict[str, Any] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    alternatives: list[PartReport] = field(default_factory=list)  # all_units: the parts on the other units

    @property
    def status(self) -> str:
        """Of the placed parts only (alternative builds are extra information)."""
        states = {p.status for p in self.parts.values()}
        return "compiled" if states == {"compiled"} else ("failed" if states == {"failed"} else "partial")

    def audit_rows(self) -> list[dict[str, Any]]:
        """The op audit as flat rows: every bucket and total of every part, with both numbers."""
        rows = []
        for part, audit in (self.op_audit or {}).items():
            if "error" in audit:
                rows.append({"part": part, "item": "error", "ours": None, "tvm": None, "difference": None,
                             "over_1pct": None, "reason": audit["error"]})
                continue
            reasons = {d["what"]: d["reason"] for d in audit["differences"]}
            for b in audit["buckets"]:
                item = f"bucket {b['bucket']}"
                rows.append({"part": part, "item": item, "ours": b["ours_tvm_convention"], "tvm": b["tvm"],
                             "difference": b["difference"], "over_1pct": item in reasons, "reason": reasons.get(item)})
            for t in audit["totals"]:
                rows.append({"part": part, "item": t["what"], "ours": t["ours"], "tvm": t["tvm"],
                             "difference": t["difference"], "over_1pct": t["what"] in reasons,
                             "reason": reasons.get(t["what"])})
            for kind, flops in audit["unmapped_tvm"].items():
                item = f"TVM function kind {kind!r} (no aicam_opt bucket)"
                rows.append({"part": part, "item": item, "ours": 0, "tvm": flops, "difference": None,
                             "over_1pct": True, "reason": reasons.get(item)})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"schema": REPORT_SCHEMA, "candidate": self.candidate, "candidate_dir": self.candidate_dir,
                "target": self.target, "out_dir": self.out_dir, "status": self.status,
                "parts": [p.to_dict() for p in [*self.parts.values(), *self.alternatives]], "verify": self.verify,
                "op_audit": self.audit_rows(), "op_audit_detail": self.op_audit,
                "seconds": round(self.seconds, 2), "notes": self.notes, "tools": tool_versions()}


def _stem(out_dir: Path, part: str, unit: str) -> Path:
    return out_dir / f"{part}-{unit}"


def _clear(stem: Path) -> None:
    """Remove what an earlier run left for this part (a part that fails now must not keep an old artifact)."""
    for suffix in ARTIFACT_SUFFIXES:
        path = stem.parent / (stem.name + suffix)
        if path.is_file():
            path.unlink()


def _build_notes(part: Part, target: dict[str, Any] | None, artifact: dict[str, Any] | None = None) -> list[str]:
    """The part's notes, then what its unit kind says about the build."""
    kind = unit_kinds.find((target or {}).get("kind"))
    return [*part.notes, *(kind.notes(target, artifact) if kind is not None else [])]


def _manifest(part: Part, unit_name: str, target_name: str, target: dict[str, Any] | None, loaded: LoadedCandidate,
              report: PartReport, params: dict[str, Any] | None, artifact: dict[str, Any] | None,
              extra_notes: list[str] | None = None) -> dict[str, Any]:
    kind = unit_kinds.find((target or {}).get("kind"))
    engine = engines.find(part.engine)
    return {
        "schema": MANIFEST_SCHEMA,
        "part": part.name, "unit": part.unit, "role": report.role, "unit_name": unit_name, "target": target_name,
        "status": report.status, "engine": report.engine,
        "tvm_target": target, "tvm_target_built": kind.built_target(target) if kind is not None else target,
        "precision": part.precision, "compute": part.compute,
        "inputs": [t.to_dict() for t in part.inputs], "outputs": [t.to_dict() for t in part.outputs],
        "artifact": artifact, "params": params, "graph": engine.graph(part) if engine is not None else None,
        "source": loaded.source_info(), "tools": tool_versions(),
        "compile_seconds": round(report.compile_seconds, 2),
        "failure": report.failure, "attempts": report.attempts,
        "notes": [*(extra_notes or []), *_build_notes(part, target, artifact)],
    }


@native_stderr_to_log()  # TVM and the system linker write warnings straight to fd 2: into the log file
def _try_compile(part: Part, target: dict[str, Any], stem: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(attempt record, artifact) for one engine. A failure (CompileFailure from a named stage, or any
    other error TVM raises while compiling or exporting) is recorded in the attempt, not raised."""
    start = time.perf_counter()
    stage = "compile"
    try:
        compiled = engines.get(part.engine).compile(part, target)
        stage = "export"
        artifact = backend.export_artifact(compiled, stem)
        try:
            backend.check_isa(artifact)
        except CompileFailure:
            (stem.parent / artifact["file"]).unlink(missing_ok=True)
            raise
        return {"engine": part.engine, "status": "compiled", "compile_seconds": round(time.perf_counter() - start, 2)}, artifact
    except Exception as err:  # noqa: BLE001 - a part that cannot be built must not stop the other part
        failure = err if isinstance(err, CompileFailure) else \
            CompileFailure(stage, f"{type(err).__name__}: {error_reason(err)}")
        return {"engine": part.engine, "status": "failed", "failure": failure.to_dict(),
                "compile_seconds": round(time.perf_counter() - start, 2)}, None


def compile_part(part: Part, loaded: LoadedCandidate, target_name: str, out_dir: Path,
                 fallback: Callable[[], Part] | None = None, *, role: str = "placed",
                 notes: list[str] | None = None) -> tuple[PartReport, Part]:
    """Compile `part` for its unit (if that fails, the part `fallback()` makes: another engine); write
    the manifest (`notes` first in its notes). Returns the report and the part that was compiled (or tried last)."""
    target_file = load_target(target_name)
    unit_name = target_file.unit(part.unit).name
    stem = _stem(out_dir, part.name, part.unit)
    _clear(stem)
    report = PartReport(part.name, part.unit, part.precision, "failed", part.engine, stem.name + ".json", role=role)
    try:
        target: dict[str, Any] | None = tvm_target(target_name, part.unit)
    except AicamError as err:
        target = None
        report.attempts.append({"engine": part.engine, "status": "failed",
                                "failure": {"stage": "target", "op": None, "reason": str(err), "ops": []}})
    used = part
    artifact = None
    if target is not None:
        attempt, artifact = _try_compile(part, target, stem)
        report.attempts.append(attempt)
        if artifact is None and fallback is not None:
            try:
                used = fallback()
            except Exception as err:  # noqa: BLE001 - the export of the other engine's graph failed
                report.attempts.append({"engine": RELAX_ONNX, "status": "failed", "failure": {
                    "stage": "export_onnx", "op": None, "reason": f"{type(err).__name__}: {error_reason(err)}",
                    "ops": []}})
            else:
                attempt, artifact = _try_compile(used, target, stem)
                report.attempts.append(attempt)
    report.engine = used.engine
    report.compile_seconds = sum(a.get("compile_seconds", 0.0) for a in report.attempts)
    params = None
    if artifact is not None:
        report.status, report.artifact = "compiled", artifact
        if used.kernel_params:
            params = backend.write_params(used.kernel_params, stem.parent / (stem.name + ".params.safetensors"))
    else:
        report.failure = report.attempts[-1]["failure"]
    Manifest.checked(_manifest(used, unit_name, target_name, target, loaded, report, params, artifact, notes)).save(
        stem.parent / report.manifest)
    return report, used


def alternative_precision(unit: Unit, precision: str) -> str:
    """The precision `unit` runs that is closest to the candidate's `precision`: the same if the unit
    supports it, else int8 on a DSP and fp16 on a GPU/CPU, else the nearest the unit lists."""
    supported = list(unit.precisions)
    if precision in supported:
        return precision
    preferred = "int8" if unit.kind == "dsp" else "fp16"
    if preferred in supported:
        return preferred
    nearest = {"fp32": ("fp16", "int8"), "fp16": ("fp32", "int8"), "int8": ("fp16", "fp32")}.get(precision, ())
    return next((p for p in nearest if p in supported), supported[0])


def _variant(loaded: LoadedCandidate, part: str, unit: str, precision: str, source: DataSource,
             deployed: dict[tuple[str, str], Any]) -> LoadedCandidate:
    """`loaded` with `part` placed on `unit` at `precision`: a Candidate copy, the deployed model rebuilt
    from the float weights when the precision changes (one deploy per part and precision; only `part` of
    that model is meant to be used)."""
    from ..compress.build import deploy

    cand = loaded.candidate
    candidate = cand.model_copy(update={
        "quantization": cand.quantization.model_copy(update={part: precision}),
        "placement": cand.placement.model_copy(update={part: unit})})
    if precision == getattr(cand.quantization, part):
        model = loaded.deployed
    else:
        if (part, precision) not in deployed:
            # The parts deploy independently: the other one at fp32 (no second NNCF calibration); it is not used.
            other = "full_res" if part == "low_res" else "low_res"
            quick = candidate.model_copy(update={
                "quantization": candidate.quantization.model_copy(update={other: "fp32"})})
            deployed[(part, precision)] = deploy(loaded.net, quick, source)
        model = deployed[(part, precision)]
    return replace(loaded, candidate=candidate, deployed=model)


def _target_failure(target_name: str, unit: str) -> dict[str, Any] | None:
    """None if TVM can make `unit`'s target, else the failure (stage "target") compile_part would record."""
    try:
        target = tvm_target(target_name, unit)
        unit_kinds.for_target(target).build_target(target)
    except AicamError as err:
        return {"stage": "target", "op": None, "reason": str(err), "ops": []}
    except CompileFailure as err:
        return err.to_dict()
    except Exception as err:  # noqa: BLE001 - TVM's own error types
        return {"stage": "target", "op": None, "reason": error_reason(err), "ops": []}
    return None


def _failed_alternative(loaded: LoadedCandidate, target_name: str, out: Path, part: str, unit: str, unit_name: str,
                        precision: str, failure: dict[str, Any], notes: list[str]) -> PartReport:
    """An alternative build that stopped before compiling (its unit's target, or the deploy): report and manifest."""
    stem = _stem(out, part, unit)
    _clear(stem)
    report = PartReport(part, unit, precision, "failed", None, stem.name + ".json", failure=failure, role="alternative")
    report.attempts.append({"engine": None, "status": "failed", "failure": failure})
    try:
        target: dict[str, Any] | None = tvm_target(target_name, unit)
    except AicamError:
        target = None
    Manifest.checked({"schema": MANIFEST_SCHEMA, "part": part, "unit": unit, "role": "alternative", "unit_name": unit_name,
               "target": target_name, "status": "failed", "engine": None, "tvm_target": target,
               "tvm_target_built": target, "precision": precision, "compute": None, "inputs": [], "outputs": [],
               "artifact": None, "params": None, "graph": None, "source": loaded.source_info(),
               "tools": tool_versions(), "compile_seconds": 0.0, "failure": failure, "attempts": report.attempts,
               "notes": notes}).save(out / report.manifest)
    return report


def compile_alternatives(loaded: LoadedCandidate, target_name: str, out: Path, source: DataSource,
                         placed: dict[str, Part], pixel_dtype: str = "float32") -> list[PartReport]:
    """Each part compiled for every unit of the target other than its placed one (role "alternative").

    `placed`: the parts compiled for the placement (their graphs are reused when the precision is the same).
    Kernel builds are shared with the placed ones through the fused-kernel engine's cache."""
    target_file = load_target(target_name)
    deployed: dict[tuple[str, str], Any] = {}
    graphs: dict[tuple[str, str], Path] = {}  # (part, precision) -> exported ONNX graph
    for name, part in placed.items():
        if part.onnx_path is not None:
            graphs[(name, part.precision)] = part.onnx_path

    def onnx_graph(name: str, precision: str, variant: LoadedCandidate) -> Path:
        if (name, precision) not in graphs:
            export = export_low_res_onnx if name == "low_res" else export_full_res_onnx
            graphs[(name, precision)] = export(variant, out / f"{name}-{precision}.onnx")
        return graphs[(name, precision)]

    reports = []
    for name in PARTS:
        placed_unit = getattr(loaded.candidate.placement, name)
        placed_precision = getattr(loaded.candidate.quantization, name)
        for unit_name, unit in target_file.units.items():
            if unit_name == placed_unit:
                continue
            precision = alternative_precision(unit, placed_precision)
            notes = [f"alternative build: the candidate places {name} on {placed_unit} at {placed_precision}; this is "
                     f"{name} on {unit_name} at {precision} (" +
                     ("the same precision" if precision == placed_precision else
                      f"{placed_precision} is not a precision of this unit: deployed again from the candidate's float "
                      f"weights at {precision}") + "); not verified on the host"]
            failure = _target_failure(target_name, unit_name)  # before deploying: a unit TVM cannot target
            if failure is None:
                try:
                    variant = _variant(loaded, name, unit_name, precision, source, deployed)
                    if name == "low_res":
                        part, fallback = low_res_part(variant, onnx_graph(name, precision, variant)), None
                    elif kernel_can_represent(variant):
                        part = full_res_kernel_part(variant, unit.kind, pixel_dtype)  # type: ignore[arg-type]
                        fallback = lambda v=variant, p=precision: full_res_onnx_part(v, onnx_graph("full_res", p, v))  # noqa: E731
                    else:
                        part, fallback = full_res_onnx_part(variant, onnx_graph(name, precision, variant)), None
                except Exception as err:  # noqa: BLE001 - deploy/export of one alternative must not stop the others
                    reason = err.args[0] if isinstance(err, AicamError) else \
                        f"{type(err).__name__}: {error_reason(err)}"
                    failure = {"stage": "deploy", "op": None, "reason": str(reason), "ops": []}
            if failure is not None:
                reports.append(_failed_alternative(loaded, target_name, out, name, unit_name, unit.name, precision,
                                                   failure, notes))
                continue
            report, _ = compile_part(part, variant, target_name, out, fallback, role="alternative", notes=notes)
            reports.append(report)
    return reports


def _clear_alternatives(loaded: LoadedCandidate, target_name: str, out: Path) -> None:
    """Remove the alternative builds an earlier all_units run left (they would describe another build)."""
    for name in PARTS:
        for unit in load_target(target_name).units:
            if unit != getattr(loaded.candidate.placement, name):
                _clear(_stem(out, name, unit))
        for precision in ("fp32", "fp16", "int8"):
            (out / f"{name}-{precision}.onnx").unlink(missing_ok=True)


def compile_candidate(candidate_dir: str | Path, target_name: str, out_dir: str | Path | None = None,
                      source: DataSource | None = None, *, verify: bool = True, audit: bool = True,
                      quality: bool = True, pixel_dtype: str = "float32", verify_long_side: int = 768,
                      verify_photos: int | None = None, all_units: bool = False) -> CompileReport:
    """Compile `candidate_dir`'s parts for `target_name`'s units into `out_dir` (default: candidate_dir/compiled).

    verify: compile the same graphs for this host and check them on real photos (`verify.verify_host`;
    `quality`: also the FiveK PSNR drop). audit: the FLOP audit (each part's `Engine.audit`). all_units: also
    compile each part for the target's other units (`compile_alternatives`; not verified, not audited)."""
    clock = time.perf_counter()
    candidate_dir = Path(candidate_dir)
    out = Path(out_dir) if out_dir is not None else CandidateFolder(candidate_dir).compiled
    if source is None:
        source = resolve(None)
    source = source.with_fixed_split()  # as `aicam-opt compress` measured the candidate
    loaded = load_candidate(candidate_dir, source)
    target_file = load_target(target_name)
    notes = []
    if loaded.candidate.target != target_file.name:
        notes.append(f"the candidate was built for target '{loaded.candidate.target}', compiled here for "
                     f"'{target_file.name}'")
    out.mkdir(parents=True, exist_ok=True)
    low = low_res_part(loaded, export_low_res_onnx(loaded, out / "low_res.onnx"))
    full_onnx = lambda: full_res_onnx_part(loaded, export_full_res_onnx(loaded, out / "full_res.onnx"))  # noqa: E731
    reports: dict[str, PartReport] = {}
    used: dict[str, Part] = {}
    reports["low_res"], used["low_res"] = compile_part(low, loaded, target_name, out)
    if kernel_can_represent(loaded):  # the fused kernel first, the Relax import of the ONNX part if it fails
        kernel_part = full_res_kernel_part(loaded, target_file.unit(loaded.candidate.placement.full_res).kind,
                                           pixel_dtype)  # type: ignore[arg-type]
        reports["full_res"], used["full_res"] = compile_part(kernel_part, loaded, target_name, out, fallback=full_onnx)
    else:
        reports["full_res"], used["full_res"] = compile_part(full_onnx(), loaded, target_name, out)
    result = CompileReport(loaded.name, str(candidate_dir.resolve()), target_file.name, str(out.resolve()), reports,
                           notes=notes)
    if all_units:
        result.alternatives = compile_alternatives(loaded, target_name, out, source, used, pixel_dtype)
    else:
        _clear_alternatives(loaded, target_name, out)
    # Host verification and the audit use the graph the part was compiled from; for a full-res part that
    # compiled with neither engine, the first choice (the fused kernel when it represents the part).
    full_choice = kernel_part if kernel_can_represent(loaded) else used["full_res"]
    host_parts = {"low_res": low,
                  "full_res": used["full_res"] if reports["full_res"].status == "compiled" else full_choice}
    if verify:
        with tempfile.TemporaryDirectory(prefix="aicam_verify_") as workdir:
            result.verify = _guarded(lambda: verify_host(loaded, host_parts, source, workdir, long_side=verify_long_side,
                                                         max_photos=verify_photos, quality=quality,
                                                         target_name=target_name))
    if audit:
        result.op_audit = {name: _guarded(lambda p=p: engines.get(p.engine).audit(p, loaded))
                           for name, p in host_parts.items()}
    result.seconds = time.perf_counter() - clock
    CandidateCompileReport.checked(result.to_dict()).save(out / "report.json")
    return result


def _guarded(fn) -> dict[str, Any]:
    """Run a verification/audit step; an error becomes {"error": ...} in the report instead of a crash."""
    try:
        return fn()
    except AicamError as err:
        return {"error": str(err)}
    except Exception as err:  # noqa: BLE001 - recorded, the compiled artifacts stay valid
        return {"error": f"{type(err).__name__}: {error_reason(err)}"}


__all__ = ["CompileReport", "PartReport", "alternative_precision", "compile_alternatives", "compile_candidate",
           "compile_part", "tool_versions", "PARTS"]
