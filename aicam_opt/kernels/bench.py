"""Time the compiled fused kernel on this host over a spread of specs, pixel types, sizes and threads.

These are the artifact rows the latency model of the shipped kernel is fitted and validated on
(`aicam-opt calibrate --target host --validate`). Each thread count runs in its own child process,
because TVM's thread pool reads TVM_NUM_THREADS once, when it starts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

import numpy as np

from ..timing import median_time
from .spec import YUV_LAYOUTS, KernelSpec


@dataclass(frozen=True)
class KernelCase:
    spec: KernelSpec
    height: int
    width: int
    threads: int

    @property
    def megapixels(self) -> float:
        return self.height * self.width / 1e6

    @property
    def config(self) -> str:
        """The configuration a held-out split keeps together: spec and pixel type, every size and thread count."""
        return self.spec.key


@dataclass(frozen=True)
class KernelTiming:
    case: KernelCase
    ms: float


def kernel_inputs(spec: KernelSpec, height: int, width: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The pixels (an RGB picture, or YUV planes) and weights in the ranges a trained student produces
    (speed does not depend on them), the weights in the kernel's compute type."""
    rng = np.random.default_rng(seed)
    if spec.layout in YUV_LAYOUTS:
        pixels = [rng.integers(0, 256, (height, width), dtype=np.uint8),
                  rng.integers(0, 256, ((height + 1) // 2, (width + 1) // 2, 2), dtype=np.uint8)]
    elif spec.dtype == "float32":
        pixels = [rng.random((height, width, 3), dtype=np.float32)]
    else:
        pixels = [rng.integers(0, np.iinfo(spec.dtype).max, (height, width, 3), dtype=spec.dtype)]
    nc, nk = spec.n_curves, spec.knots
    thresholds = np.sort(rng.random((nc, nk), dtype=np.float32), axis=1)
    weights = [rng.normal(0, 0.5, (nc, 3)), rng.normal(0, 0.1, nc), thresholds, rng.normal(0, 0.5, (nc, nk)),
               rng.normal(0, 0.5, nc), np.zeros(1), rng.normal(0, 0.3, (12, spec.depth, spec.grid_size, spec.grid_size))]
    return pixels, [w.astype(spec.compute) for w in weights]


def time_cases_here(cases: list[KernelCase], repeats: int = 5) -> list[KernelTiming]:
    """Time each case in this process (its thread count must match this process's TVM pool)."""
    from .compiled import load_kernel

    timings = []
    for case in cases:
        fn = load_kernel(case.spec)
        pixels, weights = kernel_inputs(case.spec, case.height, case.width)
        outs = [np.empty_like(p) for p in pixels]
        seconds = median_time(lambda: fn(*pixels, *weights, *outs, 0, case.height), repeats)
        timings.append(KernelTiming(case, 1e3 * seconds))
    return timings


def time_cases(cases: list[KernelCase], repeats: int = 5) -> list[KernelTiming]:
    """Time every case, one child process per thread count (TVM_NUM_THREADS set before TVM starts)."""
    timings: dict[KernelCase, KernelTiming] = {}
    for threads in sorted({c.threads for c in cases}):
        group = [c for c in cases if c.threads == threads]
        payload = json.dumps({"repeats": repeats, "cases": [{**asdict(c.spec), "height": c.height, "width": c.width}
                                                            for c in group]})
        env = {**os.environ, "TVM_NUM_THREADS": str(threads)}
        done = subprocess.run([sys.executable, "-m", "aicam_opt.kernels.bench"], input=payload, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kernel timing child ({threads} threads) failed:\n{done.stderr[-2000:]}")
        for case, ms in zip(group, json.loads(done.stdout.strip().splitlines()[-1])):
            timings[case] = KernelTiming(case, ms)
    return [timings[c] for c in cases]


def _child() -> None:
    request = json.loads(sys.stdin.read())
    threads = int(os.environ.get("TVM_NUM_THREADS", "1"))
    cases = [KernelCase(KernelSpec(**{k: v for k, v in c.items() if k not in ("height", "width")}),
                        c["height"], c["width"], threads) for c in request["cases"]]
    print(json.dumps([t.ms for t in time_cases_here(cases, request["repeats"])]))


if __name__ == "__main__":
    _child()
