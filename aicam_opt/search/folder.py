"""The report folder of a search (reports/<target>/): the one place its file names live.

It lives in search/, the lowest layer that writes into it (the study and the trial folders): the
compile step, the reports, the gate and `aicam-opt optimize` sit above and all use it.

    cost.json             the uncompressed student and teacher on every unit (`aicam-opt optimize`)
    study.db              the Optuna study (SQLite; another storage may be given instead)
    trials/<NNNN>/        one candidate folder per full-fidelity trial (compress.folder.CandidateFolder)
    trials.csv, pareto.csv, pareto.png, pareto.html, winners.json, summary.json, report.html   the reports
    artifacts/<role>/     each winner compiled (`aicam-opt compile --winners`)
    compile.json          what compiling the winners gave
    measured.json         host timings of the winners (compile/measure.py), for the gate
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..compress.folder import CandidateFolder

TRIALS_DIR = "trials"
WINNERS_FILE = "winners.json"


@dataclass(frozen=True)
class ReportFolder:
    path: Path

    COST_FILE = "cost.json"
    STUDY_FILE = "study.db"
    TRIALS_CSV = "trials.csv"
    PARETO_CSV = "pareto.csv"
    PARETO_PNG = "pareto.png"
    PARETO_HTML = "pareto.html"
    SUMMARY_FILE = "summary.json"
    REPORT_HTML = "report.html"
    COMPILE_FILE = "compile.json"
    MEASURED_FILE = "measured.json"
    ARTIFACTS_DIR = "artifacts"
    # written by the report step, in this order (`aicam-opt report DIR` regenerates them)
    REPORTS = (TRIALS_CSV, PARETO_CSV, PARETO_PNG, PARETO_HTML, WINNERS_FILE, SUMMARY_FILE, REPORT_HTML)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def cost(self) -> Path:
        return self.path / self.COST_FILE

    @property
    def study(self) -> Path:
        return self.path / self.STUDY_FILE

    @staticmethod
    def trial_dir(number: int) -> str:
        """A trial's candidate folder relative to the report folder (what winners.json's `dir` holds)."""
        return f"{TRIALS_DIR}/{number:04d}"

    def trial(self, number: int) -> CandidateFolder:
        return self.candidate(self.trial_dir(number))

    def candidate(self, relative: str) -> CandidateFolder:
        return CandidateFolder(self.path / relative)

    @property
    def trials_csv(self) -> Path:
        return self.path / self.TRIALS_CSV

    @property
    def pareto_csv(self) -> Path:
        return self.path / self.PARETO_CSV

    @property
    def pareto_png(self) -> Path:
        return self.path / self.PARETO_PNG

    @property
    def pareto_html(self) -> Path:
        return self.path / self.PARETO_HTML

    @property
    def winners(self) -> Path:
        return self.path / WINNERS_FILE

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY_FILE

    @property
    def report_html(self) -> Path:
        return self.path / self.REPORT_HTML

    @property
    def compile_report(self) -> Path:
        return self.path / self.COMPILE_FILE

    @property
    def measured(self) -> Path:
        return self.path / self.MEASURED_FILE

    @property
    def artifacts(self) -> Path:
        return self.path / self.ARTIFACTS_DIR

    @classmethod
    def artifacts_dir(cls, role: str) -> str:
        """A role's compiled artifacts relative to the report folder (what compile.json's `artifacts_dir` holds)."""
        return f"{cls.ARTIFACTS_DIR}/{role}"

    def artifacts_of(self, role: str) -> Path:
        return self.path / self.artifacts_dir(role)
