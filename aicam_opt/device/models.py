"""What `aicam-opt measure MODEL` measures: the committed student, a candidate folder, or a report's winners.

- `student`: the committed checkpoint as a candidate of its own: fp32 low-res and full-res, both on
  the CPU (the uncompressed reference the search compares against);
- a candidate folder (what `aicam-opt compress ... --out DIR` writes: candidate.yaml and
  student.safetensors), deployed at its precisions as `compile` deploys it (compile.parts);
- a report folder (reports/<target>, or reports/ with --target) holding winners.json: every winner,
  each candidate folder once (roles naming the same folder share one measurement).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..compile.parts import LoadedCandidate, load_candidate
from ..compile.winners import report_folder
from ..compress.build import deploy
from ..compress.candidate import Candidate
from ..data import DataSource
from ..errors import AicamError
from ..models.checkpoints import committed_path, load_model, sha256_of
from ..models.student import StudentNet
from ..search.winners import WinnersDocument

STUDENT = "student"


@dataclass
class ModelToMeasure:
    label: str                                    # "student", or the candidate's name
    loaded: LoadedCandidate
    candidate_dir: str | None = None              # None: the committed student
    roles: list[str] = field(default_factory=list)  # a report folder: the winner roles naming it


def committed_student(target: str, source: DataSource) -> ModelToMeasure:
    net = load_model(kind="student")
    assert isinstance(net, StudentNet)
    candidate = Candidate(name=STUDENT, target=target, description="the committed student, uncompressed")
    path = committed_path("student")
    loaded = LoadedCandidate(path.parent, candidate, net, deploy(net, candidate, source), {}, sha256_of(path))
    return ModelToMeasure(STUDENT, loaded)


def _winner_folders(report: Path, target: str) -> tuple[Path, dict[Path, list[str]]]:
    path = report_folder(report, target).winners
    winners = WinnersDocument.load_from(path).winners
    folders: dict[Path, list[str]] = {}
    for role, info in winners.items():
        if info is None:
            continue
        if not info.dir:
            raise AicamError(f"{path}: winner {role!r} has no 'dir' (a candidate folder relative to {path.parent}); "
                             "re-run the search")
        folders.setdefault((path.parent / info.dir).resolve(), []).append(role)
    if not folders:
        raise AicamError(f"{path}: no winners to measure (every role is null)")
    return path, folders


def resolve_models(spec: str, target: str, source: DataSource) -> tuple[str, list[ModelToMeasure], Path | None]:
    """(kind "student" | "candidate" | "report", the models, the winners.json of a report) for MODEL."""
    if spec == STUDENT:
        return "student", [committed_student(target, source)], None
    folder = Path(spec)
    if not folder.is_dir():
        raise AicamError(f"MODEL {spec!r}: not `student` and not a folder; give `student`, a candidate folder "
                         "(from `aicam-opt compress --out DIR`) or a report folder with winners.json")
    if (folder / "candidate.yaml").is_file():
        loaded = load_candidate(folder, source)
        return "candidate", [ModelToMeasure(loaded.name, loaded, str(folder.resolve()))], None
    path, folders = _winner_folders(folder, target)
    models = []
    for candidate_dir, roles in folders.items():
        loaded = load_candidate(candidate_dir, source)
        models.append(ModelToMeasure(loaded.name, loaded, str(candidate_dir), roles))
    labels = [m.label for m in models]
    for model in models:  # two trials may share a candidate name: the label must tell them apart
        if labels.count(model.label) > 1:
            model.label = f"{model.label}@{Path(model.candidate_dir or '').name}"
    return "report", models, path


__all__ = ["ModelToMeasure", "resolve_models", "committed_student", "STUDENT"]
