"""The CLI imports a command's module only when the command is used: ``--version`` and the
console start stay free of what other commands need, and no command is lost by being lazy."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from otter_tui.cli import COMMAND_MODULES, cli

PROBE = """
import json, sys
from otter_tui.cli import run
code = run(["--version"])
heavy = sorted(m for m in ("sqlalchemy", "asyncssh", "otter_tui.runtime", "otter_tui.engine")
               if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_version_imports_no_command_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 0, "heavy": []}


def test_every_command_module_is_mapped() -> None:
    """A command a module adds to ``COMMANDS`` but not to ``COMMAND_MODULES`` would only be
    found after ``--help`` loaded everything."""
    with click.Context(cli) as ctx:
        names = cli.list_commands(ctx)
    assert set(names) <= set(COMMAND_MODULES)
    assert set(names) == {n for n in COMMAND_MODULES if cli.get_command(ctx, n) is not None}
