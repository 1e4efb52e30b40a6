"""The CI regression gate: compare a run's search summary against the committed baseline.

    from aicam_opt.gate import compare, load_pair, load_tolerances
    baseline, current = load_pair("reports/baseline/sd865.json", "reports/sd865/summary.json")
    result = compare(baseline, current, load_tolerances())
    result.passed, result.failures, result.rows          # rows: metric, baseline, current, tolerance, verdict

Modules: summary (reading summary.json), tolerances (the YAML model), compare (rows and verdicts),
cli (`aicam-opt gate`, the table and the exit code).
"""
from .compare import Comparison, Row, compare
from .summary import SCHEMA, Summary, load_pair, load_summary
from .tolerances import DEFAULT_TOLERANCES, Tolerance, Tolerances, load_tolerances

__all__ = ["Comparison", "DEFAULT_TOLERANCES", "Row", "SCHEMA", "Summary", "Tolerance", "Tolerances", "compare",
           "load_pair", "load_summary", "load_tolerances"]
