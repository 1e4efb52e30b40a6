"""A negative, zero or non-finite latency, MAC count or memory figure in a summary is an input error
(exit 2 naming the file and the field), never an improvement."""
import json

import pytest

from aicam_opt.cli import main

FASTEST = "fastest_within_0.3db"


@pytest.mark.parametrize("block, figure, value", [
    ("winner", "predicted_latency_ms", -12.3),
    ("winner", "predicted_latency_ms", 0.0),
    ("winner", "macs", -1),
    ("winner", "peak_memory_mb", 0.0),
    ("winner", "speedup_vs_student", -3.0),
    ("student", "predicted_latency_ms", -46.0),
    ("student", "macs", 0),
    ("student", "peak_memory_mb", -12.0),
])
def test_a_figure_that_is_not_positive_is_refused(pair, write_json, capsys, block, figure, value):
    baseline, current = pair
    figures = current["winners"][FASTEST] if block == "winner" else current["student"]
    figures[figure]["preview"] = value
    cur = write_json("cur.json", current)
    code = main(["gate", "--baseline", write_json("base.json", baseline), "--current", cur])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    field = f"winners.{FASTEST}.{figure}.preview" if block == "winner" else f"student.{figure}.preview"
    assert cur in err and f"field '{field}'" in err and "greater than 0" in err


def test_a_nan_latency_is_refused(pair, write_json, capsys):
    baseline, current = pair
    text = json.dumps(current).replace('"preview": 12.3', '"preview": NaN', 1)
    assert "NaN" in text
    cur = write_json("cur.json", text)
    code = main(["gate", "--baseline", write_json("base.json", baseline), "--current", cur])
    _, err = capsys.readouterr()
    assert code == 2 and cur in err and f"winners.{FASTEST}.predicted_latency_ms.preview" in err


@pytest.mark.parametrize("field", ["reference_ms", "host_ms"])
def test_a_negative_host_time_is_refused(pair, write_json, capsys, field):
    baseline, current = pair
    if field == "reference_ms":
        current["measured"]["reference_ms"] = -12.5
    else:
        current["measured"]["host_ms"][FASTEST] = -310.0
    cur = write_json("cur.json", current)
    code = main(["gate", "--baseline", write_json("base.json", baseline), "--current", cur])
    _, err = capsys.readouterr()
    assert code == 2 and cur in err and f"measured.{field}" in err
