"""The Relax engine ("relax_onnx"): a part given as an ONNX graph, imported into Relax and built in
named stages.

`from_onnx(keep_params_in_input=False)`, then DecomposeOpsForInference + FoldConstant (batch norm's
per-channel scale/shift and the weights' quantize-dequantize become constants once, at compile time),
then the steps of `relax.build`, run one by one so that a failure names its stage: the target's Relax
pipeline, chosen by the unit kind (GPU: the target's default pipeline, Adreno's with DLight schedules;
LLVM CPUs: TVM's CPU pipeline, which fuses, with our unit-stride schedule, compile/cpu_schedule.py;
Hexagon: the generic `default` build pipeline, as `tvm.compile` chooses), VM code generation, TIR code
generation (`backend.tir_codegen`, through the unit kind), VM link. A build the unit kind leaves as unlinked
objects (Hexagon) carries no VM executable container: its bytecode listing is kept beside them.

On this host: the same ONNX file built for `targets.HOST_TARGET` and run in the Relax VM; the full-res
graph is exported at a fixed size (torch.export specialises the slice's coordinate grid), so it is
exported and compiled again for each photo size met.

Audit: the functions of the graph as `import_onnx` prepares it, legalized to TensorIR (`LegalizeOps`,
before fusion and scheduling, which change neither the arithmetic nor its count), one PrimFunc per
distinct op and shape; each call is costed with `tvm.s_tir.analysis.estimate_tir_flops`. Ours:
`count_onnx` of the same ONNX file, bucketed as in `cost.tvm_check` (conv, matmul, elementwise,
transcendental, reduce, resize, grid_sample, norm) and compared by TVM's convention (no
compares/selects), plus the part's total from `model_cost` (the torch per-op count the latency model uses).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...compress.quantize import ONNX_OPSET  # the opset parts.py exports with
from ...cost.onnx_counter import count_onnx
from ...cost.tvm_check import legalized_calls, our_buckets, tvm_buckets
from ...logs import native_stderr_to_log
from .. import unit_kinds
from ..audit import difference, part_model_cost_flops, summarize
from ..backend import Compiled, sha256_bytes, tir_codegen
from ..failures import CompileFailure, error_reason
from ..parts import RELAX_ONNX, LoadedCandidate, Part, export_full_res_onnx, full_res_onnx_part

_imported: dict[str, Any] = {}  # sha256 of the ONNX file -> prepared Relax module (IRModules are immutable)


@native_stderr_to_log()  # TVM's C++ warnings go into the command's log file
def import_onnx(onnx_path: str | Path):
    """ONNX -> Relax with the weights bound as constants, batch norm decomposed, constants folded.

    The result depends only on the file, and folding constants builds and runs a TVM function per
    folded call (seconds for a QDQ graph), so it is computed once per file content and shared by the
    unit build, the host build and the audit."""
    import onnx
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    key = sha256_bytes(Path(onnx_path).read_bytes())
    if key in _imported:
        return _imported[key]
    try:
        mod = from_onnx(onnx.load(str(onnx_path)), keep_params_in_input=False)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("import", f"relax.frontend.onnx.from_onnx: {error_reason(err)}") from None
    try:
        mod = relax.transform.FoldConstant()(relax.transform.DecomposeOpsForInference()(mod))
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("relax_pipeline", f"DecomposeOpsForInference/FoldConstant: {error_reason(err)}") from None
    if len(_imported) >= 8:
        _imported.pop(next(iter(_imported)))
    _imported[key] = mod
    return mod


@native_stderr_to_log()
def compile_relax(onnx_path: str | Path, target: dict[str, Any]) -> Compiled:
    """An ONNX part compiled for `target` (CompileFailure naming the stage and ops otherwise)."""
    from tvm import relax
    from tvm.relax import vm_build

    start = time.perf_counter()
    kind = unit_kinds.for_target(target)
    tgt = kind.build_target(target)
    mod = import_onnx(onnx_path)
    try:
        with tgt:
            lowered = kind.relax_pipeline(tgt)(mod)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("relax_pipeline", error_reason(err)) from None
    attrs = dict(lowered.attrs) if lowered.attrs else {}
    ext_libs, params = list(attrs.get("external_mods", [])), dict(attrs.get("const_name_to_constant", {}))
    builder = relax.ExecBuilder()
    try:
        leftover = vm_build._vmcodegen(builder, lowered, "bytecode")
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("vm_codegen", error_reason(err)) from None
    tir_mod = vm_build._filter_tir(leftover)
    lib, objects = tir_codegen(tir_mod, target) if tir_mod is not None else (None, [])
    try:
        executable = relax.VMExecutable(vm_build._ffi_api.VMLink(builder, tgt, lib, ext_libs, params))
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("vm_link", error_reason(err)) from None
    compiled = Compiled(target, RELAX_ONNX, executable, objects)
    if objects:
        compiled.vm_text = executable.as_text()
    compiled.seconds = time.perf_counter() - start
    return compiled


def load_vm(compiled: Compiled):
    """A host build as a Relax virtual machine."""
    import tvm
    from tvm import relax

    return relax.VirtualMachine(compiled.executable, tvm.cpu())


class _GraphOnHost:
    """The part's ONNX graph built for this host, its inputs and output as the graph has them."""

    def __init__(self, part: Part, host: dict[str, Any]):
        compiled = compile_relax(part.onnx_path, host)
        self.seconds = {part.name: compiled.seconds}
        self.notes: list[str] = []
        self._vm = load_vm(compiled)

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        import tvm

        return self._vm["main"](*(tvm.runtime.tensor(np.ascontiguousarray(x)) for x in inputs)).numpy()


