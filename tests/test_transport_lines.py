"""A read's lines handed to a BatchSink together: the same lines as one call per line, whatever
the chunking (partial lines, split UTF-8, CR LF, endless lines), in batches the sink can hold
back, masked when the run has secrets, over a real process and a real sshd."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from otter_tui.engine.execute import ServerRunExecutor
from otter_tui.engine.logs import JobLog, LogPressure
from otter_tui.events import EventBus, LogLines
from otter_tui.plan.sinks import masked_lines
from otter_tui.transport.base import BatchSink, Command, Stream
from otter_tui.transport.lines import MAX_LINE, SINK_BATCH, OutputTail, pump_lines
from otter_tui.transport.local import LocalTransport
from tests.fixtures_ssh import MakeTransport

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
TRICKY = (
    b"one\n\ntwo\r\nthree-\xc3\xa9\xe2\x9c\x93\nbad \xff\xfe byte\n"
    + b"x" * (3 * MAX_LINE + 10)
    + b"\nlast without newline"
)


class Batches:
    """A BatchSink that records each call; optionally holds the pump after each batch."""

    def __init__(self, hold: bool = False) -> None:
        self.calls: list[tuple[Stream, list[str]]] = []
        self.hold = hold
        self.gate: asyncio.Future[None] | None = None
        self.sink = BatchSink(self.take)

    def take(self, stream: Stream, lines: list[str]) -> Awaitable[None] | None:
        self.calls.append((stream, list(lines)))
        if not self.hold:
            return None
        self.gate = asyncio.get_running_loop().create_future()
        return self.gate

    def one(self, stream: Stream, line: str) -> None:
        self.calls.append((stream, [line]))

    def lines(self) -> list[str]:
        return [line for _, batch in self.calls for line in batch]


def chunked(data: bytes, size: int) -> Any:
    chunks = [data[i : i + size] for i in range(0, len(data), size)]

    async def read(_limit: int) -> bytes:
        return chunks.pop(0) if chunks else b""

    return read


async def pump_all(data: bytes, size: int, sink: Any) -> OutputTail:
    tail = OutputTail()
    await pump_lines(chunked(data, size), "stdout", sink, tail)
    return tail


async def test_batches_carry_the_same_lines_as_line_by_line_whatever_the_chunking() -> None:
    short = TRICKY.replace(b"x" * (3 * MAX_LINE + 10), b"x" * 10)
    for data, sizes in ((short, (1, 2, 3, 7, len(short))), (TRICKY, (4096, 65536, len(TRICKY)))):
        for size in sizes:
            plain = Batches()
            await pump_all(data, size, plain.one)  # a plain sink: one call per line
            batches = Batches()
            tail = await pump_all(data, size, batches.sink)
            lines = batches.lines()
            assert lines == plain.lines(), f"chunks of {size}"
            assert lines[:5] == ["one", "", "two\r", "three-é✓", "bad \ufffd\ufffd byte"]
            assert lines[-1] == "last without newline"
            assert tail.text() == data.decode("utf-8", errors="replace")
            pieces = [len(p) for p in lines[5:-1]]
            assert sum(pieces) == data.count(b"x")
            if data is TRICKY and size < MAX_LINE:  # in pieces, an endless line is cut
                assert pieces[:-1] == [MAX_LINE] * (len(pieces) - 1) and len(pieces) >= 3
                assert pieces[-1] <= MAX_LINE + size


async def test_a_big_read_goes_out_in_batches_and_waits_for_the_sink_between_them() -> None:
    data = "".join(f"{n}\n" for n in range(1, 1001)).encode()
    batches = Batches(hold=True)
    pump = asyncio.create_task(pump_all(data, len(data), batches.sink))
    for expected in range(1, 5):
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(batches.calls) == expected  # held: no further batch until the gate opens
        assert batches.gate is not None
        batches.gate.set_result(None)
    batches.hold = False
    batches.gate = None
    await pump
    assert all(len(lines) <= SINK_BATCH for _, lines in batches.calls)
    assert batches.lines() == [str(n) for n in range(1, 1001)]


def test_a_tail_of_one_big_read_keeps_the_newest_whole_lines_within_the_cap() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    tail = OutputTail(100)
    tail.add(text)
    kept = tail.text().split("\n", 1)[1]
    assert text.endswith(kept) and kept.startswith("line ") and len(kept) <= 100
    assert tail.dropped + len(kept) == len(text)
    huge = OutputTail(10)
    huge.add("short\n" + "y" * 50 + "\n")
    assert huge.text().endswith("\n" + "y" * 50 + "\n")  # the newest line stays whole


async def test_masked_batches_stay_batches_and_mask_every_line() -> None:
    batches = Batches()
    sink = masked_lines(batches.sink, ["s3cr3t"])
    assert isinstance(sink, BatchSink)
    result = await LocalTransport("here").run(
        Command.shell("seq 1 300; echo 'the s3cr3t is out'; echo s3cr3t >&2"), sink
    )
    assert result.ok
    stdout = [line for stream, lines in batches.calls if stream == "stdout" for line in lines]
    assert stdout == [*map(str, range(1, 301)), "the ******** is out"]
    assert ("stderr", ["********"]) in batches.calls


async def test_the_run_sink_numbers_stamps_once_counts_and_masks_a_batch() -> None:
    bus = EventBus()
    seen = bus.subscribe()
    pressure = LogPressure(high_water=10)
    joblog = JobLog(3, bus, lambda: AT, pressure=pressure, start_seq=40)
    run = SimpleNamespace(server=None, run_id=9)
    executor = ServerRunExecutor(None, run, joblog, None, None, {"t": "hunter2"})  # type: ignore[arg-type]
    assert executor.sink("stdout", "first") is None
    held = executor.sink.lines("stderr", ["a hunter2", "b", *map(str, range(10))])
    assert held is not None and pressure.pending == 13  # over the mark: the pump must wait
    await joblog.flush()
    event = await seen.get()
    assert isinstance(event, LogLines)
    got = [(ln.job_id, ln.server_run_id, ln.seq, ln.at, ln.stream, ln.text) for ln in event.lines]
    assert got[:3] == [
        (3, 9, 41, AT, "stdout", "first"),
        (3, 9, 42, AT, "stderr", "a ********"),
        (3, 9, 43, AT, "stderr", "b"),
    ]
    assert [ln.seq for ln in event.lines] == list(range(41, 54))


async def test_every_line_of_a_long_remote_output_in_order_over_ssh(
    ssh_transport: MakeTransport,
) -> None:
    batches = Batches()
    command = Command.shell("seq 1 50000; printf 'tail\\r\\nno newline'")
    result = await ssh_transport().run(command, batches.sink)
    assert result.ok
    assert batches.lines() == [*map(str, range(1, 50001)), "tail\r", "no newline"]
    assert all(len(lines) <= SINK_BATCH for _, lines in batches.calls)
