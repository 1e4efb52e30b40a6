"""Is a linked artifact loadable on its device? `readelf` (binutils) on the shared library.

A library the device's TVM runtime can `dlopen` is
- ELF for the device's ISA (e_machine, e.g. AArch64), of type DYN (a shared object);
- with every undefined symbol provided by what is always in the process:
  - the C library: symbols that carry a version of libc, libm, libdl or libpthread (glibc on Linux,
    bionic on Android; the version section names the library each comes from);
  - the TVM runtime the RPC server or the app has loaded: TVMFFI* (tvm-ffi's C ABI, e.g.
    TVMFFIErrorSetRaisedFromCStrParts), TVMBackend* (workspace allocation, parallel launch),
    __TVM* (the context symbols);
  - the weak hooks of the C start-up files every gcc/clang shared object has (__cxa_finalize,
    __gmon_start__, _ITM_registerTMCloneTable, _ITM_deregisterTMCloneTable), which may stay unresolved.
Anything else (an unversioned libm call, a C++ runtime symbol, ...) would fail to load or to run.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AicamError

# readelf's "Machine:" text -> the ISA names of compile.targets.ELF_MACHINES.
READELF_MACHINES = {"AArch64": "aarch64", "Advanced Micro Devices X86-64": "x86_64", "ARM": "arm",
                    "Intel 80386": "x86", "QUALCOMM DSP6 Processor": "hexagon"}
SYSTEM_LIBRARIES = re.compile(r"^lib(c|m|dl|pthread)\.so(\.\d+)*$")
TVM_RUNTIME_PREFIXES = ("TVMFFI", "TVMBackend", "__TVM")
CRT_WEAK_HOOKS = {"__cxa_finalize", "__gmon_start__", "_ITM_registerTMCloneTable", "_ITM_deregisterTMCloneTable"}


@dataclass
class UndefinedSymbol:
    name: str
    binding: str                     # GLOBAL | WEAK
    version: str | None = None       # e.g. GLIBC_2.27
    library: str | None = None       # the library that version belongs to, e.g. libm.so.6
    provider: str | None = None      # c_library | tvm_runtime | crt_weak_hook | None (not allowed)


@dataclass
class SharedLibrary:
    path: str
    elf_class: str                   # ELF64
    elf_type: str                    # DYN (Shared object file)
    machine: str                     # readelf's name, e.g. AArch64
    isa: str                         # aarch64 | x86_64 | ...
    needed: list[str] = field(default_factory=list)
    undefined: list[UndefinedSymbol] = field(default_factory=list)

    @property
    def shared_object(self) -> bool:
        return self.elf_type.startswith("DYN")

    def not_allowed(self) -> list[UndefinedSymbol]:
        return [s for s in self.undefined if s.provider is None]

    def problems(self, isa: str) -> list[str]:
        """What makes the library unloadable on an `isa` device (empty: it passes)."""
        out = []
        if self.isa != isa:
            out.append(f"{self.path}: {self.isa} code ({self.machine}), the device is {isa}")
        if not self.shared_object:
            out.append(f"{self.path}: ELF type {self.elf_type}, not a shared object (DYN)")
        for sym in self.not_allowed():
            where = f"version {sym.version} of {sym.library}" if sym.version else "no symbol version"
            out.append(f"{self.path}: undefined symbol {sym.name} ({where}) is neither from libc/libm/libdl/"
                       "libpthread nor from the TVM runtime")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shared_object": self.shared_object}


def readelf() -> str:
    for name in ("readelf", "aarch64-linux-gnu-readelf", "llvm-readelf"):
        found = shutil.which(name)
        if found:
            return found
    raise AicamError("readelf not found: install binutils (Debian/Ubuntu: apt-get install binutils)")


def _run(path: Path) -> str:
    proc = subprocess.run([readelf(), "-W", "--file-header", "--dynamic", "--dyn-syms", "--version-info", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or "Machine:" not in proc.stdout:
        raise AicamError(f"{path}: readelf cannot read it as ELF ({(proc.stderr or proc.stdout).strip()[:300]}); "
                         "is it a linked .so (not a tar of objects)?")
    return proc.stdout


def _header(text: str, key: str) -> str:
    match = re.search(rf"^\s*{key}:\s*(.+?)\s*$", text, re.M)
    return match.group(1) if match else ""


def _version_libraries(text: str) -> dict[str, str]:
    """Version index -> library, from the 'Version needs' section (File: libm.so.6 ... Version: 3)."""
    out: dict[str, str] = {}
    section = text.split("Version needs section", 1)
    if len(section) < 2:
        return out
    library = None
    for line in section[1].splitlines():
        file_match = re.search(r"File:\s*(\S+)", line)
        if file_match:
            library = file_match.group(1)
            continue
        version_match = re.search(r"Name:\s*(\S+)\s+Flags:.*Version:\s*(\d+)", line)
        if version_match and library:
            out[version_match.group(2)] = library
    return out


_SYMBOL = re.compile(r"^\s*\d+:\s+[0-9a-fA-F]+\s+\d+\s+(\w+)\s+(\w+)\s+\w+\s+UND\s+(\S+)(?:\s+\((\d+)\))?\s*$")


def inspect(path: str | Path) -> SharedLibrary:
    """The ELF header, NEEDED libraries and undefined dynamic symbols of `path` (each with its provider)."""
    path = Path(path)
    text = _run(path)
    machine = _header(text, "Machine")
    versions = _version_libraries(text)
    dyn_syms = text.split("Symbol table '.dynsym'", 1)[1] if "Symbol table '.dynsym'" in text else ""
    dyn_syms = dyn_syms.split("Version symbols section", 1)[0]
    undefined = []
    for line in dyn_syms.splitlines():
        match = _SYMBOL.match(line)
        if not match:
            continue
        _type, binding, raw, index = match.groups()
        name, _, version = raw.partition("@")
        version = version.lstrip("@") or None
        symbol = UndefinedSymbol(name, binding, version, versions.get(index) if index else None)
        if symbol.library and SYSTEM_LIBRARIES.match(symbol.library):
            symbol.provider = "c_library"
        elif name.startswith(TVM_RUNTIME_PREFIXES):
            symbol.provider = "tvm_runtime"
        elif name in CRT_WEAK_HOOKS and binding == "WEAK":
            symbol.provider = "crt_weak_hook"
        undefined.append(symbol)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)
    return SharedLibrary(str(path), _header(text, "Class"), _header(text, "Type"), machine,
                         READELF_MACHINES.get(machine, machine), needed, undefined)


def check_loadable(path: str | Path, isa: str) -> SharedLibrary:
    """`inspect(path)`, or AicamError listing why an `isa` device could not load it."""
    library = inspect(path)
    problems = library.problems(isa)
    if problems:
        raise AicamError("not loadable on the device:\n  " + "\n  ".join(problems))
    return library


__all__ = ["SharedLibrary", "UndefinedSymbol", "inspect", "check_loadable", "readelf"]
