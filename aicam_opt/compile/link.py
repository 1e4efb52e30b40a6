"""Linking a compiled TVM module into a shared library the device's TVM runtime can load.

A part's object code is linked for the platform its TVM target names (the llvm `mtriple` of the
unit, or of its host for a GPU part):

    platform          triple                    linker (first found)
    linux-x86_64      none / x86_64-*-linux-*   this host's C compiler (tvm.support.cc.get_cc: $CXX, $CC, g++, gcc, ...)
    linux-aarch64     aarch64-*-linux-gnu       aarch64-linux-gnu-gcc on PATH (Debian: gcc-aarch64-linux-gnu);
                                                this host's compiler when the host itself is aarch64 Linux
    android-aarch64   aarch64-linux-android*    --ndk PATH (the NDK's clang, or the NDK root), else $TVM_NDK_CC
                                                (TVM's convention), else aarch64-linux-android*-clang on PATH
    hexagon           kind hexagon              none here: hexagon-link ships with the Hexagon SDK

The link is TVM's own: `export_library(path, fcompile=tvm.support.cc.cross_compiler(cc, add_files=["-lm"]))`.
`-lm` goes after the objects (the toolchains link with --as-needed, and a library named before the
objects that need it is dropped): the math functions the kernels call (expf from softmax, ...) then
carry libm's symbol versions and libm is a NEEDED entry, so the device's loader resolves them.
Without a linker the object files are kept as TVM's tar (`export_library(<stem>.tar)`), which any of
the linkers above turns into the same library later.

`link_record` (in the compile manifest as `artifact.link`, and in `aicam-opt measure`'s build):
    {platform, linked, linker (path | null), found_by ("--ndk PATH" | "$TVM_NDK_CC" | "$CC/$CXX" | "PATH" | null),
     options, reason (why not linked, and how to get a linker | null)}
"""
from __future__ import annotations

import glob
import os
import platform as host_platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import atomic
from ..errors import AicamError

PLATFORMS = ("linux-x86_64", "linux-aarch64", "android-aarch64", "hexagon")
OS_NAMES = {"linux": "linux-gnu", "android": "linux-android"}
# SD865 phones launched with Android 10 (API 29): a library built for a newer API may need symbols
# their bionic lacks, one built for an older API works on every later one.
ANDROID_API = 29
LINK_LIBRARIES = ["-lm"]


@dataclass(frozen=True)
class Linker:
    platform: str
    compiler: str                   # absolute path of the C compiler driver that links
    found_by: str                   # where it came from (see the module doc)
    options: list[str] = field(default_factory=lambda: list(LINK_LIBRARIES))

    def fcompile(self) -> Callable:
        """TVM's compile function for export_library: the compiler, `-shared -fPIC`, objects, then -lm."""
        from tvm.support import cc

        return cc.cross_compiler(self.compiler, add_files=list(self.options))


def this_platform() -> str:
    machine = host_platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return f"linux-{arch}" if host_platform.system() == "Linux" else f"{host_platform.system().lower()}-{arch}"


def platform_of(target: dict[str, Any]) -> str:
    """The platform a build for `target` links for (see the module doc); an unknown triple is returned as is,
    a kind this project links nothing for by its name."""
    from .unit_kinds import for_target

    kind = for_target(target)
    triple = kind.link_triple(target)
    if triple is None:
        return kind.name
    if not triple:
        return this_platform()  # llvm without a triple builds for the machine that compiles
    arch = triple.split("-")[0]
    if "android" in triple:
        return f"android-{arch}"
    if "linux" in triple:
        return f"linux-{arch}"
    return triple


def retarget(target: dict[str, Any], os_name: str) -> dict[str, Any]:
    """`target` with its llvm triple(s) set to run on `os_name` ("linux" or "android"), keeping the ISA:
    a unit of sd865.yaml (aarch64-linux-android) becomes aarch64-linux-gnu for an aarch64 Linux board."""
    if os_name not in OS_NAMES:
        raise AicamError(f"operating system {os_name!r}: use one of {', '.join(OS_NAMES)}")

    def fix(t: Any) -> Any:
        if not isinstance(t, dict):
            return t
        out = dict(t)
        triple = out.get("mtriple")
        if isinstance(triple, str) and triple:
            out["mtriple"] = f"{triple.split('-')[0]}-{OS_NAMES[os_name]}"
        if "host" in out:
            out["host"] = fix(out["host"])
        return out

    return fix(target)


