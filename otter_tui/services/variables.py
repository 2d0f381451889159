"""Variables at global, role, environment and server scope, and the resolved cascade.

With a plan, the cascade starts from the plan's declared defaults: job > server > environment >
role > global > plan default, so a default never hides a value the inventory gives.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.errors import NotFoundError, UsageError
from otter_tui.plan.variables import declared
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.variable_layers import (
    SCOPES,
    owner_names,
    plan_defaults,
    resolve_for_server,
    server_named_layers,
    variables_by_scope,
)
from otter_tui.store.models import Environment, Role, Server, Variable
from otter_tui.variables import PLAN_DEFAULT, sourced_cascade

if TYPE_CHECKING:
    from otter_tui.services.plans import PlanService

__all__ = [
    "SCOPES",
    "ResolvedVariable",
    "VariableService",
    "VariableView",
    "owner_key",
    "plan_defaults",
    "resolve_for_server",
    "server_named_layers",
    "variables_by_scope",
]


@dataclass(frozen=True)
class VariableView:
    scope: str
    owner: str
    name: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "owner": self.owner, "name": self.name, "value": self.value}


def _scope_key(session: Session, scope: str, owner: str | None) -> tuple[str, dict[str, int]]:
    if scope not in SCOPES:
        raise UsageError(f"unknown scope '{scope}' (use {', '.join(SCOPES)})")
    if scope == "global":
        return "global", {}
    if not owner:
        raise UsageError(f"a {scope} variable needs the {scope}'s name")
    # The inventory service's lookups, imported here: a job's variables are resolved without them.
    from otter_tui.services.inventory import get_environment, get_role, get_server

    row: Role | Environment | Server
    if scope == "role":
        row = get_role(session, owner)
    elif scope == "environment":
        row = get_environment(session, owner)
    else:
        row = get_server(session, owner)
    return owner_key(scope, row.id)


def owner_key(scope: str, row_id: int) -> tuple[str, dict[str, int]]:
    """The ``scope_key`` and foreign key of a variable of row ``row_id`` (a server, role...)."""
    return f"{scope}:{row_id}", {f"{scope}_id": row_id}


@dataclass(frozen=True)
class ResolvedVariable:
    """One variable as a plan sees it on a server, and the layer that gave its value."""

    name: str
    value: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "source": self.source}


class VariableService:
    """Set, unset, list and resolve variables."""

    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans

    def set(self, scope: str, owner: str | None, name: str, value: str) -> VariableView:
        check_name("variable", name)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            key, fk = _scope_key(s, scope, owner)
            row = s.scalar(select(Variable).where(Variable.scope_key == key, Variable.name == name))
            before = {"value": None if row is None else row.value}
            if row is None:
                row = Variable(scope=scope, scope_key=key, name=name, value=value, **fk)
                s.add(row)
            row.value = value
            where = f"{owner or ''}:{name}"
            self.ctx.audit(s, "variable.set", scope, where, before=before, after={"value": value})
            return VariableView(scope, owner or "", name, value)

    def unset(self, scope: str, owner: str | None, name: str) -> None:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            key, _ = _scope_key(s, scope, owner)
            row = s.scalar(select(Variable).where(Variable.scope_key == key, Variable.name == name))
            if row is None:
                raise NotFoundError(
                    f"no {scope} variable '{name}'" + (f" on '{owner}'" if owner else "")
                )
            s.delete(row)
            self.ctx.audit(s, "variable.unset", scope, f"{owner or ''}:{name}")

    def list(self, scope: str | None = None, owner: str | None = None) -> list[VariableView]:
        with self.ctx.db.session() as s:
            query = select(Variable).order_by(Variable.scope, Variable.scope_key, Variable.name)
            if scope is not None:
                key, _ = _scope_key(s, scope, owner) if scope == "global" or owner else (None, {})
                query = query.where(Variable.scope == scope)
                if key is not None:
                    query = query.where(Variable.scope_key == key)
            owners = owner_names(s)
            return [
                VariableView(v.scope, owners.get(v.scope_key, ""), v.name, v.value)
                for v in s.scalars(query)
            ]

    def resolve(
        self, server: str, role: str | None = None, job_vars: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The variables a plan sees on ``server`` with ``role`` in context."""
        with self.ctx.db.session() as s:
            return resolve_for_server(s, server, role, job_vars or {})

    def resolve_sources(
        self, server: str, role: str | None = None, plan: str | None = None
    ) -> builtins.list[ResolvedVariable]:
        """What ``resolve`` gives, each with its layer; with ``plan``, its defaults beneath."""
        defaults: dict[str, object] = {}
        if plan is not None:
            assert self.plans is not None, "resolving for a plan needs the plan service"
            defaults = plan_defaults(declared(self.plans.plan_class(plan).cls))
        with self.ctx.db.session() as s:
            layers = [(PLAN_DEFAULT, defaults), *server_named_layers(s, server, role)]
        merged = sourced_cascade(layers)
        return [ResolvedVariable(n, str(v), src) for n, (v, src) in sorted(merged.items())]
