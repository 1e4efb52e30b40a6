"""The parts of a model built and linked for the remote's platform, with the inputs each is timed on.

Each part is built as `compile` builds it (compile.parts for the graphs and the kernel, compile.backend
for the TVM builds, compile.link for the .so), for the TVM target of its unit:
- `--target host`: this machine's llvm target (compile.targets.host_target) for the CPU;
- another target: the unit's target dict from targets/<target>.yaml, its triple switched to the
  remote's operating system with `os_name` (sd865's units are aarch64-linux-android; an aarch64
  Linux board such as a Qualcomm RB5 runs aarch64-linux-gnu code).
A part that cannot be linked here (no linker for the platform, Hexagon) or not compiled is kept as
`skipped` with the reason: nothing can run it, the other parts are still measured.

Inputs are a real photo at the workload size (data.sized_photo): the low-res input downsampled from
it as the runtime does, the grid the deployed low-res part predicts for it, the photo in the kernel's
pixel type. With both parts on the CPU a third program, `end_to_end` (device.end_to_end), runs
both in one call.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch

from ..compile import backend, engines, link
from ..compile.failures import CompileFailure
from ..compile.parts import (KERNEL_PARAM_NAMES, Part, export_full_res_onnx, export_low_res_onnx, full_res_kernel_part,
                             full_res_onnx_part, kernel_can_represent, low_res_part)
from ..compile.targets import host_target, tvm_target
from ..data import sized_photo
from ..errors import AicamError
from ..kernels.lowres import downsample_native, torch_threads
from ..kernels.spec import PIXEL_SCALE, PixelType
from ..latency.target import load_target
from .end_to_end import ENTRY as END_TO_END_ENTRY
from .end_to_end import compile_end_to_end
from .models import ModelToMeasure

PART_ORDER = ("low_res", "full_res", "end_to_end")


@dataclass(frozen=True)
class OutputBuffer:
    """A destination tensor the function writes (allocated on the device, not uploaded)."""

    shape: tuple[int, ...]
    dtype: str


Arg = np.ndarray | OutputBuffer | int


@dataclass
class BuiltPart:
    part: str                                # low_res | full_res | end_to_end
    unit: str
    precision: str                           # the part's precision; end_to_end: "fp32" or "int8+fp32" ...
    engine: str                              # relax_onnx | fused_kernel | end_to_end
    runs_as: Literal["vm", "function"]       # a Relax VM function, or a plain module function (the kernel)
    entry: str                               # the function timed
    args: list[Arg] = field(default_factory=list)
    target: dict[str, Any] | None = None
    file: Path | None = None
    link: dict[str, Any] | None = None
    isa: str | None = None
    sha256: str | None = None
    kernel: str | None = None                # the fused kernel's spec key
    skipped: str | None = None               # why it cannot be run (no artifact)
    build_seconds: float = 0.0

    def artifact(self) -> dict[str, Any] | None:
        if self.file is None:
            return None
        return {"file": self.file.name, "sha256": self.sha256, "bytes": self.file.stat().st_size,
                "isa": self.isa, "link": self.link, "tvm_target": self.target}


def unit_target(target_name: str, unit: str, os_name: str | None = None) -> dict[str, Any]:
    """The TVM target a part placed on `unit` is built for (see the module doc)."""
    target = load_target(target_name)
    spec = target.unit(unit)
    if spec.tvm is None and target.name == "host":
        if unit != "cpu":
            raise AicamError(f"target host: only its cpu can be measured here, not the {unit}")
        return host_target()
    built = tvm_target(target_name, unit)
    return link.retarget(built, os_name) if os_name else built


@dataclass
class Inputs:
    photo: np.ndarray              # (H, W, 3) uint8
    lowres: np.ndarray             # (1, 3, S, S) float32
    grid: np.ndarray               # (1, 12, D, G, G) float32


def make_inputs(model: ModelToMeasure, height: int, width: int) -> Inputs:
    photo = sized_photo(height, width)
    net = model.loaded.net
    with torch_threads(1), torch.no_grad():
        lowres = downsample_native(photo, net.cfg.lowres_size)
        grid = model.loaded.deployed.low_res(lowres)
    return Inputs(photo, np.ascontiguousarray(lowres.numpy(), dtype=np.float32),
                  np.ascontiguousarray(grid.float().numpy(), dtype=np.float32))


def kernel_image(photo: np.ndarray, pixel_type: PixelType) -> np.ndarray:
    if pixel_type == "uint8":
        return np.ascontiguousarray(photo)
    if pixel_type == "uint16":
        return np.ascontiguousarray(photo.astype(np.uint16) * 257)
    return np.ascontiguousarray(photo.astype(np.float32) / PIXEL_SCALE["uint8"])


def _args(part: Part, inputs: Inputs, pixel_type: PixelType) -> tuple[str, list[Arg]]:
    if part.name == "low_res":
        return "main", [inputs.lowres]
    if part.engine == "fused_kernel":
        image = kernel_image(inputs.photo, pixel_type)
        height = image.shape[0]
        compute = np.float16 if part.kernel_spec.compute == "float16" else np.float32  # weights and grid
        weights = [np.ascontiguousarray(part.kernel_params[n], dtype=compute) for n in KERNEL_PARAM_NAMES]
        return "fullres", [image, *weights, np.ascontiguousarray(inputs.grid[0], dtype=compute),
                           OutputBuffer(image.shape, image.dtype.name), 0, height]
    image = np.ascontiguousarray(inputs.photo.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
    return "main", [np.ascontiguousarray(image), inputs.grid]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _link(built: BuiltPart, executable: Any, stem: Path, ndk: str | None) -> None:
    assert built.target is not None
    path, record = link.export(executable, stem, built.target, ndk, require=True)
    built.file, built.link, built.sha256 = path, record, _sha256(path)
    built.isa = backend.isa_of(path.read_bytes()[:64])


def _linker_missing(target: dict[str, Any], ndk: str | None) -> str | None:
    platform = link.platform_of(target)
    return None if link.find_linker(platform, ndk) else link.missing_linker_reason(platform)


def build_model(model: ModelToMeasure, target_name: str, height: int, width: int, out_dir: Path,
                pixel_type: PixelType = "uint8", os_name: str | None = None, ndk: str | None = None,
                log: Callable[[str], None] = lambda _: None) -> list[BuiltPart]:
    """Every part of `model` (and end_to_end where both run on the CPU) built and linked into `out_dir`."""
    loaded = model.loaded
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(model, height, width)
    low = low_res_part(loaded, export_low_res_onnx(loaded, out_dir / "low_res.onnx"))
    if kernel_can_represent(loaded):
        full = full_res_kernel_part(loaded, load_target(target_name).unit(loaded.candidate.placement.full_res).kind,
                                    pixel_type)
    else:
        full = full_res_onnx_part(loaded, export_full_res_onnx(loaded, out_dir / "full_res.onnx", (height, width)),
                                  (height, width))
    built: list[BuiltPart] = []
    for part in (low, full):
        entry, args = _args(part, inputs, pixel_type)
        item = BuiltPart(part.name, part.unit, part.precision, part.engine, "function" if part.engine == "fused_kernel"
                         else "vm", entry, args, kernel=part.kernel_spec.key if part.kernel_spec else None)
        built.append(item)
        item.target = unit_target(target_name, part.unit, os_name)
        item.skipped = _linker_missing(item.target, ndk)
        if item.skipped:
            continue
        clock = time.perf_counter()
        log(f"building {model.label} {part.name} for {part.unit} ({link.platform_of(item.target)})")
        try:
            compiled = engines.get(part.engine).compile(part, item.target)
        except CompileFailure as err:
            item.skipped = f"TVM could not compile it for the {part.unit} (stage {err.stage}: {err.reason})"
            continue
        try:
            _link(item, compiled.executable, out_dir / f"{part.name}-{part.unit}", ndk)
        except RuntimeError as err:  # tvm.support.cc: the linker's own message
            item.skipped = f"linking failed: {str(err).strip()[-400:]}"
            continue
        item.build_seconds = time.perf_counter() - clock
    built.append(_end_to_end(low, full, built, inputs, pixel_type, out_dir, ndk, log, model.label))
    return built


def _end_to_end(low: Part, full: Part, built: list[BuiltPart], inputs: Inputs, pixel_type: PixelType, out_dir: Path,
                ndk: str | None, log: Callable[[str], None], label: str) -> BuiltPart:
    low_built, full_built = built
    precision = low.precision if low.precision == full.precision else f"{low.precision}+{full.precision}"
    item = BuiltPart("end_to_end", low.unit if low.unit == full.unit else f"{low.unit}+{full.unit}", precision,
                     "end_to_end", "vm", END_TO_END_ENTRY, kernel=full_built.kernel)
    if low.unit != full.unit or low.unit != "cpu":
        item.skipped = (f"the parts run on different units ({low.unit}, {full.unit}) or not on the CPU: one TVM module "
                        "runs both only on the CPU; the total is the sum of the parts")
    elif full.engine != "fused_kernel":
        item.skipped = "the full-res part is a Relax graph (int8), not the fused kernel: the total is the sum of the parts"
    elif full.kernel_spec is not None and full.kernel_spec.compute != "float32":
        item.skipped = ("the end-to-end module hands the low-res path's float32 grid to a float32 kernel; this "
                        f"kernel computes in {full.kernel_spec.compute}: the total is the sum of the parts")
    elif low_built.skipped or full_built.skipped:
        item.skipped = "a part could not be built: " + (low_built.skipped or full_built.skipped or "")
    if item.skipped:
        return item
    item.target = low_built.target
    image = kernel_image(inputs.photo, pixel_type)
    weights = [np.ascontiguousarray(full.kernel_params[n], dtype=np.float32) for n in KERNEL_PARAM_NAMES]
    item.args = [inputs.lowres, image, *weights]
    clock = time.perf_counter()
    log(f"building {label} end_to_end for the cpu")
    try:
        executable = compile_end_to_end(low.onnx_path, full.kernel_spec, full.kernel_params, list(inputs.grid.shape),
                                        inputs.lowres.shape[-1], image.shape[0], image.shape[1], item.target)
    except Exception as err:  # noqa: BLE001 - TVM's own error types; the parts are still measured
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        item.skipped = f"TVM could not compile the end-to-end module: {lines[-1] if lines else type(err).__name__}"
        return item
    try:
        _link(item, executable, out_dir / "end_to_end-cpu", ndk)
    except RuntimeError as err:
        item.skipped = f"linking failed: {str(err).strip()[-400:]}"
        return item
    item.build_seconds = time.perf_counter() - clock
    return item


__all__ = ["BuiltPart", "OutputBuffer", "build_model", "unit_target", "make_inputs", "PART_ORDER"]
