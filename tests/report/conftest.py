"""A small real study for the report tests: three trials with folders holding the committed student's
weights, so op tables and samples are real; user-controlled strings carry HTML to check escaping."""
import pytest
import optuna
from optuna.distributions import CategoricalDistribution

from aicam_opt.compress import Candidate
from aicam_opt.config import save_yaml
from aicam_opt.data import load_photos
from aicam_opt.images import write_photo
from aicam_opt.latency.target import load_target
from aicam_opt.models.checkpoints import load_model, save_checkpoint
from aicam_opt.search.space import SearchSpace
from aicam_opt.search.study import open_study

EVIL = "<script>alert('x')</script>"
WORKLOADS = ("preview", "video8k", "photo100mp")


def figures(latency: float) -> dict:
    return {"latency_ms": {w: latency * k for w, k in zip(WORKLOADS, (1, 16, 48))},
            "macs": {w: 229_266_624 * k for w, k in zip(WORKLOADS, (1, 14, 42))},
            "peak_memory_mb": {w: 50.0 * k for w, k in zip(WORKLOADS, (1, 4, 6))}}


def add_trial(study, out, number, drop, deltae, latency, placement, fidelity="full", state="COMPLETE", flicker=2.4):
    candidate = Candidate(name=f"t-{number:04d}", description=EVIL, quantization={"low_res": "fp16", "full_res": "fp16"},
                          placement={"low_res": "cpu", "full_res": placement})
    attrs = {"candidate": candidate.model_dump(mode="json"), "candidate_key": str(number), "fidelity": fidelity}
    if state == "FAIL":
        attrs["fail_reason"] = f"AicamError: {EVIL} broke"
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, params={"full_res": placement},
                                          distributions={"full_res": CategoricalDistribution(["cpu", "gpu"])},
                                          user_attrs=attrs)
    else:
        folder = f"trials/{number:04d}"
        (out / folder).mkdir(parents=True)
        save_checkpoint(load_model(kind="student"), "student", out / folder / "student.safetensors")
        save_yaml(candidate, out / folder / "candidate.yaml")
        photo = next(iter(load_photos_cached().values()))
        write_photo(out / folder / "sample.jpg", photo)
        attrs.update({"dir": folder, "quality": {"psnr": 20.9 - drop, "student_psnr": 20.9, "psnr_drop_vs_student": drop,
                                                 "psnr_vs_student": 40.0, "deltae_vs_student": deltae,
                                                 "psnr_vs_teacher": 30.0, "deltae_vs_teacher": 2.0, "pairs": 2,
                                                 "images": 3, "flicker": flicker, "flicker_student": 2.34,
                                                 "flicker_frames": 8},
                      "figures": figures(latency),
                      "constraints": {"latency_ms.preview": latency - 33, "flicker": flicker - (2.34 + 0.15)}})
        trial = optuna.trial.create_trial(values=[drop, deltae, latency], params={"full_res": placement},
                                          distributions={"full_res": CategoricalDistribution(["cpu", "gpu"])},
                                          user_attrs=attrs)
    study.add_trial(trial)


_PHOTOS = {}


def load_photos_cached():
    if not _PHOTOS:
        from aicam_opt.data import resolve
        _PHOTOS.update(load_photos(resolve(), "eval", long_side=256))
    return _PHOTOS


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    space = SearchSpace(name="evil", description=EVIL,
                        objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    study = open_study(space, load_target("sd865"), out)
    study.set_user_attr("student", {**figures(99.0), "placement": {"low_res": "cpu:fp32", "full_res": "cpu:fp32"},
                                    "quality": {"psnr": 20.9, "flicker": 2.34}, "params": 72548,
                                    "measured_on": {"data": f"/data/{EVIL}", "pairs": ["a4521", "a4576"],
                                                    "photos": ["a4521", "a4576", "kodak/kodim21"], "clip": "bedroom",
                                                    "frames": 8}})
    add_trial(study, out, 0, 0.05, 0.5, 30.0, "gpu")   # best quality within budgets
    add_trial(study, out, 1, 0.25, 0.9, 20.0, "cpu")   # fastest within 0.3 dB
    add_trial(study, out, 2, 0.9, 2.0, 12.0, "cpu")    # lossy
    add_trial(study, out, 3, 0, 0, 0, "cpu", state="FAIL")
    return out, study, space
