"""A candidate folder: what `aicam-opt compress --out DIR` and every full-fidelity search trial write,
and what the compile step, the host timing and the report read. The one place its file names live.

    candidate.yaml        the Candidate description
    student.safetensors   the float weights after pruning and recovery
    metrics.json          compress.metrics.CandidateMetrics
    model.onnx            the deployed model (`aicam-opt compress`; the search skips the export)
    sample.jpg            input | output of the first evaluation pair (search trials, for the report)
    compiled/             `aicam-opt compile DIR`'s default output folder
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import load_yaml
from ..errors import AicamError
from .candidate import Candidate
from .metrics import CandidateMetrics


@dataclass(frozen=True)
class CandidateFolder:
    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def candidate_file(self) -> Path:
        return self.path / "candidate.yaml"

    @property
    def weights(self) -> Path:
        return self.path / "student.safetensors"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.json"

    @property
    def onnx(self) -> Path:
        return self.path / "model.onnx"

    @property
    def sample(self) -> Path:
        return self.path / "sample.jpg"

    @property
    def compiled(self) -> Path:
        return self.path / "compiled"

    def check(self) -> None:
        """AicamError naming what is missing: the folder, its description or its weights."""
        if not self.path.is_dir():
            raise AicamError(f"{self.path}: candidate folder not found (expected {self.candidate_file.name}, "
                             f"{self.weights.name} and {self.metrics_file.name} written by "
                             "`aicam-opt compress ... --out DIR`)")
        for path in (self.candidate_file, self.weights):
            if not path.is_file():
                raise AicamError(f"{self.path}: {path.name} is missing; rebuild the candidate with "
                                 "`aicam-opt compress`")

    def load_candidate(self) -> Candidate:
        return load_yaml(self.candidate_file, Candidate)

    def load_metrics(self) -> CandidateMetrics | None:
        """metrics.json, or None when the folder has none (it is optional for compiling)."""
        if not self.metrics_file.is_file():
            return None
        return CandidateMetrics.load(self.metrics_file, "Rebuild the candidate with `aicam-opt compress` (or re-run "
                                                        "the search that wrote it).")
