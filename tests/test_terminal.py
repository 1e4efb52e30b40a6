"""Into a pipe (`| tee`, a CI log) no table cell is cut and no line is broken (aicam_opt.terminal)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from rich.table import Table

from aicam_opt.latency.cli import _si
from aicam_opt.terminal import OutputConsole

ROOT = Path(__file__).resolve().parents[1]


def test_a_wide_table_into_a_file_keeps_every_number():
    out = io.StringIO()
    table = Table()
    for i in range(14):
        table.add_column(f"column {i}")
    table.add_row(*[f"{576.8123 * i:.3f}" for i in range(14)])
    OutputConsole(file=out).print(table)
    OutputConsole(file=out).print("a long line " * 20)
    text = out.getvalue()
    assert "…" not in text and "7498.560" in text and "5768.123" in text
    assert ("a long line " * 20).strip() in text  # not broken at 80 columns


def test_cost_through_a_pipe_shows_full_numbers():
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"PYTHONPATH": str(ROOT)}
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "aicam_opt.cli", "cost", "student", "--target", "sd865", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True).stdout
    doc = json.loads(run("--json"))
    text = run()
    kernel = next(o for o in doc["ops"] if o["op"] == "fused_fullres_kernel")
    assert "…" not in text
    assert f"│ {kernel['name']} " in text and _si(kernel["macs"]) in text  # 556.14M, not 556.1…
    assert f"{doc['total']['latency_ms']:.2f} ms = low_res" in text
