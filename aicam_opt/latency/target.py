"""Hardware targets: the schema of `targets/*.yaml` and how to load one by name.

A target describes the compute units of one device (CPU clusters, GPU, DSP), its memory, the
cost of moving tensors between units, the channel multiples each unit/precision prefers, and the
product's budgets. Every number is a `Figure`: a value plus the `source` it comes from (a public
specification or the command that measured it), so nobody has to guess where a figure came from.

The efficiencies and overheads that turn these peaks into predictions are *fitted*, not written
here: they live in `targets/calibration/<name>.json` (see `calibrate.py`). The overheads below are
the physically-motivated starting points (priors) of that fit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..config import Config, load_yaml
from ..errors import AicamError

TARGETS_DIR = Path(__file__).resolve().parents[2] / "targets"

Precision = Literal["fp32", "fp16", "int8"]
UnitName = Literal["cpu", "gpu", "dsp"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
UNIT_NAMES: tuple[str, ...] = ("cpu", "gpu", "dsp")
BYTES_PER_ELEMENT = {"fp32": 4, "fp16": 2, "int8": 1}


class Figure(Config):
    """A number and where it comes from. `value: null` means 'not published' (the source says why)."""

    value: float | None = Field(..., ge=0)
    source: str = Field(..., min_length=3, description="public specification, or the command that measured it")


def _above_zero(figure: Figure | None) -> Figure | None:
    """A figure the latency model divides by, or builds a peak from, must be a number above 0."""
    if figure is not None and (figure.value is None or figure.value <= 0):
        raise ValueError(f"value must be a number above 0 (given: {figure.value}); the latency model divides by it")
    return figure


def _above_zero_or_unpublished(figure: Figure | None) -> Figure | None:
    return figure if figure is None or figure.value is None else _above_zero(figure)


class CpuCluster(Config):
    name: str
    core: str
    count: Figure
    clock_ghz: Figure
    l2_kb: Figure
    relative_throughput: Figure = Field(..., description="arithmetic per cycle relative to the unit's `precisions` figures")

    _positive = field_validator("count", "clock_ghz", "relative_throughput")(_above_zero)


class PrecisionSpec(Config):
    ops_per_cycle: Figure = Field(..., description="arithmetic ops per cycle (a MAC is 2): per core on a CPU, whole unit otherwise")
    channel_multiple: Figure = Field(..., description="channel counts that are a multiple of this fill the vector lanes")

    _positive = field_validator("ops_per_cycle")(_above_zero)


class Cache(Config):
    level: str
    size_kb: Figure


class FusionRules(Config):
    """Which producer/consumer chains the unit's runtime fuses into one kernel."""

    conv_bias_activation: bool = True  # conv/matmul + bias + activation (+ folded batch norm)
    elementwise_chains: bool = True    # element-wise ops run inside their producer's kernel
    source: str = Field(..., min_length=3)


class TvmTarget(Config):
    """How TVM compiles for a unit (aicam_opt.compile): a `tvm.target.Target` JSON dict and its source."""

    target: dict[str, Any] = Field(..., description="tvm.target.Target dict (apache-tvm 0.27): kind, mtriple, mcpu, mattr, host ...")
    source: str = Field(..., min_length=3)


