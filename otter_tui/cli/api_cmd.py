"""``otter-tui api``: serve the HTTP API alone, and ``api keys add|list|revoke`` (docs/api.md)."""

from __future__ import annotations

import click

from otter_tui.api_settings import Bind, parse_bind
from otter_tui.cli.output import emit_json, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.services.api_keys import SCOPES, ApiKeyService

pass_state = click.make_pass_decorator(CliState)


def api_bind(state: CliState, given: str | None) -> Bind:
    """``--api``/``--bind`` when given (an address), else ``[api] bind`` from config.toml."""
    if given:
        return parse_bind(given, "--api")
    return parse_bind(state.settings().api.bind)


@click.group("api", invoke_without_command=True)
@click.option("--bind", default=None, metavar="HOST:PORT", help="Default: [api] bind.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.pass_context
def api(ctx: click.Context, bind: str | None, log_level: str) -> int | None:
    """Serve the HTTP API alone (no worker, no scheduler) until SIGTERM; or manage keys."""
    if ctx.invoked_subcommand is not None:
        return None
    from otter_tui.api.process import run_api

    state = ctx.find_object(CliState)
    assert state is not None
    address = api_bind(state, bind)
    return run_api(state.runtime(), address, level=log_level)


@api.group("keys")
def keys() -> None:
    """API keys: issued by a user, acting as that user over HTTP within their limits."""


def _service(state: CliState) -> ApiKeyService:
    return state.runtime().api_keys


@keys.command("add")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="What the key may do.")
@click.option("--template", "templates", multiple=True, help="Only these templates (repeat).")
@click.option(
    "--environment", "environments", multiple=True, help="Only servers in these (repeat)."
)
@pass_state
def keys_add(
    state: CliState,
    name: str,
    scope: str,
    templates: tuple[str, ...],
    environments: tuple[str, ...],
) -> None:
    """Issue a key owned by you; it is printed this once (only its hash is kept)."""
    view, token = _service(state).add(name, scope, templates, environments)
    click.echo(token)
    click.echo(f"API key {view.name} issued: scope {view.scope}, owner {view.owner}", err=True)


@keys.command("list")
@json_option
@pass_state
def keys_list(state: CliState, as_json: bool) -> None:
    """Every key with its scope, limits, owner and last use (never the key itself)."""
    views = _service(state).list_keys()
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(
        ["name", "scope", "owner", "templates", "environments", "last used", "revoked"],
        [
            (
                v.name,
                v.scope,
                v.owner,
                ",".join(v.templates) or "any",
                ",".join(v.environments) or "any",
                v.last_used_at or "never",
                v.revoked_at or "",
            )
            for v in views
        ],
    )


@keys.command("revoke")
@click.argument("name")
@pass_state
def keys_revoke(state: CliState, name: str) -> None:
    """End a key at once (yours, or any with users.manage)."""
    view = _service(state).revoke(name)
    click.echo(f"API key {view.name} revoked")


COMMANDS = (api,)
