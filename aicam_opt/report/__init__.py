"""Reports of a search: tables (trials.csv, pareto.csv), plots (pareto.png, interactive pareto.html),
winners.json, summary.json (for the CI gate) and a self-contained report.html.

    from aicam_opt.report import write_reports
    write_reports(Path("reports/sd865"), study, space, "sd865")

`aicam-opt report reports/sd865` regenerates them from the study alone.
"""
from .write import OUTPUTS, write_reports

__all__ = ["OUTPUTS", "write_reports"]
