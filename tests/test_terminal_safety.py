"""A server must never drive the operator's terminal: control characters in remote output are
shown escaped, by `run --follow`, `jobs logs` and the console's log, while the stored bytes are
unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.runtime import Runtime
from otter_tui.text import visible
from tests.engine_support import add_local, engine_runtime, log_text

HOSTILE = "\x1b[31mred\x1b[0m \x1b[2J\x1b]0;pwned\x07 bell\x07 over\rwrite \x9b1m tab\tok"
SHOWN = "\\x1b[31mred\\x1b[0m \\x1b[2J\\x1b]0;pwned\\x07 bell\\x07 over\\rwrite \\x9b1m tab\tok"


def test_visible_escapes_every_control_character_but_tab() -> None:
    assert visible(HOSTILE) == SHOWN
    assert visible("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    controls = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))} - {"\t"}
    assert not controls & set(visible("".join(map(chr, range(256)))))


CAT = '''
from otter_tui.plan import Command, OrchestrationPlan, RunContext, Text


class Cat(OrchestrationPlan):
    """Prints a file, as a server would print anything."""

    name = "Cat"
    variables = {"path": Text()}

    async def run(self, ctx: RunContext) -> None:
        await ctx.shell(Command.shell(f"cat {ctx.vars['path']}"))


class Careful(OrchestrationPlan):
    """Warns."""

    name = "Careful"

    async def run(self, ctx: RunContext) -> None:
        ctx.warn("disk almost full")
'''


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A local server whose output is hostile, and the plan that prints it."""
    runtime = engine_runtime(tmp_path)
    (tmp_path / "plans" / "hostile.py").write_text(CAT)
    runtime.plans.sync()
    runtime.plans.set_enabled("hostile.Cat", True)
    runtime.plans.set_enabled("hostile.Careful", True)
    add_local(runtime, "evil")
    (tmp_path / "hostile.txt").write_bytes(HOSTILE.encode() + b"\n")
    yield runtime
    runtime.close()


def test_stored_bytes_are_unchanged_and_the_cli_escapes_them(
    rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(tmp_path / "config.toml")
    argv = ["--config", config, "run", "hostile.Cat", "--servers", "evil"]
    assert run([*argv, "--var", f"path={tmp_path / 'hostile.txt'}"], actor="alice") == 0
    out = capsys.readouterr().out
    assert f"[evil] {SHOWN}" in out.splitlines()
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    job = rt.jobs.recent(limit=1)[0].id
    assert HOSTILE in log_text(rt, job, "evil")  # the store keeps what the server said
    assert run(["--config", config, "jobs", "logs", str(job)], actor="alice") == 0
    out = capsys.readouterr().out
    assert f"[evil] {SHOWN}" in out.splitlines() and "\x1b" not in out


def test_a_plans_warning_has_the_documented_marker(
    rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(tmp_path / "config.toml")
    argv = ["--config", config, "run", "hostile.Careful", "--servers", "evil"]
    assert run(argv, actor="alice") == 0
    assert "[evil] ! disk almost full" in capsys.readouterr().out.splitlines()
