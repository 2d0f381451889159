"""What every service call carries: the database, settings, who is acting, and a clock.

Permission checks and the audit trail live here, in the services, so the TUI, the CLI, the
daemon and the API all pass through the same checks.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.config import Settings
from otter_tui.errors import PermissionDenied, UsageError
from otter_tui.store.db import Database
from otter_tui.store.models import AuditEvent, User, UserPermission

Clock = Callable[[], datetime]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
USER_ENV = "OTTER_TUI_USER"

PERMISSIONS = (
    "inventory.edit",
    "plans.manage",
    "jobs.run",
    "jobs.cancel",
    "jobs.approve",
    "schedules.edit",
    "templates.edit",
    "users.manage",
)
"""Every permission a user can be granted; admins hold all of them."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def current_user() -> str:
    """The acting user: ``OTTER_TUI_USER`` if set, else the login name."""
    return os.environ.get(USER_ENV) or getpass.getuser()


@dataclass
class ServiceContext:
    """Shared by every service; cheap to build, holds no open session."""

    db: Database
    settings: Settings
    actor: str = field(default_factory=current_user)
    clock: Clock = system_clock

    def now(self) -> datetime:
        return self.clock()

    def as_user(self, actor: str) -> ServiceContext:
        """The same context acting as another user (the API and tests use this)."""
        return ServiceContext(self.db, self.settings, actor, self.clock)

    def require(self, session: Session, permission: str) -> None:
        """Raise ``PermissionDenied`` unless the actor holds ``permission`` (or is an admin)."""
        user = session.scalar(select(User).where(User.name == self.actor))
        if user is None:
            raise PermissionDenied(f"user '{self.actor}' is not known to otter-tui ({permission})")
        if user.is_admin:
            return
        granted = session.scalar(
            select(UserPermission.id).where(
                UserPermission.user_id == user.id, UserPermission.permission == permission
            )
        )
        if granted is None:
            raise PermissionDenied(f"user '{self.actor}' lacks permission '{permission}'")

    def check(self, permission: str) -> None:
        """Raise ``PermissionDenied`` now, in its own session: a form asks before it is filled."""
        with self.db.session() as session:
            self.require(session, permission)

    def audit(
        self, session: Session, action: str, object_type: str, name: str, **detail: Any
    ) -> None:
        """Record who did what to which object, in the caller's transaction."""
        session.add(
            AuditEvent(
                at=self.now(),
                actor=self.actor,
                action=action,
                object_type=object_type,
                object_name=name,
                detail=detail,
            )
        )


def check_name(kind: str, name: str) -> str:
    """Names start with a letter or digit and use letters, digits, ``.``, ``_`` and ``-``."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"invalid {kind} name {name!r}: use letters, digits, '.', '_' and '-' (max 100)"
        )
    return name
