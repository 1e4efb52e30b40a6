"""Compiling one part for one TVM target, in named stages, and exporting what it produced.

Two kinds of graph:
- Relax (an ONNX part): `from_onnx(keep_params_in_input=False)`, then DecomposeOpsForInference +
  FoldConstant (batch norm's per-channel scale/shift and the weights' quantize-dequantize become
  constants once, at compile time), then the steps of `relax.build`, run one by one so that a failure
  names its stage: the target's Relax pipeline (GPU targets: the target's default pipeline, Adreno's
  with DLight schedules; others: the generic `default` build pipeline, as `tvm.compile` chooses),
  VM code generation, TIR code generation (on failure every TIR function is built alone to name the
  failing ops), VM link.
- The fused full-res kernel: `kernels.fullres`'s definition with its schedule for the target.

Hexagon. TVM 0.27's `tirx.build` treats only llvm/c/cuda_host functions as host code: with an aarch64
host a plain (not thread-bound) TIR function is bound to the host and compiled for aarch64, so a
"Hexagon" build with an aarch64 host contains no Hexagon code at all (checked by `artifact_isa`,
and by tests/compile/test_backend.py), and with a Hexagon host the build stops at
`unknown intrinsic tirx.tvm_call_packed` (host builtins are left unlowered for a "device").
So a DSP part is built as TVM's Hexagon flow runs it, with the DSP as its own host (the aarch64 side
only launches it over FastRPC): the `default` TIR pipeline, the host finalisation passes, then
`target.build.hexagon`. That codegen links with the Hexagon SDK's `hexagon-link`, which is not
here: `_capture_hexagon_objects` takes the object file it would link instead, and the artifact is
that (unlinked) object.

Artifacts: CPU and GPU parts are linked into `<stem>.so` by `link.export` when a linker for the
target's platform is here (Android: the NDK; aarch64 Linux: gcc-aarch64-linux-gnu; this host), else
exported with `export_library(<stem>.tar)`: a tar of the object files (the kernels, and `devc.o`
carrying the VM executable and, for the GPU, the OpenCL source) that the platform's linker turns into
the same .so. The artifact's `link` record says which.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import atomic
from ..kernels import fullres as fused
from . import hexagon_intrinsics, link
from .targets import ELF_MACHINES, expected_isa, without_host


class CompileFailure(Exception):
    """A part that a backend cannot compile: the stage, the reason and, when known, the ops."""

    def __init__(self, stage: str, reason: str, ops: list[dict[str, str]] | None = None):
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason, self.ops = stage, reason, ops or []

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "op": ", ".join(dict.fromkeys(o["op"] for o in self.ops)) or None,
                "reason": self.reason, "ops": self.ops}


@dataclass
class Compiled:
    """What a compile produced, before export."""

    target: dict[str, Any]
    kind: str                                  # "relax" | "kernel"
    executable: Any = None                     # tvm Executable / relax VMExecutable (None: objects only)
    objects: list[tuple[str, bytes]] = field(default_factory=list)  # Hexagon: the unlinked objects
    vm_text: str | None = None                 # Hexagon Relax: the VM bytecode listing
    seconds: float = 0.0


def _reason(err: BaseException) -> str:
    """The decisive line of a TVM error (its last non-empty line), without the C++ trace."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else type(err).__name__
    return text if len(text) <= 400 else text[:400] + "..."


def _kind(function_name: str) -> str:
    """A legalized PrimFunc's op kind: its name without the numeric suffix (softmax1 -> softmax)."""
    return re.sub(r"\d+$", "", function_name)


def _op_entry(function: str, err: BaseException) -> dict[str, str]:
    reason = _reason(err)
    entry = {"function": function, "op": _kind(function), "reason": reason}
    intrinsic = re.search(r"(llvm\.[A-Za-z0-9_.]+)", reason)
    if intrinsic:
        entry["intrinsic"] = intrinsic.group(1)
    elif "tvm_call_packed" in reason:
        entry["intrinsic"] = "tirx.tvm_call_packed"
    return entry


def make_target(target: dict[str, Any]):
    try:
        return fused.resolve_target(target)
    except Exception as err:  # TVM raises its own error types for unknown kinds/keys
        raise CompileFailure("target", f"tvm.target.Target({target}) failed: {_reason(err)}") from None


# --- Hexagon ----------------------------------------------------------------------------------------

_LINK = "tvm.contrib.hexagon.link_shared"
KERNEL_FUNCTION = "fullres"


