"""The user's own measurement rows in a refit: `aicam-opt calibrate --target T --measurements FILE... --out PATH`.

Rows in the schema of measurement_rows.py (what `aicam-opt measure --save-rows` writes, and the
shared/calibration/*.yaml files) join the target's own calibration sources; they do not replace them.
A `measure` run gives two or three rows per model, against a dozen fitted parameters per unit: alone
they would leave every parameter they say nothing about to its prior, so the sources keep those where
the committed calibration has them and the user's rows pull the rest toward their device.

How a row enters the fit, by what it names:
- a reference network (no `part`; reference_models.py): its counted ops at 224x224, as a published row;
- `part: low_res`, or `part: full_res` at int8 (a graph): the part's ops of the student, or of the
  candidate folder the row names, at the row's workload, on the row's unit, precision and cores;
- `part: full_res` at fp32/fp16 (the fused kernel compile ships): a timing of the kernel `kernel`
  names at the workload's size with `cores` threads, fitted with the unit's kernel figures
  (kernel_model.py). A unit whose kernel figures come from no timing here (an anchor, another target)
  is fitted to the user's kernel rows alone, which needs rows at two sizes at least: one size cannot
  tell the per-call cost from the throughput;
- `part: end_to_end`: not fitted (its parts are), only predicted beside the measurement.
A unit the sources have no rows for is fitted to the user's rows alone: at least MIN_ROWS_ALONE of
them, for the same reason.

Part rows must come from TVM (`runtime: tvm`, what `measure` writes): the parts are TVM programs, and
a figure from another runtime says nothing about them. Rows naming another target, a unit or
precision the target lacks, a model that cannot be rebuilt, or no workload are errors naming the
file, the row and the fix, before anything is fitted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..cost.records import OpCost
from ..errors import AicamError
from ..kernels.spec import KERNEL_PRECISIONS, KernelSpec
from .fitting import Row
from .kernel_model import predict_kernel
from .measurement_rows import MeasurementFile, MeasurementRow, load_measurements
from .model import Assignment, Calibration, LatencyModel, Placement
from .target import Target

MIN_ROWS_ALONE = 2
PART_RUNTIME = "tvm"
CANDIDATE_WEIGHTS = "student.safetensors"  # what a candidate folder holds (compress.folder.CandidateFolder.weights)


@dataclass
class UserRow:
    """One row of a user's file, as the refit uses it."""

    file: Path
    index: int
    row: MeasurementRow
    label: str                                      # how tables name it: "student low_res 240x320"
    role: str                                       # "ops" | "kernel" | "end_to_end"
    assignment: Assignment
    ops: list[OpCost] = field(default_factory=list)  # ops and end_to_end rows
    kernel: tuple[KernelSpec, int, int, int] | None = None  # (spec, height, width, threads) of a kernel row

    @property
    def where(self) -> str:
        return f"{self.file}: measurements[{self.index}] ({self.label}, {self.row.unit}, {self.row.precision})"

    def fit_row(self) -> Row:
        return Row(self.label, self.ops, self.assignment, self.row.ms)

    def kernel_row(self) -> tuple[KernelSpec, int, int, int, float]:
        assert self.kernel is not None
        return (*self.kernel, self.row.ms)


@dataclass
class UserRows:
    files: list[Path]
    rows: list[UserRow]

    def of(self, role: str) -> list[UserRow]:
        return [r for r in self.rows if r.role == role]

    def kernel_rows(self) -> dict[str, list[tuple[KernelSpec, int, int, int, float]]]:
        out: dict[str, list] = {}
        for r in self.of("kernel"):
            out.setdefault(r.row.unit, []).append(r.kernel_row())
        return out

    def note(self) -> str:
        fitted = len(self.of("ops")) + len(self.of("kernel"))
        return (f"Refitted with {fitted} row(s) measured by the user ({', '.join(str(f) for f in self.files)}) "
                "added to the target's sources; end-to-end rows are predicted, not fitted.")


