"""Users and their permissions. The first user of a fresh database becomes its admin.

A grant is a permission everywhere or within a scope (an environment with its children, a role,
or a plan; see :mod:`otter_tui.services.grants`). ``admin`` is granted and revoked like a
permission; the last administrator cannot lose it, so a database always has someone who can
manage users.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.services.context import PERMISSIONS, ServiceContext, check_name
from otter_tui.services.grants import Grant, check_scope
from otter_tui.services.inventory import get_environment, get_role
from otter_tui.services.plans import get_record
from otter_tui.store.models import User, UserPermission

ADMIN = "admin"
"""Granted and revoked like a permission: every permission, everywhere."""


@dataclass(frozen=True)
class UserView:
    name: str
    is_admin: bool
    permissions: tuple[str, ...]
    """Each grant as ``jobs.run`` or ``jobs.run for environment dev``, sorted."""

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "admin": self.is_admin, "permissions": list(self.permissions)}


def _view(user: User) -> UserView:
    return UserView(user.name, user.is_admin, tuple(_permissions(user)["permissions"]))


def _grant(row: UserPermission) -> Grant:
    return Grant(row.permission, row.scope_kind, row.scope_name)


def _permissions(user: User) -> dict[str, list[str]]:
    return {"permissions": sorted(_grant(p).describe() for p in user.permissions)}


def _check_permission(name: str) -> str:
    if name not in PERMISSIONS:
        raise UsageError(f"unknown permission '{name}' (known: {', '.join(PERMISSIONS)}, admin)")
    return name


def _scope_name(session: Session, kind: str, name: str) -> str:
    """The scope's stored name (a plan's key, even when given by its display name); an
    environment, role or plan that does not exist is ``NotFoundError``."""
    if kind == "environment":
        return get_environment(session, name).name
    if kind == "role":
        return get_role(session, name).name
    if kind == "plan":
        return get_record(session, name).key
    return name


class UserService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def bootstrap(self) -> bool:
        """Make the acting user admin when there are no users yet; True if it did."""
        with self.ctx.db.transaction() as s:
            if s.scalar(select(func.count(User.id))):
                return False
            s.add(User(name=self.ctx.actor, is_admin=True, created_at=self.ctx.now()))
            self.ctx.audit(s, "user.bootstrap", "user", self.ctx.actor)
            return True

    def list(self) -> list[UserView]:
        with self.ctx.db.session() as s:
            return [_view(u) for u in s.scalars(select(User).order_by(User.name))]

    def add(self, name: str, *, admin: bool = False, permissions: tuple[str, ...] = ()) -> UserView:
        check_name("user", name)
        perms = [_check_permission(p) for p in permissions]
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "users.manage")
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise ConflictError(f"user '{name}' already exists")
            user = User(name=name, is_admin=admin, created_at=self.ctx.now())
            user.permissions = [UserPermission(permission=p) for p in dict.fromkeys(perms)]
            s.add(user)
            self.ctx.audit(s, "user.add", "user", name, admin=admin, permissions=perms)
            s.flush()
            return _view(user)

    def grant(self, name: str, permission: str, kind: str = "", scope: str = "") -> UserView:
        """Grant ``permission`` (or ``admin``), everywhere or within one scope."""
        self._checked(permission, kind, scope)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "users.manage")
            user = self._get(s, name)
            scope = _scope_name(s, kind, scope)
            grant = Grant(permission, kind, scope)
            before = _permissions(user) | {"admin": user.is_admin}
            if permission == ADMIN:
                user.is_admin = True
            elif grant not in {_grant(p) for p in user.permissions}:
                user.permissions.append(
                    UserPermission(permission=permission, scope_kind=kind, scope_name=scope)
                )
            after = _permissions(user) | {"admin": user.is_admin}
            self.ctx.audit(
                s, "user.grant", "user", name, before=before, after=after, grant=grant.describe()
            )
            s.flush()
            return _view(user)

    def revoke(self, name: str, permission: str, kind: str = "", scope: str = "") -> UserView:
        """Take back one grant (the same permission and scope), or ``admin``."""
        grant = self._checked(permission, kind, scope)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "users.manage")
            user = self._get(s, name)
            before = _permissions(user) | {"admin": user.is_admin}
            if permission == ADMIN:
                self._refuse_last_admin(s, user)
                user.is_admin = False
            else:
                user.permissions = [p for p in user.permissions if _grant(p) != grant]
            after = _permissions(user) | {"admin": user.is_admin}
            self.ctx.audit(
                s, "user.revoke", "user", name, before=before, after=after, grant=grant.describe()
            )
            s.flush()
            return _view(user)

    @staticmethod
    def _checked(permission: str, kind: str, scope: str) -> Grant:
        if permission == ADMIN:
            if kind:
                raise UsageError("admin cannot be scoped: it is every permission, everywhere")
        else:
            _check_permission(permission)
            check_scope(permission, kind, scope)
        return Grant(permission, kind, scope)

    @staticmethod
    def _refuse_last_admin(session: Session, user: User) -> None:
        admins = session.scalar(select(func.count(User.id)).where(User.is_admin))
        if user.is_admin and admins == 1:
            raise ConflictError(
                f"'{user.name}' is the last administrator: grant admin to someone else first"
            )

    @staticmethod
    def _get(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFoundError(f"unknown user '{name}'")
        return user
