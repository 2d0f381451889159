"""``db copy --to URL``: move the database (e.g. from the SQLite file to PostgreSQL);
``db set-password``: keep the PostgreSQL password in the keyring, never in a file."""

from __future__ import annotations

import sys

import click

from otter_tui.cli_state import CliState
from otter_tui.errors import UsageError

pass_state = click.make_pass_decorator(CliState)


@click.group()
def db() -> None:
    """The database: copy it to another (empty) one; store its password in the keyring."""


@db.command("copy")
@click.option("--to", "target", required=True, metavar="URL", help="An empty database's URL.")
@pass_state
def db_copy(state: CliState, target: str) -> None:
    """Copy every row of the configured database into the empty database at URL, ids kept.

    Then point ``database.url`` at it (see docs/deploy.md). With
    ``database.password_from_keyring`` the target's password is taken from the keyring too.
    """
    from otter_tui.store.copy import copy_database
    from otter_tui.store.dsn import connect_url

    target_url = connect_url(target, state.settings().database)
    result = copy_database(state.runtime().db, target_url)
    click.echo(f"copied {result.rows} rows of {result.tables} tables to {result.target}")


@db.command("set-password")
@click.option(
    "--url",
    metavar="URL",
    help="The database whose password this is (default: database.url, e.g. a copy's target).",
)
@pass_state
def db_set_password(state: CliState, url: str | None) -> None:
    """Store the PostgreSQL password in the keyring (service otter-tui).

    Typed at a hidden prompt (twice), or one line on standard input when it is not a terminal.
    Used when ``database.password_from_keyring = true``; see docs/deploy.md.
    """
    from otter_tui.database_settings import hide_password, parse_url
    from otter_tui.store.dsn import secret_name
    from otter_tui.transport.credentials import SERVICE, set_secret

    settings = state.settings()
    given = url or settings.database_url
    parsed = parse_url(given, "--url" if url else "'database.url'")
    if parsed.get_backend_name() != "postgresql":
        raise UsageError(f"{hide_password(given)} is a SQLite file: it has no password to store")
    password = _read_password()
    if not password:
        raise UsageError("empty password: nothing stored")
    set_secret(SERVICE, secret_name(parsed), password)
    click.echo(f"stored the password of {hide_password(given)} as {SERVICE} {secret_name(parsed)}")
    if not settings.database.password_from_keyring:
        click.echo("to use it: otter-tui config set database.password_from_keyring true")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


COMMANDS = (db,)
