"""Scoped grants: a permission everywhere, or only within an environment (and its children), a
role, or a plan, checked for every target of a job.

A job's targets are checked when it is created (and edited, and decided on) and again when it
starts, since a role or an environment may have gained servers in between: ``bob`` holding
``jobs.run`` for environment ``dev`` may run a job whose every server is in ``dev`` (or a child
of it), and nothing else. A job with no targets is covered by a grant everywhere or for its plan.
Admins hold every permission everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.errors import PermissionDenied, UsageError
from otter_tui.store.models import User, UserPermission
from otter_tui.targeting import Inventory, InventoryServer, Target

SCOPE_KINDS = ("environment", "role", "plan")
SCOPABLE = ("jobs.run", "jobs.approve")
"""Permissions that may be limited to a scope: the ones that act on a job's targets."""


@dataclass(frozen=True)
class Grant:
    """One permission, everywhere (``kind == ""``) or within a scope."""

    permission: str
    kind: str = ""
    name: str = ""

    def describe(self) -> str:
        """``jobs.run`` or ``jobs.run for environment dev``."""
        return self.permission + (f" for {self.kind} {self.name}" if self.kind else "")

    def covers(self, server: InventoryServer | None, plan: str, inventory: Inventory) -> bool:
        """Whether this grant lets its holder act on ``server`` (None: a job with no targets)."""
        if not self.kind:
            return True
        if self.kind == "plan":
            return self.name == plan
        if server is None:
            return False
        if self.kind == "role":
            return self.name in server.roles
        return bool(server.environments & inventory.environment_closure([self.name]))


def check_scope(permission: str, kind: str, name: str) -> None:
    """A scope must be one we know, on a permission that acts on targets."""
    if kind and kind not in SCOPE_KINDS:
        raise UsageError(f"unknown scope '{kind}' (use {', '.join(SCOPE_KINDS)})")
    if kind and permission not in SCOPABLE:
        raise UsageError(
            f"permission '{permission}' cannot be scoped (only {', '.join(SCOPABLE)} can)"
        )
    if kind and not name:
        raise UsageError(f"a grant for a {kind} needs the {kind}'s name")


def grants_of(session: Session, actor: str) -> tuple[bool, list[Grant]]:
    """(is admin, the grants) of a known user; an unknown one is refused."""
    user = session.scalar(select(User).where(User.name == actor))
    if user is None:
        raise PermissionDenied(f"user '{actor}' is not known to otter-tui")
    rows = session.scalars(select(UserPermission).where(UserPermission.user_id == user.id))
    return user.is_admin, [Grant(r.permission, r.scope_kind, r.scope_name) for r in rows]


def require_held(known: tuple[bool, list[Grant]], actor: str, permission: str) -> None:
    """Raise ``PermissionDenied`` unless ``known`` (an actor's :func:`grants_of`) is an admin's or
    holds ``permission`` in some scope: :meth:`ServiceContext.require` on grants already read."""
    admin, grants = known
    if not admin and not any(g.permission == permission for g in grants):
        raise PermissionDenied(f"user '{actor}' lacks permission '{permission}'")


def require_on_targets(
    session: Session,
    actor: str,
    permission: str,
    plan: str,
    targets: Sequence[Target],
    inventory: Inventory,
    known: tuple[bool, list[Grant]] | None = None,
) -> None:
    """Raise ``PermissionDenied`` naming the permission and scope unless every target is covered.

    ``known``: the actor's ``grants_of`` as already read in this transaction (a batch)."""
    admin, grants = grants_of(session, actor) if known is None else known
    if admin:
        return
    held = [g for g in grants if g.permission == permission]
    if not held:
        raise PermissionDenied(f"user '{actor}' lacks permission '{permission}'")
    servers = {s.name: s for s in inventory.servers}
    for target in targets:
        server = servers.get(target.server) if target.server else None
        if not any(g.covers(server, plan, inventory) for g in held):
            where = f"server '{target.server}'" if target.server else "a job with no targets"
            raise PermissionDenied(
                f"user '{actor}' lacks permission '{permission}' on {where} "
                f"(holds {_list(g.describe() for g in held)})"
            )


def _list(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))
