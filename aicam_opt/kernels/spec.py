"""What is compiled into the fused full-res kernel (`KernelSpec`), without importing TVM: the cost and
latency layers describe the shipped kernel from it, and only building or running it loads TVM."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ..models.student import StudentConfig

PixelType = Literal["uint8", "uint16", "float32"]
PIXEL_TYPES: tuple[str, ...] = ("uint8", "uint16", "float32")
VEC = 8  # pixels per vector block: 8 float32 lanes = one AVX2 register (2 NEON registers on the phone)
PIXEL_SCALE = {"uint8": 255.0, "uint16": 65535.0, "float32": 1.0}
# The kernel computes in float32: it reproduces an fp32 full-res path, and an fp16 one to float
# rounding; an int8 full-res path (fake-quant inside the guide) ships as its QDQ graph instead.
KERNEL_PRECISIONS: tuple[str, ...] = ("fp32", "fp16")
_KEY = re.compile(r"^c(\d+)_k(\d+)_d(\d+)_g(\d+)_(uint8|uint16|float32)$")


@dataclass(frozen=True)
class KernelSpec:
    """Everything that is compiled into the kernel; the weights are runtime inputs."""

    n_curves: int  # 3 for the 'ccm_curve' guide, 1 for 'luma_curve'
    knots: int
    depth: int  # D
    grid_size: int  # G
    dtype: PixelType = "float32"  # input and output pixel type (ints are scaled to [0, 1] and back)

    @property
    def key(self) -> str:
        return f"c{self.n_curves}_k{self.knots}_d{self.depth}_g{self.grid_size}_{self.dtype}"

    @classmethod
    def from_key(cls, key: str) -> "KernelSpec":
        match = _KEY.match(key)
        if not match:
            raise ValueError(f"kernel spec key {key!r}: expected c<curves>_k<knots>_d<depth>_g<grid>_<pixel type>")
        nc, nk, depth, gsize = (int(g) for g in match.groups()[:4])
        return cls(nc, nk, depth, gsize, match.group(5))  # type: ignore[arg-type]


def spec_for(cfg: "StudentConfig", dtype: PixelType) -> KernelSpec:
    """The kernel that runs a student's full-res path with `dtype` pixels."""
    return KernelSpec(n_curves=3 if cfg.guide == "ccm_curve" else 1, knots=cfg.curve_knots,
                      depth=cfg.grid_depth, grid_size=cfg.grid_size, dtype=dtype)