@contextlib.contextmanager
def _capture_hexagon_objects() -> Iterator[list[tuple[str, bytes]]]:
    """While active, `target.build.hexagon`'s link step keeps the object files instead of linking.

    The codegen writes each object to a scratch `tvm-XXXXXX.o` in the temp dir and expects the linker
    to write the `.so` beside it; both are removed once read (left there, every DSP build, a few
    hundred per CI run, piled up in /tmp)."""
    import tvm_ffi

    objects: list[tuple[str, bytes]] = []
    scratch: list[Path] = []

    def link_shared(so_name, object_files, *_args):  # the signature target.build.hexagon calls
        for obj in object_files:
            path = Path(obj if isinstance(obj, str) else obj.value)
            objects.append((path.name, path.read_bytes()))
            scratch.append(path)
        so_path = Path(so_name if isinstance(so_name, str) else so_name.value)
        so_path.write_bytes(b"")  # the codegen checks the linker made it
        scratch.append(so_path)
        return 0

    previous = tvm_ffi.get_global_func(_LINK, allow_missing=True)
    tvm_ffi.register_global_func(_LINK, link_shared, override=True)
    try:
        yield objects
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)
        if previous is not None:
            tvm_ffi.register_global_func(_LINK, previous, override=True)
        else:
            tvm_ffi.remove_global_func(_LINK)


def hexagon_device_target(target: dict[str, Any]):
    """The Hexagon target as its own host (see the module doc)."""
    import tvm

    device = without_host(target)
    return tvm.target.Target(device, host=device)


def _build_tir_hexagon(tir_mod, target: dict[str, Any]) -> tuple[Any, list[tuple[str, bytes]]]:
    import tvm
    from tvm.tirx.build import codegen_build

    hexagon_intrinsics.register()
    tgt = hexagon_device_target(target)
    mod = tvm.tirx.transform.BindTarget(tgt)(tir_mod)
    pipeline, finalize_host, _ = tvm.tirx.get_tir_pipeline("default")
    mod = finalize_host()(pipeline(mod))
    with _capture_hexagon_objects() as objects:
        lib = codegen_build(mod, tvm.target.Target(without_host(target)))
    return lib, list(objects)


# --- TIR builds, with per-function diagnosis ---------------------------------------------------------

def _build_tir(tir_mod, target: dict[str, Any]):
    """Build a TIR module for `target`: (runtime module, Hexagon objects)."""
    import tvm

    if target.get("kind") == "hexagon":
        return _build_tir_hexagon(tir_mod, target)
    return tvm.tirx.build(tir_mod, target=make_target(target)), []


def _failing_functions(tir_mod, target: dict[str, Any]) -> list[dict[str, str]]:
    """Build each PrimFunc alone: the ones that fail, with the reason (the ops a backend lacks)."""
    import tvm

    failing = []
    for gv, func in tir_mod.functions.items():
        try:
            _build_tir(tvm.IRModule({gv: func}, attrs=tir_mod.attrs), target)
        except Exception as err:  # noqa: BLE001 - TVM's errors are diagnosed, not handled
            failing.append(_op_entry(gv.name_hint, err))
    return failing


# Math functions a TIR function may call (TVMScript `T.<name>(`), probed one by one on Hexagon.
MATH_FUNCTIONS = ("exp", "exp2", "exp10", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "floor", "ceil", "round",
                  "nearbyint", "trunc", "pow", "tanh", "sigmoid", "erf", "sin", "cos", "tan", "atan", "fmod")
_MATH_CALL = re.compile(r"\bT\.(" + "|".join(MATH_FUNCTIONS) + r")\(")
_probes: dict[tuple[str, str, str], str | None] = {}


def _probe_math(name: str, dtype: str, target: dict[str, Any]) -> str | None:
    """Build `b[0] = name(a[0])` alone for `target`: None if it compiles, else the reason (cached)."""
    import json

    import tvm
    from tvm import te

    key = (json.dumps(target, sort_keys=True), name, dtype)
    if key not in _probes:
        a = te.placeholder((1,), dtype, name="a")
        fn = getattr(tvm.tirx, name)
        args = 2 if name in ("pow", "fmod") else 1
        b = te.compute((1,), lambda i: fn(*([a[i]] * args)), name="b")
        try:
            _build_tir(tvm.IRModule({"probe": te.create_prim_func([a, b])}), target)
            _probes[key] = None
        except Exception as err:  # noqa: BLE001
            _probes[key] = _reason(err)
    return _probes[key]


def unsupported_math(tir_mod, target: dict[str, Any]) -> list[dict[str, str]]:
    """The functions of `tir_mod` that call a math function `target`'s codegen cannot emit (each math
    function and float type probed once: a seconds-long check instead of minutes of per-function builds)."""
    found = []
    for gv, func in tir_mod.functions.items():
        text = func.script()
        dtypes = [d for d in ("float32", "float16") if d in text] or ["float32"]
        for name in sorted(set(_MATH_CALL.findall(text))):
            for dtype in dtypes:
                reason = _probe_math(name, dtype, target)
                if reason is not None:
                    entry = {"function": gv.name_hint, "op": _kind(gv.name_hint), "math": f"{name} ({dtype})",
                             "reason": reason}
                    intrinsic = re.search(r"(llvm\.[A-Za-z0-9_.]+)", reason)
                    if intrinsic:
                        entry["intrinsic"] = intrinsic.group(1)
                    found.append(entry)
                    break
    return found


