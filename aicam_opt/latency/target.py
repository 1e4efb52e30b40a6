"""Hardware targets: the schema of `targets/*.yaml` and how to load one by name.

A target describes the compute units of one device (CPU clusters, GPU, DSP) and the runtimes each
ships through (runtimes.py; `default_runtime` prices a part unless another is named), its memory, the
cost of moving tensors between units, the channel multiples each unit/precision prefers, and the
product's budgets. Every number is a `Figure`: a value plus the `source` it comes from (a public
specification or the command that measured it), so nobody has to guess where a figure came from.

The efficiencies and overheads that turn these peaks into predictions are *fitted*, not written
here: they live in `targets/calibration/<name>.json`. The overheads below are the physically-motivated
starting points (priors) of that fit. How a target is fitted is described in its `calibration:` block
(`CalibrationRecipe`: the measurement sources, the efficiency groups, the fitted parameters and their
priors, the validation method and its bars), so `calibrate.calibrate(target)` is one generic path and
another phone is another target file plus its measurements.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, field_validator, model_validator

from ..config import Config, load_yaml
from ..cost.records import OP_CLASSES
from ..errors import AicamError
from .runtimes import RUNTIMES

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


class UnitRuntime(Config):
    """One runtime a unit ships through (a name of runtimes.RUNTIMES). Its figures are fitted to the
    calibration rows attributed to it, or, with no rows of its own, taken from another runtime of the
    unit (`figures_from`), the source saying why that stands in."""

    source: str = Field(..., min_length=3, description="what it is on this unit, and where its figures come from")
    figures_from: str | None = Field(None, description="no rows of its own: price it with this runtime's fitted figures")
    per_op_overhead_us: Figure | None = Field(None, description="prior of the fit (default: the unit's)")
    per_call_overhead_us: Figure | None = Field(None, description="prior of the fit (default: the unit's)")


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
    runtimes: dict[str, UnitRuntime] = Field(..., min_length=1, description="runtime name -> how it is priced here")
    default_runtime: str = Field(..., description="the runtime a part placed here is priced for unless one is named")

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
        self._check_runtimes()
        return self

    def _check_runtimes(self) -> None:
        for name, r in self.runtimes.items():
            if name not in RUNTIMES:
                raise ValueError(f"runtimes.{name}: unknown runtime; registered runtimes: {', '.join(RUNTIMES)} "
                                 "(aicam_opt/latency/runtimes.py)")
            if self.kind not in RUNTIMES[name].unit_kinds:
                raise ValueError(f"runtimes.{name}: runtime '{name}' does not drive a {self.kind} (it drives "
                                 f"{', '.join(RUNTIMES[name].unit_kinds)})")
            if r.figures_from is not None and (r.figures_from not in self.runtimes or r.figures_from == name
                                               or self.runtimes[r.figures_from].figures_from is not None):
                raise ValueError(f"runtimes.{name}.figures_from: '{r.figures_from}' must be another runtime of this "
                                 f"unit with figures of its own (runtimes: {', '.join(self.runtimes)})")
        if self.default_runtime not in self.runtimes:
            raise ValueError(f"default_runtime '{self.default_runtime}' is not one of the unit's runtimes "
                             f"({', '.join(self.runtimes)})")

    def runtime(self, name: str | None) -> str:
        """The runtime a part runs through: `name`, or the unit's default (AicamError if the unit lacks it)."""
        name = name or self.default_runtime
        if name not in self.runtimes:
            raise AicamError(f"runtime '{name}' is not one the {self.kind} ({self.name}) ships through; choose one "
                             f"of {', '.join(self.runtimes)} (default {self.default_runtime})")
        return name

    def figures_runtime(self, name: str | None) -> str:
        """The runtime whose fitted figures price `name` on this unit (itself, or its `figures_from`)."""
        name = self.runtime(name)
        return self.runtimes[name].figures_from or name

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


