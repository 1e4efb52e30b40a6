"""The units' TVM targets come from the target file; the ISA each build must contain (by unit kind)."""
from __future__ import annotations

import pytest
import yaml

from aicam_opt.compile.targets import host_target, tvm_target
from aicam_opt.compile.unit_kinds import for_target
from aicam_opt.errors import AicamError
from aicam_opt.latency.target import TARGETS_DIR


def test_sd865_units_have_their_tvm_targets():
    cpu, gpu, dsp = (tvm_target("sd865", u) for u in ("cpu", "gpu", "dsp"))
    assert cpu == {"kind": "llvm", "mtriple": "aarch64-linux-android", "mcpu": "cortex-a77", "mattr": ["+neon", "+dotprod"]}
    assert gpu["kind"] == "opencl" and gpu["device"] == "adreno" and gpu["host"] == cpu
    assert dsp["kind"] == "hexagon" and dsp["mcpu"] == "hexagonv66" and dsp["host"] == cpu
    assert {"+hvxv66", "+hvx-length128b"} <= set(dsp["mattr"]) and dsp["vtcm-capacity"] == 256 * 1024
    isas = [for_target(t).expected_isa(t) for t in (cpu, gpu, dsp, host_target())]
    assert isas == ["aarch64", "aarch64", "hexagon", "x86_64"]


def test_a_unit_without_tvm_target_is_a_clear_error(tmp_path):
    raw = yaml.safe_load((TARGETS_DIR / "sd865.yaml").read_text())
    del raw["units"]["dsp"]["tvm"]
    path = tmp_path / "no_dsp.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(AicamError, match=r"units\.dsp .* has no `tvm` field"):
        tvm_target(str(path), "dsp")
