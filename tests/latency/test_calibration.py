"""Calibration: reference networks, sd865 leave-one-model-out bars, committed figures are current."""
import json

import numpy as np
import pytest

from aicam_opt.latency import calibrate
from aicam_opt.latency.model import calibration_path, load_calibration
from aicam_opt.latency.reference_models import PUBLISHED_MACS
from aicam_opt.latency.target import load_target


@pytest.fixture(scope="module")
def published(missing_data):
    """The published Snapdragon 865 measurements: beside the repo (shared/calibration/), not in it."""
    if not calibrate.PUBLISHED.is_file():
        missing_data(f"{calibrate.PUBLISHED} (the sd865 reference measurements)")


@pytest.mark.parametrize("name", sorted(PUBLISHED_MACS))
def test_reference_networks_have_their_published_mac_counts(name):
    macs = sum(op.macs for op in calibrate.reference_ops(name))
    assert macs == pytest.approx(PUBLISHED_MACS[name], rel=0.02)
    assert all(op.counted for op in calibrate.reference_ops(name))


@pytest.fixture(scope="module")
def loo_report(published):
    return calibrate.validate_sd865()


def test_sd865_leave_one_model_out_meets_the_bars_on_cpu_and_gpu(loo_report):
    for unit in ("cpu", "gpu"):
        figures = loo_report["per_unit"][unit]
        assert figures["median_abs_error"] <= calibrate.SD865_MEDIAN_ERROR_BAR, (unit, figures)
        assert figures["max_ratio"] <= calibrate.SD865_MAX_RATIO_BAR, (unit, figures)
    # Every published row is predicted once, by a fit that did not see its model.
    assert len(loo_report["rows"]) == len(calibrate.published_rows())


@pytest.mark.usefixtures("published")
def test_committed_sd865_calibration_reproduces_the_published_rows():
    """In-sample, every unit (the DSP included, whose two rows cannot validate it out of sample)."""
    target = load_target("sd865")
    cal = load_calibration("sd865")
    df = calibrate.published_rows()
    for unit in df.unit.unique():
        rows = calibrate.sd865_rows(df, unit)
        predicted = calibrate.predict_rows(target, cal, rows)
        errors = np.abs(predicted - [r.ms for r in rows]) / [r.ms for r in rows]
        assert np.median(errors) <= 0.25 and errors.max() < 1.0, (unit, errors)


@pytest.mark.usefixtures("published")
def test_committed_sd865_calibration_is_what_the_command_produces():
    fresh = calibrate.calibrate_sd865()
    committed = json.loads(calibration_path("sd865").read_text())
    for unit, values in fresh.fit["parameters"].items():
        for name, value in values.items():
            assert committed["fit"]["parameters"][unit][name] == pytest.approx(value, rel=1e-3), (unit, name)


def test_committed_host_calibration_predicts_its_own_cases():
    """The host fit, checked on its calibration rows without timing anything (the timing check is a bench)."""
    committed = json.loads(calibration_path("host").read_text())
    rows = committed["fit"]["rows"]
    errors = [abs(r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"] for r in rows]
    assert np.median(errors) <= 0.25


@pytest.mark.bench
def test_host_calibration_redone_now_predicts_held_out_models():
    """Re-time every host case on this machine now, fit on the calibration cases, predict the held-out models.

    Fitting and validating on timings of the same session keeps the comparison fair on a shared
    machine, whose load moves every timing together by tens of percent from one hour to the next.
    """
    from aicam_opt.latency.host_bench import measure

    measurements = measure(log=lambda _: None)
    report = calibrate.validate_host(calibrate.fit_host(measurements), measurements)
    for r in report["rows"]:
        print(f"  {r['case']:32s} measured {r['measured_ms']:9.2f} ms  predicted {r['predicted_ms']:9.2f} ms")
    figures = report["per_unit"]["cpu"]
    print(f"host held-out: median |error| {figures['median_abs_error']:.3f}, Spearman {figures['spearman']:.3f}")
    assert figures["spearman"] >= calibrate.HOST_SPEARMAN_BAR
    assert figures["median_abs_error"] <= calibrate.HOST_MEDIAN_ERROR_BAR
