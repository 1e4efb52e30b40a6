"""Host timing of the winners for the CI gate (summary.json `measured`), written to reports/<target>/measured.json
(schema: compile.documents.MeasuredTimings).

Each winner enhances the same real 12 MP photo through the host runtime (the fused TVM full-res
kernel built for this machine + the low-res path in PyTorch, `runtime.Enhancer`); so does the
uncompressed committed student, the reference workload of the same run. Timings vary from machine
to machine and run to run, their ratio much less: the gate compares `ratio`, each winner's time over
the reference's. On a shared 2-core VM even a best-of-5 time swings by 10-15 % from run to run,
so the ratio is taken per round, against the reference timed right before it, and the median over
the rounds is kept.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from ..data import sized_photo
from ..runtime.enhance import Enhancer
from ..kernels.lowres import torch_threads
from ..search.folder import ReportFolder
from ..search.winners import WinnersDocument
from .documents import MeasuredTimings

PHOTO = (3000, 4000)  # (H, W): a 12 MP still


def interleaved_ms(enhancers: dict[str, Enhancer], pixels: np.ndarray, repeats: int) -> dict[str, list[float]]:
    """Every round's time of each enhancer, the runs interleaved (A B C A B C ...) so that drift in the
    machine's speed (frequency, other load) touches all of them alike and cancels in their ratios."""
    for enhancer in enhancers.values():
        enhancer.enhance(pixels)  # warm-up: kernel load, allocations
    times: dict[str, list[float]] = {name: [] for name in enhancers}
    for _ in range(repeats):
        for name, enhancer in enhancers.items():
            clock = time.perf_counter()
            enhancer.enhance(pixels)
            times[name].append(1e3 * (time.perf_counter() - clock))
    return times


def median_ratio(times: list[float], reference: list[float]) -> float:
    """Median over rounds of time / the reference's time in the same round."""
    return statistics.median(t / r for t, r in zip(times, reference))


def measure_winners(report_dir: str | Path, repeats: int = 7) -> MeasuredTimings:
    reports = ReportFolder(report_dir)
    winners = WinnersDocument.load_from(reports.winners).winners
    pixels = sized_photo(*PHOTO)
    folders = {role: w.dir for role, w in winners.items() if w is not None and w.dir}
    enhancers = {"reference": Enhancer.for_model("student")}
    enhancers.update({folder: Enhancer.for_model(reports.candidate(folder).weights)
                      for folder in dict.fromkeys(folders.values())})
    with torch_threads(1):  # one thread: less noise from whatever else the machine runs
        times = interleaved_ms(enhancers, pixels, repeats)
    best = {name: min(t) for name, t in times.items()}
    result = MeasuredTimings(
        workload=f"{PHOTO[1]}x{PHOTO[0]} real photo, uint8, 1 thread, {repeats} interleaved rounds "
                 "(times: best round; ratio: median of the per-round ratios)",
        reference="uncompressed committed student, same runtime and photo",
        reference_ms=best["reference"],
        host_ms={role: best[folder] for role, folder in folders.items()},
        ratio={role: median_ratio(times[folder], times["reference"]) for role, folder in folders.items()},
        trials={role: winners[role].trial for role in folders})
    result.save(reports.measured)
    return result
