"""The console the commands print to: rich's, except that into a pipe or a file (`| tee`, CI logs) nothing
is cut. rich lays a non-terminal out 80 columns wide (or $COLUMNS), so a wide table ellipsises its numbers
(`576.8…`) and long lines break mid-sentence; there, text is not wrapped and a table is laid out as wide
as its widest row."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

UNBOUNDED = 100_000  # columns: a table measured at this width takes its natural width


class OutputConsole(Console):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "soft_wrap" not in kwargs and not self.is_terminal:
            self.soft_wrap = True  # one line per message in a log

    def print(self, *objects: Any, **kwargs: Any) -> None:
        unbounded = self.options.update_width(UNBOUNDED)
        widest = 0 if self.is_terminal else max((self.measure(o, options=unbounded).maximum for o in objects
                                                 if isinstance(o, Table)), default=0)
        if widest <= self.width:
            super().print(*objects, **kwargs)
            return
        width = self.width
        self.width = widest
        try:
            super().print(*objects, **kwargs)
        finally:
            self.width = width
