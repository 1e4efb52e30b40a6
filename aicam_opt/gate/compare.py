"""Compare a run's summary against the baseline: one row per metric, each with a verdict. No printing.

What is compared (the student block and every winner role of the baseline):
- higher is worse: predicted_latency_ms.*, macs.*, peak_memory_mb.*, the winners' psnr_drop_vs_student,
  deltae_vs_student and flicker, and measured host_ms / reference_ms;
- lower is worse: student.quality.psnr.
- speedup_vs_student.* rows are informational (verdict "info", never failing): a speedup is the
  student's latency over the winner's, both already gated, and a faster student alone would lower it.
- measured host timings are compared only relative to the reference workload timed in the same run
  (the median per-round ratio, or best over best in older summaries), so a slower or busier machine
  (which slows the reference workload too) cancels out. A role measured in the baseline and found now
  but not measured is "missing", and so is every role when this run has no measured block at all (its
  winners were never compiled and timed); roles timed now but not in the baseline are "info"; with a
  measured block in neither run, one row says "skipped (no measurement)".
- a role found in the baseline but not now is a regression ("missing"); a role found now but not in
  the baseline is an improvement ("better").
- a role held by a different candidate now gets an informational "candidate" row naming what changed
  (e.g. quantization.low_res int8 -> fp16), so a latency jump reads as "another candidate won", not noise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .summary import Figures, Measured, Summary, Winner
from .tolerances import Tolerance, Tolerances

Verdict = Literal["ok", "better", "worse", "missing", "info", "skipped (no measurement)"]
FAILING: frozenset[str] = frozenset({"worse", "missing"})

Value = float | int | str | None  # str: a description such as "trial 3" or "none"

# (field of the per-workload figures, tolerance family); higher is worse for all three.
WORKLOAD_FIGURES = (("predicted_latency_ms", "latency"), ("macs", "macs"), ("peak_memory_mb", "peak_memory"))
WINNER_QUALITY = (("psnr_drop_vs_student", "psnr_drop"), ("deltae_vs_student", "deltae"), ("flicker", "flicker"))


@dataclass(frozen=True)
class Row:
    block: str                      # "student", "winners.<role>", "measured.<role>" or "measured"
    metric: str                     # e.g. "predicted_latency_ms.preview"; "" for a whole-role row
    baseline: Value
    current: Value
    tolerance: str                  # as shown, e.g. "±2%"
    verdict: Verdict
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.block}.{self.metric}" if self.metric else self.block

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


@dataclass
class Comparison:
    target: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the gate could not check (e.g. a budget unknown)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    @property
    def improvements(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "better"]

    @property
    def passed(self) -> bool:
        return not self.failures


def judge(baseline: float, current: float, tol: Tolerance, higher_is_worse: bool = True) -> Verdict:
    worsening = (current - baseline) if higher_is_worse else (baseline - current)
    allowed = tol.allowed(baseline)
    if worsening > allowed:
        return "worse"
    if -worsening > allowed:
        return "better"
    return "ok"


def _metric_rows(block: str, prefix: str, base: dict[str, float], cur: dict[str, float], tol: Tolerance,
                 higher_is_worse: bool = True) -> list[Row]:
    """Rows for one dict of figures: every key of the baseline, then keys new in this run (info)."""
    rows = []
    for key, b in base.items():
        metric = f"{prefix}.{key}" if prefix else key
        if key not in cur:
            rows.append(Row(block, metric, b, None, tol.describe(), "missing", "not in this run"))
        else:
            rows.append(Row(block, metric, b, cur[key], tol.describe(), judge(b, cur[key], tol, higher_is_worse)))
    for key in [k for k in cur if k not in base]:
        metric = f"{prefix}.{key}" if prefix else key
        rows.append(Row(block, metric, None, cur[key], tol.describe(), "info", "not in the baseline"))
    return rows


def _figure_rows(block: str, base: Figures, cur: Figures, tols: Tolerances) -> list[Row]:
    rows = []
    for name, family in WORKLOAD_FIGURES:
        rows += _metric_rows(block, name, getattr(base, name), getattr(cur, name), getattr(tols, family))
    return rows


def _student_rows(base: Summary, cur: Summary, tols: Tolerances) -> list[Row]:
    rows = _figure_rows("student", base.student, cur.student, tols)
    tol = tols.student_psnr
    b, c = base.student.quality.psnr, cur.student.quality.psnr
    rows.append(Row("student", "quality.psnr", b, c, tol.describe(), judge(b, c, tol, higher_is_worse=False)))
    return rows


# Candidate fields that name the trial rather than describe the configuration (as search.space.candidate_key;
# not imported from there: the gate reads plain JSON and must not pull in torch).
NAMING_FIELDS = frozenset({"name", "description"})


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):  # an empty dict adds no field: {} and {"a": 0.5} differ by "a"
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def candidate_changes(base: dict, cur: dict) -> list[str]:
    """What differs between two candidate descriptions, as "field old -> new" (naming fields ignored)."""
    b = _flatten({k: v for k, v in base.items() if k not in NAMING_FIELDS})
    c = _flatten({k: v for k, v in cur.items() if k not in NAMING_FIELDS})
    return [f"{key} {b.get(key, '—')} -> {c.get(key, '—')}" for key in sorted(set(b) | set(c)) if b.get(key) != c.get(key)]


def _winner_rows(block: str, base: Winner, cur: Winner, tols: Tolerances) -> list[Row]:
    changes = candidate_changes(base.candidate, cur.candidate)
    rows = []
    if changes:
        rows.append(Row(block, "candidate", f"trial {base.trial}", f"trial {cur.trial}", "", "info",
                        "another candidate holds this role: " + "; ".join(changes)))
    rows += _figure_rows(block, base, cur, tols)
    for name, family in WINNER_QUALITY:
        tol = getattr(tols, family)
        b, c = getattr(base.quality, name), getattr(cur.quality, name)
        if b is None and c is None:  # flicker, when the evaluation data has no clip
            rows.append(Row(block, f"quality.{name}", b, c, tol.describe(), "skipped (no measurement)", "no clip"))
        elif c is None:
            rows.append(Row(block, f"quality.{name}", b, c, tol.describe(), "missing", "not measured in this run"))
        elif b is None:
            rows.append(Row(block, f"quality.{name}", b, c, tol.describe(), "info", "not in the baseline"))
        else:
            rows.append(Row(block, f"quality.{name}", b, c, tol.describe(), judge(b, c, tol)))
    for key, b in base.speedup_vs_student.items():
        rows.append(Row(block, f"speedup_vs_student.{key}", b, cur.speedup_vs_student.get(key), "", "info"))
    return rows


def _role_rows(base: Summary, cur: Summary, tols: Tolerances) -> list[Row]:
    rows = []
    roles = list(base.winners) + [r for r in cur.winners if r not in base.winners]
    for role in roles:
        block = f"winners.{role}"
        b, c = base.winners.get(role), cur.winners.get(role)
        if b is not None and c is not None:
            rows += _winner_rows(block, b, c, tols)
        elif b is not None:
            rows.append(Row(block, "", f"trial {b.trial}", "none", "", "missing",
                            "the search no longer finds such a candidate"))
        elif c is not None:
            rows.append(Row(block, "", "none", f"trial {c.trial}", "", "better", "found now, none in the baseline"))
        else:
            rows.append(Row(block, "", "none", "none", "", "ok", "no candidate qualified in either run"))
    return rows


def normalised(measured: Measured) -> dict[str, float]:
    """Host timings relative to the reference workload timed in the same run (machine speed cancels):
    the median per-round ratio when the run recorded it, else best time over best time."""
    if measured.ratio is not None:
        return {role: measured.ratio[role] for role in measured.host_ms if role in measured.ratio}
    return {role: ms / measured.reference_ms for role, ms in measured.host_ms.items()}


def _measured_rows(base: Summary, cur: Summary, tols: Tolerances) -> list[Row]:
    tol = tols.measured
    metric = "host_ms/reference_ms"
    if base.measured is None and cur.measured is None:
        return [Row("measured", metric, None, None, tol.describe(), "skipped (no measurement)", "in neither run")]
    if cur.measured is None:
        # host timings are what the gate checks of the compiled winners: a run without them proves nothing
        return [Row(f"measured.{role}", metric, ratio, None, tol.describe(), "missing",
                    "no measured block in this run: its winners were not compiled and timed; run the search with "
                    "compiling (make optimize, not --no-compile), or `aicam-opt report DIR` after the timing")
                for role, ratio in normalised(base.measured).items()]
    if base.measured is None:
        return [Row(f"measured.{role}", metric, None, ratio, tol.describe(), "info",
                    "not in the baseline (it has no measured block): refresh the baseline to gate host timings")
                for role, ratio in normalised(cur.measured).items()] or [
            Row("measured", metric, None, None, tol.describe(), "skipped (no measurement)", "no role timed in either run")]

    rows = [Row("measured", "reference_ms", base.measured.reference_ms, cur.measured.reference_ms, "", "info",
                "machine speed; host timings are divided by it")]
    b_norm, c_norm = normalised(base.measured), normalised(cur.measured)
    for role, b in b_norm.items():
        if role not in c_norm and cur.winners.get(role) is None:
            # the lost role is already a failing row of its own; one failure per cause
            rows.append(Row(f"measured.{role}", metric, b, None, tol.describe(), "skipped (no measurement)",
                            f"role lost (see winners.{role})"))
        elif role not in c_norm:
            rows.append(Row(f"measured.{role}", metric, b, None, tol.describe(), "missing", "not measured in this run"))
        else:
            rows.append(Row(f"measured.{role}", metric, b, c_norm[role], tol.describe(), judge(b, c_norm[role], tol)))
    for role in [r for r in c_norm if r not in b_norm]:
        rows.append(Row(f"measured.{role}", metric, None, c_norm[role], tol.describe(), "info", "not in the baseline"))
    return rows


def compare(baseline: Summary, current: Summary, tolerances: Tolerances) -> Comparison:
    """All rows, in table order: student, each winner role, measured timings."""
    rows = _student_rows(baseline, current, tolerances)
    rows += _role_rows(baseline, current, tolerances)
    rows += _measured_rows(baseline, current, tolerances)
    return Comparison(target=current.target, rows=rows)
