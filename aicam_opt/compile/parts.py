"""A candidate folder -> the two parts to compile, each with its graph, interface and PyTorch reference.

A candidate folder is what `compress.build.write_outputs` writes: candidate.yaml, student.safetensors
(float weights after pruning/recovery), metrics.json (model.onnx is not needed here). The deployed
model is rebuilt at the candidate's precisions with `compress.build.deploy` (NNCF int8 -> native
fake-quant, fp16 emulated), exactly as the candidate was measured, and each part is taken from it:

- low_res (fixed cost): `deployed.low_res`, (1, 3, S, S) low-res image -> (1, 12, D, G, G) grid,
  exported to ONNX opset 20 (QuantizeLinear/DequantizeLinear pairs when int8, half tensors when
  fp16) and imported into Relax.
- full_res (per pixel): the fused TensorIR kernel of `kernels.fullres` when it can represent the
  part (fp32, and fp16, which it computes in float32), with the guide's weights as runtime inputs
  saved beside the artifact; an int8 full-res path (NNCF fake-quant inside the guide) is exported
  to ONNX at a fixed image size instead (torch.export specialises the slice's coordinate grid).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..compress.build import ONNX_IMAGE_SIZE, deploy
from ..compress.candidate import Candidate
from ..compress.folder import CandidateFolder
from ..compress.metrics import CandidateMetrics
from ..compress.quantize import ONNX_OPSET, CompressedStudent
from ..data import DataSource
from ..errors import AicamError
from ..models.checkpoints import load_model, sha256_of
from ..models.student import StudentNet
from ..kernels.compiled import guide_params, spec_for
from ..kernels.spec import shipped_variant
from ..kernels.fullres import KernelSpec, PixelType

PARTS = ("low_res", "full_res")
# The engines that build a part (aicam_opt/compile/engines registers them under these names).
RELAX_ONNX = "relax_onnx"
FUSED_KERNEL = "fused_kernel"
KERNEL_PARAM_NAMES = ("ccm", "ccm_bias", "thresholds", "slopes", "mix", "mix_bias")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list[int | str]  # a str is a dimension set at run time ("rows", "width")
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass
class LoadedCandidate:
    dir: Path
    candidate: Candidate
    net: StudentNet                 # float weights (student.safetensors)
    deployed: CompressedStudent     # at the candidate's precisions: the PyTorch reference
    metrics: CandidateMetrics | None  # metrics.json, when the folder has one
    student_sha256: str

    @property
    def name(self) -> str:
        return self.candidate.name

    def source_info(self) -> dict[str, Any]:
        return {"candidate": self.name, "dir": str(self.dir.resolve()), "student_safetensors_sha256": self.student_sha256,
                "base": self.candidate.base}


@dataclass
class Part:
    name: str            # low_res | full_res
    unit: str            # cpu | gpu | dsp
    precision: str       # the candidate's precision of the part
    engine: str          # RELAX_ONNX | FUSED_KERNEL: the engine that builds it
    compute: str         # what the compiled code actually computes in
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    onnx_path: Path | None = None
    kernel_spec: KernelSpec | None = None
    kernel_params: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_candidate(candidate_dir: str | Path, source: DataSource) -> LoadedCandidate:
    """Read a candidate folder and rebuild its deployed model (AicamError naming a missing file)."""
    folder = CandidateFolder(candidate_dir)
    folder.check()
    candidate = folder.load_candidate()
    net = load_model(folder.weights)
    if not isinstance(net, StudentNet):
        raise AicamError(f"{folder.weights}: holds a {type(net).__name__}, not a student")
    metrics = folder.load_metrics()
    deployed = deploy(net, candidate, source)
    return LoadedCandidate(folder.path, candidate, net, deployed, metrics, sha256_of(folder.weights))


class LowResPart(nn.Module):
    """The deployed low-res part: low-res image (1, 3, S, S) -> grid (1, 12, D, G, G)."""

    def __init__(self, deployed: CompressedStudent):
        super().__init__()
        self.low_res = deployed.low_res

    def forward(self, lowres: torch.Tensor) -> torch.Tensor:
        return self.low_res(lowres)


class FullResPart(nn.Module):
    """The deployed full-res part: (image (1, 3, H, W), grid) -> enhanced image, as CompressedStudent runs it."""

    def __init__(self, deployed: CompressedStudent):
        super().__init__()
        self.full_res = deployed.full_res
        self.full_res_half = deployed.full_res_half

    def forward(self, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        if self.full_res_half is not None:
            return self.full_res_half(image.half(), grid.half()).float()
        return self.full_res(image, grid)


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, input_names: list[str],
            output_names: list[str]) -> Path:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module.eval(), args, dynamo=True, opset_version=ONNX_OPSET,
                                    input_names=input_names, output_names=output_names, verbose=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    return path


def grid_shape(net: StudentNet) -> list[int]:
    cfg = net.cfg
    return [1, 12, cfg.grid_depth, cfg.grid_size, cfg.grid_size]


def export_low_res_onnx(loaded: LoadedCandidate, path: Path) -> Path:
    size = loaded.net.cfg.lowres_size
    return _export(LowResPart(loaded.deployed), (torch.rand(1, 3, size, size),), path, ["lowres"], ["grid"])


def export_full_res_onnx(loaded: LoadedCandidate, path: Path, image_size: tuple[int, int] = ONNX_IMAGE_SIZE) -> Path:
    grid = torch.zeros(grid_shape(loaded.net))
    return _export(FullResPart(loaded.deployed), (torch.rand(1, 3, *image_size), grid), path, ["image", "grid"],
                   ["enhanced"])


def low_res_part(loaded: LoadedCandidate, onnx_path: Path) -> Part:
    cfg = loaded.net.cfg
    precision = loaded.candidate.quantization.low_res
    compute = {"fp32": "float32",
               "fp16": "float16 tensors and arithmetic (the fp16 module exported as is)",
               "int8": ("int8 QDQ: TVM 0.27 Relax lowers QuantizeLinear/DequantizeLinear to float round/clip/scale "
                        "arithmetic, the convolutions run in float32 on the dequantized values (no integer kernels)")}
    return Part("low_res", loaded.candidate.placement.low_res, precision, RELAX_ONNX, compute[precision],
                inputs=[TensorSpec("lowres", [1, 3, cfg.lowres_size, cfg.lowres_size], "float32")],
                outputs=[TensorSpec("grid", grid_shape(loaded.net), "float32")], onnx_path=onnx_path,
                notes=["input: the photo downsampled to the low-res size (student.downsample: box average + "
                       "bilinear), done band-wise by the runtime, not part of this graph"])


def full_res_kernel_part(loaded: LoadedCandidate, unit_kind: str, pixel_dtype: PixelType = "float32") -> Part:
    """The fused kernel for the candidate's full-res part on a unit of `unit_kind`, in the variant the
    latency model prices (`kernels.spec.shipped_variant`: slice form per unit kind, float16 for fp16)."""
    cfg = loaded.net.cfg
    precision = loaded.candidate.quantization.full_res
    slice, compute_type = shipped_variant(unit_kind, precision)
    spec = spec_for(cfg, pixel_dtype, slice, compute_type)
    weight_dtype = np.float16 if compute_type == "float16" else np.float32
    params = {name: value.astype(weight_dtype)
              for name, value in zip(KERNEL_PARAM_NAMES, guide_params(loaded.net.full_res))}
    compute = f"{compute_type} arithmetic, {slice} slice"
    inputs = [TensorSpec("image", ["rows", "width", 3], pixel_dtype)]
    inputs += [TensorSpec(name, list(value.shape), compute_type) for name, value in params.items()]
    inputs += [TensorSpec("grid", grid_shape(loaded.net)[1:], compute_type),
               TensorSpec("out", ["rows", "width", 3], pixel_dtype),
               TensorSpec("row_offset", [], "int32"), TensorSpec("full_height", [], "int32")]
    notes = ["entry function 'fullres'; `out` is written in place (destination-passing); pass row bands with "
             "row_offset/full_height so a band uses the whole picture's y coordinates",
             "the guide's weights are runtime inputs: they ship beside the artifact (.params.safetensors)"]
    if pixel_dtype != "float32":
        notes.append(f"{pixel_dtype} pixels are scaled to [0, 1] inside and rounded on the way out")
    return Part("full_res", loaded.candidate.placement.full_res, precision, FUSED_KERNEL, compute,
                inputs=inputs, outputs=[TensorSpec("out", ["rows", "width", 3], pixel_dtype)],
                kernel_spec=spec, kernel_params=params, notes=notes)


def full_res_onnx_part(loaded: LoadedCandidate, onnx_path: Path, image_size: tuple[int, int] = ONNX_IMAGE_SIZE) -> Part:
    precision = loaded.candidate.quantization.full_res
    compute = {"fp32": "float32", "fp16": "float16 tensors and arithmetic",
               "int8": "int8 QDQ emulated in float32 (TVM 0.27 Relax has no integer kernels for QDQ graphs)"}
    return Part("full_res", loaded.candidate.placement.full_res, precision, RELAX_ONNX, compute[precision],
                inputs=[TensorSpec("image", [1, 3, *image_size], "float32"),
                        TensorSpec("grid", grid_shape(loaded.net), "float32")],
                outputs=[TensorSpec("enhanced", [1, 3, *image_size], "float32")], onnx_path=onnx_path,
                notes=[f"fixed image size {image_size[0]}x{image_size[1]} (torch.export specialises the slice's "
                       "coordinate grid); run it on tiles of that size"])


def kernel_can_represent(loaded: LoadedCandidate) -> bool:
    """The fused kernel reproduces fp32 and (in float32) fp16; not NNCF's int8 fake-quant inside the guide."""
    return loaded.candidate.quantization.full_res in ("fp32", "fp16")