class Unit(Config):
    kind: UnitName
    name: str
    clusters: list[CpuCluster] = Field(default_factory=list, description="CPU only: fastest cluster first")
    clock_ghz: Figure | None = Field(None, description="GPU/DSP clock (CPU clocks are per cluster)")
    parallel_contexts: Figure | None = Field(None, description="DSP: HVX contexts that run in parallel")
    precisions: dict[Precision, PrecisionSpec] = Field(..., description="supported precisions and their throughput")
    caches: list[Cache] = Field(default_factory=list)
    memory_bandwidth_gbps: Figure | None = Field(None, description="overrides the target's memory bandwidth for this unit")
    per_op_overhead_us: Figure = Field(..., description="kernel launch / dispatch per fused op (prior of the fit)")
    per_call_overhead_us: Figure = Field(..., description="one inference call on this unit (prior of the fit)")
    fusion: FusionRules
    tvm: TvmTarget | None = Field(None, description="TVM compile target of this unit (None: not compiled for)")

    _positive = field_validator("memory_bandwidth_gbps", "parallel_contexts")(_above_zero)
    _clock = field_validator("clock_ghz")(_above_zero_or_unpublished)  # GPU/DSP clocks may be unpublished

    @model_validator(mode="after")
    def _cpu_has_clusters(self) -> "Unit":
        if self.kind == "cpu" and not self.clusters:
            raise ValueError("a cpu unit needs `clusters` (name, core, count, clock_ghz, ...)")
        if self.kind != "cpu" and self.clock_ghz is None:
            raise ValueError(f"a {self.kind} unit needs `clock_ghz` (value null with a source if unpublished)")
        if not self.precisions:
            raise ValueError("`precisions` must list at least one of fp32, fp16, int8")
        return self

    @property
    def last_level_cache_bytes(self) -> int:
        """Size of the largest cache (0 if none is listed): working sets below it avoid DRAM."""
        return int(max((c.size_kb.value or 0 for c in self.caches), default=0) * 1024)

    @property
    def core_count(self) -> int:
        return sum(int(c.count.value) for c in self.clusters) if self.kind == "cpu" else 1

    def core_clocks_ghz(self, cores: int | None) -> list[tuple[float, float]]:
        """(clock, relative throughput) of the `cores` fastest cores (CPU), or of the unit (GPU/DSP)."""
        if self.kind != "cpu":
            return [(self.clock_ghz.value or 1.0, 1.0)]
        per_core = [(c.clock_ghz.value, c.relative_throughput.value) for c in self.clusters for _ in range(int(c.count.value))]
        per_core.sort(key=lambda cr: -cr[0] * cr[1])
        n = len(per_core) if cores is None else cores
        if not 1 <= n <= len(per_core):
            raise AicamError(f"--cores {cores}: the {self.name} has {len(per_core)} cores; choose 1..{len(per_core)}")
        return per_core[:n]

    def peak_ops_per_s(self, precision: str, cores: int | None = 1) -> float:
        """Arithmetic peak on `cores` cores at `precision` (ops/s, a MAC counts 2).

        A GPU/DSP whose clock is unpublished is taken at a nominal 1 GHz: its fitted efficiency then
        carries the unknown clock, and predictions are unaffected.
        """
        spec = self.precision_spec(precision)
        contexts = self.parallel_contexts.value if self.parallel_contexts else 1.0
        return sum(clock * 1e9 * rel for clock, rel in self.core_clocks_ghz(cores)) * spec.ops_per_cycle.value * contexts

    def precision_spec(self, precision: str) -> PrecisionSpec:
        if precision not in self.precisions:
            raise AicamError(f"precision '{precision}' is not supported on the {self.kind} ({self.name}); "
                             f"choose one of {', '.join(self.precisions)}")
        return self.precisions[precision]


class Memory(Config):
    kind: str
    bandwidth_gbps: Figure
    latency_ns: Figure | None = None

    _positive = field_validator("bandwidth_gbps")(_above_zero)


class Transfer(Config):
    """Moving a tensor between two units: a fixed cost (sync, cache maintenance, RPC) + bytes / bandwidth."""

    between: tuple[UnitName, UnitName]
    latency_us: Figure
    bandwidth_gbps: Figure

    _positive = field_validator("bandwidth_gbps")(_above_zero)


class Budgets(Config):
    """The product's limits, read by the search. A workload mapped to null is reported, not constrained."""

    latency_ms: dict[str, Figure | None] = Field(..., description="workload (preview, photo100mp, video8k or HxW) -> per-frame budget")
    peak_memory_mb: Figure


class Target(Config):
    name: str
    description: str
    memory: Memory
    units: dict[UnitName, Unit]
    transfers: list[Transfer] = Field(default_factory=list)
    budgets: Budgets | None = None

    @model_validator(mode="after")
    def _units_match_their_keys(self) -> "Target":
        for key, unit in self.units.items():
            if unit.kind != key:
                raise ValueError(f"units.{key} has kind '{unit.kind}': the key and the kind must agree")
        for t in self.transfers:
            for u in t.between:
                if u not in self.units:
                    raise ValueError(f"transfer between {list(t.between)} names unit '{u}', which is not in `units`")
        return self

    def unit(self, name: str) -> Unit:
        if name not in self.units:
            raise AicamError(f"unit '{name}' is not part of target '{self.name}'; choose one of {', '.join(self.units)}")
        return self.units[name]

    def bandwidth_gbps(self, unit: str) -> float:
        override = self.unit(unit).memory_bandwidth_gbps
        return (override or self.memory.bandwidth_gbps).value

    def transfer(self, a: str, b: str) -> Transfer:
        for t in self.transfers:
            if set(t.between) == {a, b}:
                return t
        raise AicamError(f"target '{self.name}' has no `transfers` entry between {a} and {b}; add one to targets/{self.name}.yaml")


def available_targets() -> list[str]:
    return sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))


def load_target(name_or_path: str | Path) -> Target:
    """A target by name (`sd865` -> targets/sd865.yaml) or by path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = TARGETS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise AicamError(f"unknown target '{name_or_path}': choose one of {', '.join(available_targets())} "
                             f"or give the path of a target YAML file")
    return load_yaml(path, Target)
