"""The ``otter-tui`` command: the console opens without importing the command-line parser.

``otter-tui`` alone, or with only ``--config PATH``, opens the console, and an operator waits for
that first frame every time: Click and the command table cost ~25 ms of it (5% of a bare Textual
app's start). Those two forms are recognised here and open the console the way the ``cli``
group does; everything else (a command, ``--help``, ``--version``, anything unexpected) goes to
:func:`otter_tui.cli.main` unchanged.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from otter_tui.errors import OtterError, database_trouble

if TYPE_CHECKING:
    from otter_tui.cli_state import CliState
    from otter_tui.runtime import Runtime


def console_config(argv: Sequence[str]) -> tuple[bool, str | None]:
    """Whether ``argv`` only opens the console, and the config path it names (None: default)."""
    if not argv:
        return True, None
    if len(argv) == 2 and argv[0] == "--config" and argv[1] and not argv[1].startswith("-"):
        return True, argv[1]
    if len(argv) == 1 and argv[0].startswith("--config=") and len(argv[0]) > len("--config="):
        return True, argv[0].removeprefix("--config=")
    return False, None


def main() -> None:
    """Console-script entry: the console at once, or the command line."""
    argv = sys.argv[1:]
    console, config_path = console_config(argv)
    if not console:
        from otter_tui.heap import collector_paused, own_process

        own_process()
        with collector_paused():  # Click and the command table: no garbage, ~13 collections
            from otter_tui.cli import main as cli_main

        cli_main(argv)
        return
    sys.exit(open_console(config_path))


def open_console(config_path: str | None) -> int:
    """Open the console as ``otter-tui [--config PATH]`` does; the exit code.

    A user's error while opening (bad config, unreachable database, one another process keeps
    locked) is one line on stderr, as from the command line.
    """
    from otter_tui.cli_state import CliState
    from otter_tui.heap import own_process

    own_process()
    state = CliState(config_path)
    try:
        show_console(state)
    except OtterError as exc:
        print(f"otter-tui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a database busy or away is one line; anything else is a bug
        if said := database_trouble(exc):
            print(f"otter-tui: error: {said}", file=sys.stderr)
            return 1
        raise
    finally:
        state.close()
    return 0


def show_console(state: CliState) -> None:
    """Run the console on ``state``'s config until the user quits (this entry and the ``cli``
    group's both come here); raises what opening the runtime raised.

    The collector is paused while Textual and the app are imported and while the runtime opens
    (in the app's thread worker, after its first frame): objects that live as long as the
    process, which it would otherwise walk again and again (see :mod:`otter_tui.heap`).
    """
    from otter_tui.heap import collector_paused

    def opened() -> Runtime:
        with collector_paused():  # SQLAlchemy, the models, the services
            return state.runtime()

    with collector_paused():  # Textual and the app, by name: the core never imports the UI
        opening = importlib.import_module("screens.opening")
    opening.run_console(opened)
