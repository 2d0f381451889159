"""RunContext: what an orchestration plan's steps do in a real run and in a simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from otter_tui.plan import Command, RunContext, ServerInfo, StepFailed
from otter_tui.plan import operations as ops
from otter_tui.transport.base import Stream, Transport
from otter_tui.transport.fake import FakeTransport
from otter_tui.transport.local import LocalTransport

WEB1 = ServerInfo("web1", roles=("web", "db"))


class Recorder:
    """Collects the human log and the command output a run produces."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.output: list[tuple[Stream, str]] = []

    def on_log(self, level: str, text: str) -> None:
        self.log.append((level, text))

    def on_output(self, stream: Stream, line: str) -> None:
        self.output.append((stream, line))

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.log]


def make_ctx(
    transport: Transport | None,
    rec: Recorder,
    *,
    simulation: bool = False,
    server: ServerInfo | None = WEB1,
    role: str | None = None,
    secrets: tuple[str, ...] = (),
) -> RunContext:
    return RunContext(
        transport=transport,
        server=server,
        role=role,
        variables={"version": "1.0"},
        simulation=simulation,
        log=rec.on_log,
        output=rec.on_output,
        secrets=secrets,
    )


async def test_simulated_shell_does_not_run_and_is_unknown() -> None:
    server, rec = FakeTransport("web1"), Recorder()
    ctx = make_ctx(server, rec, simulation=True)
    result = await ctx.shell(Command.argv("systemctl", "restart", "app"))
    assert result.unknown and result.exit_status == 0 and result.stdout == ""
    assert server.commands == []
    assert rec.texts == ["would run: systemctl restart app"]
    assert (ctx.unknowns, ctx.changes) == (1, 0)


async def test_probe_runs_even_in_simulation(tmp_path: Path) -> None:
    (tmp_path / "VERSION").write_text("0.9\n")
    ctx = make_ctx(LocalTransport("web1"), Recorder(), simulation=True)
    found = await ctx.probe(f"cat {tmp_path}/VERSION")
    assert found.ok and found.stdout == "0.9\n" and not found.unknown
    missing = await ctx.probe(f"cat {tmp_path}/nope")
    assert missing.exit_status == 1, "a failing probe is an answer, not an error"
    assert ctx.unknowns == 0


async def test_shell_runs_streams_output_and_counts_a_change(tmp_path: Path) -> None:
    rec = Recorder()
    ctx = make_ctx(LocalTransport("web1"), rec)
    result = await ctx.shell(f"echo hello; echo oops >&2; touch {tmp_path}/done")
    assert result.ok and result.stdout == "hello\n" and not result.unknown
    assert ("stdout", "hello") in rec.output and ("stderr", "oops") in rec.output
    assert (tmp_path / "done").exists()
    assert ctx.changes == 1


async def test_a_failing_checked_shell_raises_with_masked_command() -> None:
    rec = Recorder()
    ctx = make_ctx(LocalTransport("web1"), rec, secrets=("pa55word",))
    with pytest.raises(StepFailed) as caught:
        await ctx.shell("echo pa55word >&2; exit 4")
    assert caught.value.exit_status == 4
    assert "pa55word" not in str(caught.value)
    assert str(caught.value) == "web1: 'echo ******** >&2; exit 4' exited with status 4: ********"
    unchecked = await ctx.shell("exit 4", check=False)
    assert unchecked.exit_status == 4


async def test_secrets_never_reach_the_log_or_the_output() -> None:
    rec = Recorder()
    ctx = make_ctx(LocalTransport("web1"), rec, secrets=("t0ken-xyz",))
    await ctx.shell("echo using t0ken-xyz")
    ctx.log("the token is t0ken-xyz")
    everything = rec.texts + [line for _, line in rec.output]
    assert everything and not [line for line in everything if "t0ken-xyz" in line]
    assert ("stdout", "using ********") in rec.output


async def test_ensure_applies_drift_or_in_simulation_only_says_so(tmp_path: Path) -> None:
    op = ops.file(f"{tmp_path}/motd", "hi\n")
    rec = Recorder()
    sim = make_ctx(LocalTransport("web1"), rec, simulation=True)
    item = await sim.ensure(op)
    assert item.status.value == "drifted" and not (tmp_path / "motd").exists()
    assert rec.texts[0] == f"would change: {op.describe()}" and sim.would_change == 1

    real = make_ctx(LocalTransport("web1"), Recorder())
    assert (await real.ensure(op)).status.value == "changed"
    assert (tmp_path / "motd").read_text() == "hi\n"
    assert (await real.ensure(op)).status.value == "desired"
    assert real.changes == 1


async def test_a_failed_ensure_stops_the_plan(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    ctx = make_ctx(LocalTransport("web1"), Recorder())
    with pytest.raises(StepFailed, match="is a directory, not a file"):
        await ctx.ensure(ops.file(f"{tmp_path}/d", "x"))


async def test_upload_writes_or_says_it_would(tmp_path: Path) -> None:
    rec = Recorder()
    sim = make_ctx(LocalTransport("web1"), rec, simulation=True)
    await sim.upload(f"{tmp_path}/app.tar", b"data", 0o600)
    assert not (tmp_path / "app.tar").exists()
    assert rec.texts == [f"would upload: {tmp_path}/app.tar (4 bytes)"]
    real = make_ctx(LocalTransport("web1"), Recorder())
    await real.upload(f"{tmp_path}/app.tar", "data", 0o600)
    assert (tmp_path / "app.tar").read_bytes() == b"data"
    assert (tmp_path / "app.tar").stat().st_mode & 0o777 == 0o600


def test_in_role_follows_otters_for_role_block() -> None:
    rec = Recorder()
    assert make_ctx(None, rec, role="web").in_role("web")
    assert not make_ctx(None, rec, role="web").in_role("db"), "the role in context decides"
    assert make_ctx(None, rec).in_role("db"), "no role in context: any of the server's roles"
    assert not make_ctx(None, rec).in_role("mail")
    assert not make_ctx(None, rec, server=None).in_role("web")
    assert make_ctx(None, rec, server=ServerInfo("x", role="db")).role == "db"


async def test_no_server_in_context_cannot_run_commands() -> None:
    ctx = make_ctx(None, Recorder(), server=None)
    with pytest.raises(StepFailed, match="no server in context"):
        await ctx.probe("true")


def test_warnings_are_counted() -> None:
    rec = Recorder()
    ctx = make_ctx(None, rec)
    ctx.warn("disk is 91% full")
    assert ctx.warnings == 1 and rec.log == [("warning", "disk is 91% full")]
