"""Write every report of a study into its folder, each file atomically.

    write_reports(out_dir, study, space, target_name)  ->  trials.csv, pareto.csv, pareto.png,
        pareto.html (interactive), winners.json, summary.json, report.html

Everything comes from the study (its trials and user attributes) and the full-fidelity trial
folders next to it, so `aicam-opt report reports/<target>` regenerates the lot from the study alone.
"""
from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from ..atomic import atomic_path, write_text
from ..compile.documents import CompileDocument, MeasuredTimings
from ..latency.target import load_target
from ..search.folder import ReportFolder
from ..search.pareto import pick_winners
from ..search.records import StudyRecord, TrialRecord, device_measurements
from ..search.space import SearchSpace
from ..search.study import counted_trials
from ..search.winners import WinnersDocument, winners_document
from . import html
from .op_table import op_costs
from .plots import pareto_figure, pareto_html, pareto_png
from .summary import Measured, SearchBudget, TrialCounts, summary_document
from .tables import front_of, pareto_frame, trials_frame

OUTPUTS = ReportFolder.REPORTS


def _measured_for(measured: MeasuredTimings | None, winners_doc: WinnersDocument) -> Measured | None:
    """The timings of the current winners only (a stale file from earlier winners is ignored)."""
    if measured is None:
        return None
    trials = {r: w.trial for r, w in winners_doc.winners.items() if w is not None}
    current = {r for r in trials if measured.trials.get(r) == trials[r]}
    fields = {"reference_ms": measured.reference_ms,
              "host_ms": {r: ms for r, ms in measured.host_ms.items() if r in current}, "workload": measured.workload}
    if measured.ratio is not None:
        fields["ratio"] = {r: v for r, v in measured.ratio.items() if r in current}
    return Measured(**fields)


def trial_counts(study: optuna.Study) -> TrialCounts:
    trials = study.get_trials(deepcopy=False)
    return TrialCounts(complete=sum(t.state == TrialState.COMPLETE for t in trials),
                       failed=sum(t.state == TrialState.FAIL for t in trials),
                       full_fidelity=sum(TrialRecord.from_trial(t).is_full for t in trials
                                         if t.state == TrialState.COMPLETE),
                       counted=len(counted_trials(study)))


def search_budget(study: optuna.Study, space: SearchSpace) -> SearchBudget | None:
    """The search the study's results come from; None for a study made before its budget was recorded."""
    trials = StudyRecord.from_study(study).budget
    if trials is None:
        return None
    return SearchBudget(trials=trials, sampler=space.sampler.kind, seed=space.sampler.seed)


def write_reports(out_dir: Path, study: optuna.Study, space: SearchSpace, target_name: str) -> WinnersDocument:
    """Write the reports; returns the winners document."""
    target = load_target(target_name)
    folder = ReportFolder(out_dir)
    student = StudyRecord.from_study(study).student
    trials = trials_frame(study, space)
    front = front_of(study)
    winners = pick_winners(study, space)
    winners_doc = winners_document(target.name, space, student, winners, device_measurements(study), target.budgets)
    with atomic_path(folder.trials_csv) as tmp:
        trials.to_csv(tmp, index=False)
    front_frame = pareto_frame(front, space, study)
    write_text(folder.pareto_csv, front_frame.to_csv(index=False))

    workload = space.latency_objective
    budget = target.budgets.latency_ms.get(workload)
    title = f"{target.name}: {space.name} search, {len(trials)} trials"
    numbers = {role: (t.number if t else None) for role, t in winners.items()}
    budget_ms = budget.value if budget else None
    pareto_png(trials, front_frame, numbers, workload, budget_ms, student.latency_ms[workload],
               space.quality_tolerance_db, folder.pareto_png, title)
    pareto_html(pareto_figure(trials, front_frame, numbers, workload, budget_ms, student.latency_ms[workload],
                              space.quality_tolerance_db, title), folder.pareto_html)

    compile_report = CompileDocument.load_optional(folder.compile_report)
    winners_doc.save(folder.winners)
    measured = MeasuredTimings.load_optional(folder.measured)
    summary_document(winners_doc, trial_counts(study), search_budget(study, space),
                     _measured_for(measured, winners_doc)).save(folder.summary)
    write_text(folder.report_html, report_html(folder, study, space, target.name, winners_doc, trials, front_frame,
                                               compile_report))
    return winners_doc


