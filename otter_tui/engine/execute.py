"""One server run: connect, run the plan (orchestration) or collect/remediate (configuration).

Failures stay inside the run: an unreachable host, a refused host key, a failing command or a
bug in a plan each end this run ``failed`` with a one-line reason in its log; the job goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otter_tui.engine.logs import JobLog
from otter_tui.engine.records import DriftRecord, Outcome
from otter_tui.engine.targets import JobPlan, PlannedRun
from otter_tui.engine.transports import TransportFactory
from otter_tui.errors import OtterError
from otter_tui.plan import (
    ConfigurationPlan,
    ItemResult,
    OrchestrationPlan,
    RunContext,
    ServerInfo,
    Status,
    collect_all,
    remediate,
)
from otter_tui.services.plans import PlanService
from otter_tui.store.models import DriftStatus, PlanKind, RunState
from otter_tui.transport.base import BatchSink, Stream, Transport

if TYPE_CHECKING:
    from otter_tui.engine.records import JobRecorder

log = logging.getLogger(__name__)

DRIFT_OF = {
    Status.DESIRED: DriftStatus.DESIRED,
    Status.CHANGED: DriftStatus.DESIRED,
    Status.DRIFTED: DriftStatus.DRIFTED,
    Status.UNKNOWN: DriftStatus.UNKNOWN,
    Status.ERROR: DriftStatus.ERROR,
}


@dataclass
class Tally:
    """What a server run counted as it went: changes, unknowns, warnings."""

    changes: int = 0
    unknowns: int = 0
    warnings: int = 0


class ServerRunExecutor:
    """Executes one planned run; the runner wraps it in time limits."""

    recorder: JobRecorder | None = None

    def __init__(
        self,
        plan: JobPlan,
        run: PlannedRun,
        joblog: JobLog,
        plans: PlanService,
        transports: TransportFactory,
        secrets: Mapping[str, Any],
    ) -> None:
        self.plan = plan
        self.run = run
        self.joblog = joblog
        self.plans = plans
        self.transports = transports
        self.secrets = [str(v) for v in secrets.values() if v]
        self.transport: Transport | None = None
        self.context: RunContext | None = None
        self._tally = Tally()
        self.server_name = run.server.name if run.server else ""
        self.sink = BatchSink(self.output_lines)
        """The line sink handed to plans and transports: whole reads at once (see BatchSink)."""

    # logging ---------------------------------------------------------------------------------

    def say(self, text: str, level: str = "info") -> None:
        self.joblog.emit(
            self._mask(text), server=self.server_name, run_id=self.run.run_id, level=level
        )

    def output(self, stream: Stream, line: str) -> Awaitable[None] | None:
        """The transports' line sink; what it returns (backpressure) they await before reading
        on, so a server printing faster than the store keeps up is slowed, not buffered here."""
        return self.joblog.emit(
            self._mask(line), server=self.server_name, run_id=self.run.run_id, stream=stream
        )

    def output_lines(self, stream: Stream, lines: list[str]) -> Awaitable[None] | None:
        """:meth:`output` for every line of one read, stamped and counted once."""
        if self.secrets:
            lines = [self._mask(line) for line in lines]
        return self.joblog.emit_lines(
            lines, server=self.server_name, run_id=self.run.run_id, stream=stream
        )

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def tally(self) -> Tally:
        if self.context is not None:
            return Tally(
                self.context.changes + self.context.would_change,
                self.context.unknowns,
                self.context.warnings,
            )
        return self._tally

    # running ---------------------------------------------------------------------------------

    async def execute(self) -> Outcome:
        try:
            if self.run.server is not None:
                self.transport = self.transports(self.run.server)
                await self.transport.connect()
            if self.plan.kind is PlanKind.CONFIGURATION:
                await self._configuration()
            else:
                await self._orchestration()
        except OtterError as exc:
            self.say(str(exc), "error")
            return self._outcome(RunState.FAILED, str(exc))
        except Exception as exc:  # a bug in a plan fails its run, not the job
            log.exception("server run %s failed", self.run.run_id)
            message = f"{type(exc).__name__}: {exc}"
            self.say(f"plan error: {message}", "error")
            return self._outcome(RunState.FAILED, message)
        finally:
            await self.force_close()
        state = RunState.WARNING if self.tally().warnings else RunState.SUCCEEDED
        return self._outcome(state, "")

    def _outcome(self, state: RunState, error: str) -> Outcome:
        tally = self.tally()
        return Outcome(state, tally.changes, tally.unknowns, tally.warnings, self._mask(error))

    async def force_close(self) -> None:
        if self.transport is not None:
            transport, self.transport = self.transport, None
            await transport.close()

    def _server_info(self) -> ServerInfo | None:
        server = self.run.server
        if server is None:
            return None
        return ServerInfo(
            name=server.name,
            host=server.host,
            transport=server.transport,
            roles=server.roles,
            role=self.run.role,
            variables=self.run.variables,
        )

    async def _orchestration(self) -> None:
        cls = self.plans.plan_class(self.plan.plan_key).cls
        assert issubclass(cls, OrchestrationPlan)
        self.context = RunContext(
            transport=self.transport,
            server=self._server_info(),
            variables=self.run.variables,
            simulation=self.plan.simulation,
            log=lambda level, text: self.say(text, level),
            output=self.sink,
            secrets=self.secrets,
            role=self.run.role,
        )
        await cls().run(self.context)

    async def _configuration(self) -> None:
        info = self._server_info()
        if info is None or self.transport is None:
            return
        records: list[DriftRecord] = []
        for key in self.run.plan_keys:
            cls = self.plans.plan_class(key).cls
            assert issubclass(cls, ConfigurationPlan)
            ops = list(cls().operations(info))
            self.say(f"{cls.name}: {len(ops)} item(s)")
            if self.plan.mode == "check":
                items = await collect_all(ops, self.transport, self.secrets)
            else:
                items = await remediate(
                    ops,
                    self.transport,
                    self.plan.simulation,
                    lambda level, text: self.say(text, level),
                    self.secrets,
                    self.sink,
                )
            records += [self._record(key, item) for item in items]
        # Stored before counting: an item in error fails the run, and the drift view must
        # show that error rather than the previous check's result.
        if self.recorder is not None and self.run.server is not None and not self.plan.simulation:
            await self.recorder.store_drift(self.run.server.id, self.server_name, records)
        self._count(records)

    def _record(self, key: str, item: ItemResult) -> DriftRecord:
        if self.plan.mode == "check":
            self._report(item)  # a remediation reports each item itself as it goes
        if item.status is Status.CHANGED:
            self._tally.changes += 1
        return DriftRecord(key, item.description, DRIFT_OF[item.status], item.diff, item.message)

    def _report(self, item: ItemResult) -> None:
        level = {"drifted": "warn", "error": "error"}.get(item.status.value, "info")
        message = f" ({item.message})" if item.message else ""
        self.say(f"{item.status.value}: {item.description}{message}", level)
        for line in item.diff.splitlines():
            self.output("stdout", line)

    def _count(self, records: list[DriftRecord]) -> None:
        self._tally.unknowns += sum(r.status is DriftStatus.UNKNOWN for r in records)
        if self.plan.simulation or self.plan.mode == "check":
            self._tally.changes += sum(r.status is DriftStatus.DRIFTED for r in records)
        errors = [r for r in records if r.status is DriftStatus.ERROR]
        if errors:
            raise OtterError(f"{len(errors)} item(s) failed: {errors[0].item}: {errors[0].message}")