# --- calibration recipe ----------------------------------------------------------------------------------

class PublishedRows(Config):
    """Latencies measured on the device and published: a YAML file of rows {model, unit, precision, ms,
    source, cores, core}, each model a reference network built from its definition (reference_models.py)."""

    kind: Literal["published_rows"]
    file: str = Field(..., description="the rows' file, relative to the repository root (the folder holding targets/)")
    about: str = Field(..., min_length=3, description="what ran the rows (runtimes, device): quoted in the calibration's notes")
    models: list[str] = Field(..., min_length=1, description="the reference networks the rows may name")
    runtimes: dict[str, str] = Field(default_factory=dict, description="a row's `source` letter -> the runtime that "
                                     "ran it, for rows without a `runtime` field")


class HostBench(Config):
    """Timings of host_bench.CASES through onnxruntime on this machine (CPU, fp32), kept in `file`
    (`aicam-opt calibrate --measure` re-times them). Each case's split says whether the fit sees it
    ("calibration") or it is held out ("validation")."""

    kind: Literal["host_bench"]
    file: str = Field(..., description="the timings' file, relative to the repository root")
    about: str = Field(..., min_length=3, description="how the committed timings were taken: quoted in the notes")


class PartRows(Config):
    """Timings of the low-res network as `compile` builds it, across a search space's architectures: the
    rows `aicam-opt measure space:NAME --save-rows FILE` writes (measurement_rows.py), each carrying its
    student's configuration, from which its ops are counted. Only `low_res` rows are fitted: the fused
    full-res kernel has its own timings (calibration.kernels) and end_to_end is the sum of the parts.
    The rows of the `validation` models are held out of the fit."""

    kind: Literal["part_rows"]
    file: str = Field(..., description="the rows' file, relative to the repository root")
    about: str = Field(..., min_length=3, description="how the rows were measured: quoted in the notes")
    validation: list[str] = Field(default_factory=list, description="models (the rows' `model`) held out of the fit")


MeasurementSource = Annotated[Union[PublishedRows, HostBench, PartRows], Field(discriminator="kind")]

# Parameters that are not efficiencies of a group (see fitting.build_calibration).
FIXED_PARAMETERS = ("memory", "cache_speedup", "per_op_us", "per_call_us", "multicore")
REQUIRED_PARAMETERS = ("memory", "per_op_us", "per_call_us")
UNIT_PRIORS = {"per_op_us": "per_op_overhead_us", "per_call_us": "per_call_overhead_us"}


class FitParameter(Config):
    """One fitted parameter and its prior: MAP fit in log space (fitting.py)."""

    name: str = Field(..., description=f"a group of `groups` (its efficiency) or one of {', '.join(FIXED_PARAMETERS)}")
    prior: float | None = Field(None, gt=0, description="starting point; per_op_us/per_call_us: null takes the "
                                                        "unit's per_op_overhead_us/per_call_overhead_us")
    sigma: float = Field(..., gt=0, description="prior width in natural-log units (1.0: a factor e either way)")
    upper: float | None = Field(None, gt=0, description="upper bound (none: unbounded)")
    per_precision: bool = Field(False, description="one value per precision of the unit (`name@fp32`, ...)")
    units: list[UnitName] | None = Field(None, description="the units it is fitted for (default: every measured unit)")
    runtimes: list[str] | None = Field(None, description="the runtimes it is fitted for (default: every measured one)")

    @model_validator(mode="after")
    def _prior_given_or_from_the_unit(self) -> "FitParameter":
        if self.prior is None and self.name not in UNIT_PRIORS:
            raise ValueError(f"parameter '{self.name}' needs a `prior` (only {', '.join(UNIT_PRIORS)} take theirs "
                             "from the unit)")
        return self


