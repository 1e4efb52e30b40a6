"""Training runs end to end on real photos (a few steps) and its pieces behave."""
import numpy as np
import pytest
import torch

from aicam_opt.data import clip_frames, embedded_photo
from aicam_opt.images import read_photo
from aicam_opt.train.batches import CropSampler
from aicam_opt.degrade import degrade, overexpose
from aicam_opt.train import student as student_train
from aicam_opt.train import teacher as teacher_train
from aicam_opt.models.student import StudentNet
from aicam_opt.models.teacher import Generator


def test_degrade_is_realistic_and_seeded():
    photo = embedded_photo("coffee")
    a, b = degrade(photo, np.random.default_rng(1)), degrade(photo, np.random.default_rng(1))
    assert np.array_equal(a, b) and a.shape == photo.shape
    assert 0 <= a.min() and a.max() <= 1 and np.abs(a - photo).mean() > 0.01


def test_overexpose_really_clips_highlights_and_is_seeded():
    """An over-exposed copy has highlights saturated flat (no texture left) where the photo had detail."""
    photo = embedded_photo("coffee")
    a, b = overexpose(photo, np.random.default_rng(3)), overexpose(photo, np.random.default_rng(3))
    assert np.array_equal(a, b) and a.shape == photo.shape and 0 <= a.min() and a.max() <= 1
    assert a.mean() > degrade(photo, np.random.default_rng(3)).mean()
    flat = a >= a.max() - 1e-6  # the saturated level (contrast and the tone curve move it below 1)
    assert flat.mean() > 5 * (photo >= photo.max() - 1e-6).mean()


def test_crop_sampler_keeps_pairs_aligned():
    img = embedded_photo("astronaut")[:100, :120]
    sampler = CropSampler([(img, img * 0.5)], 32, seed=0)
    x, y = sampler(4)
    assert x.shape == (4, 3, 32, 32) and torch.allclose(y, x * 0.5)


def test_multiscale_crops_see_the_image_at_a_lower_resolution():
    """A crop drawn as if the 400-px image were 100 px wide spans 4x as much of it (area-resized)."""
    ramp = np.repeat(np.linspace(0, 1, 400, dtype=np.float32)[None, :, None], 400, axis=0).repeat(3, axis=2)
    span = lambda crops: float((crops[:, 0, :, -1] - crops[:, 0, :, 0]).abs().mean())  # noqa: E731
    native = CropSampler([ramp], 32, seed=0)(8)
    x, y = CropSampler([(ramp, ramp * 0.5)], 32, seed=0, long_sides=(100, 100))(8)
    assert x.shape == (8, 3, 32, 32) and torch.allclose(y, x * 0.5, atol=1e-6)
    assert span(native) == pytest.approx(31 / 399, rel=0.02) and span(x) == pytest.approx(4 * span(native), rel=0.05)


def test_multiscale_teacher_config_rejects_a_top_scale_below_the_base():
    assert teacher_train.TeacherTrainConfig().crop_long_sides() == (256, 768)
    assert teacher_train.TeacherTrainConfig().pair_long_sides() == (192, 768)
    assert teacher_train.TeacherTrainConfig(max_long_side=None).pair_long_sides() is None
    with pytest.raises(ValueError, match="max_long_side 200"):
        teacher_train.TeacherTrainConfig(max_long_side=200)


def _tiny_domains(source, cfg):
    photos = [embedded_photo(n)[::4, ::4] for n in ("astronaut", "coffee")]
    rng = np.random.default_rng(0)
    pairs = [(degrade(p, rng), p) for p in photos]
    return [degrade(p, rng) for p in photos], photos, pairs[:1], pairs[1:]


def test_teacher_training_runs_all_losses(monkeypatch):
    monkeypatch.setattr(teacher_train, "build_domains", _tiny_domains)
    cfg = teacher_train.TeacherTrainConfig(steps=4, batch=2, crop=32, lr=1e-3)
    g, info = teacher_train.train_teacher(None, cfg, show_progress=False)
    assert isinstance(g, Generator) and info["history"][0]["step"] == 0
    assert {"adversarial", "cycle", "similarity", "total_variation", "paired", "restoration", "identity",
            "highlights", "shadows"} <= set(info["history"][0])
    assert all(np.isfinite(v) for row in info["history"] for k, v in row.items())
    assert info["data"] == {"x_pool": 2, "y_pool": 2, "pairs": 1, "restoration_pairs": 1}


