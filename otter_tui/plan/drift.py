"""Configuration runs: collect every operation, then remediate only what drifted (Otter's drift).

Collection runs read-only commands and records, per operation, desired / drifted / unknown.
Remediation applies the drifted and unknown items (an unknown one cannot be known without
running it) and collects each again to confirm it is now as desired. A simulation collects,
logs what *would* change, and changes nothing. One failing item is recorded as an error and the
run goes on with the next, so a report shows every item's state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from otter_tui.errors import OtterError
from otter_tui.plan.operations.base import Operation
from otter_tui.plan.results import ItemResult, Status
from otter_tui.plan.sinks import ERROR, INFO, WARNING, LogSink, log_diff, masked_lines, masked_log
from otter_tui.transport.base import LineSink, Transport, mask


async def collect_all(
    ops: Iterable[Operation], transport: Transport, secrets: Sequence[str] = ()
) -> list[ItemResult]:
    """The drift report of one server: every operation collected, in order, read-only."""
    return [await collect_one(op, transport, secrets) for op in ops]


async def collect_one(op: Operation, t: Transport, secrets: Sequence[str] = ()) -> ItemResult:
    """Collect one operation; a failure to look is recorded as an error item."""
    try:
        found = await op.collect(t)
    except (OtterError, OSError) as exc:
        return masked_item(ItemResult(op.describe(), Status.ERROR, message=str(exc)), secrets)
    item = ItemResult(op.describe(), found.status, found.diff, found.reason)
    return masked_item(item, secrets)


async def remediate(
    ops: Iterable[Operation],
    transport: Transport,
    simulation: bool,
    log: LogSink,
    secrets: Sequence[str] = (),
    on_line: LineSink | None = None,
) -> list[ItemResult]:
    """Bring every operation to its desired state (or, in simulation, say what would change)."""
    out = masked_log(log, secrets)
    lines = masked_lines(on_line, secrets)
    return [await remediate_one(op, transport, simulation, out, secrets, lines) for op in ops]


async def remediate_one(
    op: Operation,
    t: Transport,
    simulation: bool,
    log: LogSink,
    secrets: Sequence[str] = (),
    on_line: LineSink | None = None,
) -> ItemResult:
    """Collect, then apply if needed and confirm; ``log`` must already mask ``secrets``."""
    found = await collect_one(op, t, secrets)
    if found.status in (Status.DESIRED, Status.ERROR):
        report_found(log, found)
        return found
    if simulation:
        report_would(log, found)
        return found
    return await _apply_and_confirm(op, t, found, log, secrets, on_line)


async def _apply_and_confirm(
    op: Operation,
    t: Transport,
    found: ItemResult,
    log: LogSink,
    secrets: Sequence[str],
    on_line: LineSink | None,
) -> ItemResult:
    try:
        applied = await op.apply(t, on_line)
    except (OtterError, OSError) as exc:
        log(ERROR, f"failed: {found.description}: {exc}")
        return masked_item(
            ItemResult(found.description, Status.ERROR, found.diff, str(exc)), secrets
        )
    after = await collect_one(op, t, secrets)
    if after.status in (Status.DRIFTED, Status.ERROR):
        why = after.message or "still drifted after apply"
        log(ERROR, f"not fixed: {found.description}: {why}")
        return ItemResult(found.description, Status.ERROR, after.diff or found.diff, why)
    status = Status.CHANGED if applied.changed else Status.DESIRED
    log(INFO, f"{'changed' if applied.changed else 'ok'}: {found.description}")
    log_diff(log, INFO, found.diff)
    return masked_item(ItemResult(found.description, status, found.diff, applied.message), secrets)


def report_found(log: LogSink, item: ItemResult) -> None:
    if item.status is Status.ERROR:
        log(ERROR, f"cannot collect: {item.description}: {item.message}")
    else:
        log(INFO, f"ok: {item.description}")


def report_would(log: LogSink, item: ItemResult) -> None:
    """Simulation's line for an item: what would change, or why the outcome is unknown."""
    if item.status is Status.UNKNOWN:
        log(WARNING, f"unknown: {item.description}: {item.message}")
    else:
        log(INFO, f"would change: {item.description}")
    log_diff(log, INFO, item.diff)


def masked_item(item: ItemResult, secrets: Sequence[str]) -> ItemResult:
    """The item with every secret masked in every text it carries."""
    if not any(secrets):
        return item
    return ItemResult(
        mask(item.description, secrets),
        item.status,
        mask(item.diff, secrets),
        mask(item.message, secrets),
    )
