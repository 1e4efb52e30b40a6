"""The cost documents, one schema for their writers and readers: `aicam-opt cost --json` (schema
"aicam_opt.cost/1", its shape in aicam_opt/latency/cli.py) and reports/<target>/cost.json (`aicam-opt
optimize`: {"target", "reports": [one cost document per model, workload and unit]}, no schema key).
"""
from __future__ import annotations

from ..config import Document, JsonBlock


class Workload(JsonBlock):
    name: str
    height: int
    width: int


class PartPlacement(JsonBlock):
    unit: str
    precision: str
    cores: int | None
    runtime: str | None = None   # the runtime it is priced for (runtimes.py); older documents lack it


class CostTotal(JsonBlock):
    macs: int
    flops: int
    params: int
    bytes: int                  # read + written, as counted (unfused, model dtype)
    bytes_moved: int            # after fusion, at each unit's precision
    latency_ms: float           # predicted: parts + call overheads + transfers
    ops_ms: float
    call_overhead_ms: float
    transfer_ms: float
    transfer_bytes: int
    uncounted_ops: int          # > 0: the latency misses ops the counter does not know


class PartCost(JsonBlock):
    macs: int
    flops: int
    bytes: int
    latency_ms: float
    artifact: str | None = None  # what it is predicted as: "fused kernel <spec>" or "graph of N ops"
    runtime: str | None = None   # the runtime it is priced for; older documents lack it
    figures_from: str | None = None  # priced with this runtime's fitted figures (no rows of its own)


class ClassCost(JsonBlock):
    ops: int
    macs: int
    flops: int
    bytes: int
    latency_ms: float


class Budget(JsonBlock):
    latency_ms: float | None
    within: bool | None


class OpRow(JsonBlock):
    """One op in execution order: cost.records.OpCost.to_dict() and its predicted time."""

    name: str
    op: str
    op_class: str
    part: str
    macs: int
    adds: int
    muls: int
    divs: int
    transcendentals: int
    compares: int
    bytes_read: int
    bytes_written: int
    params: int
    dtype: str
    scales_with_pixels: bool
    counted: bool
    note: str
    scope: str
    kernel: str | None = None             # a shipped fused kernel: its KernelSpec key
    image: tuple[int, int] | None = None  # ... and the (height, width) it runs over
    flops: int
    unit: str
    precision: str
    bytes: int
    bytes_moved: float          # after fusion and precision (0 when fused away)
    compute_ms: float
    memory_ms: float
    overhead_ms: float
    latency_ms: float
    bound: str                  # "compute" | "memory" | "fused" | "unknown"
    fused_into: str


class GridReuse(JsonBlock):
    """Video with the grid predicted on one frame in `grid_every` (`aicam-opt cost --grid-every N`)."""

    grid_every: int
    low_res_ms_per_frame: float  # the low-res part's latency / grid_every
    latency_ms_per_frame: float  # total latency with the low-res part amortised
    within_budget: bool | None   # latency_ms_per_frame against the workload's budget


class CostDocument(Document):
    SCHEMA = "aicam_opt.cost/1"

    model: str
    target: str
    workload: Workload
    placement: dict[str, PartPlacement]
    total: CostTotal
    parts: dict[str, PartCost]
    by_class: dict[str, ClassCost]
    budget: Budget
    ops: list[OpRow]
    grid_reuse: GridReuse | None = None  # only with grid reuse (grid_every > 1)


class CostReport(Document):
    """reports/<target>/cost.json: the uncompressed student and teacher on each unit and budgeted workload."""

    target: str
    reports: list[CostDocument]
