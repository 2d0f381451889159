"""``db copy --to URL``: move the database (e.g. from the SQLite file to PostgreSQL)."""

from __future__ import annotations

import click

from otter_tui.cli.state import CliState
from otter_tui.store.copy import copy_database

pass_state = click.make_pass_decorator(CliState)


@click.group()
def db() -> None:
    """The database: copy it to another (empty) one."""


@db.command("copy")
@click.option("--to", "target", required=True, metavar="URL", help="An empty database's URL.")
@pass_state
def db_copy(state: CliState, target: str) -> None:
    """Copy every row of the configured database into the empty database at URL, ids kept.

    Then point ``database.url`` at it (see docs/deploy.md).
    """
    result = copy_database(state.runtime().db, target)
    click.echo(f"copied {result.rows} rows of {result.tables} tables to {result.target}")


COMMANDS = (db,)
