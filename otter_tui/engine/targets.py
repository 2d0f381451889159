"""What the engine needs to know about a job before it starts: read once, in one transaction.

Resolving targets, reading each server's connection facts and resolving its variables all happen
here, and the server-run rows are written in the same transaction, so a job either has all its
server runs recorded before anything runs, or none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from otter_tui.services.inventory import load_inventory
from otter_tui.services.jobs import ALL_CONFIGURATION, get_job
from otter_tui.services.variables import resolve_for_server
from otter_tui.store.db import Database
from otter_tui.store.models import Job, PlanKind, PlanRecord, RunState, Server, ServerRun
from otter_tui.targeting import TargetSpec, resolve_targets


@dataclass(frozen=True)
class ServerFacts:
    """How to reach a server and what a plan sees of it."""

    id: int
    name: str
    host: str
    port: int
    user: str
    transport: str
    roles: tuple[str, ...]
    environments: tuple[str, ...]


@dataclass(frozen=True)
class PlannedRun:
    """One server run to execute: its row id, the server (None: no targets), role, variables."""

    run_id: int
    server: ServerFacts | None
    role: str | None
    variables: dict[str, Any]
    plan_keys: tuple[str, ...]
    """The plans to run: the job's plan, or every configuration plan that applies (drift)."""


@dataclass(frozen=True)
class JobPlan:
    job_id: int
    kind: PlanKind
    mode: str
    plan_key: str
    plan_name: str
    simulation: bool
    queue: str
    soft_time_limit: float | None
    time_limit: float | None
    runs: tuple[PlannedRun, ...]


def prepare_job(db: Database, job_id: int, secrets: Mapping[str, Any]) -> JobPlan:
    """Resolve targets and write one server-run row per (server, role in context)."""
    with db.transaction() as s:
        job = get_job(s, job_id)
        record = s.get(PlanRecord, job.plan_id) if job.plan_id else None
        targets = resolve_targets(TargetSpec.from_dict(job.targets), load_inventory(s))
        servers = _servers(s, [t.server for t in targets if t.server])
        config_plans = _configuration_plans(s) if job.plan_key == ALL_CONFIGURATION else {}
        runs = []
        for target in targets:
            facts = servers.get(target.server) if target.server else None
            keys = _plan_keys(job, facts, config_plans)
            run = ServerRun(
                job_id=job.id,
                server_id=facts.id if facts else None,
                server_name=target.server or "",
                role_name=target.role or "",
                state=RunState.PENDING,
            )
            s.add(run)
            s.flush()
            variables: dict[str, Any] = dict(job.variables)
            if facts:
                variables = {**resolve_for_server(s, facts.name, target.role, {}), **variables}
            runs.append(PlannedRun(run.id, facts, target.role, {**variables, **secrets}, keys))
        return JobPlan(
            job.id,
            job.kind,
            job.mode,
            job.plan_key,
            job.plan_name,
            job.simulation,
            job.queue_name,
            record.soft_time_limit if record else None,
            record.time_limit if record else None,
            tuple(runs),
        )


def _servers(s: Session, names: list[str]) -> dict[str, ServerFacts]:
    query = (
        select(Server)
        .where(Server.name.in_(names))
        .options(selectinload(Server.roles), selectinload(Server.environments))
    )
    return {
        x.name: ServerFacts(
            x.id,
            x.name,
            x.host,
            x.port,
            x.user,
            x.transport.value,
            tuple(r.name for r in x.roles),
            tuple(e.name for e in x.environments),
        )
        for x in s.scalars(query)
    }


def _configuration_plans(s: Session) -> dict[str, PlanRecord]:
    query = select(PlanRecord).where(
        PlanRecord.kind == PlanKind.CONFIGURATION, PlanRecord.enabled, PlanRecord.installed
    )
    return {r.key: r for r in s.scalars(query.order_by(PlanRecord.key))}


def _plan_keys(
    job: Job, facts: ServerFacts | None, config_plans: Mapping[str, PlanRecord]
) -> tuple[str, ...]:
    if job.plan_key != ALL_CONFIGURATION:
        return (job.plan_key,)
    if facts is None:
        return ()
    return tuple(
        key
        for key, record in config_plans.items()
        if set(record.roles) & set(facts.roles) or facts.name in record.servers
    )
