"""int8 post-training quantization of the low-res path with NNCF, and its export as ONNX QDQ.

1. `LowResGraph` is the low-res path as one traceable module: all K branches run and are mixed by
   the switch weights (a hard switch uses one-hot weights: the same grid as running only the chosen
   branch, but a static graph that NNCF, torch.export and ONNX can follow; the cost model still
   counts one branch, see cost.model_cost).
2. `nncf.quantize` (NNCF 3.4, torch backend) inserts per-channel symmetric weight quantizers and
   activation quantizers calibrated on real photos from the TRAIN split (data.py), then applies
   fast bias correction.
3. NNCF's own ONNX export emits OpenVINO FakeQuantize, which neither onnxruntime nor TVM read. So
   `to_native_fake_quant` replaces every NNCF quantizer by the same quantization expressed with
   `torch.fake_quantize_per_{tensor,channel}_affine` (scale and zero point from NNCF's
   `get_parameters_for_torch_fq`); the ONNX exporter lowers those to QuantizeLinear/DequantizeLinear
   pairs. NNCF's narrow-range weights ([-127, 127]) become the standard [-128, 127] range with the
   weights first clipped to NNCF's range, as nncf.strip does, so the values are unchanged.
"""
from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import DataSource, load_pairs, load_photos
from ..errors import AicamError
from ..models.student import FullResPath, LowResPath, StudentNet, downsample

# The first quantized forward compiles NNCF's C++ kernels (a minute or two on a loaded 2-core
# machine, then cached in ~/.cache/torch_extensions): do not let NNCF's 60 s default abort it.
os.environ.setdefault("NNCF_EXTENSION_LOAD_TIMEOUT", "0")
ONNX_OPSET = 20  # GridSample with 5-D input (the full-res slice) needs opset 20


class LowResGraph(nn.Module):
    """Low-res image (B, 3, S, S) -> grid (B, 12, D, G, G), as a static graph (see module doc)."""

    def __init__(self, low_res: LowResPath):
        super().__init__()
        self.low_res = low_res

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        fused, global_feats = self.low_res.features(low)
        if len(self.low_res.branches) == 1:
            return self.low_res.branches[0](fused)
        weights = self.low_res.switch(global_feats)
        if self.low_res.cfg.switch == "hard":
            weights = F.one_hot(weights.argmax(dim=1), weights.shape[1]).to(weights.dtype)
        grids = torch.stack([branch(fused) for branch in self.low_res.branches], dim=1)
        return (grids * weights[:, :, None, None, None, None]).sum(dim=1)


