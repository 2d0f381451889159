"""A job's result from its server runs' results: one rule for every place that ends a job.

The engine ends a job from the outcomes it holds in memory; a sliced job is ended by whichever
process finishes its last slice, from the server-run rows all its workers wrote. Both pass
objects with a run ``state`` and its counts, so both give the same state and summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from otter_tui.store.states import JobState, RunState


class RunResult(Protocol):
    """What a job's result is made of: an engine ``Outcome`` or a ``ServerRun`` row."""

    @property
    def state(self) -> RunState: ...
    @property
    def changes(self) -> int: ...
    @property
    def unknowns(self) -> int: ...
    @property
    def warnings(self) -> int: ...


def job_state(outcomes: Iterable[RunResult], cancelled: bool) -> JobState:
    """The job's result from its server runs' results.

    A run marked ``interrupted`` (its worker died or stopped mid-run) makes the job
    ``interrupted``, as a job whose own worker died is: it is never re-run.
    """
    states = {o.state for o in outcomes}
    if cancelled or RunState.CANCELLED in states:
        return JobState.CANCELLED
    if RunState.INTERRUPTED in states:
        return JobState.INTERRUPTED
    if RunState.FAILED in states:
        return JobState.FAILED
    if RunState.WARNING in states:
        return JobState.WARNING
    return JobState.SUCCEEDED


def summarize(outcomes: list[Any], simulation: bool, mode: str = "run") -> dict[str, Any]:
    states: dict[str, int] = {}
    for o in outcomes:
        states[o.state.value] = states.get(o.state.value, 0) + 1
    return {
        "server_runs": len(outcomes),
        "states": states,
        "changes": sum(o.changes for o in outcomes),
        "unknowns": sum(o.unknowns for o in outcomes),
        "warnings": sum(o.warnings for o in outcomes),
        "simulation": simulation,
        "mode": mode,
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary["states"].items())) or "no server runs"
    if summary.get("mode") == "check":
        verb = "drifted"
    else:
        verb = "would change" if summary["simulation"] else "changed"
    return (
        f"{states}; {summary['changes']} {verb}, {summary['unknowns']} unknown, "
        f"{summary['warnings']} warning(s)"
    )
