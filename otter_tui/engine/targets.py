"""What the engine needs to know about a job before it starts: read once, in one transaction.

Resolving targets, reading each server's connection facts and resolving its variables all happen
here, and the server-run rows are written in the same transaction, so a job either has all its
server runs recorded before anything runs, or none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from otter_tui.plan.variables import Variable as Declaration
from otter_tui.plan.variables import convert_inherited
from otter_tui.services.grants import require_on_targets
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.jobs import ALL_CONFIGURATION, get_job
from otter_tui.services.variable_layers import (
    plan_defaults,
    server_named_layers,
    variables_by_scope,
)
from otter_tui.store.db import Database
from otter_tui.store.models import (
    Environment,
    Job,
    PlanKind,
    PlanRecord,
    RunState,
    Server,
    ServerRun,
)
from otter_tui.targeting import TargetSpec, resolve_targets
from otter_tui.variables import JOB, PLAN_DEFAULT, NamedLayer, named_server_layers, sourced_cascade

Declarations = Callable[[str], Mapping[str, Declaration[Any]]]
"""A plan's declared variables by plan key (``{}`` when it declares none or is gone)."""


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
    sources: dict[str, str] = field(default_factory=dict)
    """Each variable's layer (``server db1``, ``plan default``...), for the job's log."""


@dataclass(frozen=True)
class JobPlan:
    """What the engine runs for a job: its plan, mode, limits and server runs."""

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
    exclusive: bool = False
    """Per server: wait while another job of this plan runs on the same server."""
    slices: int = 0
    """How many slices the job was split into (0: this worker runs all of ``runs``)."""


def prepare_job(
    db: Database,
    job_id: int,
    secrets: Mapping[str, Any],
    declarations: Declarations | None = None,
    slice_size: int | None = None,
) -> JobPlan:
    """Resolve targets and write one server-run row per (server, role in context).

    Each run's variables: the plan's declared defaults, then the server's cascade, then the
    job's own (and its secrets); inherited values of declared variables are converted to their
    declared type here, so a plan sees ``workers`` from the inventory as an ``int``.

    With ``slice_size`` (a worker's claim), more runs than that are split into slices in the same
    transaction; the plan then carries no runs: the slices' workers prepare theirs
    (:func:`prepare_slice`). A job with secrets is never split: only this process has them.
    """
    with db.transaction() as s:
        job = get_job(s, job_id)
        inventory = load_inventory(s)
        targets = resolve_targets(TargetSpec.from_dict(job.targets), inventory)
        # Checked again now: a role or environment may have gained servers since creation.
        permission = "jobs.run" if job.simulation_of is None else "jobs.approve"
        require_on_targets(s, job.requested_by, permission, job.plan_key, targets, inventory)
        servers = _servers(s, [t.server for t in targets if t.server])
        planned = [
            (
                target.server or "",
                target.role,
                servers.get(target.server) if target.server else None,
            )
            for target in targets
        ]
        rows = [
            {
                "job_id": job.id,
                "server_id": facts.id if facts else None,
                "server_name": name,
                "role_name": role or "",
                "state": RunState.PENDING,
            }
            for name, role, facts in planned
        ]
        if slice_size and not secrets and len(rows) > slice_size:
            # Only a worker slices: a job run here does not import the slice service.
            from otter_tui.services.slices import split

            split(s, job, rows, slice_size)
        # One multi-row insert for every run, ids back in the order given.
        insert_runs = insert(ServerRun).returning(ServerRun.id, sort_by_parameter_order=True)
        ids = list(s.scalars(insert_runs, rows)) if rows else []
        if job.slices:
            return _job_plan(s, job, ())
        return _job_plan(s, job, _planned_runs(s, job, ids, planned, secrets, declarations))


