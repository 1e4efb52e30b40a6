"""Where each part is compiled for: the TVM target dict of each unit, and this host's.

The phone's target dicts live in the target file, one per unit (`units.<unit>.tvm.target` in
targets/sd865.yaml), so the latency model and the compiler name the same units:

    cpu  {kind: llvm, mtriple: aarch64-linux-android, mcpu: cortex-a77, mattr: [+neon, +dotprod]}
    gpu  {kind: opencl, device: adreno, host: <cpu>}
    dsp  {kind: hexagon, mtriple: hexagon, mcpu: hexagonv66, mattr: [+hvxv66, +hvx-length128b],
          num-cores: 4, vtcm-capacity: 262144, host: <cpu>}

The host verification builds use `HOST_TARGET` (this x86-64 machine, llvm with its own CPU). What
each kind of target dict needs when it is built (its ISA, toolchain, Hexagon's own host) is in
aicam_opt/compile/unit_kinds/.
"""
from __future__ import annotations

import copy
from typing import Any

from ..errors import AicamError
from ..latency.target import load_target
from ..kernels import fullres as kernel

HOST_TARGET: dict[str, Any] = dict(kernel.HOST_TARGET)  # {"kind": "llvm", "mcpu": "native"}


def tvm_target(target_name: str, unit: str) -> dict[str, Any]:
    """The TVM target dict of `unit` in the target file (targets/<target_name>.yaml or a path; AicamError if it has none)."""
    target = load_target(target_name)
    spec = target.unit(unit).tvm
    if spec is None:
        raise AicamError(f"units.{unit} of {target.file} has no `tvm` field: add the TVM target "
                         "dict the unit compiles with (see aicam_opt/compile/targets.py)")
    return copy.deepcopy(spec.target)


def host_target() -> dict[str, Any]:
    """This machine's llvm target with its CPU name resolved (e.g. znver3)."""
    import tvm

    return {**HOST_TARGET, "mcpu": tvm.target.codegen.llvm_get_system_cpu()}


def without_host(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k != "host"}
