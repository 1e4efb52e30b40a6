"""Write every report of a study into its folder, each file atomically.

    write_reports(out_dir, study, space, target_name)  ->  trials.csv, pareto.csv, pareto.png,
        pareto.html (interactive), winners.json, summary.json, report.html

Everything comes from the study (its trials and user attributes) and the full-fidelity trial
folders next to it, so `aicam-opt report reports/<target>` regenerates the lot from the study alone.
"""
from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from ..atomic import atomic_path, write_text
from ..config import save_json
from ..latency.target import load_target
from ..search.pareto import pick_winners
from ..search.space import SearchSpace
from ..search.study import counted_trials
from . import html
from .op_table import op_costs
from .plots import pareto_figure, pareto_html, pareto_png
from .summary import summary_document, winners_document
from .tables import front_of, pareto_frame, trials_frame

OUTPUTS = ("trials.csv", "pareto.csv", "pareto.png", "pareto.html", "winners.json", "summary.json", "report.html")
COMPILE_REPORT = "compile.json"  # written by `aicam-opt compile`/`make optimize` once the winners are compiled
MEASURED_FILE = "measured.json"  # host timings of the winners (compile/measure.py), for the gate


def _measured_for(measured: dict | None, winners_doc: dict) -> dict | None:
    """The timings of the current winners only (a stale file from earlier winners is ignored)."""
    if not measured or "reference_ms" not in measured:
        return None
    trials = {r: w["trial"] for r, w in winners_doc["winners"].items() if w is not None}
    current = {r for r in trials if measured.get("trials", {}).get(r) == trials[r]}
    out = {"reference_ms": measured["reference_ms"],
           "host_ms": {r: ms for r, ms in measured.get("host_ms", {}).items() if r in current},
           "workload": measured.get("workload")}
    if "ratio" in measured:
        out["ratio"] = {r: v for r, v in measured["ratio"].items() if r in current}
    return out


def trial_counts(study: optuna.Study) -> dict[str, int]:
    trials = study.get_trials(deepcopy=False)
    return {"complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "failed": sum(t.state == TrialState.FAIL for t in trials),
            "full_fidelity": sum(t.user_attrs.get("fidelity") == "full" for t in trials if t.state == TrialState.COMPLETE),
            "counted": len(counted_trials(study))}


