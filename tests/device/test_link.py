"""Linking parts into shared libraries (compile.link) and the readelf check that a device can load them.

The aarch64 Linux link is real: Debian's gcc-aarch64-linux-gnu links the fused kernel and a Relax
low-res graph, as compile exports them (backend.export_artifact), and readelf checks the result.
Without the cross toolchain these tests skip, unless AICAM_REQUIRE_CROSS=1 (CI), where they fail.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from aicam_opt.compile import backend, link, shared_library
from aicam_opt.compile.engines.fused_kernel import compile_kernel
from aicam_opt.compile.engines.relax_graph import compile_relax
from aicam_opt.compile.parts import export_low_res_onnx
from aicam_opt.errors import AicamError
from aicam_opt.kernels import fullres
from aicam_opt.kernels.spec import spec_for

from .conftest import TINY

AARCH64_LINUX = {**fullres.PHONE_CPU_TARGET, "mtriple": "aarch64-linux-gnu"}
CROSS = shutil.which("aarch64-linux-gnu-gcc")


def needs_cross():
    if CROSS is None:
        if os.environ.get("AICAM_REQUIRE_CROSS") == "1":
            pytest.fail("AICAM_REQUIRE_CROSS=1 but aarch64-linux-gnu-gcc is not installed "
                        "(apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)")
        pytest.skip("no aarch64-linux-gnu-gcc (set AICAM_REQUIRE_CROSS=1 to make this a failure)")


def test_platforms_of_the_targets():
    from aicam_opt.compile.targets import tvm_target

    assert link.platform_of(fullres.PHONE_CPU_TARGET) == "android-aarch64"
    assert link.platform_of(tvm_target("sd865", "gpu")) == "android-aarch64"  # the GPU part's host code
    assert link.platform_of(tvm_target("sd865", "dsp")) == "hexagon"
    assert link.platform_of(AARCH64_LINUX) == "linux-aarch64"
    assert link.platform_of({"kind": "llvm", "mcpu": "native"}) == link.this_platform()
    board = link.retarget(tvm_target("sd865", "gpu"), "linux")
    assert board["host"]["mtriple"] == "aarch64-linux-gnu" and link.platform_of(board) == "linux-aarch64"
    with pytest.raises(AicamError, match="operating system 'ios'"):
        link.retarget(AARCH64_LINUX, "ios")


def test_android_without_ndk_keeps_the_object_tar(tmp_path, monkeypatch):
    """No NDK here: an Android part stays a tar of objects, and the record says how to link it."""
    monkeypatch.delenv("TVM_NDK_CC", raising=False)
    compiled = compile_kernel(spec_for(TINY, "uint8"), fullres.PHONE_CPU_TARGET)
    artifact = backend.export_artifact(compiled, tmp_path / "full_res-cpu")
    assert artifact["file"] == "full_res-cpu.tar" and not artifact["linked"]
    record = artifact["link"]
    assert record["platform"] == "android-aarch64" and record["linker"] is None
    assert "--ndk" in record["reason"] and "TVM_NDK_CC" in record["reason"]
    assert artifact["isa"] == ["aarch64"]


def test_ndk_option_names_a_missing_toolchain(tmp_path):
    with pytest.raises(AicamError, match="--ndk .*neither an executable clang nor an Android NDK root"):
        link.find_linker("android-aarch64", ndk=str(tmp_path))


def test_ndk_root_resolves_to_its_aarch64_clang(tmp_path):
    """An NDK root: its clang for API 29 (the SD865 phones' Android 10) is chosen over newer ones."""
    bin_dir = tmp_path / "toolchains" / "llvm" / "prebuilt" / "linux-x86_64" / "bin"
    bin_dir.mkdir(parents=True)
    for api in (24, 29, 34):
        clang = bin_dir / f"aarch64-linux-android{api}-clang"
        clang.write_text("#!/bin/sh\n")
        clang.chmod(0o755)
    linker = link.find_linker("android-aarch64", ndk=str(tmp_path))
    assert linker is not None and linker.found_by == "--ndk PATH"
    assert Path(linker.compiler).name == "aarch64-linux-android29-clang"


@pytest.mark.slow
def test_fused_kernel_links_for_aarch64_linux_and_is_loadable(tmp_path):
    needs_cross()
    compiled = compile_kernel(spec_for(TINY, "uint8"), AARCH64_LINUX)
    artifact = backend.export_artifact(compiled, tmp_path / "full_res-cpu")  # compile's own export
    assert artifact["file"] == "full_res-cpu.so" and artifact["linked"]
    assert artifact["link"]["platform"] == "linux-aarch64" and artifact["link"]["linker"] == CROSS
    library = shared_library.check_loadable(tmp_path / "full_res-cpu.so", "aarch64")
    assert library.machine == "AArch64" and library.shared_object
    providers = {s.name: s.provider for s in library.undefined}
    assert providers["TVMFFIErrorSetRaisedFromCStrParts"] == "tvm_runtime"
    assert all(providers.values())


@pytest.mark.slow
def test_relax_low_res_graph_links_for_aarch64_linux_and_is_loadable(tmp_path, tiny_dir, source):
    """The low-res graph calls expf (softmax, sigmoid): linked with -lm after the objects, it carries libm's
    symbol version; the same objects linked the naive way leave expf unversioned, which the check rejects."""
    needs_cross()
    from aicam_opt.compile.parts import load_candidate

    loaded = load_candidate(tiny_dir, source)
    compiled = compile_relax(export_low_res_onnx(loaded, tmp_path / "low_res.onnx"), AARCH64_LINUX)
    artifact = backend.export_artifact(compiled, tmp_path / "low_res-cpu")
    assert artifact["file"] == "low_res-cpu.so" and artifact["link"]["platform"] == "linux-aarch64"
    library = shared_library.check_loadable(tmp_path / "low_res-cpu.so", "aarch64")
    by_name = {s.name: s for s in library.undefined}
    assert by_name["expf"].library == "libm.so.6" and by_name["expf"].provider == "c_library"
    assert {"libm.so.6", "libc.so.6"} <= set(library.needed)

    from tvm.support import cc

    naive = tmp_path / "naive.so"
    compiled.executable.export_library(str(naive), fcompile=cc.cross_compiler(CROSS, options=["-lm"]))
    with pytest.raises(AicamError, match="undefined symbol expf .no symbol version."):
        shared_library.check_loadable(naive, "aarch64")
    with pytest.raises(AicamError, match="aarch64 code .AArch64., the device is x86_64"):
        shared_library.check_loadable(tmp_path / "low_res-cpu.so", "x86_64")
