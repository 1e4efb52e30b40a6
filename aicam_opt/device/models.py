"""What `aicam-opt measure MODEL` measures: the committed student, a candidate folder, a report's winners,
or a sample of a search space's architectures.

- `student`: the committed checkpoint as a candidate of its own: fp32 low-res and full-res, both on
  the CPU (the uncompressed reference the search compares against);
- a candidate folder (what `aicam-opt compress ... --out DIR` writes: candidate.yaml and
  student.safetensors), deployed at its precisions as `compile` deploys it (compile.parts);
- a report folder (reports/<target>, or reports/ with --target) holding winners.json: every winner,
  each candidate folder once (roles naming the same folder share one measurement);
- `space:NAME` (or `space:PATH`): `count` candidates of that search space drawn by a seeded random
  sampler, their architecture and pruning knobs as drawn, both parts at fp32 on the CPU, with untrained
  weights (a timing does not depend on the weights' values). Their rows carry each student's
  configuration, so a calibration can be fitted to how the compiled low-res network's time varies
  across the space (targets/host.yaml's part_rows source).
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
SPACE_PREFIX = "space:"


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


def sampled_architectures(space_spec: str, target: str, count: int, seed: int, source: DataSource) -> list[ModelToMeasure]:
    """`count` distinct candidates of a search space (module doc), drawn by Optuna's seeded random sampler
    through the search's own `suggest_candidate`."""
    import optuna
    import torch

    from ..compress.candidate import PlacementSpec, QuantizationSpec
    from ..compress.prune import prune_student
    from ..latency.target import load_target
    from ..search.space import candidate_key, load_space, suggest_candidate

    if count < 1:
        raise AicamError(f"--sample {count}: give at least 1 architecture to draw from the space")
    space, tgt = load_space(space_spec), load_target(target)
    if "cpu" not in tgt.units or "fp32" not in tgt.units["cpu"].precisions:
        raise AicamError(f"MODEL {SPACE_PREFIX}{space_spec}: the sampled architectures run at fp32 on the CPU, and "
                         f"target '{tgt.name}' has no cpu unit running fp32")
    base = load_model(kind="student") if space.base == STUDENT else load_model(Path(space.base))
    assert isinstance(base, StudentNet)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    models: list[ModelToMeasure] = []
    seen: set[str] = set()
    for _ in range(50 * count):
        if len(models) == count:
            break
        drawn = suggest_candidate(study.ask(), space, tgt)
        candidate = drawn.model_copy(update={
            "name": f"{space.name}-arch{len(models):02d}", "target": tgt.name,
            "description": f"architecture {len(models)} of {count} drawn from search space '{space.name}' (seed {seed})",
            "quantization": QuantizationSpec(), "placement": PlacementSpec(low_res="cpu", full_res="cpu")})
        key = candidate_key(candidate)
        if key in seen:
            continue
        seen.add(key)
        torch.manual_seed(seed * 1000 + len(models))
        net = prune_student(StudentNet(candidate.student_config(base.cfg)), candidate.pruning,
                            candidate.channel_multiple(tgt))
        loaded = LoadedCandidate(Path(space.source).parent, candidate, net, deploy(net, candidate, source), None, key)
        models.append(ModelToMeasure(candidate.name, loaded))
    if len(models) < count:
        raise AicamError(f"MODEL {SPACE_PREFIX}{space_spec}: the space holds only {len(models)} distinct architectures; "
                         f"ask for at most {len(models)} with --sample")
    return models


def resolve_models(spec: str, target: str, source: DataSource, sample: int = 12,
                   seed: int = 0) -> tuple[str, list[ModelToMeasure], Path | None]:
    """(kind "student" | "candidate" | "report" | "space", the models, the winners.json of a report) for MODEL."""
    if spec == STUDENT:
        return "student", [committed_student(target, source)], None
    if spec.startswith(SPACE_PREFIX):
        return "space", sampled_architectures(spec[len(SPACE_PREFIX):], target, sample, seed, source), None
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


__all__ = ["ModelToMeasure", "resolve_models", "committed_student", "sampled_architectures", "STUDENT", "SPACE_PREFIX"]
