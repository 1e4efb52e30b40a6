"""Where each part is compiled for: TVM target dicts, the ISA an artifact must contain, toolchains.

The phone's target dicts live in the target file, one per unit (`units.<unit>.tvm.target` in
targets/sd865.yaml), so the latency model and the compiler name the same units:

    cpu  {kind: llvm, mtriple: aarch64-linux-android, mcpu: cortex-a77, mattr: [+neon, +dotprod]}
    gpu  {kind: opencl, device: adreno, host: <cpu>}
    dsp  {kind: hexagon, mtriple: hexagon, mcpu: hexagonv66, mattr: [+hvxv66, +hvx-length128b],
          num-cores: 4, vtcm-capacity: 262144, host: <cpu>}

The host verification builds use `HOST_TARGET` (this x86-64 machine, llvm with its own CPU).
"""
from __future__ import annotations

import copy
import os
import shutil
from typing import Any

from ..errors import AicamError
from ..latency.target import load_target
from ..kernels import fullres as kernel

HOST_TARGET: dict[str, Any] = dict(kernel.HOST_TARGET)  # {"kind": "llvm", "mcpu": "native"}

# ELF e_machine of the object code each kind of build must contain (checked on every artifact, so
# a build that silently lands on the wrong processor is reported, not shipped).
ELF_MACHINES = {3: "x86", 40: "arm", 62: "x86_64", 164: "hexagon", 183: "aarch64"}


def tvm_target(target_name: str, unit: str) -> dict[str, Any]:
    """The TVM target dict of `unit` in targets/<target_name>.yaml (AicamError if it has none)."""
    target = load_target(target_name)
    spec = target.unit(unit).tvm
    if spec is None:
        raise AicamError(f"units.{unit} of targets/{target.name}.yaml has no `tvm` field: add the TVM target "
                         "dict the unit compiles with (see aicam_opt/compile/targets.py)")
    return copy.deepcopy(spec.target)


def host_target() -> dict[str, Any]:
    """This machine's llvm target with its CPU name resolved (e.g. znver3)."""
    import tvm

    return {**HOST_TARGET, "mcpu": tvm.target.codegen.llvm_get_system_cpu()}


def without_host(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k != "host"}


def expected_isa(target: dict[str, Any]) -> str:
    """The ISA the object code of a build for `target` must be: the device's for Hexagon (all of
    a DSP part runs on the DSP), else the host's (CPU code, and the GPU's host-side launcher)."""
    if target.get("kind") == "hexagon":
        return "hexagon"
    host = target.get("host", target) if target.get("kind") != "llvm" else target
    triple = str(host.get("mtriple", ""))
    if triple.startswith("aarch64"):
        return "aarch64"
    if triple.startswith(("arm", "thumb")):
        return "arm"
    if not triple or triple.startswith("x86_64"):
        return "x86_64"
    return triple.split("-")[0]


def cross_compiler(target: dict[str, Any]) -> str | None:
    """A C compiler that links shared libraries for `target`'s host, or None.

    Only aarch64 is looked for: `$TVM_NDK_CC` (TVM's convention for the Android NDK's clang), else an
    `aarch64-linux-android*-clang` or `aarch64-linux-gnu-gcc` on PATH. Without one, artifacts are
    exported as a tar of object files (link them on a machine with the NDK)."""
    if expected_isa(target) != "aarch64":
        return None
    env = os.environ.get("TVM_NDK_CC")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in ("aarch64-linux-android29-clang", "aarch64-linux-android-clang", "aarch64-linux-gnu-gcc"):
        if shutil.which(name):
            return shutil.which(name)
    return None
