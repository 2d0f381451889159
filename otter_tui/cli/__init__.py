"""The ``otter-tui`` command line. With no command it opens the console.

Exit codes: 0 ok; 1 a failure (a job failed, a host was unreachable); 2 usage or bad input (an
unknown name, a malformed value or config.toml). Errors a user can cause are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from otter_tui import __version__, log_lines
from otter_tui.cli_state import CliState
from otter_tui.errors import OtterError, database_trouble
from otter_tui.heap import collector_paused, own_process

log = logging.getLogger("otter_tui")


COMMAND_MODULES: dict[str, str] = {
    "servers": "inventory",
    "roles": "inventory",
    "environments": "inventory",
    "vars": "inventory",
    "inventory": "inventory_io",
    "config": "config_cmd",
    "users": "users",
    "plans": "plans",
    "run": "jobs",
    "jobs": "jobs",
    "drift": "drift",
    "approvals": "approvals",
    "schedules": "schedules",
    "templates": "templates",
    "queues": "queues",
    "daemon": "daemon_cmd",
    "api": "api_cmd",
    "audit": "audit",
    "db": "db_cmd",
}
"""Each top-level command and the ``otter_tui.cli`` module whose ``COMMANDS`` defines it.

Command modules are imported only when one of their commands is named (or ``--help`` lists them
all): they pull in the services, SQLAlchemy, asyncssh and the engine, which ``--version`` and the
console's first frame do not need. A module that is not installed (an optional part) is skipped.
"""


class LazyCommands(dict[str, click.Command]):
    """The group's commands, each module imported when one of its commands is first looked up.

    A plain ``commands[name]`` (as tests and docs checks do) loads the command like
    ``get_command`` does; iterating shows only what is loaded, so :meth:`LazyGroup.list_commands`
    loads everything first.
    """

    def __missing__(self, name: str) -> click.Command:
        if name in COMMAND_MODULES:
            self.load(COMMAND_MODULES[name])
        if not dict.__contains__(self, name):
            raise KeyError(name)
        return dict.__getitem__(self, name)

    def load(self, module_name: str) -> None:
        """Import ``otter_tui.cli.<module_name>`` and add its ``COMMANDS``; absent: skip it."""
        try:
            with collector_paused():
                module = importlib.import_module(f"otter_tui.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"otter_tui.cli.{module_name}":
                raise
            return
        for command in getattr(module, "COMMANDS", ()):
            self.setdefault(command.name or "", command)

    def load_all(self) -> None:
        for module_name in dict.fromkeys(COMMAND_MODULES.values()):
            self.load(module_name)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, from :data:`COMMAND_MODULES`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        try:
            return self.commands[cmd_name]
        except KeyError:
            return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command: listing them shows each one's help, so every module is imported."""
        if isinstance(self.commands, LazyCommands):
            self.commands.load_all()
        return sorted(self.commands)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    state.config_path = config_path
    ctx.obj = state
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        open_console(ctx.obj)


def open_console(state: CliState) -> None:
    """Start the Textual app (as the installed command does without Click: ``entry``)."""
    from otter_tui.entry import show_console

    show_console(state)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the CLI, turn user errors into one line and an exit code;
    what the engine or a library logs on the way is one line on stderr too."""
    own_process()
    log_lines.install()
    sys.exit(run(argv))


def run(
    argv: list[str] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    actor: str | None = None,
) -> int:
    """Run the CLI with ``argv`` and return its exit code: the factory every front end shares.

    ``clock`` (default: the system clock) is what "now" is for the command and everything it
    builds (services, scheduler, daemon, console): a program embedding otter-tui, or a test,
    passes a fixed clock and gets the same answers on any day. ``actor`` is for embedding and
    tests: the user the command acts as. The installed command sets neither, so there the actor
    is always the process's operating-system account.
    """
    state = CliState(clock=clock, actor=actor)
    try:
        result: Any = cli.main(args=argv, prog_name="otter-tui", standalone_mode=False, obj=state)
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
    except Exception as exc:  # a database busy or away is one line; anything else is a bug
        if said := database_trouble(exc):
            click.echo(f"otter-tui: error: {said}", err=True)
            return 1
        raise
    return result if isinstance(result, int) else 0
