"""What every service call carries: the database, settings, who is acting, and a clock.

Permission checks and the audit trail live here, in the services, so the TUI, the CLI, the
daemon and the API all pass through the same checks.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from otter_tui.config import Settings
from otter_tui.errors import PermissionDenied, UsageError
from otter_tui.store.audit_chain import GENESIS, canonical, event_hash
from otter_tui.store.bulk import insert_numbered
from otter_tui.store.db import Database
from otter_tui.store.models import AuditEvent, User, UserPermission

Clock = Callable[[], datetime]
AuditEntry = tuple[str, str, str, str, Mapping[str, Any]]
"""(actor, action, object type, object name, detail) of one event for :func:`audit_many`."""
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

AUDIT_LOCK = 0x6F747472
"""PostgreSQL advisory lock key held while appending to the audit chain."""

PERMISSIONS = (
    "inventory.edit",
    "plans.manage",
    "jobs.run",
    "jobs.cancel",
    "jobs.approve",
    "schedules.edit",
    "templates.edit",
    "users.manage",
    "audit.read",
)
"""Every permission a user can be granted; admins hold all of them."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def current_user() -> str:
    """The acting user: the operating-system account of this process, found from its uid.

    Never an environment variable (``$USER``, ``$LOGNAME``, ``$OTTER_TUI_USER``): those are set by
    whoever starts the process, so the four-eyes rule of approvals would hold only if every shell
    were trusted. A uid without a passwd entry (a bare container) acts as ``uid-N``.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


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
        """Raise ``PermissionDenied`` unless the actor holds ``permission`` (or is an admin).

        A scoped grant counts here; the caller then checks every target of the job against the
        grants' scopes (:func:`otter_tui.services.grants.require_on_targets`).
        """
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
        self,
        session: Session,
        action: str,
        object_type: str,
        name: str,
        *,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        **detail: Any,
    ) -> None:
        """Record who did what to which object, in the caller's transaction, chained.

        ``before``/``after``: for an edit, the fields it changed as they were and as they are.
        The event's ``prev_hash`` is the hash of the newest stored event, read in this write
        transaction (autoflush makes this transaction's own events visible to that read), so
        the chain stays linear: SQLite's ``BEGIN IMMEDIATE`` and PostgreSQL's advisory lock
        let one writer at a time append.
        """
        event = AuditEvent(
            at=self.now(),
            actor=self.actor,
            action=action,
            object_type=object_type,
            object_name=name,
            detail=canonical(detail),
            before=canonical(before),
            after=canonical(after),
            prev_hash=_chain_tail(session),
        )
        event.hash = event_hash(
            event.prev_hash, event.at, self.actor, action, object_type, name,
            event.detail, event.before, event.after,
        )  # fmt: skip
        session.add(event)
        _remember_tail(session, event.hash)


def audit_many(session: Session, at: datetime, events: Sequence[AuditEntry]) -> None:
    """Append many events at once (the scheduler's bulk round), chained as :meth:`audit` does.

    One read of the chain's tail under the writers' lock, the hashes computed in order, one
    multi-row insert whose ids follow the given order: the chain ``audit verify`` walks (by
    id) is the same as if each event had been added alone.
    """
    if not events:
        return
    prev = _chain_tail(session)
    rows = []
    for actor, action, object_type, name, detail in events:
        clean = canonical(detail)
        digest = event_hash(prev, at, actor, action, object_type, name, clean, None, None)
        rows.append(
            {
                "at": at, "actor": actor, "action": action, "object_type": object_type,
                "object_name": name, "detail": clean, "before": None, "after": None,
                "prev_hash": prev, "hash": digest,
            }
        )  # fmt: skip
        prev = digest
    insert_numbered(session, cast(Table, AuditEvent.__table__), rows)
    _remember_tail(session, prev)


def _chain_tail(session: Session) -> str:
    """The hash of the newest audit event (or the chain's start), under the writers' lock.

    Read once per transaction: the lock is held from that read to the commit, so no other
    writer can append meanwhile, and this transaction's own later events are remembered as they
    are added (a job created through the API writes two events; the second read was a tenth of
    its cost)."""
    remembered = session.info.get(_TAIL)
    if remembered is not None and remembered[0] is _innermost(session):
        return str(remembered[1])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    newest = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    return session.scalar(newest) or GENESIS


_TAIL = "otter_audit_tail"
"""``session.info`` key: (the transaction, the hash of the last event it appended)."""


def _remember_tail(session: Session, digest: str) -> None:
    """The chain's tail as this transaction left it, valid only while that transaction (or
    savepoint) lasts: a new one reads it again (others may have appended meanwhile)."""
    session.info[_TAIL] = (_innermost(session), digest)


def _innermost(session: Session) -> object:
    """The savepoint in progress, else the transaction: a memo made inside a savepoint is not
    used after it, since a rolled-back savepoint takes its events with it."""
    return session.get_nested_transaction() or session.get_transaction()


def check_name(kind: str, name: str) -> str:
    """Names start with a letter or digit and use letters, digits, ``.``, ``_`` and ``-``."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"invalid {kind} name {name!r}: use letters, digits, '.', '_' and '-' (max 100)"
        )
    return name
