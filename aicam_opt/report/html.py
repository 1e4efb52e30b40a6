"""report.html: one self-contained page (images inlined) with the front, the winners, where their
time goes, their quality and before/after samples. Every string that comes from a user (search
space names, descriptions, failure messages, file names) is escaped."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import pandas as pd

from ..compress.candidate import Candidate
from ..cost.records import PARAMS
from ..evaluate.eval_set import PSEUDO_PAIR_PREFIX
from ..search.blocks import EvaluationSet, StudentBlock
from ..search.winners import WinnersDocument

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.muted{color:#777} .bad{color:#b00} .good{color:#070} img{max-width:100%}
section{margin-bottom:2em}
"""


def inline_image(path: Path, mime: str) -> str:
    if not path.exists():
        return '<p class="muted">(image not found: ' + escape(path.name) + ")</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{escape(path.name)}" src="data:{mime};base64,{data}">'


def table(frame: pd.DataFrame, float_format: str = "{:.3g}", table_id: str = "") -> str:
    if frame is None or not len(frame):
        return '<p class="muted">(none)</p>'
    attrs = {"id": table_id} if table_id else None
    return frame.to_html(index=False, escape=True, na_rep="", float_format=float_format.format, border=0,
                         table_id=attrs["id"] if attrs else None)


def _kv(d: dict) -> str:
    return ", ".join(f"{escape(str(k))}={escape(str(v))}" for k, v in d.items()) or "as student"


def candidate_text(candidate: Candidate) -> str:
    architecture = {k: v for k, v in candidate.architecture.model_dump().items() if v is not None}
    parts = [f"arch: {_kv(architecture)}", f"pruning: {_kv(candidate.pruning.ratios)}",
             "low_res: {}:{}".format(escape(candidate.placement.low_res), escape(candidate.quantization.low_res)),
             "full_res: {}:{}".format(escape(candidate.placement.full_res), escape(candidate.quantization.full_res))]
    return "<br>".join(parts)


def measured_text(w) -> str:
    """A winner's device measurement beside its prediction, or "-" (not measured: optimize --measure-top)."""
    m = w.measured
    if m is None:
        return "<span class=muted>-</span>"
    predicted = f"; model {m.predicted_ms:.1f}" if m.predicted_ms is not None else ""
    return (f"{escape(m.workload)}: {m.measured_ms:.1f}{predicted}<br><span class=muted>{escape(m.device)}, "
            f"{m.threads} thread(s), {escape(m.measured_from)}</span>")


def winners_table(doc: WinnersDocument) -> str:
    rows = []
    for role, w in doc.winners.items():
        if w is None:
            rows.append(f"<tr><td>{escape(role)}</td><td colspan=11 class=muted>no candidate qualified</td></tr>")
            continue
        q, lat, mem, sp = w.quality, w.predicted_latency_ms, w.peak_memory_mb, w.speedup_vs_student
        rows.append("<tr>" + "".join([
            f"<td>{escape(role)}</td>", f"<td>#{w.trial}</td>", f"<td style='text-align:left'>{candidate_text(w.candidate)}</td>",
            f"<td>{q.psnr_drop_vs_student:.3f}</td>", f"<td>{q.deltae_vs_student:.3f}</td>",
            f"<td>{q.flicker or float('nan'):.3f}</td>",
            "<td>" + "<br>".join(f"{escape(k)}: {v:.1f}" for k, v in lat.items()) + "</td>",
            f"<td>{measured_text(w)}</td>",
            "<td>" + "<br>".join(f"{escape(k)}: {v:.2f}x" for k, v in sp.items()) + "</td>",
            "<td>" + "<br>".join(f"{escape(k)}: {v:.2f}x" for k, v in (w.speedup_vs_student_best_placement or {}).items())
            + "</td>",
            "<td>" + "<br>".join(f"{escape(k)}: {v:.0f}" for k, v in mem.items()) + "</td>",
            f"<td>{budgets_text(w.budgets)}</td>"]) + "</tr>")
    head = ("<tr><th>role</th><th>trial</th><th>candidate</th><th>PSNR drop (dB)</th><th>ΔE2000 vs student</th>"
            "<th>flicker</th><th>predicted latency (ms)</th><th>measured on the device (ms)</th>"
            "<th>speed-up vs student</th>"
            "<th>speed-up vs student at its best placement (fp16 allowed)</th><th>peak memory (MB)</th>"
            "<th>latency budgets</th></tr>")
    return f"<table id='winners'>{head}{''.join(rows)}</table>"