class CompressedStudent(nn.Module):
    """A student whose low-res part may be quantized: enhanced = full_res(x, low_res(downsample(x)))."""

    def __init__(self, low_res: nn.Module, full_res: nn.Module, lowres_size: int, full_res_precision: str = "fp32"):
        super().__init__()
        self.low_res = low_res
        self.full_res = full_res  # float32: what model.onnx holds
        self.lowres_size = lowres_size
        # fp16: the full-res path evaluated in half precision end to end (inputs, weights, arithmetic)
        self.full_res_half = copy.deepcopy(full_res).half() if full_res_precision == "fp16" else None

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        return self.low_res(downsample(x, self.lowres_size))

    def with_grid(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """The full-res path with a given grid (a video frame may use another frame's)."""
        if self.full_res_half is not None:
            return self.full_res_half(x.half(), grid.half()).float()
        return self.full_res(x, grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.with_grid(x, self.grid(x))


class ExportedStudent(nn.Module):
    """What model.onnx holds: inputs `lowres` (1, 3, S, S; the photo already downsampled, which the
    runtime does band by band) and `image` (1, 3, H, W), output the enhanced image. H and W are
    fixed at export: torch.export specializes the full-res slice's coordinate grid to the traced
    size (a dynamic-size export failed), so the graph is exported at `image_size`."""

    def __init__(self, student: CompressedStudent):
        super().__init__()
        self.low_res = student.low_res
        self.full_res = student.full_res

    def forward(self, lowres: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.full_res(image, self.low_res(lowres))


def calibration_images(source: DataSource, size: int, count: int) -> list[torch.Tensor]:
    """Up to `count` photos of the TRAIN split (FiveK training inputs, then Kodak/CBSD training
    photos), each downsampled to the low-res input (1, 3, size, size) exactly as the student does."""
    photos = [x for x, _ in load_pairs(source, "train", long_side=4 * size).values()]
    photos += list(load_photos(source, "train", long_side=4 * size).values())
    if not photos:
        raise AicamError(f"no training photos found in {source.description} to calibrate the int8 activations")
    rng = np.random.default_rng(0)
    picked = [photos[i] for i in rng.permutation(len(photos))[:count]]
    return [downsample(torch.from_numpy(np.ascontiguousarray(p.transpose(2, 0, 1)))[None], size) for p in picked]


def quantize_low_res(net: StudentNet, calibration: list[torch.Tensor]) -> nn.Module:
    """int8 fake-quantized LowResGraph of `net` (NNCF PTQ, then native torch fake-quant ops)."""
    import nncf

    graph = LowResGraph(net.low_res).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = nncf.quantize(graph, nncf.Dataset(calibration), subset_size=len(calibration),
                                  fast_bias_correction=True)
    return to_native_fake_quant(quantized, calibration[0])


def quantize_full_res(full_res: FullResPath, calibration: list[tuple[torch.Tensor, torch.Tensor]]) -> nn.Module:
    """int8 fake-quantized full-res path: NNCF PTQ on (image, grid) pairs of training photos. NNCF
    quantizes the guide's colour matrix and mix (per-channel weights), the image, the guide's
    intermediates and the sliced coefficients; the trilinear slice itself stays a float op."""
    import nncf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = nncf.quantize(copy.deepcopy(full_res).eval(), nncf.Dataset(calibration),
                                  subset_size=len(calibration), fast_bias_correction=True)
    return to_native_fake_quant(quantized, calibration[0])


class NativeFakeQuantize(nn.Module):
    """One NNCF quantizer as torch's own fake-quant op (exported as QuantizeLinear + DequantizeLinear)."""

    def __init__(self, scale: torch.Tensor, zero_point: torch.Tensor, quant_min: int, quant_max: int, axis: int | None):
        super().__init__()
        self.register_buffer("scale", scale.float().contiguous())
        self.register_buffer("zero_point", zero_point.to(torch.int32).contiguous())
        self.quant_min, self.quant_max, self.axis = quant_min, quant_max, axis
        # Per-tensor parameters as Python numbers: export reads them as constants (a tensor turned
        # into a float inside forward would be a data-dependent value to torch.export).
        self.tensor_scale, self.tensor_zero_point = float(scale.reshape(-1)[0]), int(zero_point.reshape(-1)[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.axis is None:
            return torch.fake_quantize_per_tensor_affine(x, self.tensor_scale, self.tensor_zero_point,
                                                         self.quant_min, self.quant_max)
        return torch.fake_quantize_per_channel_affine(x, self.scale, self.zero_point, self.axis, self.quant_min, self.quant_max)


@torch.no_grad()
def to_native_fake_quant(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Replace NNCF's quantizers (in the model's hook storage) by `NativeFakeQuantize`, in place."""
    from nncf.common.graph.layer_attributes import ConstantLayerAttributes
    from nncf.torch.function_hook.hook_storage import decode_hook_name
    from nncf.torch.function_hook.nncf_graph.nncf_graph_builder import build_nncf_graph
    from nncf.torch.function_hook.wrapper import get_hook_storage
    from nncf.torch.model_graph_manager import get_const_node, get_module_by_name, split_const_name
    from nncf.torch.quantization.layers import BaseQuantizer

    graph = build_nncf_graph(model, example)
    storage = get_hook_storage(model)
    for name, quantizer in list(storage.named_hooks()):
        if not isinstance(quantizer, BaseQuantizer):
            continue
        if quantizer.num_bits != 8:
            raise AicamError(f"NNCF made a {quantizer.num_bits}-bit quantizer ({name}); only int8 exports as ONNX QDQ")
        quantizer.set_levels()
        quant_min, quant_max, scale, zero_point = quantizer.get_parameters_for_torch_fq()
        hook_type, op_name, port_id = decode_hook_name(name)
        if quantizer.narrow_range or quantizer.is_half_range:
            # A weight quantizer: clip the weight to NNCF's range so [-128, 127] reproduces it exactly.
            const_node = get_const_node(graph.get_node_by_name(op_name), port_id, graph)
            if const_node is None or not isinstance(const_node.layer_attributes, ConstantLayerAttributes):
                raise AicamError(f"NNCF narrow-range quantizer {name} is not on a weight; cannot export it as QDQ")
            module_name, attr = split_const_name(const_node.layer_attributes.name)
            weight = getattr(get_module_by_name(module_name, model), attr)
            low, high = quantizer.get_input_low_input_high()
            weight.data = torch.min(torch.max(weight.data, low), high)
        axis = int(np.argmax(quantizer.scale_shape)) if quantizer.per_channel else None
        storage.set_submodule(name, NativeFakeQuantize(scale, zero_point, quant_min, quant_max, axis))
    return model


def export_onnx(student: CompressedStudent, path: str | Path, lowres_size: int,
                image_size: tuple[int, int] = (512, 768)) -> Path:
    """model.onnx of the whole student (QDQ low-res when quantized) for images of `image_size` (H, W)."""
    path = Path(path)
    exported = ExportedStudent(student).eval()
    lowres = torch.rand(1, 3, lowres_size, lowres_size)
    image = torch.rand(1, 3, *image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(exported, (lowres, image), dynamo=True, opset_version=ONNX_OPSET,
                                    input_names=["lowres", "image"], output_names=["enhanced"], verbose=False)
    program.save(str(path))
    return path


def qdq_node_counts(path: str | Path) -> dict[str, int]:
    import onnx

    model = onnx.load(str(path))
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return {k: counts.get(k, 0) for k in ("QuantizeLinear", "DequantizeLinear")}
