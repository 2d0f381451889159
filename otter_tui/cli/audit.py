"""``audit``: read the audit trail (filtered), and ``audit verify`` its hash chain."""

from __future__ import annotations

from typing import Any

import click

from otter_tui.cli.output import emit_json, table
from otter_tui.cli_state import CliState
from otter_tui.errors import OtterError
from otter_tui.services.audit import AuditFilter, AuditView, parse_since

pass_state = click.make_pass_decorator(CliState)


def describe_change(view: AuditView) -> str:
    """``detail`` as ``k=v`` pairs, then each edited field as ``field: before -> after``."""
    parts = [f"{k}={v}" for k, v in view.detail.items()]
    before, after = view.before or {}, view.after or {}
    parts += [f"{k}: {before.get(k)} -> {after.get(k)}" for k in dict.fromkeys([*before, *after])]
    return "; ".join(parts)


@click.group(invoke_without_command=True)
@click.option("--since", default=None, help="A span back from now (30m, 2h, 7d) or an ISO time.")
@click.option("--actor", default="", help="Only what this user did.")
@click.option("--kind", default="", help="An action (job.denied) or its first part (job).")
@click.option("--job", "job", type=int, default=None, help="Only events about this job.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def audit(ctx: click.Context, /, as_json: bool, limit: int, **opts: Any) -> None:
    """Who did what, when: the audit trail, oldest first (newest LIMIT events)."""
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.find_object(CliState)
    assert state is not None
    runtime = state.runtime()
    since = None if opts["since"] is None else parse_since(opts["since"], runtime.ctx.now())
    wanted = AuditFilter(since, opts["actor"], opts["kind"], opts["job"])
    views = runtime.audit.list(wanted, limit=limit)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(
        ["id", "at", "actor", "action", "object", "detail"],
        [
            (v.id, f"{v.at:%Y-%m-%d %H:%M:%S}", v.actor, v.action,
             f"{v.object_type} {v.object_name}", describe_change(v))
            for v in views
        ],
    )  # fmt: skip


@audit.command("verify")
@pass_state
def audit_verify(state: CliState) -> None:
    """Check the hash chain: exit 1 naming the first event changed, removed or moved."""
    report = state.runtime().audit.verify()
    if not report.intact:
        raise OtterError(
            f"audit trail tampered with: {report.problem} ({report.checked} event(s) before it "
            "verified)"
        )
    click.echo(f"audit trail intact: {report.checked} event(s) verified")


COMMANDS = (audit,)
