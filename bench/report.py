"""The one table: rows of figures, their floor and ratio, the target and where we stand."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = (
    "section",
    "N",
    "figure",
    "value",
    "floor",
    "ratio",
    "otter-tui/pyinfra",
    "target",
    "status",
)


@dataclass
class Row:
    """One figure. ``floor`` None: no floor for it; ``value`` None: not measured (see note)."""

    section: str
    n: str
    figure: str
    value: float | None
    unit: str = ""
    floor: float | None = None
    target: str = ""
    ok: bool | None = None
    """True met, False missed, None no target (or not measured)."""
    note: str = ""
    versus: float | None = None
    """pyinfra rows: otter-tui's figure over pyinfra's, both from the same run (< 1: ahead)."""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    def cells(self) -> list[str]:
        status = {True: "ok", False: "MISS", None: ""}[self.ok]
        if self.value is None:
            status = self.note or "not measured"
        elif self.note:
            status = f"{status} ({self.note})" if status else self.note
        ratio = self.ratio
        return [
            self.section,
            self.n,
            self.figure,
            _num(self.value, self.unit),
            _num(self.floor, self.unit),
            "" if ratio is None else f"{ratio:.2f}x",
            "" if self.versus is None else f"{self.versus:.2f}x",
            self.target,
            status,
        ]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    """Extra markdown (profiles) for latest.md only."""

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def text(self) -> str:
        cells = [list(COLUMNS), *(r.cells() for r in self.rows)]
        widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        head = "| " + " | ".join(COLUMNS) + " |"
        rule = "|" + "|".join(" --- " for _ in COLUMNS) + "|"
        body = [
            "| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in self.rows
        ]
        return "\n".join([head, rule, *body])

    def notes(self) -> str:
        return "\n".join(f"[{i}] {note}" for i, note in enumerate(self.footnotes, start=1))


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1000:
        text = f"{value:.0f}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def machine_line() -> str:
    """CPU, cores, RAM, Python, OpenSSH, date and load: what the figures were taken on."""
    cpu = _cpu_model()
    ram = _meminfo_gib()
    ssh = _openssh_version()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python {platform.python_version()}; "
        f"{ssh}; {now}; load average {load}"
    )


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown CPU"


def _meminfo_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0


def _openssh_version() -> str:
    try:
        out = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False)
    except OSError:
        return "OpenSSH unknown"
    return (out.stderr or out.stdout).strip().split(",")[0]