def _net(row: MeasurementRow, where: str):
    from ..models.checkpoints import load_model

    if row.student is not None:  # the ops depend on the configuration only, not on the weights
        return student_of_config(row.student, where)
    if row.candidate is None:
        if row.model != "student":
            raise AicamError(f"{where}: a `part` row of model {row.model!r} names no `candidate` folder; give the "
                             "candidate folder it measured (measure writes it), or model `student` for the committed one")
        return load_model(kind="student")
    weights = Path(row.candidate) / CANDIDATE_WEIGHTS
    if not weights.is_file():
        raise AicamError(f"{where}: candidate folder {row.candidate} has no {CANDIDATE_WEIGHTS}; the refit rebuilds "
                         "the part's ops from it: point `candidate` at the folder that was measured")
    return load_model(weights)


def student_of_config(config: dict, where: str):
    """A student of `config` (StudentConfig fields) with untrained weights: enough to count its ops."""
    from ..models.student import StudentConfig, StudentNet

    try:
        return StudentNet(StudentConfig.model_validate(config))
    except ValueError as err:
        raise AicamError(f"{where}: `student` is not a valid student configuration ({str(err).splitlines()[0]}); "
                         "write it as `aicam-opt measure --save-rows` does") from None


def _workload(row: MeasurementRow, where: str) -> tuple[int, int]:
    if row.workload is None:
        raise AicamError(f"{where}: a `part` row needs `workload: HxW` (the image size it ran at) so that the refit "
                         "can rebuild the part's ops")
    height, width = (int(v) for v in row.workload.split("x"))
    return height, width


def _check(row: MeasurementRow, target: Target, where: str) -> None:
    if row.unit not in target.units:
        raise AicamError(f"{where}: target '{target.name}' has no unit {row.unit!r} (units: {', '.join(target.units)}); "
                         "fix the row's unit, or calibrate the target the rows were measured on")
    if row.precision not in target.units[row.unit].precisions:
        raise AicamError(f"{where}: the {row.unit} of target '{target.name}' does not run {row.precision} (it runs "
                         f"{', '.join(target.units[row.unit].precisions)}); fix the row's precision")
    if row.part is not None and row.runtime != PART_RUNTIME:
        raise AicamError(f"{where}: runtime {row.runtime!r}: a `part` row times the TVM-compiled part aicam_opt ships "
                         f"(`aicam-opt measure` writes runtime: {PART_RUNTIME}); a figure from another runtime says "
                         "nothing about it. Set `runtime: tvm` if TVM ran it, or drop the row")


def _user_row(file: Path, index: int, row: MeasurementRow, target: Target) -> UserRow:
    from .calibrate import reference_ops
    from .reference_models import REFERENCE_MODELS

    where = f"{file}: measurements[{index}] ({row.model}, {row.unit}, {row.precision})"
    _check(row, target, where)
    cores = (row.cores or 1) if target.units[row.unit].kind == "cpu" else None
    # fitted into the (unit, runtime) group whose figures price the row's runtime (a TVM part row on a unit
    # whose tvm takes another runtime's figures joins that group: the refit moves what prices it)
    assignment = Assignment(row.unit, row.precision, cores, target.units[row.unit].figures_runtime(row.runtime))
    if row.part is None:
        if row.model not in REFERENCE_MODELS:
            raise AicamError(f"{where}: model {row.model!r} is no reference network of aicam_opt/latency/"
                             f"reference_models.py ({', '.join(REFERENCE_MODELS)}) and the row names no `part` of the "
                             "student; give `part: low_res | full_res | end_to_end` (and `workload`) for a student row")
        return UserRow(file, index, row, row.model, "ops", assignment, list(reference_ops(row.model)))
    from ..cost.shipped import shipped_student_cost

    height, width = _workload(row, where)
    label = f"{row.model} {row.part} {height}x{width}"
    net = _net(row, where)
    if row.part == "full_res" and row.precision in KERNEL_PRECISIONS:
        if row.kernel is None:
            raise AicamError(f"{where}: a full_res row at {row.precision} times the fused kernel and must name it "
                             "(`kernel: <spec key>`, which measure writes)")
        try:
            spec = KernelSpec.from_key(row.kernel)
        except ValueError as err:
            raise AicamError(f"{where}: {err}") from None
        threads = cores or 1
        return UserRow(file, index, row, label, "kernel", assignment, kernel=(spec, height, width, threads))
    pixel_type = KernelSpec.from_key(row.kernel).dtype if row.kernel else "uint8"
    ops = shipped_student_cost(net, (height, width), row.precision, target.unit(assignment.unit).kind,
                               pixel_type).ops  # type: ignore[arg-type]
    if row.part == "end_to_end":
        return UserRow(file, index, row, label, "end_to_end", assignment, list(ops))
    return UserRow(file, index, row, label, "ops", assignment, [op for op in ops if op.part == row.part])