class _FullResAtEachSize:
    """The full-res ONNX graph, exported and built for this host at the size of each image it is given."""

    def __init__(self, loaded: LoadedCandidate, host: dict[str, Any], workdir: Path):
        self.loaded, self.host, self.workdir = loaded, host, Path(workdir)
        self.seconds: dict[str, float] = {}
        self.notes: list[str] = []
        self._runs: dict[tuple[int, int], Callable] = {}

    def __call__(self, image: np.ndarray, grid: np.ndarray) -> np.ndarray:
        return self._run_at(image.shape[:2])(image, grid)

    def _run_at(self, size: tuple[int, int]) -> Callable:
        import tvm

        if size not in self._runs:
            path = export_full_res_onnx(self.loaded, self.workdir / f"full_res_{size[0]}x{size[1]}.onnx", size)
            compiled = compile_relax(full_res_onnx_part(self.loaded, path, size).onnx_path, self.host)
            self.seconds[f"full_res {size[0]}x{size[1]}"] = compiled.seconds
            vm = load_vm(compiled)

            def run(image: np.ndarray, grid: np.ndarray) -> np.ndarray:
                x = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
                out = vm["main"](tvm.runtime.tensor(x), tvm.runtime.tensor(grid))
                return np.ascontiguousarray(out.numpy()[0].transpose(1, 2, 0))

            self._runs[size] = run
        return self._runs[size]


def audit_relax(part: Part, loaded: LoadedCandidate) -> dict[str, Any]:
    calls, functions = legalized_calls(import_onnx(part.onnx_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops = count_onnx(part.onnx_path)
    ours, ours_tvm, _ = our_buckets(ops)
    theirs, _, unmapped = tvm_buckets(calls)
    rows = []
    for bucket in dict.fromkeys([*ours, *theirs]):
        rows.append({"bucket": bucket, "ours": ours.get(bucket, 0), "ours_tvm_convention": ours_tvm.get(bucket, 0),
                     "tvm": theirs.get(bucket, 0.0),
                     "difference": difference(ours_tvm.get(bucket, 0), theirs.get(bucket, 0.0))})
    unmapped_flops = {kind: sum(c.flops for c in calls if c.kind == kind) for kind in sorted(unmapped)}
    tvm_total = sum(c.flops for c in calls)
    ours_total = sum(op.flops for op in ops)
    image = (loaded.net.cfg.lowres_size,) * 2 if part.name == "low_res" else tuple(part.inputs[0].shape[2:4])
    torch_total, _ = part_model_cost_flops(loaded, part.name, image)  # type: ignore[arg-type]
    totals = [{"what": "all ops: ours (count_onnx) vs TVM (all compiled functions)", "ours": ours_total,
               "tvm": tvm_total, "difference": difference(ours_total, tvm_total)},
              {"what": f"all ops: ours (model_cost, part {part.name}, the latency model's count) vs TVM",
               "ours": torch_total, "tvm": tvm_total, "difference": difference(torch_total, tvm_total)}]
    notes = []
    if loaded.net.cfg.switch == "hard" and part.name == "low_res" and loaded.net.cfg.num_branches > 1:
        notes.append("hard switch: model_cost counts one branch (one runs per image); the compiled static graph "
                     "runs all K branches and mixes them with one-hot weights")
    uncounted = sorted({op.op for op in ops if not op.counted})
    if uncounted:
        notes.append(f"ops aicam_opt does not count (UNCOUNTED, not zero): {', '.join(uncounted)}")
    return summarize(part, sorted(functions.values(), key=lambda f: -f["flops"]), rows, totals, unmapped_flops,
                     uncounted, notes, "the bucket differences above, plus ops one side does not count (see "
                     "unmapped_tvm / uncounted_ours)")


class RelaxGraph:
    name = RELAX_ONNX

    def compile(self, part: Part, target: dict[str, Any]) -> Compiled:
        return compile_relax(part.onnx_path, target)

    def graph(self, part: Part) -> dict[str, Any]:
        return {"kind": "onnx", "file": part.onnx_path.name, "sha256": sha256_bytes(part.onnx_path.read_bytes()),
                "opset": ONNX_OPSET}

    def host_runner(self, part: Part, loaded: LoadedCandidate, host: dict[str, Any], workdir: Path):
        if part.name == "full_res":  # exported at one fixed size; the pipeline runs it at each photo's size
            return _FullResAtEachSize(loaded, host, workdir)
        return _GraphOnHost(part, host)

    def audit(self, part: Part, loaded: LoadedCandidate) -> dict[str, Any]:
        return audit_relax(part, loaded)


__all__ = ["RelaxGraph", "audit_relax", "compile_relax", "import_onnx", "load_vm"]
