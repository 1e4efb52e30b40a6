"""The per-op cost record: what the counter produces and the latency model consumes.

Counts are exact integers for one op at one input size. `scales_with_pixels` marks ops of the
full-res path whose counts are proportional to the full-resolution pixel count, so a workload of
any size is evaluated by scaling, without tracing at that size.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

OP_CLASSES = (
    "conv",            # dense convolution (groups == 1)
    "depthwise_conv",  # groups == channels
    "matmul",          # linear, matmul, bmm
    "elementwise",     # add, mul, relu, clamp, ... (fusable into their producer)
    "transcendental",  # exp, log, pow, sqrt, sigmoid, tanh, softmax
    "grid_sample",     # bilinear / trilinear sampling
    "resize",          # interpolation
    "pool",            # avg / max / adaptive pooling
    "norm",            # batch / instance / layer norm
    "reduce",          # sum, mean, amax
    "data_movement",   # reshape, transpose, cat, pad, slice (bytes only)
)


# What "params" means everywhere (the cost output, the report, training, compress): the learnable weights,
# as torch's `Module.parameters()` counts them. BatchNorm running statistics and other buffers are not
# parameters; in an ONNX graph they are its floating-point initializers minus BatchNormalization statistics.
PARAMS = "learnable parameters (Module.parameters(); BatchNorm statistics and other buffers not counted)"


# Not an op class of a graph: one shipped kernel that does a whole part (kernels.workload describes it).
FUSED_KERNEL = "fused_kernel"


@dataclass(frozen=True)
class OpCost:
    name: str                 # node name in the traced graph
    op: str                   # canonical op name, e.g. "conv2d", "grid_sample", "add"
    op_class: str             # one of OP_CLASSES: selects the latency model's efficiency
    part: str = "whole"       # "low_res", "full_res" or "whole"
    macs: int = 0             # multiply-accumulates
    adds: int = 0             # additions/subtractions not part of a MAC
    muls: int = 0             # multiplications not part of a MAC
    divs: int = 0
    transcendentals: int = 0  # exp, log, pow, sqrt, sigmoid, tanh
    compares: int = 0         # comparisons, selects, min/max, clamps
    bytes_read: int = 0
    bytes_written: int = 0
    params: int = 0           # parameter elements the op reads (PARAMS)
    dtype: str = "float32"
    scales_with_pixels: bool = False
    counted: bool = True      # False: an op the counter does not know; its figures are NOT zero-cost, they are unknown
    note: str = ""
    scope: str = ""           # where in the model: module path (torch) or the node's name scope (ONNX)
    kernel: str = ""          # a fused kernel (op_class FUSED_KERNEL): its KernelSpec key; priced from the spec
    image: tuple[int, int] | None = None  # a fused kernel: the (height, width) it runs over

    @property
    def flops(self) -> int:
        """Arithmetic operations, a MAC counting as two."""
        return 2 * self.macs + self.adds + self.muls + self.divs + self.transcendentals + self.compares

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.bytes_written

    def scaled(self, factor: float) -> "OpCost":
        """This op at `factor` times the pixels (only meaningful when scales_with_pixels)."""
        if not self.scales_with_pixels or factor == 1:
            return self
        s = lambda v: int(round(v * factor))  # noqa: E731
        return replace(self, macs=s(self.macs), adds=s(self.adds), muls=s(self.muls), divs=s(self.divs),
                       transcendentals=s(self.transcendentals), compares=s(self.compares),
                       bytes_read=s(self.bytes_read), bytes_written=s(self.bytes_written))

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.kernel:  # graph ops: the document keeps its fields
            del d["kernel"], d["image"]
        d["flops"] = self.flops
        return d