def write_reports(out_dir: Path, study: optuna.Study, space: SearchSpace, target_name: str) -> dict:
    """Write the reports; returns the winners document."""
    target = load_target(target_name)
    student = study.user_attrs["student"]
    trials = trials_frame(study, space)
    front = front_of(study)
    winners = pick_winners(study, space)
    winners_doc = winners_document(target.name, space, student, winners)
    with atomic_path(out_dir / "trials.csv") as tmp:
        trials.to_csv(tmp, index=False)
    front_frame = pareto_frame(front, space)
    write_text(out_dir / "pareto.csv", front_frame.to_csv(index=False))

    workload = space.latency_objective
    budget = target.budgets.latency_ms.get(workload)
    title = f"{target.name}: {space.name} search, {len(trials)} trials"
    numbers = {role: (t.number if t else None) for role, t in winners.items()}
    pareto_png(trials, front_frame, numbers, workload, budget.value if budget else None,
               student["latency_ms"][workload], space.quality_tolerance_db, out_dir / "pareto.png", title)
    pareto_html(pareto_figure(trials, workload, title), out_dir / "pareto.html")

    compile_report = _read_json(out_dir / COMPILE_REPORT)
    save_json(winners_doc, out_dir / "winners.json")
    measured = _read_json(out_dir / MEASURED_FILE)
    save_json(summary_document(winners_doc, trial_counts(study), _measured_for(measured, winners_doc)),
              out_dir / "summary.json")
    write_text(out_dir / "report.html", report_html(out_dir, study, space, target.name, winners_doc, trials, front_frame,
                                                    compile_report))
    return winners_doc


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def report_html(out_dir: Path, study: optuna.Study, space: SearchSpace, target: str, winners_doc: dict,
                trials, front_frame, compile_report: dict | None) -> str:
    counts = trial_counts(study)
    intro = (f"<p>Search space <b>{escape(space.name)}</b> ({escape(space.description)}), sampler "
             f"{escape(space.sampler.kind)} seed {space.sampler.seed}; objectives {escape(', '.join(space.objectives))}; "
             f"{counts['complete']} complete trials ({counts['full_fidelity']} at full fidelity), {counts['failed']} failed. "
             f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC from {escape(study.study_name)}.</p>"
             "<p>Latency, MACs and memory are predicted by the calibrated latency model of the target; quality is "
             "measured on the evaluation split against the uncompressed student.</p>")
    sections = [("Summary", intro),
                ("Pareto front", html.inline_image(out_dir / "pareto.png", "image/png") +
                 '<p><a href="pareto.html">interactive plot</a> (hover a point for its parameters)</p>'),
                ("Uncompressed student", html.student_table(winners_doc["student"])),
                ("Winners", html.winners_table(winners_doc) + "<ul>" + "".join(
                    f"<li><b>{escape(r)}</b>: {escape(m)}</li>" for r, m in winners_doc["roles"].items()) + "</ul>")]
    for role, w in winners_doc["winners"].items():
        if w is None or not w.get("dir"):
            continue
        folder = out_dir / w["dir"]
        ops = op_costs(folder, space.latency_objective) if (folder / "student.safetensors").exists() else None
        content = (f"<p>Trial #{w['trial']}. Left: input, right: this candidate's output (the first evaluation pair).</p>"
                   + html.inline_image(folder / "sample.jpg", "image/jpeg")
                   + f"<h3>Where the time goes ({escape(space.latency_objective)}, predicted)</h3>"
                   + html.table(ops.head(15) if ops is not None else None, table_id=f"ops-{role}")
                   + "<h3>Quality</h3>" + html.table(_quality_frame(w["quality"])))
        sections.append((f"Winner: {role}", content))
    if compile_report:
        sections.append(("Compiled winners", compile_section(compile_report)))
    sections.append(("Front", html.table(front_frame[[c for c in front_frame.columns if not c.startswith("constraint")]]
                                         if len(front_frame) else None, table_id="front")))
    failed = trials[trials["state"] == "FAIL"][["trial", "fail_reason"]] if len(trials) else None
    sections.append(("Failed trials", html.table(failed, table_id="failed")))
    return html.page(f"aicam_opt report: {target}", sections)


def _quality_frame(quality: dict) -> pd.DataFrame:
    return pd.DataFrame([{"metric": k, "value": v} for k, v in quality.items() if isinstance(v, (int, float))])


def compile_section(report: dict) -> str:
    """compile.json per role: each part's artifact or failure, host verification, and the op audit."""
    parts, checks, audit = [], [], []
    for role, entry in (report.get("winners") or {}).items():
        entry = entry or {}
        for part in entry.get("parts", []):
            parts.append({"role": role, "build": part.get("role", "placed"), "part": part.get("part"), "unit": part.get("unit"),
                          "precision": part.get("precision"), "status": part.get("status"), "engine": part.get("engine"),
                          "artifact": part.get("artifact") or "", "compile s": part.get("compile_seconds"),
                          "failed at": " / ".join(str(part.get(k)) for k in ("failure_stage", "failure_op") if part.get(k)),
                          "reason": part.get("failure_reason") or ""})
        verify = entry.get("verify") or {}
        quality = verify.get("quality") or {}
        if verify:
            checks.append({"role": role, "host check passed": verify.get("passed", verify.get("error")),
                           "photos": verify.get("photos"),
                           "PSNR drop compiled (dB)": quality.get("compiled_psnr_drop_vs_student"),
                           "PSNR drop predicted (dB)": quality.get("predicted_psnr_drop_vs_student")})
        audit.extend({"role": role, **row} for row in entry.get("op_audit", []) if row.get("over_1pct"))
    return ("<p>Each part compiled with TVM for the unit its placement names (build 'placed'; artifacts under "
            "artifacts/&lt;role&gt;/, one JSON manifest each) and, as 'alternative' builds, for the target's other "
            "units; the placed graphs built for this host are checked against PyTorch on real photos.</p>"
            + "<h3>Artifacts</h3>" + html.table(pd.DataFrame(parts) if parts else None, table_id="artifacts")
            + "<h3>Host verification</h3>" + html.table(pd.DataFrame(checks) if checks else None, table_id="verify")
            + "<h3>Op audit: TVM FLOP estimate vs aicam_opt count, differences above 1%</h3>"
            + html.table(pd.DataFrame(audit) if audit else None, table_id="op-audit"))
