"""Reports of a search: tables (trials.csv, pareto.csv), plots (pareto.png, interactive pareto.html),
winners.json, summary.json (for the CI gate) and a self-contained report.html.

    from aicam_opt.report import write_reports
    write_reports(Path("reports/sd865"), study, space, "sd865")

`aicam-opt report reports/sd865` regenerates them from the study alone. The exports load lazily, so
the gate can read summary.json's schema (report.summary) without the plotting stack.
"""
from importlib import import_module

_EXPORTS = {"OUTPUTS": ".write", "write_reports": ".write"}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OUTPUTS", "write_reports"]
