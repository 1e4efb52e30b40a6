"""What is compiled into the fused full-res kernel (`KernelSpec`), without importing TVM: the cost and
latency layers describe the shipped kernel from it, and only building or running it loads TVM."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..yuv import YUV_STANDARDS, YuvStandard

if TYPE_CHECKING:
    from ..models.student import StudentConfig

PixelType = Literal["uint8", "uint16", "float32"]
PIXEL_TYPES: tuple[str, ...] = ("uint8", "uint16", "float32")
# How the depth (guide) coordinate of the trilinear slice is resolved:
# - "tent": tent weights over all D bins, read as broadcast scalars of the row table: no per-lane
#   gathers, the SIMD-friendly form for CPUs (cost grows with D);
# - "taps": the two depth bins around the guide (and the two grid columns around x) gathered per
#   lane, as grid_sample does it: fewer operations, for units that gather cheaply (GPUs).
SliceForm = Literal["tent", "taps"]
SLICE_FORMS: tuple[str, ...] = ("tent", "taps")
# The kernel's arithmetic: float16 where the unit has it (NEON fp16, Adreno half); the weights and the
# grid are then passed in float16 too. Index arithmetic (pixel -> grid coordinates) stays float32.
ComputeType = Literal["float32", "float16"]
COMPUTE_TYPES: tuple[str, ...] = ("float32", "float16")
# How pixels are laid out: "rgb" HxWx3 interleaved; "nv12"/"nv21" YUV 4:2:0 (a Y plane HxW and an
# interleaved chroma plane ceil(H/2) x ceil(W/2) x 2, UV resp. VU order) as camera HALs deliver
# preview and video frames, 8 bit (1.5 bytes a pixel), with the matrix and range of `yuv`
# (aicam_opt.yuv: BT.601 full range as the camera delivers preview/stills, or BT.709 limited range as
# video recording does). The kernel converts to RGB and back in registers.
Layout = Literal["rgb", "nv12", "nv21"]
LAYOUTS: tuple[str, ...] = ("rgb", "nv12", "nv21")
YUV_LAYOUTS: tuple[str, ...] = ("nv12", "nv21")
VEC = 8  # pixels per vector block: 8 float32 lanes = one AVX2 register (2 NEON registers on the phone)
PIXEL_SCALE = {"uint8": 255.0, "uint16": 65535.0, "float32": 1.0}
# The kernel reproduces an fp32 full-res path (compute float32), and an fp16 one (float32, or float16
# where the unit has it); an int8 full-res path (fake-quant inside the guide) ships as its QDQ graph instead.
KERNEL_PRECISIONS: tuple[str, ...] = ("fp32", "fp16")
_SUFFIXES = {"taps": ("slice", "taps"), "fp16": ("compute", "float16"), "nv12": ("layout", "nv12"),
             "nv21": ("layout", "nv21"), "bt709l": ("yuv", "bt709_limited")}
_KEY = re.compile(r"^c(\d+)_k(\d+)_d(\d+)_g(\d+)_(uint8|uint16|float32)((?:_(?:taps|fp16|nv12|nv21|bt709l))*)$")


@dataclass(frozen=True)
class KernelSpec:
    """Everything that is compiled into the kernel; the weights are runtime inputs."""

    n_curves: int  # 3 for the 'ccm_curve' guide, 1 for 'luma_curve'
    knots: int
    depth: int  # D
    grid_size: int  # G
    dtype: PixelType = "float32"  # input and output pixel type (ints are scaled to [0, 1] and back)
    slice: SliceForm = "tent"
    compute: ComputeType = "float32"
    layout: Layout = "rgb"
    yuv: YuvStandard = "bt601_full"  # only meaningful for a YUV layout

    def __post_init__(self) -> None:
        for name, allowed in (("dtype", PIXEL_TYPES), ("slice", SLICE_FORMS), ("compute", COMPUTE_TYPES),
                              ("layout", LAYOUTS), ("yuv", YUV_STANDARDS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"kernel spec {name} {getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        if self.layout in YUV_LAYOUTS and self.dtype != "uint8":
            raise ValueError(f"kernel spec layout {self.layout!r} is 8-bit YUV 4:2:0: use dtype 'uint8', not {self.dtype!r}")
        if self.layout == "rgb" and self.yuv != "bt601_full":
            raise ValueError("kernel spec: `yuv` applies to the nv12/nv21 layouts only; leave it at 'bt601_full' for rgb")

    @property
    def compute_bytes(self) -> int:
        return 2 if self.compute == "float16" else 4

    @property
    def key(self) -> str:
        """c<curves>_k<knots>_d<depth>_g<grid>_<pixel type>, then a suffix per non-default variant
        (_taps, _fp16, _nv12/_nv21, _bt709l), so the keys of the default kernels are unchanged."""
        key = f"c{self.n_curves}_k{self.knots}_d{self.depth}_g{self.grid_size}_{self.dtype}"
        for suffix, (field, value) in _SUFFIXES.items():
            if getattr(self, field) == value:
                key += f"_{suffix}"
        return key

    @classmethod
    def from_key(cls, key: str) -> "KernelSpec":
        match = _KEY.match(key)
        if not match:
            raise ValueError(f"kernel spec key {key!r}: expected c<curves>_k<knots>_d<depth>_g<grid>_<pixel type> "
                             f"and optional suffixes {', '.join('_' + s for s in _SUFFIXES)}")
        nc, nk, depth, gsize = (int(g) for g in match.groups()[:4])
        variants = dict(_SUFFIXES[s] for s in match.group(6).split("_")[1:])
        spec = cls(nc, nk, depth, gsize, match.group(5), **variants)  # type: ignore[arg-type]
        if spec.key != key:  # suffixes out of order or repeated: one spec, one key
            raise ValueError(f"kernel spec key {key!r}: not canonical; the key of this spec is {spec.key!r}")
        return spec


def spec_for(cfg: "StudentConfig", dtype: PixelType, slice: SliceForm = "tent", compute: ComputeType = "float32",
             layout: Layout = "rgb", yuv: YuvStandard = "bt601_full") -> KernelSpec:
    """The kernel that runs a student's full-res path with `dtype` pixels (and the chosen variants)."""
    return KernelSpec(n_curves=3 if cfg.guide == "ccm_curve" else 1, knots=cfg.curve_knots,
                      depth=cfg.grid_depth, grid_size=cfg.grid_size, dtype=dtype, slice=slice, compute=compute,
                      layout=layout, yuv=yuv)


