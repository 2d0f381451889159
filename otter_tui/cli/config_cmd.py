"""``config show|set|path``: read and change config.toml."""

from __future__ import annotations

from pathlib import Path

import click
import tomli_w

from otter_tui.cli.output import emit_json
from otter_tui.cli_state import CliState
from otter_tui.config import find_config, set_value, settings_as_dict

pass_state = click.make_pass_decorator(CliState)


@click.group("config")
def config_group() -> None:
    """Show or change the configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def config_show(state: CliState, as_json: bool) -> None:
    """Every setting with its effective value."""
    settings = state.settings()
    data = settings_as_dict(settings)
    if as_json:
        emit_json({"source": str(settings.source) if settings.source else None, **data})
        return
    # Valid TOML, so a line can be pasted into config.toml as it is.
    click.echo(f"# source: {settings.source or '(built-in defaults)'}")
    click.echo(tomli_w.dumps(data).rstrip())


@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument(
    "value"
)  # may start with "-": a negative number is a value to refuse, not an option
@pass_state
def config_set(state: CliState, key: str, value: str) -> None:
    """Set SECTION.KEY to VALUE in the config file, if the result validates."""
    path = find_config(state.config_path) or Path.cwd() / "config.toml"
    set_value(path, key, value)
    click.echo(f"set {key} in {path}")


@config_group.command("path")
@pass_state
def config_path(state: CliState) -> None:
    """Which config file is in use."""
    path = find_config(state.config_path)
    click.echo(str(path) if path else "(none: built-in defaults)")


COMMANDS = (config_group,)
