"""Compile stages and failures on real backends: Hexagon's missing math, an unknown target kind."""
from __future__ import annotations

import tarfile

import pytest

from aicam_opt.compile import backend
from aicam_opt.compile.targets import tvm_target
from aicam_opt.runtime.kernel import KernelSpec

SPEC = KernelSpec(n_curves=1, knots=8, depth=4, grid_size=8, dtype="float32")


def _add_one():
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def add_one(a: T.Buffer((64,), "float32"), b: T.Buffer((64,), "float32")):
        for i in range(64):
            with T.sblock("b"):
                vi = T.axis.remap("S", [i])
                b[vi] = a[vi] + T.float32(1)

    return add_one


def test_stock_hexagon_build_with_aarch64_host_holds_no_hexagon_code(tmp_path):
    """Why DSP parts are built with the DSP as its own host: TVM 0.27 binds a plain TIR function to the
    aarch64 host, so tvm.compile 'for Hexagon' returns aarch64 code only (the ISA check would catch it)."""
    import tvm

    executable = tvm.compile(tvm.IRModule({"add_one": _add_one()}), target=tvm.target.Target(tvm_target("sd865", "dsp")))
    executable.export_library(str(tmp_path / "stock.tar"))
    assert {m["isa"] for m in backend.tar_members(tmp_path / "stock.tar")} == {"aarch64"}


def test_hexagon_as_its_own_host_gives_hexagon_objects(tmp_path):
    compiled = backend.Compiled(tvm_target("sd865", "dsp"), "kernel")
    import tvm

    _, compiled.objects = backend._build_tir_hexagon(tvm.IRModule({"add_one": _add_one()}), compiled.target)
    artifact = backend.export_artifact(compiled, tmp_path / "add_one-dsp")
    backend.check_isa(artifact)
    assert artifact["isa"] == ["hexagon"] and not artifact["linked"]
    with tarfile.open(tmp_path / artifact["file"]) as tar:
        assert all(name.endswith(".o") for name in tar.getnames())


def test_fused_kernel_on_hexagon_fails_naming_the_op():
    with pytest.raises(backend.CompileFailure) as err:
        backend.compile_kernel(SPEC, tvm_target("sd865", "dsp"))
    failure = err.value.to_dict()
    assert failure["stage"] == "tir_codegen" and failure["op"] == "floor"
    assert "llvm.floor" in failure["reason"] and failure["ops"][0]["function"] == "fullres"


def test_an_unknown_target_kind_fails_at_the_target_stage():
    with pytest.raises(backend.CompileFailure) as err:
        backend.compile_kernel(SPEC, {"kind": "no_such_backend"})
    assert err.value.stage == "target" and "no_such_backend" in err.value.reason


def test_elf_machine_reads_the_isa():
    assert backend.elf_machine(b"\x7fELF\x02\x01" + bytes(12) + (183).to_bytes(2, "little")) == "aarch64"
    assert backend.elf_machine(b"not an object") is None