# The slice form each kind of unit gets (the latency model prices both; tests/kernels checks this choice
# is the cheaper one on every calibrated unit): GPUs gather per lane at the cost of one issue slot, so
# two taps beat the tent over all D bins; a SIMD CPU core loads gathered values as scalars, so the tent
# (broadcast row-table reads, no gathers) wins there, and on a DSP's wide vectors alike.
SLICE_FOR_UNIT_KIND: dict[str, SliceForm] = {"gpu": "taps", "cpu": "tent", "dsp": "tent"}


def shipped_variant(unit_kind: str, precision: str) -> tuple[SliceForm, ComputeType]:
    """The kernel variant `compile` ships for the full-res part on a unit of `unit_kind` at `precision`
    (fp32 or fp16): the slice form that unit runs fastest, and float16 arithmetic for an fp16 part."""
    if precision not in KERNEL_PRECISIONS:
        raise ValueError(f"the fused kernel ships fp32 or fp16 full-res parts, not {precision!r}")
    return SLICE_FOR_UNIT_KIND.get(unit_kind, "tent"), "float16" if precision == "fp16" else "float32"


def kernel_arguments(spec: KernelSpec) -> list[tuple[str, tuple[int | str, ...], str]]:
    """The compiled kernel's arguments in call order, as (name, shape, dtype): what a caller or an artifact
    manifest must pass. Named sizes: "rows" and "width" of the band; for YUV also "chroma_rows" =
    ceil(rows / 2) and "chroma_width" = ceil(width / 2). The weights and the grid are in the compute
    type; `out` (YUV: `luma_out`, `chroma_out`) is written in place; `row_offset` and `full_height`
    place a band in the picture."""
    nc, nk, ct = spec.n_curves, spec.knots, spec.compute
    weights = [("ccm", (nc, 3), ct), ("ccm_bias", (nc,), ct), ("thresholds", (nc, nk), ct), ("slopes", (nc, nk), ct),
               ("mix", (nc,), ct), ("mix_bias", (1,), ct), ("grid", (12, spec.depth, spec.grid_size, spec.grid_size), ct)]
    band = [("row_offset", (), "int32"), ("full_height", (), "int32")]
    if spec.layout in YUV_LAYOUTS:
        planes = [("luma", ("rows", "width"), "uint8"), ("chroma", ("chroma_rows", "chroma_width", 2), "uint8")]
        return planes + weights + [(f"{name}_out", shape, dtype) for name, shape, dtype in planes] + band
    image = ("rows", "width", 3)
    return [("image", image, spec.dtype), *weights, ("out", image, spec.dtype), *band]
