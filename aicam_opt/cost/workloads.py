"""Workloads: the image sizes a model is costed at, by name or as "HxW".

Sizes are (height, width) in pixels, in the order of the tensor shape (N, C, H, W): "HxW" is height
first. Photo sizes are usually spelt width x height ("1920x1080"); the comments below give that
spelling of each named workload.
"""
from __future__ import annotations

import re

from ..errors import AicamError

WORKLOADS: dict[str, tuple[int, int]] = {
    "preview": (1080, 1920),      # 1920x1080 camera preview frame
    "photo100mp": (8160, 12240),  # 12240x8160, a 100 MP still
    "video8k": (4320, 7680),      # 7680x4320, an 8K video frame
}

# Stills: the low-res part runs once per picture. Every other workload is a frame of a stream (preview,
# video), where the grid may be reused over frames (runtime/grid_reuse.py).
STILL_WORKLOADS = ("photo100mp",)

# Far beyond any camera sensor: catches a typo such as an extra digit before it becomes a huge count.
MAX_SIDE = 65536

_HXW = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_workload(spec: str | tuple[int, int]) -> tuple[int, int]:
    """A workload name or "HxW" (height x width, e.g. "1080x1920") -> (height, width)."""
    if isinstance(spec, tuple):
        height, width = spec
        return _checked(int(height), int(width), str(spec))
    key = spec.strip().lower()
    if key in WORKLOADS:
        return WORKLOADS[key]
    match = _HXW.match(key)
    if not match:
        raise AicamError(f"workload {spec!r}: not a known workload or HxW size. Use one of "
                         f"{', '.join(WORKLOADS)} or height x width in pixels, e.g. 1080x1920")
    return _checked(int(match.group(1)), int(match.group(2)), spec)


def is_video_workload(spec: str | tuple[int, int]) -> bool:
    """A frame of a stream (preview, video8k, any HxW), not a still."""
    return workload_name(spec) not in STILL_WORKLOADS


def workload_name(spec: str | tuple[int, int]) -> str:
    """The name to show for a workload: its registry name, or "HxW"."""
    height, width = parse_workload(spec)
    for name, size in WORKLOADS.items():
        if size == (height, width):
            return name
    return f"{height}x{width}"


def _checked(height: int, width: int, spec: str) -> tuple[int, int]:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise AicamError(f"workload {spec!r}: height and width must be between 1 and {MAX_SIDE} pixels "
                         f"(got {height}x{width}); give the size as height x width, e.g. 1080x1920")
    return height, width