def read_user_rows(paths: list[str | Path], target: Target, parts: tuple[str, ...] | None = None) -> UserRows:
    """Every file's rows (only those of `parts`, if given), checked against `target` (AicamError naming the file
    and row otherwise)."""
    if not paths:
        raise AicamError("--measurements needs at least one file of rows (aicam-opt measure --save-rows FILE)")
    rows = []
    for path in map(Path, paths):
        document: MeasurementFile = load_measurements(path)
        if document.target is not None and document.target != target.name:
            raise AicamError(f"{path}: the rows were measured for target '{document.target}', not '{target.name}'; "
                             f"refit that target (--target {document.target}) or measure again with --target {target.name}")
        if not document.measurements:
            raise AicamError(f"{path}: no rows under `measurements`; measure first (aicam-opt measure ... --save-rows {path})")
        rows += [_user_row(path, i, row, target) for i, row in enumerate(document.measurements)
                 if parts is None or row.part in parts]
    return UserRows([Path(p) for p in paths], rows)


def check_enough(user: UserRows, source_units: set[str], kernel_timed_units: set[str]) -> None:
    """A unit fitted to the user's rows alone needs MIN_ROWS_ALONE rows; kernel rows alone, two sizes."""
    for unit in sorted({r.row.unit for r in user.of("ops")} - source_units):
        rows = [r for r in user.of("ops") if r.row.unit == unit]
        if len(rows) < MIN_ROWS_ALONE:
            raise AicamError(f"{rows[0].where}: the target's sources have no rows for the {unit}, so it would be fitted "
                             f"to this row alone; one row cannot separate the unit's per-call cost from its throughput. "
                             f"Measure at least {MIN_ROWS_ALONE} (another model or workload, e.g. `aicam-opt measure ... "
                             "--workload 1500x2000 --save-rows` the same file)")
    for unit in sorted({r.row.unit for r in user.of("kernel")} - kernel_timed_units):
        rows = [r for r in user.of("kernel") if r.row.unit == unit]
        sizes = {(r.kernel[1], r.kernel[2]) for r in rows if r.kernel}
        if len(sizes) < 2:
            raise AicamError(f"{rows[0].where}: the {unit}'s kernel figures come from no timing in the target's sources, "
                             f"so they would be fitted to the user's kernel rows alone, all at one size; one size cannot "
                             "separate the kernel's per-call cost from its throughput. Measure the full_res part at a "
                             "second workload too (`aicam-opt measure ... --workload 1500x2000 --save-rows` the same file)")


def predict_user_row(target: Target, cal: Calibration, row: UserRow) -> float | None:
    """What `cal` predicts for the row (None when it cannot price it, e.g. no kernel figures for the unit)."""
    try:
        if row.role == "kernel":
            assert row.kernel is not None
            spec, height, width, threads = row.kernel
            unit = target.unit(row.row.unit)
            return predict_kernel(spec, unit, cal.kernel_for(row.row.unit), height, width,
                                  target.bandwidth_gbps(row.row.unit), threads).latency_ms
        return LatencyModel(target, cal).predict(row.ops, Placement(default=row.assignment)).latency_ms
    except AicamError:
        return None


def comparison(target: Target, before: Calibration | None, after: Calibration, user: UserRows) -> list[dict]:
    """Each user row: measured, predicted before the refit (the committed calibration) and after."""
    out = []
    for r in user.rows:
        old = predict_user_row(target, before, r) if before is not None else None
        new = predict_user_row(target, after, r)
        out.append({"file": str(r.file), "row": r.index, "model": r.label, "unit": r.row.unit,
                    "precision": r.row.precision, "fitted": r.role != "end_to_end", "measured_ms": r.row.ms,
                    "predicted_before_ms": None if old is None else round(old, 4),
                    "predicted_after_ms": None if new is None else round(new, 4)})
    return out


__all__ = ["UserRow", "UserRows", "read_user_rows", "check_enough", "predict_user_row", "comparison", "MIN_ROWS_ALONE"]
