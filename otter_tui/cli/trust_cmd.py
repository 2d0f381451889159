"""``servers trust``: one server's host key, or the whole fleet's at once.

``--all`` fetches every key; ``--from-known-hosts`` takes them from an existing file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from otter_tui.cli.output import emit_json, table
from otter_tui.cli_state import CliState
from otter_tui.errors import HostKeyError, UsageError
from otter_tui.services.bulk_trust import CHANGED, NEW, BulkTrustService, KeyRow
from otter_tui.services.trust import TrustService

pass_state = click.make_pass_decorator(CliState)
USER_KNOWN_HOSTS = "~/.ssh/known_hosts"


@click.command("trust")
@click.argument("name", required=False)
@click.option(
    "--replace",
    is_flag=True,
    help="Accept a key that differs from the recorded one (the server was reinstalled).",
)
@click.option("--all", "every", is_flag=True, help="Fetch and trust every SSH server's key.")
@click.option(
    "--from-known-hosts",
    "known_hosts",
    is_flag=False,
    flag_value=USER_KNOWN_HOSTS,
    default=None,
    metavar="[FILE]",
    help=f"Take keys from an existing known_hosts (default {USER_KNOWN_HOSTS}).",
)
@click.option("--yes", is_flag=True, help="With --all: trust without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def servers_trust(
    state: CliState,
    name: str | None,
    replace: bool,
    every: bool,
    known_hosts: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Fetch NAME's SSH host key, show its fingerprint and trust it; or many at once.

    The key is recorded in the app's own known_hosts (in the data dir). Nothing is run on the
    server: only the key exchange happens. A key that differs from a recorded one is refused
    unless --replace is given (one server only: bulk trust never replaces a key).
    """
    modes = sum((name is not None, every, known_hosts is not None))
    if modes != 1:
        raise UsageError("servers trust takes NAME, --all or --from-known-hosts (one of them)")
    if name is not None:
        _trust_one(state, name, replace, as_json)
        return
    if replace:
        raise UsageError("--replace is for one server: bulk trust never replaces a recorded key")
    service = BulkTrustService(state.runtime().ctx)
    if known_hosts is not None:
        rows = service.from_known_hosts(Path(known_hosts).expanduser())
    else:
        rows = asyncio.run(service.scan())
    _trust_many(service, rows, confirm=every and not yes and not as_json, as_json=as_json)


def _trust_many(
    service: BulkTrustService, rows: list[KeyRow], confirm: bool, as_json: bool
) -> None:
    new = [r for r in rows if r.outcome == NEW]
    if confirm and new:
        _table(rows)
        click.confirm(f"trust {len(new)} new key(s)?", abort=True)
    done = service.trust(rows) if new else rows
    if as_json:
        emit_json([r.as_dict() for r in done])
    else:
        _table(done)
        counts: dict[str, int] = {}
        for row in done:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        click.echo(shown or "no SSH servers in the inventory")
    changed = [r.server for r in done if r.outcome == CHANGED]
    if changed:
        raise HostKeyError(
            f"host key CHANGED for {', '.join(changed)}: not trusted (check each server, then "
            "`otter-tui servers trust NAME --replace`)"
        )


def _table(rows: list[KeyRow]) -> None:
    table(
        ["server", "address", "fingerprint", "outcome", "detail"],
        [(r.server, f"{r.host}:{r.port}", r.fingerprint, r.outcome, r.detail) for r in rows],
    )


def _trust_one(state: CliState, name: str, replace: bool, as_json: bool) -> None:
    service = TrustService(state.runtime().ctx)
    result = asyncio.run(service.trust(name, replace=replace))
    if as_json:
        emit_json(result.as_dict())
        return
    where = f"{result.host}:{result.port}"
    click.echo(f"{result.server}: {where} presents {result.algorithm} {result.fingerprint}")
    if result.outcome == "already trusted":
        click.echo("already trusted; nothing changed")
        return
    for old in result.replaced:
        click.echo(f"replaced the previously recorded key {old}")
    click.echo(f"trusted: recorded in {result.file}")
    for path in result.stale:
        click.echo(f"note: {path} still lists the old key; otter-tui does not edit that file")
