"""Ops the counter has no rule for: reported loudly, never costed as zero."""
from __future__ import annotations

import warnings

from .records import OpCost

UNCOUNTED = "UNCOUNTED"


class UncountedOpWarning(UserWarning):
    """Some ops of a graph have no counting rule: the totals are lower bounds."""


def uncounted_note(reason: str) -> str:
    return f"{UNCOUNTED}: {reason}; its arithmetic is unknown (not zero), bytes are from its tensor shapes"


def warn_if_uncounted(ops: list[OpCost], source: str) -> None:
    missing = [op for op in ops if not op.counted]
    if missing:
        kinds = sorted({op.op for op in missing})
        warnings.warn(f"{source}: {len(missing)} op(s) not counted ({', '.join(kinds)}); the totals leave "
                      "their arithmetic out. Add a rule in aicam_opt/cost/formulas.py and the graph front end.",
                      UncountedOpWarning, stacklevel=3)
