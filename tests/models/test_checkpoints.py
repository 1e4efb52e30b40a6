import json

import pytest
import torch

from aicam_opt.errors import AicamError
from aicam_opt.models import checkpoints
from aicam_opt.models.student import StudentConfig, StudentNet
from aicam_opt.models.teacher import Generator


def test_round_trip_restores_architecture_and_weights(tmp_path):
    net = StudentNet(StudentConfig(num_branches=2, grid_depth=4)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / "s.safetensors"
    checkpoints.save_checkpoint(net, "student", path)
    loaded = checkpoints.load_model(path)
    assert loaded.cfg == net.cfg
    x = torch.rand(1, 3, 33, 47)
    assert torch.equal(loaded(x), net(x))


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(AicamError, match="nope.safetensors: checkpoint not found.*make train"):
        checkpoints.load_model(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(AicamError, match="bad.safetensors: not a readable safetensors checkpoint"):
        checkpoints.load_model(bad)
    # A pickle (what torch.save writes) is refused rather than executed.
    pickled = tmp_path / "pickled.safetensors"
    torch.save({"w": torch.zeros(1)}, pickled)
    with pytest.raises(AicamError, match="pickled.safetensors: not a readable safetensors"):
        checkpoints.load_model(pickled)


def test_kind_and_shape_mismatch(tmp_path):
    path = tmp_path / "t.safetensors"
    checkpoints.save_checkpoint(Generator(), "teacher", path)
    with pytest.raises(AicamError, match="holds a teacher, but a student was asked for"):
        checkpoints.load_model(path, kind="student")
    # Same tensors, but the stored config claims another width: shapes no longer fit.
    from safetensors.torch import load_file, save_file
    state = load_file(str(path))
    save_file(state, str(path), metadata={"aicam_opt.kind": "teacher", "aicam_opt.config": json.dumps({"width": 8})})
    with pytest.raises(AicamError, match="do not match the teacher architecture.*shape mismatch"):
        checkpoints.load_model(path)  # (the two-key metadata older files carry)
    save_file(state, str(path), metadata={"aicam_opt": "{not json"})
    with pytest.raises(AicamError, match="t.safetensors: the description stored in the checkpoint is not valid JSON"):
        checkpoints.load_model(path)


def test_same_weights_give_the_same_file(tmp_path):
    """`make train` is seeded, so the checkpoint it writes must be byte-identical too (same sha256)."""
    model = StudentNet()
    shas = {checkpoints.save_checkpoint(model, "student", tmp_path / f"{i}.safetensors") for i in range(8)}
    assert len(shas) == 1
    assert isinstance(checkpoints.load_model(tmp_path / "0.safetensors", kind="student"), StudentNet)


def test_committed_checkpoint_sha_is_verified(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(checkpoints, "MANIFEST", tmp_path / "manifest.json")
    sha = checkpoints.save_checkpoint(StudentNet(), "student", tmp_path / "student.safetensors")
    checkpoints.write_manifest_entry("student", {"sha256": sha})
    assert isinstance(checkpoints.load_model(kind="student"), StudentNet)
    checkpoints.write_manifest_entry("student", {"sha256": "0" * 64})
    with pytest.raises(AicamError, match="sha256 does not match"):
        checkpoints.load_model(kind="student")


def test_committed_checkpoints_exist_and_fit_size_budgets():
    manifest = checkpoints.read_manifest()
    for kind, budget in (("teacher", 10e6), ("student", 1e6)):
        path = checkpoints.committed_path(kind)
        assert path.stat().st_size <= budget
        assert manifest[kind]["sha256"] == checkpoints.sha256_of(path)
        assert manifest[kind]["training_seconds"] > 0 and manifest[kind]["data"]
        checkpoints.load_model(kind=kind)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_weights_are_refused_naming_file_and_tensor(tmp_path, bad):
    """Such a checkpoint used to run and give a plausible but wrong picture (and engines that disagree)."""
    net = StudentNet().eval()
    name, param = list(net.named_parameters())[5]
    with torch.no_grad():
        param.view(-1)[0] = bad
    path = tmp_path / "diverged.safetensors"
    checkpoints.save_checkpoint(net, "student", path)
    with pytest.raises(AicamError) as err:
        checkpoints.load_model(path)
    assert f"{path}: tensor '{name}' holds 1 NaN or infinite value(s)" in str(err.value)
