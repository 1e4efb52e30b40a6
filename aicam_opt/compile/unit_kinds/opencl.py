"""OpenCL GPU units (the Adreno 650): OpenCL kernels launched by host code that LLVM compiles for the
CPU (`host` in the target dict). The artifact is the host's (its ISA, its cross linker, see llvm.py),
with the generated OpenCL source also written beside it as `<stem>.cl`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import atomic
from .llvm import LlvmKind, triple_isa

if TYPE_CHECKING:
    from ..backend import Compiled


def opencl_sources(module) -> list[str]:
    """The OpenCL source of every OpenCL module imported by `module`."""
    sources = []
    for sub in module.imports:
        if sub.kind == "opencl":
            sources.append(sub.inspect_source())
        sources.extend(opencl_sources(sub))
    return sources


class OpenClKind(LlvmKind):
    """An LLVM host build that carries OpenCL device code: built, linked and checked as its host."""

    name = "opencl"
    elf_machines: dict[int, str] = {}  # its object code is the host's (llvm.py)

    def expected_isa(self, target: dict[str, Any]) -> str:
        return triple_isa(target.get("host", target))

    def relax_pipeline(self, tgt):
        """The target's default GPU pipeline (Adreno: DLight schedules), as `relax.build` picks it."""
        from tvm import relax

        try:
            return relax.get_default_pipeline(tgt)
        except (ValueError, AttributeError):
            return relax.get_pipeline("default")

    def link_triple(self, target: dict[str, Any]) -> str | None:
        host = target.get("host") or {}
        if isinstance(host, str):  # a host given as a target string ("llvm -mtriple=...")
            return next((t.split("=", 1)[1] for t in host.split() if t.startswith("-mtriple=")), "")
        return str(host.get("mtriple", ""))

    def export(self, compiled: "Compiled", stem: Path) -> tuple[Path, dict[str, Any]]:
        path, info = super().export(compiled, stem)
        sources = opencl_sources(compiled.executable.mod)
        if sources:
            cl = stem.with_suffix(".cl")
            atomic.write_text(cl, "\n".join(sources))
            info["opencl_source"] = cl.name
        return path, info


__all__ = ["OpenClKind", "opencl_sources"]
