"""Compile stages and failures on real backends: Hexagon code (unit_kinds/hexagon.py) and its math
lowering, an op Hexagon still lacks, an unknown target kind."""
from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import pytest

from aicam_opt.compile import backend, elf
from aicam_opt.compile.engines.fused_kernel import compile_kernel
from aicam_opt.compile.failures import CompileFailure
from aicam_opt.compile.targets import tvm_target, without_host

from .conftest import add_one_prim_func
from aicam_opt.compile.unit_kinds import hexagon
from aicam_opt.kernels.fullres import KernelSpec

SPEC = KernelSpec(n_curves=1, knots=8, depth=4, grid_size=8, dtype="float32")




def test_stock_hexagon_build_with_aarch64_host_holds_no_hexagon_code(tmp_path):
    """Why DSP parts are built with the DSP as its own host: TVM 0.27 binds a plain TIR function to the
    aarch64 host, so tvm.compile 'for Hexagon' returns aarch64 code only (the ISA check would catch it)."""
    import tvm

    executable = tvm.compile(tvm.IRModule({"add_one": add_one_prim_func()}), target=tvm.target.Target(tvm_target("sd865", "dsp")))
    executable.export_library(str(tmp_path / "stock.tar"))
    assert {m["isa"] for m in backend.tar_members(tmp_path / "stock.tar")} == {"aarch64"}


def test_hexagon_as_its_own_host_gives_hexagon_objects(tmp_path):
    compiled = backend.Compiled(tvm_target("sd865", "dsp"), "fused_kernel")
    import tvm

    _, compiled.objects = hexagon.build_tir(tvm.IRModule({"add_one": add_one_prim_func()}), compiled.target)
    artifact = backend.export_artifact(compiled, tmp_path / "add_one-dsp")
    backend.check_isa(artifact)
    assert artifact["isa"] == ["hexagon"] and not artifact["linked"]
    with tarfile.open(tmp_path / artifact["file"]) as tar:
        assert all(name.endswith(".o") for name in tar.getnames())


def test_hexagon_build_leaves_no_scratch_files_behind():
    import tvm

    scratch_dir = Path(tempfile.gettempdir())  # where the codegen writes its tvm-XXXXXX.o
    before = set(scratch_dir.glob("tvm-*"))
    _, objects = hexagon.build_tir(tvm.IRModule({"add_one": add_one_prim_func()}), tvm_target("sd865", "dsp"))
    assert objects
    assert set(scratch_dir.glob("tvm-*")) - before == set()


def test_fused_kernel_on_hexagon_compiles_to_hexagon_objects_calling_floorf(tmp_path):
    """TVM 0.27's Hexagon rule maps floor to llvm.floor, which its codegen cannot declare; our rule
    calls floorf (the kernel's vectorized column blocks lane by lane), left for the device's libc."""
    compiled = compile_kernel(SPEC, tvm_target("sd865", "dsp"))
    artifact = backend.export_artifact(compiled, tmp_path / "full_res-dsp")
    backend.check_isa(artifact)
    assert artifact["isa"] == ["hexagon"] and not artifact["linked"]
    assert "floorf" in artifact["undefined_symbols"]
    with tarfile.open(tmp_path / artifact["file"]) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            assert data[:4] == b"\x7fELF" and int.from_bytes(data[18:20], "little") == 164  # EM_QDSP6
    assert compile_kernel(SPEC, tvm_target("sd865", "dsp")) is compiled  # same spec and target: reused


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_every_lowered_math_function_builds_for_hexagon(dtype):
    dsp = tvm_target("sd865", "dsp")
    for name in hexagon.LOWERED:
        assert hexagon.probe_math(name, dtype, dsp) is None, name


