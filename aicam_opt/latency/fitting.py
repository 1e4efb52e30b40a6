"""Fitting a target's efficiencies and overheads to measured latencies (MAP in log space).

Few measured rows, so few parameters, each with a prior: the unknowns are efficiencies per group
of op classes (e.g. dense / depthwise / vector work; the groups and priors are the target's
`calibration:` block), a memory efficiency, a per-op and a per-call overhead, optionally
specialised per precision (`dense@int8`). They are fitted by `scipy.optimize.least_squares` on

    residual_row   = log(predicted / measured) / ROW_SIGMA
    residual_prior = (log(param) - log(prior)) / prior_sigma

so that a parameter the rows say little about stays near its physically-motivated prior instead of
running off to fit noise. Predictions use the real `LatencyModel`, so the fit and every later
prediction share one code path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..cost.records import OpCost
from .model import Assignment, Calibration, LatencyModel, Placement, PrecisionCalibration
from .target import Target

ROW_SIGMA = 0.1  # a measured latency is trusted to about 10% (run-to-run, thermal state, runtime version)


@dataclass(frozen=True)
class Param:
    name: str          # "dense", "dense@int8", "memory", "per_op_us", "per_call_us", "multicore"
    prior: float
    sigma: float       # prior width in natural-log units (1.0: a factor e either way is plausible)
    upper: float = np.inf


@dataclass
class Row:
    """One measurement: a model's ops run on `assignment` (its unit, precision and runtime) took `ms`."""

    model: str
    ops: list[OpCost]
    assignment: Assignment
    ms: float


def _value(values: dict[str, float], name: str, precision: str) -> float:
    return values.get(f"{name}@{precision}", values.get(name))


def build_calibration(target: Target, values: dict[str, float], groups: dict[str, tuple[str, ...]],
                      unit: str, runtime: str, precisions: list[str], base: Calibration | None = None) -> Calibration:
    """A Calibration whose figures of `unit` through `runtime` come from `values` (the rest copied from `base`)."""
    units = {u: {r: dict(ps) for r, ps in rs.items()} for u, rs in (base.units.items() if base else [])}
    units.setdefault(unit, {})[runtime] = {}
    for p in precisions:
        eff = {cls: _value(values, g, p) for g, classes in groups.items() for cls in classes}
        units[unit][runtime][p] = PrecisionCalibration(
            compute_efficiency=eff, memory_efficiency=_value(values, "memory", p),
            per_op_overhead_us=_value(values, "per_op_us", p), per_call_overhead_us=_value(values, "per_call_us", p),
            multicore_efficiency=min(1.0, values.get("multicore", 1.0)),
            cache_speedup=_value(values, "cache_speedup", p) or 1.0)
    return Calibration(target=target.name, units=units)


def predict_rows(target: Target, cal: Calibration, rows: list[Row]) -> np.ndarray:
    model = LatencyModel(target, cal)
    return np.array([model.predict(r.ops, Placement(default=r.assignment)).latency_ms for r in rows])


def fit(target: Target, unit: str, runtime: str, rows: list[Row], params: list[Param],
        groups: dict[str, tuple[str, ...]], base: Calibration | None = None) -> tuple[dict[str, float], Calibration]:
    """MAP fit of `params` for `unit` through `runtime` to `rows` (each row's assignment names that runtime);
    returns the values and the resulting calibration."""
    precisions = sorted({r.assignment.precision for r in rows} | _precisions_named(params))
    measured = np.array([r.ms for r in rows])
    log_prior = np.log([p.prior for p in params])
    sigmas = np.array([p.sigma for p in params])

    def values_of(theta: np.ndarray) -> dict[str, float]:
        return {p.name: float(np.exp(t)) for p, t in zip(params, theta)}

    def residuals(theta: np.ndarray) -> np.ndarray:
        cal = build_calibration(target, values_of(theta), groups, unit, runtime, precisions, base)
        predicted = predict_rows(target, cal, rows)
        return np.concatenate([np.log(predicted / measured) / ROW_SIGMA, (theta - log_prior) / sigmas])

    upper = np.log([p.upper for p in params])
    x0 = np.minimum(log_prior, upper - 1e-6)
    result = least_squares(residuals, x0, bounds=(np.full(len(params), -np.inf), upper), x_scale=1.0, diff_step=1e-3)
    values = values_of(result.x)
    return values, build_calibration(target, values, groups, unit, runtime, precisions, base)


def _precisions_named(params: list[Param]) -> set[str]:
    return {p.name.split("@", 1)[1] for p in params if "@" in p.name}
