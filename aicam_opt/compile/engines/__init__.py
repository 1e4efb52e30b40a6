"""Compile engines: how a part is built for a target, described, run on this host and audited, one
module per engine behind one small protocol.

    relax_onnx    (relax_graph.py)  a part given as an ONNX graph: Relax import, the unit's Relax
                  pipeline, VM code generation, TIR code generation, VM link
    fused_kernel  (fused_kernel.py) the full-res part as the fused TensorIR kernel of aicam_opt/kernels

A part (parts.py) names its engine; the compile, its manifest, the host verification and the op audit
dispatch through `get(part.engine)`, never on the name. What differs per kind of processor (the DSP
built as its own host, ISA checks, OpenCL sources) is not an engine's business: the engines call the
unit kind of the target (aicam_opt/compile/unit_kinds).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ...errors import AicamError
from .fused_kernel import FusedKernel
from .relax_graph import RelaxGraph

if TYPE_CHECKING:
    from ..backend import Compiled
    from ..parts import LoadedCandidate, Part


class HostRunner(Protocol):
    """A part built for this host, called as the pipeline calls it: the low-res part with the low-res
    image (1, 3, S, S) -> the grid (1, 12, D, G, G); the full-res part with (image (H, W, 3) float32,
    grid) -> the enhanced image (H, W, 3)."""

    seconds: dict[str, float]  # compile seconds of what it built for this host
    notes: list[str]           # what the verification report should say about how it ran

    def __call__(self, *inputs: np.ndarray) -> np.ndarray: ...


class Engine(Protocol):
    name: str

    def compile(self, part: "Part", target: dict[str, Any]) -> "Compiled":
        """`part` built for a TVM target dict (CompileFailure naming the stage and ops otherwise)."""

    def graph(self, part: "Part") -> dict[str, Any]:
        """The manifest's `graph`: what the artifact was built from."""

    def host_runner(self, part: "Part", loaded: "LoadedCandidate", host: dict[str, Any], workdir: Path) -> HostRunner:
        """The same part built for this host (`host`: its llvm target), to check against PyTorch."""

    def audit(self, part: "Part", loaded: "LoadedCandidate") -> dict[str, Any]:
        """TVM's FLOP estimate of what is compiled vs our count (see audit.py)."""


_ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make `engine` the one that builds parts naming `engine.name`."""
    _ENGINES[engine.name] = engine
    return engine


def find(name: str | None) -> Engine | None:
    return _ENGINES.get(name) if name else None


def get(name: str) -> Engine:
    """The engine a part names (AicamError naming the registered ones for any other)."""
    engine = find(name)
    if engine is None:
        raise AicamError(f"compile engine {name!r} is not registered; known engines: {', '.join(_ENGINES)} "
                         "(aicam_opt/compile/engines/: add a module and register it)")
    return engine


for _engine in (RelaxGraph(), FusedKernel()):
    register(_engine)

__all__ = ["Engine", "HostRunner", "find", "get", "register"]
