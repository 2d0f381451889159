"""The ``otter-tui`` command line. With no command it opens the console.

Exit codes: 0 ok; 1 a failure (a job failed, a host was unreachable); 2 usage or bad input (an
unknown name, a malformed value or config.toml). Errors a user can cause are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from otter_tui import __version__
from otter_tui.cli.state import CliState
from otter_tui.errors import OtterError

log = logging.getLogger("otter_tui")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="config.toml to use (default: $OTTER_TUI_CONFIG, ./config.toml, user config dir).",
)
@click.version_option(__version__, prog_name="otter-tui")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Keyboard-driven console that orchestrates changes on a fleet of servers over SSH.

    Run with no command to open the console.
    """
    ctx.obj = CliState(config_path)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        open_console(ctx.obj)


def open_console(state: CliState) -> None:
    """Start the Textual app; the only place the core reaches the UI, and only by name."""
    runtime = state.runtime()
    app_module = importlib.import_module("screens.app")
    app_module.run_console(runtime)


def _register() -> None:
    for name in (
        "inventory",
        "config_cmd",
        "users",
        "plans",
        "jobs",
        "schedules",
        "templates",
        "queues",
        "daemon_cmd",
    ):
        try:
            module = importlib.import_module(f"otter_tui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"otter_tui.cli.{name}":
                raise
            continue
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the CLI, turn user errors into one line and an exit code."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    try:
        result: Any = cli.main(args=argv, prog_name="otter-tui", standalone_mode=False)
    except OtterError as exc:
        click.echo(f"otter-tui: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0
