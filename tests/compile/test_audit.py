"""Op audit: TVM's FLOPs per compiled function vs ours, a table, >1% differences with both numbers."""
from __future__ import annotations

import pytest

# Every test reads the session's compile of the winners for every unit (conftest.py).
pytestmark = pytest.mark.slow


def test_audit_table_and_differences(compiled):
    entry = compiled["winners"]["fastest"]
    detail = entry["op_audit_detail"]
    low, full = detail["low_res"], detail["full_res"]
    assert "| compiled function |" in low["table"] and "| bucket |" in low["table"]
    assert sum(f["flops"] for f in low["functions"]) > 0
    buckets = {b["bucket"]: b for b in low["buckets"]}
    for name in ("conv", "matmul", "elementwise"):  # the buckets that must agree (cost/tvm_check.py)
        assert buckets[name]["difference"] == 0.0, buckets[name]
    for diff in low["differences"] + full["differences"]:
        assert {"what", "ours", "tvm", "difference", "reason"} <= set(diff) and diff["reason"]
    # The fused kernel: one function, TVM's estimate against our per-op count of FullResPath.
    assert [f["function"] for f in full["functions"]] == ["fullres"] and full["functions"][0]["flops"] > 0
    (total,) = full["totals"]
    assert total["ours"] > 0 and total["tvm"] > 0
    assert any(d["what"] == total["what"] for d in full["differences"]) == (abs(total["difference"]) > 0.01)
    rows = entry["op_audit"]
    assert {r["part"] for r in rows} == {"low_res", "full_res"}
    assert all({"item", "ours", "tvm", "difference", "over_1pct", "reason"} <= set(r) for r in rows)


def test_int8_audit_lists_the_quantize_ops_aicam_opt_does_not_count(compiled):
    low = compiled["winners"]["best_quality"]["op_audit_detail"]["low_res"]
    assert {"quantize", "dequantize"} <= set(low["unmapped_tvm"])
    assert {"QuantizeLinear", "DequantizeLinear"} <= set(low["uncounted_ours"])
