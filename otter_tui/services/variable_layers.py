"""The layers of the variable cascade a job reads: every variable by scope, a server's layers.

Apart from :mod:`otter_tui.services.variables` (setting, listing, showing them): a job resolves
its servers' variables at every start, and needs none of the service's views and edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from otter_tui.errors import NotFoundError, UsageError
from otter_tui.plan.variables import Variable as Declaration
from otter_tui.store.models import Environment, Role, Server, Variable
from otter_tui.variables import JOB, NamedLayer, named_server_layers, sourced_cascade

SCOPES = ("global", "role", "environment", "server")


def plan_defaults(declarations: Mapping[str, Declaration[Any]]) -> dict[str, object]:
    """The declared defaults: the lowest layer of the cascade."""
    return {n: v.default for n, v in declarations.items() if v.default is not None}


def owner_names(session: Session) -> dict[str, str]:
    """Each owner's name by ``scope_key`` (``server:3``, ``role:1``...)."""
    names: dict[str, str] = {}
    for scope, model in (("server", Server), ("environment", Environment)):
        for row_id, name in session.execute(select(model.id, model.name)):
            names[f"{scope}:{row_id}"] = name

    for row_id, name in session.execute(select(Role.id, Role.name)):
        names[f"role:{row_id}"] = name
    return names


def variables_by_scope(session: Session) -> dict[str, dict[str, dict[str, str]]]:
    """Every variable, as ``{scope: {owner name: {var: value}}}`` (global under owner '')."""
    owners = owner_names(session)
    out: dict[str, dict[str, dict[str, str]]] = {scope: {} for scope in SCOPES}
    for v in session.scalars(select(Variable)):
        out[v.scope].setdefault(owners.get(v.scope_key, ""), {})[v.name] = v.value
    return out


def resolve_for_server(
    session: Session, server: str, role: str | None, job_vars: Mapping[str, str]
) -> dict[str, str]:
    layers = [*server_named_layers(session, server, role), (JOB, job_vars)]
    return {name: str(value) for name, (value, _) in sourced_cascade(layers).items()}


def server_named_layers(session: Session, server: str, role: str | None) -> list[NamedLayer]:
    """The inventory's layers for ``server`` with ``role`` in context, lowest first."""
    query = select(Server).where(Server.name == server)
    row = session.scalar(
        query.options(selectinload(Server.roles), selectinload(Server.environments))
    )
    if row is None:
        raise NotFoundError(f"unknown server '{server}'")
    if role is not None and role not in {r.name for r in row.roles}:
        from otter_tui.services.inventory import get_role

        get_role(session, role)  # an unknown role is NotFoundError, like everywhere else
        raise UsageError(f"server '{server}' is not in role '{role}'")
    scoped = variables_by_scope(session)
    parents = {
        e.name: (e.parent.name if e.parent else None) for e in session.scalars(select(Environment))
    }
    return list(
        named_server_layers(
            global_vars=scoped["global"].get("", {}),
            role_vars=scoped["role"],
            environment_vars=scoped["environment"],
            environment_parents=parents,
            server_roles=[r.name for r in row.roles],
            server_environments=[e.name for e in row.environments],
            server_vars=scoped["server"].get(server, {}),
            role_in_context=role,
            server_name=server,
        )
    )
