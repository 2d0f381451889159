"""Who may do what, and what they did: users, their (scoped) grants, and the audit trail."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from otter_tui.store.base import Base, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    permissions: Mapped[list["UserPermission"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class UserPermission(Base):
    """One granted action (``jobs.run``, ``jobs.approve``, ``inventory.edit``...), everywhere
    or within a scope: an environment (with its children), a role, or a plan."""

    __tablename__ = "user_permissions"
    __table_args__ = (UniqueConstraint("user_id", "permission", "scope_kind", "scope_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    permission: Mapped[str] = mapped_column(String(64))
    scope_kind: Mapped[str] = mapped_column(String(16), default="")
    """``""`` (everywhere), ``environment``, ``role`` or ``plan``."""
    scope_name: Mapped[str] = mapped_column(String(200), default="")
    """The environment, role or plan key the grant is limited to; ``""`` when not scoped."""
    user: Mapped[User] = relationship(back_populates="permissions")


class AuditEvent(Base):
    """One thing someone did. Append-only: the database refuses UPDATE and DELETE (triggers of
    migration 0007), and ``hash`` chains each event to the one before (``store/audit_chain``)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_name: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """For an edit: the fields it changed, as they were."""
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """For an edit: the same fields, as the edit left them."""
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")
