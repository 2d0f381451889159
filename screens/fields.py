"""A block of text that a screen updates often, laid out again only when its height may change.

``Static.update`` lays out the whole screen every time, and a layout is followed by a repaint of
every visible widget: the job detail updates its fields on each reload of a running job (their
"ran ... for 12s" changes each second) and, on a job with 500 server runs streaming its log, those
layouts were a quarter of the full-screen repaints that kept key presses waiting
(``bench/keys.py``).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


class Fields(Static):
    """A ``height: auto`` block of plain text (no markup) that skips what does not change."""

    def __init__(self, text: Text, *, id: str | None = None) -> None:
        super().__init__(text, id=id, markup=False)
        self._shown = text

    def show(self, text: Text) -> None:
        """Show ``text``: nothing at all when it is what is shown; without a layout when both
        fit on as many unwrapped rows as before (the block keeps its height)."""
        if text == self._shown:
            return
        width = self.content_size.width
        rows = _rows(text, width)
        same_rows = rows is not None and rows == _rows(self._shown, width)
        self._shown = text
        self.update(text, layout=not same_rows)


def _rows(text: Text, width: int) -> int | None:
    """How many rows ``text`` takes at ``width``: its line count when no line wraps; None when
    one would (word wrapping then decides, and a layout measures it)."""
    lines = text.plain.split("\n")
    if width <= 0 or any(cell_len(line) > width for line in lines):
        return None
    return len(lines)