def test_teacher_without_expert_pairs_trains_on_restoration(monkeypatch):
    """The embedded photo set has no Expert C retouches: the restoration pairs become the paired term."""
    monkeypatch.setattr(teacher_train, "build_domains", lambda s, c: _tiny_domains(s, c)[:2] + ([], _tiny_domains(s, c)[3]))
    cfg = teacher_train.TeacherTrainConfig(steps=2, batch=2, crop=32)
    _, info = teacher_train.train_teacher(None, cfg, show_progress=False)
    assert "restoration" not in info["history"][0] and info["data"]["pairs"] == 1


def test_paired_loss_crops_both_members_alike():
    """Random crops and flips keep a pair aligned: an exact model of the pair has zero loss."""
    photo = embedded_photo("astronaut")[::8, ::8]

    class Half(torch.nn.Module):
        def forward(self, x):
            return x * 0.5

    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2.0

    loss = teacher_train.paired_loss(Half(), Double(), [(photo, photo * 0.5)], 6, np.random.default_rng(0))
    assert float(loss) < 1e-6
    rescaled = teacher_train.paired_loss(Half(), Double(), [(photo, photo * 0.5)], 6, np.random.default_rng(0), (32, 64))
    assert float(rescaled) < 1e-6
    assert float(teacher_train.paired_loss(Double(), Half(), [(photo, photo * 0.5)], 2, np.random.default_rng(0))) > 0.05


def test_student_distillation_learns_teacher_tone(monkeypatch):
    photos = [embedded_photo(n)[::4, ::4] for n in ("astronaut", "coffee", "chelsea")]
    monkeypatch.setattr(student_train, "build_training_images", lambda *a: photos)
    monkeypatch.setattr(student_train, "video_pairs", lambda *a, **k: [])

    class Brighten(torch.nn.Module):  # a stand-in teacher with a known global effect
        def forward(self, x):
            return (x * 1.3 + 0.05).clamp(0, 1)

    cfg = student_train.StudentTrainConfig(steps=40, batch=2, crop=64, lr=5e-3)
    student, info = student_train.train_student(None, cfg, show_progress=False, teacher=Brighten())
    x = torch.from_numpy(photos[0].transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        err_before = (StudentNet().eval()(x) - Brighten()(x)).abs().mean()
        err_after = (student(x) - Brighten()(x)).abs().mean()
    assert err_after < 0.6 * err_before




def test_inter_frame_loss_follows_the_teachers_frame_change(monkeypatch):
    """Where the teacher clips, its output does not change between frames however much the input does:
    with the teacher as reference the (near-identity) fresh student is penalised for passing the input's
    change on; with the input as reference it is not."""
    photo = embedded_photo("coffee")[::4, ::4]
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.05, photo.shape), 0, 1).astype(np.float32)
    still = (np.zeros(photo.shape[:2] + (2,), np.float32), np.ones(photo.shape[:2], bool))
    monkeypatch.setattr(student_train, "build_training_images", lambda *a: [photo])
    monkeypatch.setattr(student_train, "video_pairs", lambda *a, **k: [(photo, noisy, *still)])

    class WhiteOut(torch.nn.Module):  # clips everything: no frame-to-frame change at all
        def forward(self, x):
            return torch.ones_like(x)

    first_term = {}
    for reference in ("input", "teacher"):
        cfg = student_train.StudentTrainConfig(steps=1, batch=1, crop=64, inter_frame_reference=reference,
                                               steadiness={"steps": 0})
        data = student_train.distillation_data(None, cfg, WhiteOut())
        # the reference pair rides along with each frame pair: the teacher's outputs or the frames themselves
        assert np.all(data.frames[0][4] == 1.0) if reference == "teacher" else data.frames[0][4] is photo
        _, info = student_train.train_student(None, cfg, show_progress=False, teacher=WhiteOut(), data=data)
        first_term[reference] = info["history"][0]["inter_frame"]
    assert first_term["input"] < 0.01 < first_term["teacher"]


def test_training_clip_frames_are_distilled_every_nth(monkeypatch, data_source, missing_data):
    clips = clip_frames(data_source, "train")
    if not clips:
        missing_data("a video clip in the data folder (../shared/data/video)")
    monkeypatch.setattr(student_train, "load_photos", lambda *a: {})
    monkeypatch.setattr(student_train, "load_pairs", lambda *a: {})
    for stride in (10, 35):
        images = student_train.build_training_images(data_source, 64, 0, stride)
        assert len(images) == sum(len(clip[::stride]) for clip in clips)
        assert min(images[0].shape[:2]) == 64  # short side to long_side: wide frames still fit the crops
    native = student_train.build_training_images(data_source, 64, 0, 35, video_scale="native")
    assert native[0].shape == read_photo(clips[0][0]).pixels.shape  # the clip's own (preview) size
    with pytest.raises(ValueError, match="video_distill_stride"):
        student_train.StudentTrainConfig(video_distill_stride=0)


