"""Plans the benchmark runs through the product's real path (loaded from this folder).

Every server of the loopback fleet shares one filesystem, so each server's file is named after
the server, under the global variable ``bench_root`` (the benchmark's scratch folder).
"""

from __future__ import annotations

from collections.abc import Iterator

from otter_tui.plan import (
    Command,
    ConfigurationPlan,
    Int,
    Operation,
    OrchestrationPlan,
    RunContext,
    ServerInfo,
)
from otter_tui.plan import operations as ops

CONTENT = "# managed by otter-tui (benchmark)\nlisten = 0.0.0.0:8080\nworkers = 4\n" * 4
"""About 300 bytes: a typical small config file."""


class FanOut(OrchestrationPlan):
    """W1: one command on every server."""

    name = "Bench fan-out"
    grouping = "Bench"

    async def run(self, ctx: RunContext) -> None:
        await ctx.shell("hostname && uname -r && echo ok")


class EnsureFile(ConfigurationPlan):
    """W2 and W3: one file with fixed content and mode 0644 on every benchmark server."""

    name = "Bench ensure file"
    grouping = "Bench"
    roles = ("bench",)

    def operations(self, server: ServerInfo) -> Iterator[Operation]:
        root = server.var("bench_root").rstrip("/")
        yield ops.file(f"{root}/{server.name}.conf", content=CONTENT, mode=0o644)


class PrintLines(OrchestrationPlan):
    """Logs: every server prints ``count`` numbered lines as fast as it can."""

    name = "Bench print lines"
    grouping = "Bench"
    variables = {"count": Int(default=10_000, help="lines each server prints")}

    async def run(self, ctx: RunContext) -> None:
        await ctx.shell(f"seq 1 {int(str(ctx.vars['count']))}")


STREAM = """\
import sys, time
rate, seconds = int(sys.argv[1]), int(sys.argv[2])
ticks = max(1, min(100, rate))
start, n = time.monotonic(), 0
for tick in range(seconds * ticks):
    upto = rate * (tick + 1) // ticks
    sys.stdout.write("".join(f"stream line {i}\\n" for i in range(n, upto)))
    sys.stdout.flush()
    n = upto
    delay = start + (tick + 1) / ticks - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""
"""Prints ``rate`` lines a second for ``seconds``: in bursts 10 ms apart, or one line at a time
below 100 lines a second (bursts of ``rate // 100`` lines, at least one, made 40 a second
into 100, and 250 into 200)."""


class StreamLines(OrchestrationPlan):
    """Console: a job that streams a steady number of lines a second."""

    name = "Bench stream"
    grouping = "Bench"
    variables = {
        "rate": Int(default=10_000, help="lines a second"),
        "seconds": Int(default=10, help="how long"),
    }

    async def run(self, ctx: RunContext) -> None:
        rate, seconds = str(ctx.vars["rate"]), str(ctx.vars["seconds"])
        await ctx.shell(Command.argv("python3", "-c", STREAM, rate, seconds))
