"""Plain-text tables and JSON for the command line (the core never uses rich)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

from otter_tui.text import visible


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_default, sort_keys=False))


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows under headers, each column as wide as its widest cell."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    click.echo(
        "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()
    )
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, dict):  # variables: as they are typed with --var
        return " ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return visible(str(value))  # errors and names may hold what a server printed


def fields(pairs: Iterable[tuple[str, object]]) -> None:
    """Print ``key: value`` lines for a ``show`` command."""
    items = list(pairs)
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        click.echo(f"{key + ':':<{width + 1}} {_cell(value)}")


F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def csv(value: str | None) -> tuple[str, ...]:
    """``a,b`` -> ("a", "b"); empty parts dropped.

    Here rather than in ``cli.inventory``: ``run`` and ``drift`` use it, and importing that
    module would load the trust services into every start of theirs."""
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())