def _math_kernel(name: str, dtype: str):
    """b = name(a[, c]) on two 8-lane vectors (the rules' lane-by-lane path) and one scalar (b[15])."""
    from tvm.script import tirx as T

    fn = getattr(T, name)

    @T.prim_func
    def f(a: T.Buffer((16,), dtype), c: T.Buffer((16,), dtype), b: T.Buffer((16,), dtype)):
        for i in range(2):
            b[T.Ramp(i * 8, 1, 8)] = fn(a[T.Ramp(i * 8, 1, 8)], c[T.Ramp(i * 8, 1, 8)]) if name == "pow" else \
                fn(a[T.Ramp(i * 8, 1, 8)])
        b[15] = fn(a[15], c[15]) if name == "pow" else fn(a[15])

    return f


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_hexagon_rules_call_the_c_math_library_and_compute_the_function(dtype):
    """Lowered with the Hexagon rules, then (the calls being plain C: expf, ...) built and run on this host."""
    import numpy as np
    import tvm

    hexagon.register_math_lowering()
    hexagon.register_math_lowering()  # idempotent
    dsp = tvm.target.Target(without_host(tvm_target("sd865", "dsp")))
    host = tvm.target.Target({"kind": "llvm"})
    rng = np.random.default_rng(0)
    for name in hexagon.LOWERED:
        mod = tvm.tirx.transform.BindTarget(dsp)(tvm.IRModule({"main": _math_kernel(name, dtype)}))
        mod = tvm.tirx.transform.LowerIntrin()(mod)
        text = mod.script()
        assert "llvm." not in text and f'"{hexagon.LIBM.get(name, "expf")}"' in text, text
        lib = tvm.compile(tvm.IRModule({"main": mod["main"].with_attr("target", host)}), target=host)
        a = rng.uniform(0.1 if name in ("sqrt", "pow") else -3, 3, 16).astype(dtype)
        c = rng.uniform(-2, 2, 16).astype(dtype)
        out = tvm.runtime.tensor(np.zeros(16, dtype))
        lib["main"](tvm.runtime.tensor(a), tvm.runtime.tensor(c), out)
        x, y = a.astype(np.float64), c.astype(np.float64)
        expected = {"exp": np.exp, "sqrt": np.sqrt, "floor": np.floor, "ceil": np.ceil, "pow": lambda v: v ** y,
                    "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](x)
        tolerance = 1e-6 if dtype == "float32" else 1e-3  # relative; float16 rounds the float32 result
        error = np.max(np.abs(out.numpy().astype(np.float64) - expected) / np.maximum(1, np.abs(expected)))
        assert error < tolerance, (name, dtype, error)


def test_an_op_hexagon_still_lacks_is_named_with_its_reason():
    """float16 erf has no Hexagon lowering (float32 erf has): the build fails naming op and intrinsic."""
    import tvm
    from tvm import te

    a = te.placeholder((8,), "float16", name="a")
    b = te.compute((8,), lambda i: tvm.tirx.erf(a[i]), name="b")
    with pytest.raises(CompileFailure) as err:
        backend.tir_codegen(tvm.IRModule({"erf1": te.create_prim_func([a, b])}), tvm_target("sd865", "dsp"))
    failure = err.value.to_dict()
    assert failure["stage"] == "tir_codegen" and failure["op"] == "erf"
    assert failure["ops"][0]["math"] == "erf (float16)" and "tirx.erf" in failure["reason"]


def test_an_unknown_target_kind_fails_at_the_target_stage():
    with pytest.raises(CompileFailure) as err:
        compile_kernel(SPEC, {"kind": "no_such_backend"})
    assert err.value.stage == "target" and "no_such_backend" in err.value.reason


def test_elf_machine_reads_the_isa():
    assert backend.isa_of(b"\x7fELF\x02\x01" + bytes(12) + (183).to_bytes(2, "little")) == "aarch64"
    assert backend.isa_of(b"\x7fELF\x01\x01" + bytes(12) + (164).to_bytes(2, "little")) == "hexagon"
    assert backend.isa_of(b"not an object") is None
    assert elf.undefined_symbols(b"not an object") == []
