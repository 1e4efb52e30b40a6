"""summary.json: what the CI gate compares (schema "aicam_opt.summary/1"). The report step writes it
from winners.json, the trial counts and, once the winners are compiled and timed, the `measured`
block; the gate reads it through the same model.

    {"schema": "aicam_opt.summary/1", "target", "search_space",
     "trials": {"complete", "failed", "full_fidelity", "counted"},
     "budget"?: {"trials", "sampler", "seed"},
     "student": {as in winners.json},
     "winners": {role: null | {"trial", "candidate", "quality", "predicted_latency_ms", "macs", "peak_memory_mb",
                               "speedup_vs_student"}},
     "measured"?: {"reference_ms", "host_ms": {role: ms}, "workload", "ratio"?: {role: median per-round ratio}}}

`budget` is the search the summary comes from: the largest `--trials` its study was searched to, and
the space's sampler and seed. Winners of searches with another budget, space, sampler or seed are
not comparable (a longer search finds other candidates), so the gate refuses to judge them. Summaries
written before it was recorded have none: "budget unknown".

Keys a newer writer adds within schema version 1 are ignored by the reader (a new major version is
refused instead). Importing this module pulls in neither torch nor Optuna: the gate stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..compress.metrics import FiniteQuality
from ..config import Document, JsonBlock
from ..search.blocks import Finite, Positive, PositiveCount, StudentBlock

if TYPE_CHECKING:
    from ..search.winners import WinnersDocument

SCHEMA = "aicam_opt.summary/1"


class TrialCounts(JsonBlock):
    complete: int
    failed: int
    full_fidelity: int
    counted: int  # what spends the budget: complete trials and failures with a recorded reason


class SearchBudget(JsonBlock):
    """The search a summary comes from (module doc): what must match for two summaries' winners to compare."""

    trials: int = Field(ge=1)  # the largest --trials the study was searched to (a resumed study keeps its trials)
    sampler: str
    seed: int

    def describe(self, space: str) -> str:
        return f"{self.trials} trials (space {space}, {self.sampler} seed {self.seed})"


class SummaryWinner(Finite):
    trial: int
    candidate: dict[str, Any]  # the candidate description: never gated, its changes shown as an info row
    quality: FiniteQuality
    predicted_latency_ms: dict[str, Positive]
    macs: dict[str, PositiveCount]
    peak_memory_mb: dict[str, Positive]
    speedup_vs_student: dict[str, Positive]


class Measured(Finite):
    """Host timings of the winners (compile/measure.py) that belong to the current winners."""

    reference_ms: float = Field(gt=0)
    host_ms: dict[str, Annotated[float, Field(gt=0)]]
    workload: str | None = None
    # median per-round host_ms / reference_ms; absent in summaries written before it existed
    ratio: dict[str, Annotated[float, Field(gt=0)]] | None = None


class Summary(Document):
    SCHEMA = SCHEMA

    target: str
    search_space: str
    trials: TrialCounts
    budget: SearchBudget | None = None  # None: written before summaries recorded it ("budget unknown")
    student: StudentBlock
    winners: dict[str, SummaryWinner | None]
    measured: Measured | None = None


def summary_document(winners_doc: "WinnersDocument", counts: TrialCounts, budget: SearchBudget | None,
                     measured: Measured | None = None) -> Summary:
    fields: dict[str, Any] = {
        "target": winners_doc.target, "search_space": winners_doc.search_space, "trials": counts,
        **({"budget": budget} if budget is not None else {}), "student": winners_doc.student,
        "winners": {role: None if w is None else SummaryWinner.model_validate({
            "trial": w.trial, "candidate": w.candidate.model_dump(mode="json"), "quality": w.quality.to_json(),
            "predicted_latency_ms": w.predicted_latency_ms, "macs": w.macs, "peak_memory_mb": w.peak_memory_mb,
            "speedup_vs_student": w.speedup_vs_student}) for role, w in winners_doc.winners.items()}}
    if measured is not None:
        fields["measured"] = measured
    return Summary(**fields)