def _tir_codegen(tir_mod, target: dict[str, Any]):
    if target.get("kind") == "hexagon":
        missing = unsupported_math(tir_mod, target)
        if missing:
            raise CompileFailure("tir_codegen", missing[0]["reason"], missing)
    try:
        return _build_tir(tir_mod, target)
    except Exception as err:  # noqa: BLE001
        ops = _failing_functions(tir_mod, target) if len(tir_mod.functions) > 1 else \
            [_op_entry(next(iter(tir_mod.functions)).name_hint, err)]
        raise CompileFailure("tir_codegen", _reason(err), ops) from None


def _kernel_op_entry(err: BaseException) -> dict[str, str]:
    """A failure inside the fused kernel: the op is the math function the backend lacks, if named."""
    entry = _op_entry(KERNEL_FUNCTION, err)
    if "intrinsic" in entry:
        entry["op"] = entry["intrinsic"].split(".", 1)[1]
    return entry


# --- Relax (ONNX parts) -------------------------------------------------------------------------------

_imported: dict[str, Any] = {}  # sha256 of the ONNX file -> prepared Relax module (IRModules are immutable)


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
        raise CompileFailure("import", f"relax.frontend.onnx.from_onnx: {_reason(err)}") from None
    try:
        mod = relax.transform.FoldConstant()(relax.transform.DecomposeOpsForInference()(mod))
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("relax_pipeline", f"DecomposeOpsForInference/FoldConstant: {_reason(err)}") from None
    if len(_imported) >= 8:
        _imported.pop(next(iter(_imported)))
    _imported[key] = mod
    return mod


def relax_pipeline_for(tgt):
    """The Relax pipeline `relax.build` picks for a target: GPU targets their default one, else `default`."""
    from tvm import relax

    if "gpu" in tgt.keys:
        try:
            return relax.get_default_pipeline(tgt)
        except (ValueError, AttributeError):
            pass
    return relax.get_pipeline("default")


def compile_relax(onnx_path: str | Path, target: dict[str, Any]) -> Compiled:
    """An ONNX part compiled for `target` (CompileFailure naming the stage and ops otherwise)."""
    import time

    from tvm import relax
    from tvm.relax import vm_build

    start = time.perf_counter()
    hexagon = target.get("kind") == "hexagon"
    tgt = hexagon_device_target(target) if hexagon else make_target(target)
    mod = import_onnx(onnx_path)
    try:
        with tgt:
            lowered = relax_pipeline_for(tgt)(mod)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("relax_pipeline", _reason(err)) from None
    attrs = dict(lowered.attrs) if lowered.attrs else {}
    ext_libs, params = list(attrs.get("external_mods", [])), dict(attrs.get("const_name_to_constant", {}))
    builder = relax.ExecBuilder()
    try:
        leftover = vm_build._vmcodegen(builder, lowered, "bytecode")
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("vm_codegen", _reason(err)) from None
    tir_mod = vm_build._filter_tir(leftover)
    lib, objects = _tir_codegen(tir_mod, target) if tir_mod is not None else (None, [])
    try:
        executable = relax.VMExecutable(vm_build._ffi_api.VMLink(builder, tgt, lib, ext_libs, params))
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("vm_link", _reason(err)) from None
    compiled = Compiled(target, "relax", executable, objects)
    if hexagon:
        compiled.vm_text = executable.as_text()
    compiled.seconds = time.perf_counter() - start
    return compiled


# --- the fused full-res kernel --------------------------------------------------------------------------

_kernels: dict[tuple[str, str], Compiled] = {}  # (spec key, target) -> build: the kernel's weights are inputs,
                                                 # so candidates of one architecture share the same build


def compile_kernel(spec: fused.KernelSpec, target: dict[str, Any]) -> Compiled:
    """The fused kernel of `spec` compiled for `target` (reused when this process built the same pair)."""
    import json

    key = (spec.key, json.dumps(target, sort_keys=True))
    if key in _kernels:
        return _kernels[key]
    compiled = _compile_kernel(spec, target)
    if len(_kernels) >= 16:
        _kernels.pop(next(iter(_kernels)))
    _kernels[key] = compiled
    return compiled