def budgets_text(budgets: dict | None) -> str:
    """Each latency budget met or violated (how far over), and whether the search enforced it."""
    if not budgets:
        return "<span class=muted>not recorded</span>"
    lines = []
    for w, b in budgets.items():
        verdict = "met" if b.met else f"<b>VIOLATED</b> ({b.predicted_ms / b.budget_ms:.1f}x over)"
        enforced = "" if b.constraint else " (reported, not a constraint)"
        lines.append(f"{escape(w)}: {b.predicted_ms:.1f} / {b.budget_ms:g} ms {verdict}{enforced}")
    return "<br>".join(lines)


def student_table(student: StudentBlock) -> str:
    rows = "".join(f"<tr><td>{escape(w)}</td><td>{student.predicted_latency_ms[w]:.1f}</td>"
                   f"<td>{student.macs[w] / 1e9:.2f}</td><td>{student.peak_memory_mb[w]:.0f}</td></tr>"
                   for w in student.predicted_latency_ms)
    return ("<table id='student'><tr><th>workload</th><th>predicted latency (ms)</th><th>GMAC</th><th>peak memory (MB)</th></tr>"
            f"{rows}</table><p>placement {escape(str(student.placement))}, {student.params:,} {escape(PARAMS)}, "
            + (f"fastest uncompressed placement {escape(str(student.best_placement))} ("
               + ", ".join(f"{escape(k)} {v:.1f} ms" for k, v in (student.best_predicted_latency_ms or {}).items())
               + "), " if student.best_placement else "") +
            f"PSNR {student.quality.psnr:.2f} dB.</p>{evaluation_text(student.measured_on)}")


def evaluation_text(measured_on: EvaluationSet | None) -> str:
    """What every quality figure of the run was measured on, and what could not be measured."""
    if measured_on is None:  # a study made before it was recorded
        return "<p>Quality measured on the evaluation split.</p>"
    pairs = measured_on.pairs
    if pairs and all(name.startswith(PSEUDO_PAIR_PREFIX) for name in pairs):
        kind = (f"{len(pairs)} pseudo-pair(s) (a degraded copy of an embedded photo against the photo: no FiveK "
                "pairs in the data)")
    else:
        kind = f"{len(pairs)} FiveK evaluation pair(s)"
    if measured_on.frames > 1:
        clip = f"flicker on {measured_on.frames} frames of clip {escape(str(measured_on.clip))}"
    else:
        clip = ("<b>no video clip in the data: flicker was not measured and the flicker limit was not applied</b>")
    return (f"<p>Quality measured on {escape(str(measured_on.data))}: {kind}, {len(measured_on.photos)} "
            f"photo(s) in all; {clip}.</p>")


def excluded_note(excluded: pd.DataFrame | None) -> str:
    """What the grey hollow markers of the plots are."""
    if excluded is None or not len(excluded):
        return "<p>No complete trial broke a constraint.</p>"
    trials = ", ".join(f"#{n}" for n in excluded["trial"])
    return (f"<p id='excluded-note'>Grey hollow markers: {len(excluded)} trial(s) ({trials}) excluded by a constraint "
            "(latency or memory budget, flicker limit). They may plot below or left of the front but were never "
            "candidates for it or for a winner; the table <a href='#excluded'>Trials excluded by a constraint</a> "
            "says why.</p>")


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<section><h2>{escape(h)}</h2>{content}</section>" for h, content in sections)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")
