"""Realistic search summaries (schema aicam_opt.summary/1) for the gate tests."""
import copy
import json

import pytest

# 96 MACs per full-res pixel plus the fixed low-res path, at 1080p preview, 8K video and a 100 MP still.
PIXELS = {"preview": 1920 * 1080, "video8k": 7680 * 4320, "photo100mp": 12288 * 8192}
STUDENT_LOWRES_MACS = 30_201_024


def _macs(per_pixel: int, lowres: int) -> dict[str, int]:
    return {w: per_pixel * px + lowres for w, px in PIXELS.items()}


def _winner(trial: int, latency: dict[str, float], student_latency: dict[str, float], psnr_drop: float,
            deltae: float, flicker: float, lowres_macs: int, memory: dict[str, float]) -> dict:
    return {
        "trial": trial,
        "candidate": {"switch": {"branches": 3, "hard": True}, "pruning": {"low_res": 0.5},
                      "precision": {"low_res": "int8", "full_res": "fp16"},
                      "placement": {"low_res": "dsp", "full_res": "gpu"}},
        "quality": {"psnr": 20.91 - psnr_drop, "student_psnr": 20.91, "psnr_drop_vs_student": psnr_drop,
                    "psnr_vs_student": 38.0, "deltae_vs_student": deltae, "psnr_vs_teacher": 31.5,
                    "deltae_vs_teacher": 1.8, "pairs": 3, "images": 15, "flicker": flicker, "flicker_student": 2.42,
                    "flicker_frames": 8},
        "predicted_latency_ms": latency,
        "macs": _macs(96, lowres_macs),
        "peak_memory_mb": memory,
        "speedup_vs_student": {w: round(student_latency[w] / latency[w], 2) for w in latency},
    }


def realistic_summary(target: str = "sd865") -> dict:
    """A summary as the search writes it: two winners found, the knee not (null), host timings measured."""
    student_latency = {"preview": 46.0, "video8k": 700.1, "photo100mp": 1665.6}
    return {
        "schema": "aicam_opt.summary/1",
        "target": target,
        "search_space": "default",
        "trials": {"complete": 4, "failed": 0, "full_fidelity": 2, "counted": 4},
        "budget": {"trials": 4, "sampler": "tpe", "seed": 0},
        "student": {
            "predicted_latency_ms": student_latency,
            "macs": _macs(96, STUDENT_LOWRES_MACS),
            "peak_memory_mb": {"preview": 12.0, "video8k": 190.0, "photo100mp": 576.0},
            "placement": {"low_res": "cpu:fp32", "full_res": "cpu:fp32"},
            "quality": {"psnr": 20.91, "flicker": 2.42},
            "params": 72548,
            "measured_on": {"data": "/work/shared/data", "pairs": ["a4521", "a4576", "a4582"],
                            "photos": ["a4521", "a4576", "a4582", "kodak/kodim21"], "clip": "bedroom", "frames": 8},
        },
        "winners": {
            "fastest_within_0.3db": _winner(3, {"preview": 12.3, "video8k": 188.4, "photo100mp": 450.2}, student_latency,
                                            psnr_drop=0.05, deltae=0.9, flicker=2.45, lowres_macs=11_046_912,
                                            memory={"preview": 8.0, "video8k": 128.0, "photo100mp": 384.0}),
            "best_quality_within_budgets": _winner(1, {"preview": 20.1, "video8k": 310.0, "photo100mp": 980.4},
                                                   student_latency, psnr_drop=0.02, deltae=0.6, flicker=2.43,
                                                   lowres_macs=25_165_824,
                                                   memory={"preview": 10.0, "video8k": 160.0, "photo100mp": 480.0}),
            "knee": None,
        },
        "measured": {"reference_ms": 12.5,
                     "host_ms": {"fastest_within_0.3db": 310.0, "best_quality_within_budgets": 420.0}},
    }


@pytest.fixture
def pair() -> tuple[dict, dict]:
    """(baseline, current): two independent copies of the same run, to be edited by each test."""
    doc = realistic_summary()
    return doc, copy.deepcopy(doc)


@pytest.fixture
def write_json(tmp_path):
    def write(name: str, doc) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc, encoding="utf-8")
        return str(path)
    return write