def _compile_kernel(spec: fused.KernelSpec, target: dict[str, Any]) -> Compiled:
    import time

    import tvm

    start = time.perf_counter()
    hexagon = target.get("kind") == "hexagon"
    tgt = hexagon_device_target(target) if hexagon else make_target(target)
    try:
        scheduled = fused.schedule_for(fused.define_fullres(spec), tgt)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("schedule", _reason(err), [_kernel_op_entry(err)]) from None
    if hexagon:
        missing = unsupported_math(scheduled, target)
        if missing:
            ops = [{**entry, "function": KERNEL_FUNCTION, "op": entry["math"].split(" ")[0]} for entry in missing]
            raise CompileFailure("tir_codegen", missing[0]["reason"], ops)
    try:
        if hexagon:
            compiled = Compiled(target, "kernel", None, _build_tir_hexagon(scheduled, target)[1])
        else:
            compiled = Compiled(target, "kernel", tvm.compile(scheduled, target=tgt))
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("tir_codegen", _reason(err), [_kernel_op_entry(err)]) from None
    compiled.seconds = time.perf_counter() - start
    return compiled


# --- export -------------------------------------------------------------------------------------------

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def elf_machine(data: bytes) -> str | None:
    """The ISA of an ELF object (None if `data` is not ELF)."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    order = "little" if data[5] == 1 else "big"
    machine = int.from_bytes(data[18:20], order)
    return ELF_MACHINES.get(machine, f"e_machine {machine}")


def tar_members(path: Path) -> list[dict[str, Any]]:
    with tarfile.open(path) as tar:
        out = []
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else b""
            out.append({"name": member.name, "bytes": member.size, "isa": elf_machine(data)})
        return out


def _opencl_sources(module) -> list[str]:
    sources = []
    for sub in module.imports:
        if sub.kind == "opencl":
            sources.append(sub.inspect_source())
        sources.extend(_opencl_sources(sub))
    return sources


def export_artifact(compiled: Compiled, stem: Path) -> dict[str, Any]:
    """Write `<stem>.so` (with a cross toolchain) or `<stem>.tar`; describe it (sha256, ISA, members)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {}
    if compiled.objects:  # Hexagon: the objects target.build.hexagon would have linked
        path = stem.with_suffix(".tar")
        with atomic.atomic_path(path) as tmp, tarfile.open(tmp, "w") as tar:
            files = list(compiled.objects)
            if compiled.vm_text is not None:
                files.append(("vm_bytecode.txt", compiled.vm_text.encode()))
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        fmt = ("tar of unlinked Hexagon object files (target.build.hexagon's output before hexagon-link; the "
               "Hexagon SDK is not installed here)" + (" + the Relax VM bytecode listing" if compiled.vm_text else ""))
        linked = False
        undefined = sorted({sym for name, data in compiled.objects if elf_machine(data)
                            for sym in hexagon_intrinsics.undefined_symbols(data)})
        extra["undefined_symbols"] = undefined  # type: ignore[assignment]
    else:
        path, extra["link"] = link.export(compiled.executable, stem, compiled.target)
        fmt, linked = link.describe(extra["link"]), extra["link"]["linked"]
        sources = _opencl_sources(compiled.executable.mod)
        if sources:
            cl = stem.with_suffix(".cl")
            atomic.write_text(cl, "\n".join(sources))
            extra["opencl_source"] = cl.name
    data = path.read_bytes()
    members = tar_members(path) if path.suffix == ".tar" else [{"name": path.name, "bytes": len(data),
                                                                "isa": elf_machine(data)}]
    return {"file": path.name, "format": fmt, "linked": linked, "sha256": sha256_bytes(data), "bytes": len(data),
            "isa": sorted({m["isa"] for m in members if m["isa"]}), "expected_isa": expected_isa(compiled.target),
            "members": members, **extra}


def check_isa(artifact: dict[str, Any]) -> None:
    """A build whose object code is not (all) for the unit's processor is a failure, not an artifact."""
    expected = artifact["expected_isa"]
    if artifact["isa"] != [expected]:
        raise CompileFailure("isa_check", f"the artifact's object code is {artifact['isa'] or 'none'}, expected "
                             f"{expected} only")


def write_params(params: dict[str, Any], path: Path) -> dict[str, Any]:
    """The fused kernel's weight inputs as safetensors (numpy, no pickle)."""
    import numpy as np
    from safetensors.numpy import save

    data = save({k: np.ascontiguousarray(v) for k, v in params.items()})
    atomic.write_bytes(path, data)
    return {"file": path.name, "sha256": sha256_bytes(data), "bytes": len(data), "tensors": sorted(params)}


def load_executable(compiled: Compiled):
    """A host build as a callable module: the relax VM or the kernel's 'fullres' function."""
    import tvm
    from tvm import relax

    if compiled.kind == "relax":
        return relax.VirtualMachine(compiled.executable, tvm.cpu())
    return compiled.executable.jit()["fullres"]


__all__ = ["CompileFailure", "Compiled", "compile_kernel", "compile_relax", "export_artifact", "check_isa",
           "import_onnx", "write_params", "load_executable", "tar_members", "elf_machine"]
