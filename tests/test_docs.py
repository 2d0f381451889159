"""The reference docs name every setting and every command they cover, so they cannot fall behind.

When this fails after adding a setting or a command, document it in the file the message names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

from otter_tui.cli import cli
from otter_tui.config import SECTIONS

DOCS = Path(__file__).resolve().parent.parent / "docs"
CLI_GROUPS = (
    "servers",
    "roles",
    "environments",
    "vars",
    "inventory",
    "config",
    "users",
    "plans",
    "run",
    "jobs",
    "drift",
    "approvals",
    "templates",
    "audit",
)
"""The groups docs/cli.md documents; schedules, queues and the daemon have docs of their own."""


def settings() -> list[str]:
    return [
        f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
    ]


@pytest.mark.parametrize("key", settings())
def test_every_setting_is_in_configuration_md(key: str) -> None:
    section, name = key.split(".")
    text = (DOCS / "configuration.md").read_text()
    table = text.split(f"### `[{section}]`", 1)
    assert len(table) == 2, f"document section [{section}] in docs/configuration.md"
    assert f"| `{name}` |" in table[1].split("###", 1)[0], f"document {key} in configuration.md"


def commands() -> list[str]:
    found = []
    for group in CLI_GROUPS:
        command = cli.commands[group]
        subs = command.commands if isinstance(command, click.Group) else {"": command}
        found += [f"otter-tui {group} {name}".rstrip() for name in subs]
    return found


@pytest.mark.parametrize("command", commands())
def test_every_command_is_in_cli_md(command: str) -> None:
    text = (DOCS / "cli.md").read_text()
    assert f"`{command}" in text, f"document `{command}` in docs/cli.md"


def test_every_test_security_md_points_at_exists() -> None:
    """docs/security.md backs each claim with a test; a renamed or removed one must be noticed."""
    import re

    text = (DOCS / "security.md").read_text()
    cited = re.findall(r"`?(test_\w+\.py)::(test_\w+)`?", text)
    assert len(cited) >= 15
    tests_dir = Path(__file__).resolve().parent
    for file, name in cited:
        assert f"def {name}(" in (tests_dir / file).read_text(), f"{file}::{name}"