def prepare_slice(
    db: Database, job_id: int, number: int, declarations: Declarations | None = None
) -> JobPlan:
    """The plan of one slice of a job: its server runs, with variables read now (a read: the
    runs were written when the job was split)."""
    with db.session() as s:
        job = get_job(s, job_id)
        query = (
            select(ServerRun.id, ServerRun.server_name, ServerRun.role_name)
            .where(ServerRun.job_id == job_id, ServerRun.slice_number == number)
            .order_by(ServerRun.id)
        )
        rows = list(s.execute(query))
        servers = _servers(s, [name for _, name, _ in rows if name])
        planned = [(name, role or None, servers.get(name)) for _, name, role in rows]
        ids = [run_id for run_id, _, _ in rows]
        return _job_plan(s, job, _planned_runs(s, job, ids, planned, {}, declarations))


Planned = tuple[str, str | None, ServerFacts | None]
"""A run to plan: server name, role in context, how to reach the server."""


def _planned_runs(
    s: Session,
    job: Job,
    ids: list[int],
    planned: list[Planned],
    secrets: Mapping[str, Any],
    declarations: Declarations | None,
) -> tuple[PlannedRun, ...]:
    decls = _declarations(job, declarations)
    config_plans = _configuration_plans(s) if job.plan_key == ALL_CONFIGURATION else {}
    cascade_for = _VariableCascade(s)
    runs = []
    for run_id, (_, role, facts) in zip(ids, planned, strict=True):
        keys = _plan_keys(job, facts, config_plans)
        layers = [
            (PLAN_DEFAULT, plan_defaults(decls)),
            *(cascade_for(facts, role) if facts else []),
            (JOB, {**job.variables, **secrets}),
        ]
        merged = sourced_cascade(layers)
        sources = {name: source for name, (_, source) in merged.items()}
        variables = convert_inherited(decls, {n: v for n, (v, _) in merged.items()}, sources)
        runs.append(PlannedRun(run_id, facts, role, variables, keys, sources))
    return tuple(runs)


def _job_plan(s: Session, job: Job, runs: tuple[PlannedRun, ...]) -> JobPlan:
    record = s.get(PlanRecord, job.plan_id) if job.plan_id else None
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
        runs,
        bool(record and record.exclusive),
        job.slices,
    )


class _VariableCascade:
    """Each server's variables, as :func:`resolve_for_server` gives them, with the variables
    and environments read once per job instead of once per server run."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._scoped: dict[str, dict[str, dict[str, str]]] | None = None
        self._parents: dict[str, str | None] = {}

    def __call__(self, facts: ServerFacts, role: str | None) -> list[NamedLayer]:
        if role is not None and role not in facts.roles:
            # Not a role of this server: server_named_layers raises the error it always has.
            return server_named_layers(self.s, facts.name, role)
        if self._scoped is None:
            self._scoped = variables_by_scope(self.s)
            self._parents = {
                e.name: (e.parent.name if e.parent else None)
                for e in self.s.scalars(select(Environment))
            }
        scoped = self._scoped
        return list(
            named_server_layers(
                global_vars=scoped["global"].get("", {}),
                role_vars=scoped["role"],
                environment_vars=scoped["environment"],
                environment_parents=self._parents,
                server_roles=list(facts.roles),
                server_environments=list(facts.environments),
                server_vars=scoped["server"].get(facts.name, {}),
                role_in_context=role,
                server_name=facts.name,
            )
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


def variable_sources(plan: JobPlan) -> list[str]:
    """Log lines naming each variable's layer (never a value), one per set of servers alike.

    ``variables on db1, db2: colour (environment prod), workers (plan default)``; runs whose
    variables come from the same layers share a line, so a fleet of alike servers logs one.
    """
    alike: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for run in plan.runs:
        if run.sources:
            where = run.server.name if run.server else "the job"
            alike.setdefault(tuple(sorted(run.sources.items())), []).append(where)
    return [
        f"variables on {', '.join(where)}: "
        + ", ".join(f"{name} ({source})" for name, source in sources)
        for sources, where in alike.items()
    ]


def _declarations(job: Job, declarations: Declarations | None) -> Mapping[str, Declaration[Any]]:
    """The job's plan's declared variables; none for a drift check (many plans, no job vars)."""
    if declarations is None or job.plan_key == ALL_CONFIGURATION:
        return {}
    return declarations(job.plan_key)


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