def _ndk_compiler(path: str) -> str:
    """--ndk PATH: the NDK's aarch64 clang itself, or an NDK root holding it (API ANDROID_API if present)."""
    given = Path(path).expanduser()
    if given.is_file() and os.access(given, os.X_OK):
        return str(given.resolve())
    if given.is_dir():
        found = glob.glob(str(given / "toolchains" / "llvm" / "prebuilt" / "*" / "bin" / "aarch64-linux-android*-clang"))
        by_api = {}
        for candidate in found:
            api = Path(candidate).name.removeprefix("aarch64-linux-android").removesuffix("-clang")
            if api.isdigit():
                by_api[int(api)] = candidate
        if by_api:
            newer = sorted(api for api in by_api if api >= ANDROID_API)
            return by_api[newer[0] if newer else max(by_api)]
    raise AicamError(f"--ndk {path}: neither an executable clang nor an Android NDK root with "
                     "toolchains/llvm/prebuilt/<host>/bin/aarch64-linux-android<API>-clang; pass the NDK folder "
                     "(e.g. ~/Android/Sdk/ndk/26.1.10909125) or its aarch64-linux-android29-clang")


def _which(name: str | None) -> str | None:
    return shutil.which(name) if name else None


def find_linker(platform: str, ndk: str | None = None) -> Linker | None:
    """The linker for `platform` on this machine, or None (see the module doc for the search order)."""
    here = this_platform()
    if platform == "android-aarch64":
        if ndk:
            return Linker(platform, _ndk_compiler(ndk), "--ndk PATH")
        env = _which(os.environ.get("TVM_NDK_CC"))
        if env:
            return Linker(platform, env, "$TVM_NDK_CC")
        for api in (ANDROID_API, *range(ANDROID_API + 1, 36), *range(ANDROID_API - 1, 20, -1)):
            found = _which(f"aarch64-linux-android{api}-clang")
            if found:
                return Linker(platform, found, "PATH")
        return None
    if platform == "linux-aarch64":
        found = _which("aarch64-linux-gnu-gcc")
        if found:
            return Linker(platform, found, "PATH")
    if platform == here and platform.startswith("linux-"):
        from tvm.support import cc

        env = os.environ.get("CXX") or os.environ.get("CC")
        compiler = _which(cc.get_cc())
        if compiler:
            return Linker(platform, compiler, "$CC/$CXX" if env else "PATH")
    return None


def missing_linker_reason(platform: str) -> str:
    """Why nothing links for `platform` here, and what provides a linker."""
    how = {
        "android-aarch64": "give the Android NDK with --ndk PATH or $TVM_NDK_CC=<ndk>/toolchains/llvm/prebuilt/"
                           f"linux-x86_64/bin/aarch64-linux-android{ANDROID_API}-clang",
        "linux-aarch64": "install the cross toolchain (Debian/Ubuntu: apt-get install gcc-aarch64-linux-gnu "
                         "binutils-aarch64-linux-gnu)",
        "hexagon": "link the objects with hexagon-link from the Qualcomm Hexagon SDK",
    }.get(platform, "install a C compiler for it")
    return f"no linker for {platform} on this machine: {how}"


def link_record(platform: str, linker: Linker | None) -> dict[str, Any]:
    return {"platform": platform, "linked": linker is not None,
            "linker": linker.compiler if linker else None, "found_by": linker.found_by if linker else None,
            "options": list(linker.options) if linker else [],
            "reason": None if linker else missing_linker_reason(platform)}


def export(executable: Any, stem: Path, target: dict[str, Any], ndk: str | None = None,
           require: bool = False) -> tuple[Path, dict[str, Any]]:
    """Write `<stem>.so` (linked for the platform of `target`) or, without a linker, `<stem>.tar` (TVM's
    tar of the object files). Returns the file and its link record. `require`: no linker is an AicamError."""
    platform = platform_of(target)
    linker = find_linker(platform, ndk)
    if linker is None and require:
        raise AicamError(missing_linker_reason(platform))
    stem.parent.mkdir(parents=True, exist_ok=True)
    if linker is not None:
        path = stem.with_name(stem.name + ".so")
        with atomic.atomic_path(path) as tmp:  # the temporary name ends in .so: export_library links it
            executable.export_library(str(tmp), fcompile=linker.fcompile())
    else:
        path = stem.with_name(stem.name + ".tar")
        with atomic.atomic_path(path) as tmp:
            executable.export_library(str(tmp))
    return path, link_record(platform, linker)


def describe(record: dict[str, Any]) -> str:
    """One line for a manifest's artifact format."""
    if record["linked"]:
        return f"shared library for {record['platform']}, linked with {record['linker']} ({record['found_by']})"
    return f"tar of object files from export_library ({record['reason']})"


__all__ = ["Linker", "PLATFORMS", "platform_of", "retarget", "find_linker", "export", "link_record",
           "missing_linker_reason", "describe", "this_platform"]
