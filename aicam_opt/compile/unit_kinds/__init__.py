"""Unit kinds: what is specific to one kind of TVM target, one module per kind, behind one protocol.

A unit of a target file compiles for the TVM target dict in `units.<unit>.tvm.target`; its `kind`
(llvm, opencl, hexagon) selects the module that knows how that kind of processor is built for:

    llvm     CPU units (the phone's Kryo cores, this host): TVM's CPU pipeline with our convolution
             and matmul schedule (compile/cpu_schedule.py), the ISA from the target triple,
             linking with a cross compiler for that ISA when one is installed
    opencl   GPU units (Adreno): OpenCL kernels launched by LLVM-compiled host code; the generated
             OpenCL source is written beside the artifact
    hexagon  DSP units: the DSP built as its own host, TVM's missing math lowerings, the unlinked
             Hexagon objects (ELF e_machine 164) and the symbols they leave to the device's libraries

The engines (aicam_opt/compile/engines) call only this protocol, so a new kind of processor is a
new module registered here, not a condition in the engines. Every artifact's object code is checked
against `expected_isa` (a build that silently lands on the wrong processor is a failure).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from ..failures import CompileFailure
from .hexagon import HexagonKind
from .llvm import LlvmKind
from .opencl import OpenClKind

if TYPE_CHECKING:
    from ..backend import Compiled

TargetDict = dict[str, Any]
Objects = list[tuple[str, bytes]]  # (file name, ELF object) of a build left unlinked


class UnitKind(Protocol):
    name: str                        # the TVM target kind it handles
    elf_machines: Mapping[int, str]  # e_machine number -> ISA name, of the object code this kind produces

    def build_target(self, target: TargetDict) -> Any:
        """The tvm.target.Target the part is lowered and built for (CompileFailure "target" if TVM rejects it)."""

    def built_target(self, target: TargetDict) -> TargetDict:
        """The target dict actually built (the manifest's `tvm_target_built`)."""

    def expected_isa(self, target: TargetDict) -> str:
        """The ISA every object of the artifact must be for."""

    def link_triple(self, target: TargetDict) -> str | None:
        """The llvm triple of the code a shared library for `target` is linked from ("" for this
        machine's), or None when this project links nothing for the kind (link.py)."""

    def relax_pipeline(self, tgt: Any) -> Any:
        """The Relax pipeline (a module pass) a graph part is lowered with for `tgt`, a build_target result."""

    def unsupported_ops(self, tir_mod: Any, target: TargetDict) -> list[dict[str, str]]:
        """Functions of `tir_mod` this kind is known not to build, found before building ([]: none)."""

    def build_tir(self, tir_mod: Any, target: TargetDict) -> tuple[Any, Objects]:
        """A TIR module built for `target`: (runtime module or None, unlinked objects)."""

    def compile_scheduled(self, scheduled: Any, target: TargetDict) -> tuple[Any, Objects]:
        """A scheduled TIR module (the fused kernel) compiled: (executable or None, unlinked objects)."""

    def export(self, compiled: "Compiled", stem: Path) -> tuple[Path, dict[str, Any]]:
        """Write the artifact `<stem>.tar` or `.so`: its path and {format, linked, ...kind-specific fields}."""

    def notes(self, target: TargetDict, artifact: dict[str, Any] | None) -> list[str]:
        """What a manifest should say about a build for this kind."""


_KINDS: dict[str, UnitKind] = {}


def register(kind: UnitKind) -> UnitKind:
    """Make `kind` the module for TVM targets of kind `kind.name`."""
    _KINDS[kind.name] = kind
    return kind


def find(name: str | None) -> UnitKind | None:
    return _KINDS.get(name) if name else None


def for_target(target: TargetDict) -> UnitKind:
    """The unit kind of a TVM target dict (CompileFailure at stage "target" for a kind no module handles)."""
    kind = find(target.get("kind"))
    if kind is None:
        raise CompileFailure("target", f"TVM target kind {target.get('kind')!r} (in {target}) has no unit-kind module; "
                             f"known kinds: {', '.join(_KINDS)}. Set `units.<unit>.tvm.target.kind` in the target file "
                             "to one of them, or add a module to aicam_opt/compile/unit_kinds/")
    return kind


def isa_name(machine: int) -> str:
    """The ISA of an ELF e_machine number, as the unit kinds name it."""
    for kind in _KINDS.values():
        if machine in kind.elf_machines:
            return kind.elf_machines[machine]
    return f"e_machine {machine}"


for _kind in (LlvmKind(), OpenClKind(), HexagonKind()):
    register(_kind)

__all__ = ["UnitKind", "find", "for_target", "isa_name", "register"]