def _steadiness_setup(monkeypatch):
    """A photo and a noisy copy as one whole 'clip' frame pair, a teacher whose output does not change."""
    photo = embedded_photo("coffee")[::6, ::6]
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.05, photo.shape), 0, 1).astype(np.float32)
    still = (np.zeros(photo.shape[:2] + (2,), np.float32), np.ones(photo.shape[:2], bool))
    monkeypatch.setattr(student_train, "build_training_images", lambda *a: [photo])
    monkeypatch.setattr(student_train, "video_pairs", lambda *a, **k: [(photo, noisy, *still)])

    class Flatten(torch.nn.Module):  # the teacher: one grey whatever the noise
        def forward(self, x):
            return torch.full_like(x, 0.5)
    return Flatten()


def test_steadiness_stage_cuts_the_students_excess_frame_change(monkeypatch):
    teacher = _steadiness_setup(monkeypatch)
    cfg = student_train.StudentTrainConfig(steps=2, batch=1, crop=48, weights={"inter_frame": 0.0},
                                           steadiness={"steps": 20, "lr": 5e-3, "weight": 10.0})
    data = student_train.distillation_data(None, cfg, teacher)
    # whole frames, each pair with the teacher's outputs as its reference
    assert len(data.whole_frames) == 1 and data.whole_frames[0][0].shape == (67, 100, 3)
    assert np.all(data.whole_frames[0][4] == 0.5)
    student, info = student_train.train_student(None, cfg, show_progress=False, teacher=teacher, data=data)
    excess = [row["frame_excess"] for row in info["history"] if "frame_excess" in row]
    assert len(excess) >= 2 and excess[-1] < 0.5 * excess[0]
    assert info["data"]["whole_frame_pairs"] == 1 and info["history"][-1]["step"] == 2 + 20 - 1


def test_steadiness_stage_keeps_batchnorm_statistics_and_can_be_off(monkeypatch):
    """Whole frames must not overwrite the running statistics learnt on photo crops; steps 0 skips the stage
    (the search's recoveries), and then no whole-frame data is prepared."""
    teacher = _steadiness_setup(monkeypatch)
    stats = {}
    for steps in (0, 5):
        cfg = student_train.StudentTrainConfig(steps=3, batch=1, crop=48, steadiness={"steps": steps})
        data = student_train.distillation_data(None, cfg, teacher)
        assert len(data.whole_frames) == (1 if steps else 0)
        student, info = student_train.train_student(None, cfg, show_progress=False, teacher=teacher, data=data)
        stats[steps] = {k: v.clone() for k, v in student.state_dict().items() if "running" in k}
        assert info["data"]["whole_frame_pairs"] == (1 if steps else 0)
    assert stats[0].keys() == stats[5].keys() and all(torch.equal(stats[0][k], stats[5][k]) for k in stats[0])


def test_recovery_keeps_the_inherited_batchnorm_statistics(monkeypatch):
    """A recovery (`freeze_batchnorm`) fine-tunes weights but leaves the running statistics of the model it
    starts from; a plain distillation learns them."""
    teacher = _steadiness_setup(monkeypatch)
    moved = {}
    for freeze in (False, True):
        cfg = student_train.StudentTrainConfig(steps=3, batch=1, crop=48, freeze_batchnorm=freeze,
                                               steadiness={"steps": 0})
        start = StudentNet(cfg.model)
        before = {k: v.clone() for k, v in start.state_dict().items()}
        data = student_train.distillation_data(None, cfg, teacher)
        student, _ = student_train.train_student(None, cfg, show_progress=False, teacher=teacher, student=start, data=data)
        changed = [k for k, v in student.state_dict().items() if not torch.equal(v, before[k])]
        assert any("running" not in k for k in changed)  # the weights are fine-tuned either way
        moved[freeze] = [k for k in changed if "running" in k]
    assert moved[False] and not moved[True]


def test_student_training_is_deterministic_across_both_stages(monkeypatch):
    """What `make train`'s reproducibility rests on, on a small run: the same seed and data give the same
    weights, bit for bit, through distillation and the steadiness stage (same thread count)."""
    teacher = _steadiness_setup(monkeypatch)
    cfg = student_train.StudentTrainConfig(steps=4, batch=1, crop=48, steadiness={"steps": 4})
    weights = []
    for _ in range(2):
        data = student_train.distillation_data(None, cfg, teacher)
        student, _ = student_train.train_student(None, cfg, show_progress=False, teacher=teacher, data=data)
        weights.append(student.state_dict())
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    other, _ = student_train.train_student(None, cfg.model_copy(update={"seed": 1}), show_progress=False,
                                           teacher=teacher, data=data)
    assert not all(torch.equal(weights[0][k], v) for k, v in other.state_dict().items())
