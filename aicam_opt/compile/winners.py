"""Compile the search's winners: reports/<target>/winners.json -> artifacts/<role>/ and compile.json.

winners.json (written by the search; schema: search.winners.WinnersDocument): {"winners": {role: {"trial": n,
"dir": "trials/0003", ...} | null}, ...}, `dir` a candidate folder relative to reports/<target>/. Each
non-null role is compiled with `compile_candidate` into reports/<target>/artifacts/<role>/; two roles
naming the same folder are compiled once and the artifacts copied. A role that cannot be compiled at
all (missing folder, broken checkpoint) is recorded with its error and the other roles still compile. compile.json is written
atomically at the end (schema: aicam_opt/compile/__init__.py).

all_units=True: each winner's parts are also compiled for the target's other units (entries with
role "alternative" in the role's `parts`, artifacts `artifacts/<role>/<part>-<unit>.*` beside the
placed ones; see candidate.compile_alternatives). The placed parts' verification and status are unchanged.
"""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..data import DataSource
from ..errors import AicamError
from ..search.folder import WINNERS_FILE, ReportFolder
from ..search.winners import WinnersDocument
from .candidate import REPORT_SCHEMA, compile_candidate, tool_versions
from .documents import CompileDocument

COMPILE_SCHEMA = CompileDocument.SCHEMA


def report_folder(report_dir: str | Path, target: str) -> ReportFolder:
    """The report folder holding winners.json: reports/<target>, given reports/<target> or reports."""
    report_dir = Path(report_dir)
    for folder in (ReportFolder(report_dir), ReportFolder(report_dir / target)):
        if folder.winners.is_file():
            return folder
    raise AicamError(f"no {WINNERS_FILE} in {report_dir} or {report_dir / target}: run the search first "
                     f"(`aicam-opt optimize --target {target}`)")


def _relocated(report: dict[str, Any], out: Path) -> dict[str, Any]:
    """A copy of a role's report for artifacts copied to `out` (file names are relative, only out_dir moves)."""
    return {**report, "out_dir": str(out.resolve())}


def compile_winners(report_dir: str | Path, target: str, source: DataSource | None = None,
                    all_units: bool = False, **options: Any) -> dict[str, Any]:
    """Compile every non-null winner; write and return compile.json. `options` go to compile_candidate;
    all_units: also compile each winner's parts for the target's other units (role "alternative")."""
    clock = time.perf_counter()
    reports = report_folder(report_dir, target)
    winners = WinnersDocument.load_from(reports.winners).winners
    roles: dict[str, Any] = {}
    done: dict[Path, tuple[str, dict[str, Any]]] = {}
    for role, info in winners.items():
        if info is None:
            roles[role] = None
            continue
        entry: dict[str, Any] = {"trial": info.trial, "candidate_dir": info.dir,
                                 "artifacts_dir": ReportFolder.artifacts_dir(role)}
        out = reports.artifacts_of(role)
        try:
            if not info.dir:
                raise AicamError(f"{reports.winners.name} role {role!r}: no 'dir' (expected a candidate folder relative "
                                 f"to {reports.path})")
            folder = reports.candidate(info.dir).path.resolve()
            if folder in done:
                first_role, first = done[folder]
                if out.exists():
                    shutil.rmtree(out)
                shutil.copytree(reports.artifacts_of(first_role), out)
                report = _relocated(first, out)
                report["notes"] = [*report.get("notes", []), f"same candidate as role {first_role!r}: artifacts copied"]
            else:
                report = compile_candidate(folder, target, out, source, all_units=all_units, **options).to_dict()
                done[folder] = (role, report)
            entry.update({**report, "candidate_path": report["candidate_dir"], "candidate_dir": info.dir})
        except AicamError as err:
            entry.update({"schema": REPORT_SCHEMA, "status": "failed", "error": str(err), "parts": []})
        except Exception as err:  # noqa: BLE001 - one broken role must not stop the others
            entry.update({"schema": REPORT_SCHEMA, "status": "failed", "error": f"{type(err).__name__}: {err}",
                          "parts": []})
        roles[role] = entry
    result = {"schema": COMPILE_SCHEMA, "target": target, "winners_file": reports.winners.name,
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tools": tool_versions(),
              "all_units": all_units, "winners": roles, "seconds": round(time.perf_counter() - clock, 2)}
    CompileDocument.checked(result).save(reports.compile_report)
    return result