def report_html(folder: ReportFolder, study: optuna.Study, space: SearchSpace, target: str,
                winners_doc: WinnersDocument, trials, front_frame, compile_report: CompileDocument | None) -> str:
    counts = trial_counts(study)
    budget = StudyRecord.from_study(study).budget
    excluded = excluded_frame(trials, space.latency_objective)
    intro = (f"<p>Search space <b>{escape(space.name)}</b> ({escape(space.description)}), sampler "
             f"{escape(space.sampler.kind)} seed {space.sampler.seed}; objectives {escape(', '.join(space.objectives))}; "
             f"budget {budget if budget is not None else 'unknown'} trials; {counts.complete} complete trials ({counts.full_fidelity} at full fidelity), {counts.failed} failed. "
             f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC from {escape(study.study_name)}.</p>"
             "<p>Latency, MACs and memory are predicted by the calibrated latency model of the target; quality is "
             "measured on the evaluation split against the uncompressed student.</p>")
    sections = [("Summary", intro),
                ("Pareto front", html.inline_image(folder.pareto_png, "image/png") +
                 f'<p><a href="{folder.pareto_html.name}">interactive plot</a> (hover a point for its parameters)</p>'
                 + html.excluded_note(excluded)),
                ("Uncompressed student", html.student_table(winners_doc.student)),
                ("Winners", html.winners_table(winners_doc) + "<ul>" + "".join(
                    f"<li><b>{escape(r)}</b>: {escape(m)}</li>" for r, m in winners_doc.roles.items()) + "</ul>")]
    for role, w in winners_doc.winners.items():
        if w is None or not w.dir:
            continue
        candidate = folder.candidate(w.dir)
        ops = op_costs(candidate, space.latency_objective) if candidate.weights.exists() else None
        content = (f"<p>Trial #{w.trial}. Left: input, right: this candidate's output (the first evaluation pair).</p>"
                   + html.inline_image(candidate.sample, "image/jpeg")
                   + f"<h3>Where the time goes ({escape(space.latency_objective)}, predicted)</h3>"
                   + html.table(ops.head(15) if ops is not None else None, table_id=f"ops-{role}")
                   + "<h3>Quality</h3>" + html.table(_quality_frame(w.quality.to_json())))
        sections.append((f"Winner: {role}", content))
    if compile_report is not None:
        sections.append(("Compiled winners", compile_section(compile_report)))
    sections.append(("Front", html.table(front_frame[[c for c in front_frame.columns if not c.startswith("constraint")]]
                                         if len(front_frame) else None, table_id="front")))
    sections.append(("Trials excluded by a constraint", html.table(excluded, table_id="excluded")))
    failed = trials[trials["state"] == "FAIL"][["trial", "fail_reason"]] if len(trials) else None
    sections.append(("Failed trials", html.table(failed, table_id="failed")))
    return html.page(f"aicam_opt report: {target}", sections)


def excluded_frame(trials: pd.DataFrame, workload: str) -> pd.DataFrame | None:
    """The complete trials that broke a constraint, with why: they may plot beyond the front, but were never
    candidates for it or for a winner."""
    if not len(trials):
        return None
    rows = trials[(trials["state"] == "COMPLETE") & trials["excluded_by"].fillna("").astype(bool)]
    columns = {"trial": "trial", "fidelity": "fidelity", "excluded_by": "excluded by",
               "quality.psnr_drop_vs_student": "PSNR drop (dB)", "quality.deltae_vs_student": "ΔE2000",
               f"latency_ms.{workload}": f"{workload} latency (ms)"}
    return rows[[c for c in columns if c in rows.columns]].rename(columns=columns)


def _quality_frame(quality: dict) -> pd.DataFrame:
    return pd.DataFrame([{"metric": k, "value": v} for k, v in quality.items() if isinstance(v, (int, float))])


def compile_section(report: CompileDocument) -> str:
    """compile.json per role: each part's artifact or failure, host verification, and the op audit."""
    parts, checks, audit, timings = [], [], [], []
    for role, entry in report.winners.items():
        if entry is None:
            continue
        for part in entry.parts:
            parts.append({"role": role, "build": part.role, "part": part.part, "unit": part.unit,
                          "precision": part.precision, "status": part.status, "engine": part.engine,
                          "artifact": part.artifact or "", "compile s": part.compile_seconds,
                          "failed at": " / ".join(str(v) for v in (part.failure_stage, part.failure_op) if v),
                          "reason": part.failure_reason or ""})
        verify = entry.verify
        if verify is not None:
            quality = verify.quality
            checks.append({"role": role, "host check passed": verify.passed if verify.passed is not None else verify.error,
                           "photos": verify.photos,
                           "PSNR drop compiled (dB)": quality.compiled_psnr_drop_vs_student if quality else None,
                           "PSNR drop predicted (dB)": quality.predicted_psnr_drop_vs_student if quality else None})
        audit.extend({"role": role, **row.to_json()} for row in entry.op_audit or [] if row.over_1pct)
        timing = verify.timing if verify is not None else None
        if timing is not None:
            for name, t in timing.parts.items():
                timings.append({"role": role, "part": name, "size": f"{timing.height}x{timing.width}",
                                "threads": timing.threads, "host build measured ms": t.measured_ms,
                                "host build predicted ms": t.predicted_ms if t.predicted_ms is not None
                                else t.not_predicted, "measured / predicted": t.ratio,
                                f"predicted on {timing.shipped_on or 'the target'} ms (as placed)": t.target_predicted_ms})
    return ("<p>Each part compiled with TVM for the unit its placement names (build 'placed'; artifacts under "
            "artifacts/&lt;role&gt;/, one JSON manifest each) and, as 'alternative' builds, for the target's other "
            "units; the placed graphs built for this host are checked against PyTorch on real photos.</p>"
            + "<h3>Artifacts</h3>" + html.table(pd.DataFrame(parts) if parts else None, table_id="artifacts")
            + "<h3>Host verification</h3>" + html.table(pd.DataFrame(checks) if checks else None, table_id="verify")
            + "<h3>Host build: measured beside predicted</h3><p>Each part as built for this host, timed (median, "
              "after a warm-up) beside the latency model's prediction of the same build on the <code>host</code> "
              "target: what can be checked here of the model that prices the phone's builds; and each part's "
              "prediction on the target as the winner places it (8-bit pixels).</p>"
            + html.table(pd.DataFrame(timings) if timings else None, table_id="host-timing")
            + "<h3>Op audit: TVM FLOP estimate vs aicam_opt count, differences above 1%</h3>"
            + html.table(pd.DataFrame(audit) if audit else None, table_id="op-audit"))
