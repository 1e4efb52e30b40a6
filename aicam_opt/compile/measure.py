"""Host timing of the winners for the CI gate (summary.json `measured`), written to reports/<target>/measured.json.

Each winner enhances the same real 12 MP photo through the host runtime (the fused TVM full-res
kernel built for this machine + the low-res path in PyTorch, `runtime.Enhancer`); so does the
uncompressed committed student, the reference workload of the same run. Timings vary from machine
to machine and run to run, their ratio much less: the gate compares host_ms / reference_ms.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..config import save_json
from ..runtime.bench import real_photo
from ..runtime.enhance import Enhancer
from ..runtime.lowres import torch_threads

PHOTO = (3000, 4000)  # (H, W): a 12 MP still
MEASURED_FILE = "measured.json"


def best_ms(enhancer: Enhancer, pixels: np.ndarray, repeats: int) -> float:
    enhancer.enhance(pixels)  # warm-up: kernel load, allocations
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        enhancer.enhance(pixels)
        times.append(time.perf_counter() - clock)
    return 1e3 * min(times)


def measure_winners(report_dir: str | Path, repeats: int = 3) -> dict[str, Any]:
    report_dir = Path(report_dir)
    winners = json.loads((report_dir / "winners.json").read_text())["winners"]
    pixels = real_photo(*PHOTO)
    with torch_threads(1):  # one thread: less noise from whatever else the machine runs
        result: dict[str, Any] = {"workload": f"{PHOTO[1]}x{PHOTO[0]} real photo, uint8, 1 thread, best of {repeats}",
                                  "reference": "uncompressed committed student, same runtime and photo",
                                  "reference_ms": best_ms(Enhancer.for_model("student"), pixels, repeats), "host_ms": {},
                                  "trials": {}}
        timed: dict[str, float] = {}
        for role, winner in winners.items():
            if winner is None or not winner.get("dir"):
                continue
            folder = winner["dir"]
            if folder not in timed:
                timed[folder] = best_ms(Enhancer.for_model(report_dir / folder / "student.safetensors"), pixels, repeats)
            result["host_ms"][role] = timed[folder]
            result["trials"][role] = winner["trial"]
    save_json(result, report_dir / MEASURED_FILE)
    return result
