"""How jobs read on screen: states, modes, times, durations and server-run counts.

Every function returns plain text (or a ``Text`` with a style); nothing here parses markup, so a
plan or server name is always shown as written.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from otter_tui.services.jobs import JobView, RunCounts
from otter_tui.text import visible

STATE_STYLES = {
    "pending_approval": "bold magenta",
    "scheduled": "cyan",
    "queued": "cyan",
    "running": "bold yellow",
    "succeeded": "green",
    "warning": "yellow",
    "failed": "bold red",
    "cancelled": "dim",
    "interrupted": "red",
    "denied": "red",
    "expired": "dim",
    "pending": "dim",
}
"""The colour of each job and server-run state."""


def state_text(state: str) -> Text:
    return Text(state.replace("_", " "), style=STATE_STYLES.get(state, ""))


def mode_label(view: JobView) -> str:
    """``check`` for a drift check, ``simulation`` when the job changes nothing, else ``run``."""
    if view.mode == "check":
        return "check"
    return "simulation" if view.simulation else "run"


def when(moment: datetime | None) -> str:
    """A stored (UTC) time in the local zone, short: ``11-30 14:02:11``."""
    return moment.astimezone().strftime("%m-%d %H:%M:%S") if moment else "-"


def seconds_text(seconds: float) -> str:
    """``4s``, ``2m 05s``, ``1h 02m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def duration(started: datetime | None, finished: datetime | None, now: datetime) -> str:
    """How long something ran, or has been running; ``-`` before it started."""
    if started is None:
        return "-"
    return seconds_text(max(((finished or now) - started).total_seconds(), 0))


def counts_text(
    counts: RunCounts | None, simulation: bool, unknowns: int = 0, *, check: bool = False
) -> str:
    """``2/3 done, 1 failed, 5 changed`` (``would change`` in a simulation, ``drifted`` in a
    drift check, and the unknowns)."""
    if counts is None or not counts.total:
        return "-"
    states = counts.states
    done = counts.total - states.get("pending", 0) - states.get("running", 0)
    parts = [f"{done}/{counts.total} done"]
    parts += [f"{states[s]} {s}" for s in ("failed", "warning", "cancelled") if states.get(s)]
    verb = "drifted" if check else "would change" if simulation else "changed"
    parts.append(f"{counts.changes} {verb}")
    if unknowns:
        parts.append(f"{unknowns} unknown")
    return ", ".join(parts)


def variables_text(view: JobView) -> str:
    """``version=1.2.3 workers=2``; sensitive variables by name only, never a value."""
    shown = [f"{name}={value}" for name, value in sorted(view.variables.items())]
    shown += [f"{name}=(sensitive)" for name in view.sensitive_names]
    return " ".join(shown) or "-"


def describe_job(view: JobView, now: datetime) -> Text:
    """The job's fields for the detail and approval panes, as plain text."""
    text = Text()
    text.append(f"job {view.id}  ", style="bold")
    text.append(view.plan_name, style="bold")
    text.append("  ")
    text.append_text(state_text(view.state))
    rows: list[tuple[str, str]] = [
        ("plan", view.plan_key),
        ("mode", mode_label(view)),
        ("targets", view.targets.describe()),
        ("variables", variables_text(view)),
        ("requested", f"by {view.requested_by} at {when(view.created_at)}"),
    ]
    if view.started_at is not None:
        ran = f"{when(view.started_at)} for {duration(view.started_at, view.finished_at, now)}"
        ran += f" on {view.worker}" if view.worker else ""
        rows.append(("ran", ran))
    elif view.run_at > view.created_at:
        rows.append(("runs at", when(view.run_at)))
    for decision in view.approvals:
        why = f": {visible(decision.comment)}" if decision.comment else ""
        rows.append(
            (decision.decision, f"by {decision.decided_by} at {when(decision.decided_at)}{why}")
        )
    for label, value in rows:
        text.append(f"\n{label:<10}", style="dim")
        text.append(value)
    if view.error:
        text.append(f"\n{'error':<10}", style="dim")
        text.append(visible(view.error), style="red")
    return text
