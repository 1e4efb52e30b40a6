"""compile_winners: every role, null roles kept, a broken role recorded, duplicates compiled once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from aicam_opt.compile import compile_winners
from aicam_opt.errors import AicamError


def test_compile_json_holds_every_role(compiled, report_dir):
    on_disk = json.loads((report_dir / "compile.json").read_text())
    assert on_disk == json.loads(json.dumps(compiled))
    assert on_disk["schema"] == "aicam_opt.compile.winners/1" and on_disk["target"] == "sd865"
    winners = on_disk["winners"]
    assert set(winners) == {"fastest", "best_quality", "balanced", "no_winner", "broken"}
    assert winners["no_winner"] is None
    assert winners["broken"]["status"] == "failed" and "not found" in winners["broken"]["error"]
    assert winners["fastest"]["trial"] == 1 and winners["fastest"]["candidate_dir"] == "trials/0001"
    assert winners["fastest"]["artifacts_dir"] == "artifacts/fastest"


def test_a_role_naming_the_same_candidate_gets_a_copy(compiled, report_dir, part_of):
    balanced = compiled["winners"]["balanced"]
    assert any("same candidate as role 'fastest'" in n for n in balanced["notes"])
    for part in ("low_res", "full_res"):
        artifact = report_dir / "artifacts" / "balanced" / part_of(balanced, part)["artifact"]
        assert artifact.is_file()
    assert Path(balanced["out_dir"]) == (report_dir / "artifacts" / "balanced").resolve()


def test_missing_winners_file_is_a_clear_error(tmp_path):
    with pytest.raises(AicamError, match="no winners.json"):
        compile_winners(tmp_path, "sd865")
