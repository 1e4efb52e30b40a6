"""winners.json (the documented winners) and summary.json (what the CI gate compares).

winners.json:
    {"schema": "aicam_opt.winners/1", "target": ..., "search_space": ..., "roles": {role: meaning},
     "student": {...figures of the uncompressed student..., "measured_on": {"data", "pairs", "photos", "clip",
                 "frames"}: the evaluation images every quality figure of the run comes from},
     "winners": {role: null | {"trial", "dir", "candidate", "fidelity", "quality", "predicted_latency_ms",
                               "macs", "peak_memory_mb", "speedup_vs_student", "constraints"}}}
summary.json: schema "aicam_opt.summary/1" (see aicam_opt/gate/summary.py), the same figures, trial counts
and, once the winners are compiled and timed, a `measured` block.
"""
from __future__ import annotations

from optuna.trial import FrozenTrial

from ..search.space import SearchSpace

ROLE_MEANING = {
    "fastest_within": "the lowest predicted {workload} latency among full-fidelity candidates within {tol:g} dB "
                      "PSNR of the uncompressed student (and within the flicker limit)",
    "best_quality_within_budgets": "the lowest PSNR drop among full-fidelity candidates that meet every constraint "
                                   "(latency budgets, peak memory, flicker)",
    "knee": "the balanced trade-off: the feasible front's point nearest the ideal point, objectives scaled to [0, 1]",
}


def role_meanings(space: SearchSpace, roles: list[str]) -> dict[str, str]:
    out = {}
    for role in roles:
        key = "fastest_within" if role.startswith("fastest_within") else role
        out[role] = ROLE_MEANING[key].format(workload=space.latency_objective, tol=space.quality_tolerance_db)
    return out


def winner_entry(trial: FrozenTrial, student: dict) -> dict:
    figures = trial.user_attrs["figures"]
    return {
        "trial": trial.number,
        "dir": trial.user_attrs.get("dir"),
        "candidate": trial.user_attrs["candidate"],
        "fidelity": trial.user_attrs.get("fidelity"),
        "quality": trial.user_attrs["quality"],
        "predicted_latency_ms": figures["latency_ms"],
        "macs": figures["macs"],
        "peak_memory_mb": figures["peak_memory_mb"],
        "speedup_vs_student": {w: student["latency_ms"][w] / ms for w, ms in figures["latency_ms"].items() if ms > 0},
        "constraints": trial.user_attrs.get("constraints", {}),
    }


def student_block(student: dict) -> dict:
    return {"predicted_latency_ms": student["latency_ms"], "macs": student["macs"],
            "peak_memory_mb": student["peak_memory_mb"], "placement": student["placement"],
            "quality": student["quality"], "params": student["params"],
            **({"measured_on": student["measured_on"]} if "measured_on" in student else {})}  # absent in older studies


def winners_document(target: str, space: SearchSpace, student: dict, winners: dict[str, FrozenTrial | None]) -> dict:
    return {"schema": "aicam_opt.winners/1", "target": target, "search_space": space.name,
            "roles": role_meanings(space, list(winners)), "student": student_block(student),
            "winners": {role: winner_entry(t, student) if t else None for role, t in winners.items()}}


def summary_document(winners_doc: dict, counts: dict[str, int], measured: dict | None = None) -> dict:
    doc = {"schema": "aicam_opt.summary/1", "target": winners_doc["target"],
           "search_space": winners_doc["search_space"], "trials": counts,
           "student": winners_doc["student"],
           "winners": {role: None if w is None else {k: w[k] for k in (
               "trial", "candidate", "quality", "predicted_latency_ms", "macs", "peak_memory_mb", "speedup_vs_student")}
               for role, w in winners_doc["winners"].items()}}
    if measured:
        doc["measured"] = measured
    return doc