class ValidationBars(Config):
    """What the out-of-sample predictions must meet, per unit."""

    median_abs_error: float | None = Field(None, gt=0, description="median |predicted - measured| / measured, at most")
    max_ratio: float | None = Field(None, ge=1, description="worst max(predicted/measured, measured/predicted), at most")
    spearman: float | None = Field(None, ge=-1, le=1, description="rank correlation of predicted and measured, at least")

    @model_validator(mode="after")
    def _at_least_one(self) -> "ValidationBars":
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one bar: median_abs_error, max_ratio or spearman")
        return self


class CalibrationValidation(Config):
    method: Literal["leave_one_model_out", "held_out"] = Field(
        ..., description="leave_one_model_out: refit without each model, predict its rows; held_out: the fit sees "
                         "the 'calibration' rows only, the 'validation' rows are predicted")
    bars: ValidationBars
    min_rows: int = Field(3, ge=1, description="a unit and runtime with fewer rows is reported, not judged against the bars")
    notes: list[str] = Field(default_factory=list, description="what the validation report should say")


class KernelTimings(Config):
    """The fused full-res kernel timed on this machine over a spread of specs, pixel types, sizes and
    threads (kernels/bench.py), kept in `file` (`--measure` re-times them): fitted, and validated by
    holding whole configurations out."""

    kind: Literal["kernel_timings"]
    file: str = Field(..., description="the timings' file, relative to the repository root")
    bars: ValidationBars


class KernelAnchor(Config):
    """No timing of the kernel on this unit: its efficiency is derived from a published timing of the
    same kind of kernel (latency/kernel_anchor.py)."""

    kind: Literal["anchor"]
    anchor: Literal["hdrnet"]


class KernelFromTarget(Config):
    """No timing of the kernel on this unit: the efficiency fitted on another target's unit (the same TVM
    schedule compiled for another CPU), taken as the prior."""

    kind: Literal["from_target"]
    target: str
    unit: UnitName = "cpu"


KernelRecipe = Annotated[Union[KernelTimings, KernelAnchor, KernelFromTarget], Field(discriminator="kind")]


class CalibrationRecipe(Config):
    """How `aicam-opt calibrate` fits the target: which measurements, which groups and parameters, how it is validated."""

    sources: list[MeasurementSource] = Field(..., min_length=1)
    groups: dict[str, list[str]] = Field(..., description="efficiency groups: op classes sharing one fitted efficiency")
    parameters: list[FitParameter] = Field(..., min_length=1, description="in fitting order; filtered per unit by `units`")
    validation: CalibrationValidation
    kernels: dict[UnitName, KernelRecipe] = Field(
        default_factory=dict, description="per unit: where the fused full-res kernel's figures come from")
    notes: list[str] = Field(default_factory=list, description="written into the fitted calibration's notes")

    @model_validator(mode="after")
    def _groups_cover_the_op_classes(self) -> "CalibrationRecipe":
        seen: dict[str, str] = {}
        for group, classes in self.groups.items():
            for cls in classes:
                if cls not in OP_CLASSES:
                    raise ValueError(f"groups.{group}: '{cls}' is not an op class; choose from {', '.join(OP_CLASSES)}")
                if cls in seen:
                    raise ValueError(f"op class '{cls}' is in groups '{seen[cls]}' and '{group}': one group each")
                seen[cls] = group
        missing = [c for c in OP_CLASSES if c not in seen]
        if missing:
            raise ValueError(f"groups: op classes {', '.join(missing)} are in no group (each needs an efficiency)")
        for p in self.parameters:
            if p.name not in self.groups and p.name not in FIXED_PARAMETERS:
                raise ValueError(f"parameter '{p.name}' is neither a group ({', '.join(self.groups)}) nor one of "
                                 f"{', '.join(FIXED_PARAMETERS)}")
        return self

    def parameters_for(self, unit: "Unit", unit_name: str, runtime: str | None = None,
                       precisions: list[str] | None = None) -> list[tuple[str, float, float, float | None]]:
        """(name, prior, sigma, upper) of the parameters fitted for `unit` through `runtime` (None: any), in
        order, per-precision ones expanded over `precisions` (default: the unit's)."""
        out = []
        for p in self.parameters:
            if p.units is not None and unit_name not in p.units:
                continue
            if runtime is not None and p.runtimes is not None and runtime not in p.runtimes:
                continue
            prior = p.prior
            if prior is None:  # an overhead: the runtime's own prior on this unit, else the unit's
                own = unit.runtimes[runtime] if runtime in unit.runtimes else None
                figure = getattr(own, UNIT_PRIORS[p.name], None) if own else None
                prior = (figure or getattr(unit, UNIT_PRIORS[p.name])).value
            names = [f"{p.name}@{precision}" for precision in (precisions or unit.precisions)] if p.per_precision \
                else [p.name]
            out += [(name, prior, p.sigma, p.upper) for name in names]
        return out


