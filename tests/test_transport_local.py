"""LocalTransport: streaming, exit status, cancellation of the whole process group, files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from otter_tui.errors import TransportError
from otter_tui.transport.base import Command, CommandResult, Stream
from otter_tui.transport.fake import FakeTransport
from otter_tui.transport.local import COMPACT_PARTS, MAX_LINE, LocalTransport, OutputTail
from tests.fixtures_ssh import pgrep, unique_sleep, wait_until


class Lines:
    """A sink that records lines and can wait for one."""

    def __init__(self) -> None:
        self.seen: list[tuple[Stream, str]] = []
        self._waiters: dict[str, asyncio.Event] = {}

    def __call__(self, stream: Stream, line: str) -> None:
        self.seen.append((stream, line))
        if line in self._waiters:
            self._waiters[line].set()

    async def wait_for(self, line: str, timeout: float = 10.0) -> None:
        event = self._waiters.setdefault(line, asyncio.Event())
        if ("stdout", line) not in self.seen:
            await asyncio.wait_for(event.wait(), timeout)

    def of(self, stream: Stream) -> list[str]:
        return [line for s, line in self.seen if s == stream]


async def test_lines_arrive_while_the_command_still_runs(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    lines = Lines()
    line = f"echo ready; while [ ! -e {gate} ]; do sleep 0.01; done; echo done"
    task = asyncio.create_task(LocalTransport("here").run(Command.shell(line), lines))
    await lines.wait_for("ready")  # would time out if output were only delivered at exit
    assert not task.done()
    gate.touch()
    result = await asyncio.wait_for(task, 10)
    assert result == CommandResult(0, "ready\ndone\n", "")


async def test_each_stream_keeps_its_order_and_both_are_kept() -> None:
    lines = Lines()
    line = "echo a; echo e1 >&2; echo b; echo e2 >&2; printf 'no newline'"
    result = await LocalTransport("here").run(Command.shell(line), lines)
    assert lines.of("stdout") == ["a", "b", "no newline"]
    assert lines.of("stderr") == ["e1", "e2"]
    assert (result.stdout, result.stderr) == ("a\nb\nno newline", "e1\ne2\n")


async def test_exit_status_and_death_by_signal() -> None:
    transport = LocalTransport("here")
    failed = await transport.run(Command.shell("exit 7"))
    assert (failed.exit_status, failed.ok) == (7, False)
    killed = await transport.run(Command.shell("kill -9 $$"))
    assert killed.exit_status == -9


async def test_cancel_kills_the_command_and_its_background_children() -> None:
    foreground, background = unique_sleep(), unique_sleep()
    lines = Lines()
    line = f"{background} & echo started; {foreground}"
    task = asyncio.create_task(LocalTransport("here").run(Command.shell(line), lines))
    await lines.wait_for("started")
    assert await wait_until(lambda: bool(pgrep(foreground)) and bool(pgrep(background)))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: not pgrep(foreground) and not pgrep(background))


async def test_a_command_ignoring_sigterm_is_killed_after_the_grace() -> None:
    sleeper = unique_sleep()
    lines = Lines()
    line = f"trap '' TERM; echo started; {sleeper}"  # the ignored TERM is inherited by sleep
    transport = LocalTransport("here", kill_grace=0.2)
    task = asyncio.create_task(transport.run(Command.shell(line), lines))
    await lines.wait_for("started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: not pgrep(sleeper))


async def test_a_huge_line_is_streamed_in_pieces_and_kept_whole() -> None:
    size = 3 * MAX_LINE + 5
    lines = Lines()
    command = Command.shell(f"head -c {size} /dev/zero | tr '\\0' x")
    result = await LocalTransport("here").run(command, lines)
    assert [len(piece) for piece in lines.of("stdout")] == [MAX_LINE] * 3 + [5]
    assert result.stdout == "x" * size


async def test_the_result_keeps_only_the_newest_output_beyond_the_cap() -> None:
    lines = Lines()
    result = await LocalTransport("here", output_cap=1000).run(Command.shell("seq 1 100000"), lines)
    assert len(lines.of("stdout")) == 100000  # the sink saw everything
    assert result.stdout.startswith("[otter: ") and result.stdout.endswith("99999\n100000\n")
    assert len(result.stdout) < 1100


def test_the_tail_joins_its_lines_and_still_drops_whole_old_lines() -> None:
    """Joined every COMPACT_PARTS lines (memory), the kept text is still the newest whole lines
    within the cap, and what was dropped is counted to the character."""
    lines = [f"line {i}\n" for i in range(COMPACT_PARTS * 5)]
    roomy, tight = OutputTail(10**6), OutputTail(3000)
    for line in lines:
        roomy.add(line)
        tight.add(line)
    assert roomy.text() == "".join(lines) and roomy.dropped == 0
    kept = tight.text().split("\n", 1)[1]  # after the "[otter: N earlier characters" note
    assert "".join(lines).endswith(kept) and kept.startswith("line ")
    assert len(kept) <= 3000 + len(lines[-1])
    assert tight.dropped + len(kept) == len("".join(lines))


async def test_cwd_and_env_apply() -> None:
    transport = LocalTransport("here", cwd="/tmp", env={"OTTER_TEST_VAR": "x y"})
    result = await transport.run(Command.shell('pwd; echo "$OTTER_TEST_VAR"; echo "$PATH"'))
    cwd, var, path = result.stdout.splitlines()
    assert (cwd, var) == ("/tmp", "x y")
    assert path == os.environ["PATH"]  # env adds to the environment, it does not replace it


async def test_a_failure_to_start_is_one_line_and_masks_secrets(tmp_path: Path) -> None:
    transport = LocalTransport("here", cwd=str(tmp_path / "gone"))
    command = Command.argv("mysql", "--password", "hunter2", secrets=["hunter2"])
    assert "hunter2" not in command.display() and "hunter2" not in str(command)
    with pytest.raises(TransportError) as caught:
        await transport.run(command)
    message = str(caught.value)
    assert "hunter2" not in message and "********" in message and "\n" not in message
    with pytest.raises(TransportError, match="does not exist"):
        await transport.connect()


async def test_read_missing_file_is_none(tmp_path: Path) -> None:
    transport = LocalTransport("here")
    assert await transport.read_file(str(tmp_path / "nope")) is None
    assert await transport.read_file(str(tmp_path / "nodir" / "nope")) is None


async def test_write_replaces_the_file_atomically_with_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "app.conf"
    target.write_bytes(b"old")
    transport = LocalTransport("here", cwd=str(tmp_path))
    with target.open("rb") as reader_of_old:
        await transport.write_file("app.conf", b"new", mode=0o600)
        assert reader_of_old.read() == b"old"  # replaced by rename, not truncated in place
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o7777 == 0o600
    await transport.write_file("app.conf", b"newer")
    assert target.stat().st_mode & 0o7777 == 0o600  # mode None keeps the existing mode
    assert await transport.read_file("app.conf") == b"newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.conf"]  # no temp file left


async def test_write_into_a_missing_directory_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match=r"^here: cannot write .*: No such file") as caught:
        await LocalTransport("here").write_file(str(tmp_path / "no" / "f"), b"x")
    assert "\n" not in str(caught.value)


async def test_fake_transport_answers_from_its_script_and_records_commands() -> None:
    fake = FakeTransport("web1").on(r"^uname", CommandResult(0, "Linux\n"))
    fake.on(lambda c: "fail" in c.line, lambda c: CommandResult(3, "", c.line))
    lines = Lines()
    assert (await fake.run(Command.argv("uname", "-s"), lines)).stdout == "Linux\n"
    assert (await fake.run(Command.shell("please fail"))).exit_status == 3
    assert (await fake.run(Command.shell("reboot"))).exit_status == 127
    assert fake.lines == ["uname -s", "please fail", "reboot"]
    assert lines.of("stdout") == ["Linux"]


async def test_fake_transport_files() -> None:
    fake = FakeTransport()
    assert await fake.read_file("/etc/x") is None
    await fake.write_file("/etc/x", b"1", mode=0o640)
    assert (await fake.read_file("/etc/x"), fake.modes["/etc/x"]) == (b"1", 0o640)
