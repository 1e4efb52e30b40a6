"""Timing one built part on the remote: upload, load, TVM's time_evaluator.

Before anything is sent, the artifact's ISA (its ELF header) is compared with the remote's (its
LLVM triple, where the server reports one): an aarch64 library for an x86-64 server is an error that
says so, not a load failure deep in the remote. A runtime-only remote (the Android RPC app) reports
no triple: a library it cannot load is explained from its dlopen error.

The function is timed by `time_evaluator` on the remote: one untimed warm-up call, then `repeat`
timings, each the mean of `number` calls (the remote's clock; the RPC round trip is not in them).
A Relax part runs through the VM's stateful API (inputs set once, `invoke_stateful` timed); the fused
kernel is called directly with its destination tensor allocated on the device.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import AicamError
from .build import BuiltPart, OutputBuffer
from .remote import UNIT_DEVICES, Remote


class RemoteFailure(Exception):
    """The remote failed (or vanished) while a part was being uploaded, loaded or timed."""

    def __init__(self, part: str, stage: str, reason: str):
        super().__init__(f"{part} ({stage}): {reason}")
        self.part, self.stage, self.reason = part, stage, reason


def _reason(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else type(err).__name__)[:400]


def check_isa(part: BuiltPart, remote: Remote) -> None:
    """AicamError when the artifact's code is for another ISA than the remote reports (before uploading)."""
    device_isa = remote.info.get("isa")
    if part.isa and device_isa and part.isa != device_isa:
        platform = (part.link or {}).get("platform", "?")
        raise AicamError(
            f"{part.file.name if part.file else part.part}: {part.isa} code (built for {platform}), but the "
            f"{remote.describe()} is {remote.info.get('triple')} ({device_isa}): nothing was uploaded. Measure with "
            f"the --target (and --os) of that device, e.g. `--target host` for this machine, or point --rpc/--tracker "
            f"at the {part.isa} device")


def unit_device(remote: Remote, unit: str):
    return getattr(remote.session, UNIT_DEVICES[unit])(0)


def _tensor(arg: Any, device):
    import tvm

    if isinstance(arg, OutputBuffer):
        return tvm.runtime.empty(arg.shape, arg.dtype, device=device)
    if isinstance(arg, np.ndarray):
        return tvm.runtime.tensor(arg, device=device)
    return arg


def _load(remote: Remote, part: BuiltPart):
    assert part.file is not None
    session = remote.session
    if part.sha256 in remote.loaded:  # the same library, already loaded in this session
        return remote.loaded[part.sha256]
    # Named by content: the parts of several models share file names (low_res-cpu.so), and a remote that
    # already loaded one name would keep running the first library under it.
    remote_name = f"{part.sha256[:16]}-{part.file.name}" if part.sha256 else part.file.name
    try:
        session.upload(str(part.file), target=remote_name)
    except Exception as err:  # noqa: BLE001 - TVM RPC errors
        raise RemoteFailure(part.part, "upload", _reason(err)) from None
    try:
        module = session.load_module(remote_name)
        if part.sha256:
            remote.loaded[part.sha256] = module
        return module
    except Exception as err:  # noqa: BLE001
        reason = _reason(err)
        if "shared library" in reason or "shared object" in reason or "dlopen" in reason.lower():
            platform = (part.link or {}).get("platform", "?")
            raise AicamError(
                f"the {remote.describe()} could not load {part.file.name} ({reason}). It holds {part.isa} code linked "
                f"for {platform}: check that the device is {part.isa} and runs "
                f"{'Android (build with --ndk)' if platform.startswith('android') else 'Linux'}; for another "
                f"operating system pass --os linux|android, for another ISA the device's --target") from None
        raise RemoteFailure(part.part, "load", reason) from None


def time_part(remote: Remote, part: BuiltPart, repeat: int, number: int = 1) -> list[float]:
    """The part's `repeat` timings in milliseconds on its unit of the remote (see the module doc)."""
    from tvm.runtime.vm import VirtualMachine

    check_isa(part, remote)
    library = _load(remote, part)
    try:
        device = unit_device(remote, part.unit)
        args = [_tensor(a, device) for a in part.args]
        if part.runs_as == "vm":
            devices = [device] if part.unit == "cpu" else [device, remote.session.cpu(0)]
            vm = VirtualMachine(library, devices)
            vm.set_input(part.entry, *args)
            result = vm.time_evaluator("invoke_stateful", device, number=number, repeat=repeat)(part.entry)
        else:
            result = library.time_evaluator(part.entry, device, number=number, repeat=repeat)(*args)
    except Exception as err:  # noqa: BLE001 - a dead remote surfaces as TVM's RPC/socket errors
        raise RemoteFailure(part.part, "run", _reason(err)) from None
    return [float(t) * 1e3 for t in result.results]


__all__ = ["time_part", "check_isa", "RemoteFailure"]