class Target(Config):
    name: str
    description: str
    memory: Memory
    units: dict[UnitName, Unit]
    transfers: list[Transfer] = Field(default_factory=list)
    budgets: Budgets | None = None
    calibration: CalibrationRecipe | None = Field(None, description="how `aicam-opt calibrate` fits this target")
    _file: Path | None = PrivateAttr(None)  # the YAML file it was loaded from

    @model_validator(mode="after")
    def _units_match_their_keys(self) -> "Target":
        for key, unit in self.units.items():
            if unit.kind != key:
                raise ValueError(f"units.{key} has kind '{unit.kind}': the key and the kind must agree")
        for t in self.transfers:
            for u in t.between:
                if u not in self.units:
                    raise ValueError(f"transfer between {list(t.between)} names unit '{u}', which is not in `units`")
        if self.calibration is not None:
            self._check_calibration_units(self.calibration)
        return self

    def _check_calibration_units(self, recipe: CalibrationRecipe) -> None:
        for p in recipe.parameters:
            for u in p.units or []:
                if u not in self.units:
                    raise ValueError(f"calibration parameter '{p.name}' names unit '{u}', which is not in `units`")
            for r in p.runtimes or []:
                if r not in RUNTIMES:
                    raise ValueError(f"calibration parameter '{p.name}' names runtime '{r}'; registered runtimes: "
                                     f"{', '.join(RUNTIMES)}")
        for source in recipe.sources:
            for letter, r in getattr(source, "runtimes", {}).items():
                if r not in RUNTIMES:
                    raise ValueError(f"calibration source {getattr(source, 'file', source.kind)}: runtimes.{letter} "
                                     f"'{r}' is not a registered runtime ({', '.join(RUNTIMES)})")
        for unit_name, unit in self.units.items():
            for runtime, r in unit.runtimes.items():
                if r.figures_from is not None:
                    continue
                names = {name.split("@")[0] for name, *_ in recipe.parameters_for(unit, unit_name, runtime)}
                missing = [n for n in (*recipe.groups, *REQUIRED_PARAMETERS) if n not in names]
                if missing:
                    raise ValueError(f"calibration: unit '{unit_name}' through '{runtime}' has no parameter "
                                     f"{', '.join(missing)} (every unit and runtime fits each group's efficiency, "
                                     "memory, per_op_us and per_call_us)")

    @property
    def file(self) -> Path | None:
        """The YAML file the target was loaded from (None if built in code)."""
        return self._file

    def calibration_recipe(self) -> CalibrationRecipe:
        """The `calibration:` block (AicamError naming the file when there is none)."""
        if self.calibration is None:
            where = self._file or f"target '{self.name}'"
            raise AicamError(f"{where}: no `calibration:` block, so target '{self.name}' cannot be calibrated; add one "
                             "(measurement sources, efficiency groups, fitted parameters, validation: see "
                             "targets/sd865.yaml or targets/host.yaml)")
        return self.calibration

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
    target = load_yaml(path, Target)
    target._file = path
    return target
