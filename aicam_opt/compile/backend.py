"""What every build shares, whatever its engine and unit kind: TIR code generation in a named stage,
exporting the artifact, describing it (sha256, the ISA of every object) and checking that ISA.

- `Compiled`: what an engine's compile produced, before export (the executable, or the unlinked
  objects a unit kind leaves).
- `tir_codegen`: a TIR module built for a target by its unit kind (aicam_opt/compile/unit_kinds); a
  failure is stage "tir_codegen" with the failing ops: those the kind knows it cannot build, found
  before building, else every function built alone.
- `export_artifact`: the unit kind writes `<stem>.tar` or `.so`; here it is described, and
  `check_isa` rejects object code for another processor than the unit's.
- `write_params`: the fused kernel's weight inputs as safetensors.

How each engine builds a part is in aicam_opt/compile/engines.
"""
from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from . import elf, unit_kinds
from .failures import CompileFailure, error_reason, op_entry


@dataclass
class Compiled:
    """What a compile produced, before export."""

    target: dict[str, Any]
    engine: str                                # the engine that built it (engines/)
    executable: Any = None                     # tvm Executable / relax VMExecutable (None: objects only)
    objects: list[tuple[str, bytes]] = field(default_factory=list)  # unlinked objects (Hexagon)
    vm_text: str | None = None                 # a Relax build left as objects: its VM bytecode listing
    seconds: float = 0.0


def tir_codegen(tir_mod, target: dict[str, Any]) -> tuple[Any, list[tuple[str, bytes]]]:
    """`tir_mod` built for `target`: (runtime module, unlinked objects); CompileFailure naming the ops."""
    kind = unit_kinds.for_target(target)
    missing = kind.unsupported_ops(tir_mod, target)
    if missing:
        raise CompileFailure("tir_codegen", missing[0]["reason"], missing)
    try:
        return kind.build_tir(tir_mod, target)
    except Exception as err:  # noqa: BLE001
        ops = _failing_functions(tir_mod, target) if len(tir_mod.functions) > 1 else \
            [op_entry(next(iter(tir_mod.functions)).name_hint, err)]
        raise CompileFailure("tir_codegen", error_reason(err), ops) from None


def _failing_functions(tir_mod, target: dict[str, Any]) -> list[dict[str, str]]:
    """Build each PrimFunc alone: the ones that fail, with the reason (the ops a backend lacks)."""
    import tvm

    kind = unit_kinds.for_target(target)
    failing = []
    for gv, func in tir_mod.functions.items():
        try:
            kind.build_tir(tvm.IRModule({gv: func}, attrs=tir_mod.attrs), target)
        except Exception as err:  # noqa: BLE001 - TVM's errors are diagnosed, not handled
            failing.append(op_entry(gv.name_hint, err))
    return failing


# --- export -------------------------------------------------------------------------------------------

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def isa_of(data: bytes) -> str | None:
    """The ISA of an ELF object as the unit kinds name it (None if `data` is not ELF)."""
    machine = elf.machine(data)
    return None if machine is None else unit_kinds.isa_name(machine)


def tar_members(path: Path) -> list[dict[str, Any]]:
    with tarfile.open(path) as tar:
        out = []
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else b""
            out.append({"name": member.name, "bytes": member.size, "isa": isa_of(data)})
        return out


def export_artifact(compiled: Compiled, stem: Path) -> dict[str, Any]:
    """Write `<stem>.so` or `<stem>.tar` (the unit kind decides); describe it (sha256, ISA, members)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    kind = unit_kinds.for_target(compiled.target)
    path, info = kind.export(compiled, stem)
    data = path.read_bytes()
    members = tar_members(path) if path.suffix == ".tar" else [{"name": path.name, "bytes": len(data),
                                                                "isa": isa_of(data)}]
    extra = {k: v for k, v in info.items() if k not in ("format", "linked")}
    return {"file": path.name, "format": info["format"], "linked": info["linked"], "sha256": sha256_bytes(data),
            "bytes": len(data), "isa": sorted({m["isa"] for m in members if m["isa"]}),
            "expected_isa": kind.expected_isa(compiled.target), "members": members, **extra}


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


__all__ = ["CompileFailure", "Compiled", "check_isa", "export_artifact", "isa_of", "sha256_bytes", "tar_members",
           "tir_codegen", "write_params"]
