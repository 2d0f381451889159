"""Users and their permissions. The first user of a fresh database becomes its admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.services.context import PERMISSIONS, ServiceContext, check_name
from otter_tui.store.models import User, UserPermission


@dataclass(frozen=True)
class UserView:
    name: str
    is_admin: bool
    permissions: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "admin": self.is_admin, "permissions": list(self.permissions)}


def _view(user: User) -> UserView:
    return UserView(user.name, user.is_admin, tuple(sorted(p.permission for p in user.permissions)))


def _permissions(user: User) -> dict[str, list[str]]:
    return {"permissions": sorted(p.permission for p in user.permissions)}


def _check_permission(name: str) -> str:
    if name not in PERMISSIONS:
        raise UsageError(f"unknown permission '{name}' (known: {', '.join(PERMISSIONS)})")
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

    def grant(self, name: str, permission: str) -> UserView:
        _check_permission(permission)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "users.manage")
            user = self._get(s, name)
            before = _permissions(user)
            if permission not in {p.permission for p in user.permissions}:
                user.permissions.append(UserPermission(permission=permission))
            after = _permissions(user)
            self.ctx.audit(
                s, "user.grant", "user", name, before=before, after=after, permission=permission
            )
            s.flush()
            return _view(user)

    def revoke(self, name: str, permission: str) -> UserView:
        _check_permission(permission)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "users.manage")
            user = self._get(s, name)
            before = _permissions(user)
            user.permissions = [p for p in user.permissions if p.permission != permission]
            after = _permissions(user)
            self.ctx.audit(
                s, "user.revoke", "user", name, before=before, after=after, permission=permission
            )
            s.flush()
            return _view(user)

    @staticmethod
    def _get(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFoundError(f"unknown user '{name}'")
        return user
