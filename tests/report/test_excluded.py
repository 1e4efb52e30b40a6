"""A trial that broke a constraint (here the flicker limit) may plot beyond the front and seem to beat the
winners: every report says it was excluded and why, and the interactive plot shows the front, the winners,
the budget and the uncompressed student."""
import base64
import json
import re

import numpy as np

import pandas as pd
import pytest

from aicam_opt.latency.target import load_target
from aicam_opt.report import write_reports
from aicam_opt.report.plots import EXCLUDED
from aicam_opt.search.space import SearchSpace
from aicam_opt.search.study import open_study

from .conftest import add_trial, figures


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("excluded")
    space = SearchSpace(name="flicker", description="one trial over the flicker limit",
                        objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    study = open_study(space, load_target("sd865"), out)
    study.set_user_attr("student", {**figures(99.0), "placement": {"low_res": "cpu:fp32", "full_res": "cpu:fp32"},
                                    "quality": {"psnr": 20.9, "flicker": 2.34}, "params": 72548})
    add_trial(study, out, 0, 0.05, 0.5, 30.0, "gpu")               # best quality within budgets
    add_trial(study, out, 1, 0.25, 0.9, 20.0, "cpu")               # fastest within 0.3 dB
    add_trial(study, out, 2, 0.01, 0.1, 10.0, "cpu", flicker=2.8)  # beats both, but flickers
    winners = write_reports(out, study, space, "sd865")
    return out, winners


def plotly_traces(page: str) -> list[dict]:
    """The traces of the figure a plotly HTML page draws (the JSON argument of Plotly.newPlot), with the
    arrays plotly stores as base64 ({"dtype", "bdata"}) decoded into lists."""
    call = page[page.index("Plotly.newPlot("):]
    traces, _ = json.JSONDecoder().raw_decode(call[call.index("["):])
    return [{k: decoded(v) for k, v in trace.items()} for trace in traces]


def decoded(value):
    if isinstance(value, dict) and set(value) == {"dtype", "bdata"}:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return value


def test_the_flickering_trial_is_no_winner_and_the_csv_says_why(written):
    out, winners = written
    assert {w.trial for w in winners.winners.values() if w is not None} <= {0, 1}
    trials = pd.read_csv(out / "trials.csv").set_index("trial")
    assert trials.loc[2, "excluded_by"].startswith("flicker over the limit")
    assert trials.loc[[0, 1], "excluded_by"].isna().all()


def test_report_html_marks_the_excluded_trial_and_why(written):
    out, _ = written
    page = (out / "report.html").read_text()
    assert "Trials excluded by a constraint" in page
    excluded = page[page.index("id=\"excluded\""):]
    excluded = excluded[:excluded.index("</table>")]
    assert re.search(r"<td>2</td>", excluded) and "flicker over the limit (student + allowance) by 0.310" in excluded
    assert "<td>0</td>" not in excluded and "<td>1</td>" not in excluded
    assert "Grey hollow markers: 1 trial(s) (#2) excluded by a constraint" in page


def test_pareto_html_shows_excluded_front_winners_budget_and_student(written):
    out, _ = written
    traces = {t["name"]: t for t in plotly_traces((out / "pareto.html").read_text())}
    excluded = traces[EXCLUDED]
    assert excluded["marker"]["symbol"] == "circle-open" and excluded["marker"]["color"] == "grey"
    assert len(excluded["x"]) == 1 and "excluded: flicker over the limit" in excluded["text"][0]
    assert "trial 2" in excluded["text"][0]
    front = traces["front (latency vs PSNR drop)"]
    assert front["mode"] == "lines" and 10.0 not in front["x"]  # the front of the candidates only
    assert sorted(front["x"]) == [20.0, 30.0]
    winners = traces["winners"]
    assert any("best_quality_within_budgets" in label and "#0" in label for label in winners["text"])
    assert any("fastest_within_0.3db" in label and "#1" in label for label in winners["text"])
    assert traces["budget 33 ms"]["x"] == [33.0, 33.0]
    student = traces["uncompressed student 99 ms"]
    assert student["x"] == [99.0] and student["y"] == [0.0]
    assert "0.3 dB tolerance" in traces
