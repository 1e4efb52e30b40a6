"""Host speed of one compiled candidate: `python -m aicam_opt.compile.bench --candidate DIR [--out FILE]`.

A benchmark, not a test. On a real photo (Kodak kodim23, else an embedded one) resized to 12 MP and,
if memory allows, 100 MP, times with the same threads (`--threads`, default 1):
- low_res (fixed cost): the compiled host build (Relax VM) vs onnxruntime on the part's ONNX graph vs
  PyTorch eager (the deployed part at its precision);
- full_res: the compiled host build (the fused kernel, float32 pixels, or the Relax build of the ONNX
  part) vs onnxruntime (the part exported at that size) vs PyTorch eager; onnxruntime and PyTorch only
  where their intermediates fit in memory (runtime.bench.BASELINE_BYTES_PER_PIXEL);
- end to end compiled: downsample (band-wise) + low_res + full_res.
Best of `--repeats` runs (fewer when a run exceeds the time budget). Writes JSON (default
reports/bench/compile.json) and prints it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import save_json
from ..data import resolve
from ..data import sized_photo
from ..runtime.bench import BASELINE_BYTES_PER_PIXEL, SIZES, baseline_fits
from ..timing import best_time
from ..kernels.lowres import downsample_native, to_nchw
from .candidate import tool_versions
from .engines.relax_graph import compile_relax, load_vm
from .parts import (RELAX_ONNX, FullResPart, LowResPart, export_full_res_onnx, export_low_res_onnx,
                    full_res_kernel_part, full_res_onnx_part, kernel_can_represent, load_candidate, low_res_part)
from .targets import host_target

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "reports" / "bench" / "compile.json"


def _ort(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _timed(fn: Callable[[], object], repeats: int, budget_s: float) -> dict[str, float]:
    fn()  # warm-up (first-call allocation, lazy initialisation)
    return {"s": best_time(fn, repeats, budget_s)}


def bench(candidate_dir: str | Path, sizes: list[str], repeats: int = 3, threads: int = 1,
          budget_s: float = 60.0) -> dict[str, Any]:
    import tvm

    torch.set_num_threads(threads)
    os.environ.setdefault("TVM_NUM_THREADS", str(threads))
    source = resolve(None)
    source = source.with_fixed_split()
    loaded = load_candidate(candidate_dir, source)
    host = host_target()
    work = Path(tempfile.mkdtemp(prefix="aicam_compile_bench_"))
    size = loaded.net.cfg.lowres_size
    low = low_res_part(loaded, export_low_res_onnx(loaded, work / "low_res.onnx"))
    vm = load_vm(compile_relax(low.onnx_path, host))
    low_torch = LowResPart(loaded.deployed).eval()
    x_low = torch.rand(1, 3, size, size)
    low_tensor = tvm.runtime.tensor(x_low.numpy())
    session = _ort(low.onnx_path, threads)
    report: dict[str, Any] = {
        "candidate": loaded.name, "candidate_dir": str(Path(candidate_dir).resolve()),
        "precision": loaded.candidate.quantization.model_dump(), "host_target": host, "threads": threads,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average": list(os.getloadavg())},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tools": tool_versions(),
        "low_res": {"input": [1, 3, size, size],
                    "compiled_tvm": _timed(lambda: vm["main"](low_tensor), repeats, budget_s),
                    "onnxruntime": _timed(lambda: session.run(None, {"lowres": x_low.numpy()}), repeats, budget_s)},
        "full_res": {}, "end_to_end_compiled": {}}
    with torch.no_grad():
        report["low_res"]["pytorch_eager"] = _timed(lambda: low_torch(x_low), repeats, budget_s)
        grid = low_torch(x_low)
    full_torch = FullResPart(loaded.deployed).eval()
    kernel = None
    if kernel_can_represent(loaded):
        from ..kernels.compiled import CompiledFullRes

        kernel = CompiledFullRes(loaded.net.full_res, loaded.net.cfg)
        report["full_res_engine"] = full_res_kernel_part(loaded, "cpu").engine  # this host's CPU
    else:
        report["full_res_engine"] = RELAX_ONNX
    for name in sizes:
        height, width = SIZES[name]
        pixels = sized_photo(height, width)
        image = pixels.astype(np.float32) / np.float32(255.0)
        mp = height * width / 1e6
        row: dict[str, Any] = {"height": height, "width": width}
        out = np.empty_like(image)
        if kernel is not None:
            run = lambda: kernel.run(image, grid[0], out=out)  # noqa: E731
        else:
            path = export_full_res_onnx(loaded, work / f"full_{name}.onnx", (height, width))
            full_part = full_res_onnx_part(loaded, path, (height, width))
            full_vm = load_vm(compile_relax(full_part.onnx_path, host))
            x_t = tvm.runtime.tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))
            g_t = tvm.runtime.tensor(grid.numpy())
            run = lambda: full_vm["main"](x_t, g_t)  # noqa: E731
        row["compiled_tvm"] = _timed(run, repeats, budget_s)
        if baseline_fits(BASELINE_BYTES_PER_PIXEL * height * width):
            x = to_nchw(image)
            with torch.no_grad():
                row["pytorch_eager"] = _timed(lambda: full_torch(x, grid), 1, budget_s)
            path = export_full_res_onnx(loaded, work / f"full_ort_{name}.onnx", (height, width))
            ort_session = _ort(path, threads)
            feeds = {"image": x.numpy(), "grid": grid.numpy()}
            row["onnxruntime"] = _timed(lambda: ort_session.run(None, feeds), 1, budget_s)
            path.unlink()
        else:
            row["baselines_skipped"] = (f"PyTorch eager and onnxruntime need ~{BASELINE_BYTES_PER_PIXEL} B/pixel of "
                                        f"intermediates ({BASELINE_BYTES_PER_PIXEL * height * width / 2**30:.0f} GiB): "
                                        "not enough free memory")
        for engine in ("compiled_tvm", "pytorch_eager", "onnxruntime"):
            if engine in row:
                row[engine]["mp_s"] = mp / row[engine]["s"]
        for engine in ("pytorch_eager", "onnxruntime"):
            if engine in row:
                row[f"speedup_vs_{engine}"] = row[engine]["s"] / row["compiled_tvm"]["s"]
        report["full_res"][name] = row

        def end_to_end() -> None:
            low_image = downsample_native(pixels, size)
            g = vm["main"](tvm.runtime.tensor(low_image.numpy())).numpy()
            if kernel is not None:
                kernel.run(image, g[0], out=out)
            else:
                run()

        report["end_to_end_compiled"][name] = {**_timed(end_to_end, repeats, budget_s), "height": height, "width": width}
        del pixels, image, out
    report["notes"] = ["compiled = this host's build of the same graphs the phone artifacts come from "
                       "(x86-64, llvm, TVM_NUM_THREADS = --threads)", "best of the repeats; the machine is shared "
                       "(load_average at the start)",
                       "PyTorch and onnxruntime run the deployed part at its precision: an fp16 part is emulated in "
                       "half on this CPU (slower than float32); the fused kernel computes in float32",
                       "the low-res host build is compile's: TVM's CPU pipeline (legalized, fused) with the "
                       "unit-stride convolution/matmul schedule of compile/cpu_schedule.py, not tuned"]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", required=True, help="candidate folder (aicam-opt compress --out DIR)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output file")
    parser.add_argument("--sizes", default="12MP,100MP", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget-s", type=float, default=60.0, help="stop repeating an engine after this long")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = bench(args.candidate, [s for s in args.sizes.split(",") if s], args.repeats, args.threads, args.budget_s)
    report["seconds"] = round(time.perf_counter() - start, 1)
    save_json(report, args.out)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
