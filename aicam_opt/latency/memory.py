"""Predicted peak working memory of one inference, beyond the caller's input and output buffers.

The memory budget in targets/*.yaml is defined that way (a 100 MP still within about 1 GB beyond
its input and output buffers), so this counts what the runtime itself allocates:
- a kernel's output stays alive until the next kernel has consumed it, so while kernel i runs its
  input intermediate (kernel i-1's output) and its own output are both resident: the peak is the
  largest such pair over the fused kernels (fusion as the latency model does it, at each part's
  precision);
- the full-res path is streamed over row bands (kernels/compiled.py, `band_rows`), so its
  intermediates are counted for one band, not for the whole picture; the low-res path runs at its
  fixed size whatever the photo;
- the model's first input and last output are the caller's buffers and are not counted;
- the weights are resident throughout.
"""
from __future__ import annotations

import itertools

from ..cost.records import OpCost
from .model import Placement, element_bytes, fuse
from .target import BYTES_PER_ELEMENT, Target

DEFAULT_BAND_ROWS = 256  # kernels.compiled.DEFAULT_BAND_ROWS; not imported so that costing never loads TVM


def peak_memory_bytes(ops: list[OpCost], placement: Placement, target: Target, height: int,
                      band_rows: int = DEFAULT_BAND_ROWS) -> int:
    """Peak bytes of intermediates (two live kernel outputs) plus weights for ops of a `height`-row picture."""
    band = min(1.0, band_rows / max(height, 1))
    outputs: list[float] = []  # bytes each fused kernel leaves in memory, in execution order
    weights = 0.0
    for part, run in itertools.groupby(ops, key=lambda op: op.part):
        a = placement.of(part)
        fusion = target.unit(a.unit).fusion
        for kernel in fuse(list(run), fusion.conv_bias_activation, fusion.elementwise_chains):
            head = kernel.head
            scale = BYTES_PER_ELEMENT[a.precision] / element_bytes(head.dtype)
            streamed = band if head.scales_with_pixels else 1.0
            outputs.append(kernel.bytes_written * scale * streamed)
            weights += sum(op.params for op in kernel.ops) * BYTES_PER_ELEMENT[a.precision]
    intermediates = outputs[:-1]  # the last kernel writes into the caller's output buffer
    live_pairs = [a + b for a, b in zip(intermediates, intermediates[1:])] or intermediates or [0.0]
    return int(max(live_pairs) + weights)
