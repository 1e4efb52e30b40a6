"""Saving and loading checkpoints: safetensors (no pickle, so no code runs on load).

A checkpoint is self-describing: its safetensors metadata holds the model kind ("teacher" or
"student") and its config as one JSON document, so `load_model(path)` rebuilds the right architecture. The
committed checkpoints live in `aicam_opt/models/weights/` beside `manifest.json`, which records each
file's sha256, config, data used, training time and metrics; loading a committed checkpoint checks
the sha256, so a corrupt or swapped file is caught.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .. import atomic
from ..config import validate
from ..errors import AicamError
from .student import StudentConfig, StudentNet
from .teacher import Generator, TeacherConfig

Kind = Literal["teacher", "student"]
WEIGHTS_DIR = Path(__file__).parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
BUILDERS = {"teacher": (TeacherConfig, Generator), "student": (StudentConfig, StudentNet)}
METADATA_KEY = "aicam_opt"


def _described(metadata: dict[str, str], path: Path) -> tuple[str | None, str]:
    """(kind, config JSON) from a checkpoint's metadata: the single `aicam_opt` key, or the two-key form
    (`aicam_opt.kind`, `aicam_opt.config`) still read for older files."""
    if METADATA_KEY not in metadata:
        return metadata.get("aicam_opt.kind"), metadata.get("aicam_opt.config", "")
    try:
        described = json.loads(metadata[METADATA_KEY])
        return described.get("kind"), json.dumps(described.get("config"))
    except (json.JSONDecodeError, AttributeError):
        raise AicamError(f"{path}: the description stored in the checkpoint is not valid JSON") from None


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(model: nn.Module, kind: Kind, path: str | os.PathLike) -> str:
    """Write `model` (with its `cfg`) atomically; returns the file's sha256."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    # One metadata key: safetensors writes its metadata map in a varying order, so with several keys the
    # same weights would give files with a different sha256 from run to run.
    metadata = {METADATA_KEY: json.dumps({"kind": kind, "config": model.cfg.model_dump(mode="json")}, sort_keys=True)}
    with atomic.atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return sha256_of(path)


def read_manifest() -> dict[str, Any]:
    if not MANIFEST.is_file():
        return {}
    try:
        return json.loads(MANIFEST.read_text())
    except json.JSONDecodeError as err:
        raise AicamError(f"{MANIFEST}: corrupt manifest ({err}); restore it with `git checkout {MANIFEST}` or rerun `make train`") from None


def write_manifest_entry(kind: Kind, entry: dict[str, Any]) -> None:
    manifest = read_manifest()
    manifest[kind] = entry
    atomic.write_text(MANIFEST, json.dumps(manifest, indent=2) + "\n")


def committed_path(kind: Kind) -> Path:
    return WEIGHTS_DIR / f"{kind}.safetensors"


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise AicamError(f"{path}: checkpoint not found. Run `make train` to create the committed checkpoints, "
                         "or pass an existing .safetensors file")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as err:
        raise AicamError(f"{path}: not a readable safetensors checkpoint ({err}); the file is corrupt or of "
                         "another format. Re-create it (`make train`) or restore it from git") from None


def check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    """A NaN or infinite weight gives a plausible but wrong picture (and engines that disagree): refuse it."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise AicamError(f"{path}: tensor '{name}' holds {bad} NaN or infinite value(s) of {tensor.numel()}; the "
                             "checkpoint is corrupt or its training diverged. Retrain it (`make train`) or restore it "
                             "from git")


def load_model(path: str | os.PathLike | None = None, kind: Kind | None = None) -> nn.Module:
    """Load a checkpoint into its architecture, in eval mode.

    `path=None` loads the committed checkpoint of `kind` (and verifies its sha256 against the
    manifest). A kind mismatch, missing/extra tensors, wrong shapes or NaN/infinite values raise
    AicamError naming the file (and the tensor).
    """
    if path is None:
        if kind is None:
            raise ValueError("give a path or a kind")
        path = committed_path(kind)
        expected = read_manifest().get(kind, {}).get("sha256")
        if path.is_file() and expected and sha256_of(path) != expected:
            raise AicamError(f"{path}: sha256 does not match {MANIFEST.name}; the committed checkpoint is corrupt "
                             f"or was replaced. Restore it with `git checkout {path}` or rerun `make train`")
    path = Path(path)
    state, metadata = _read(path)
    file_kind, config_json = _described(metadata, path)
    if file_kind not in BUILDERS:
        raise AicamError(f"{path}: not an aicam_opt checkpoint (metadata has no model kind); save it with "
                         "aicam_opt.models.checkpoints.save_checkpoint")
    if kind is not None and file_kind != kind:
        raise AicamError(f"{path}: holds a {file_kind}, but a {kind} was asked for")
    cfg_cls, net_cls = BUILDERS[file_kind]
    try:
        raw_cfg = json.loads(config_json)
    except json.JSONDecodeError:
        raise AicamError(f"{path}: the config stored in the checkpoint is not valid JSON") from None
    model = net_cls(validate(cfg_cls, raw_cfg, f"{path} (stored config)"))
    expected_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got_shapes = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(set(expected_shapes) - set(got_shapes))
    extra = sorted(set(got_shapes) - set(expected_shapes))
    wrong = sorted(k for k in set(expected_shapes) & set(got_shapes) if expected_shapes[k] != got_shapes[k])
    if missing or extra or wrong:
        detail = "; ".join(filter(None, [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {extra[:3]}" if extra else "",
            f"shape mismatch {[(k, got_shapes[k], expected_shapes[k]) for k in wrong[:3]]}" if wrong else "",
        ]))
        raise AicamError(f"{path}: tensors do not match the {file_kind} architecture in its config: {detail}")
    check_finite(state, path)
    model.load_state_dict(state)
    return model.eval()


def resolve_model(spec: str | os.PathLike) -> nn.Module:
    """'teacher', 'student' (the committed checkpoints) or a path to a checkpoint."""
    if str(spec) in BUILDERS:
        return load_model(kind=str(spec))  # type: ignore[arg-type]
    return load_model(spec)
