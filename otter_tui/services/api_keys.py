"""API keys: let a script act over HTTP as the user who issued the key, within the key's limits.

A key has a scope (``view`` reads; ``trigger`` also creates, cancels and decides on jobs;
``remediate`` reads and remediates drift), may be limited to some templates and to servers in
some environments, and belongs to the user who issued it. Every call still checks the owner's
own permissions at call time (``ctx.as_user(owner)``), so a key never grants more than its owner
holds now. The key is shown once; only its SHA-256 hash is stored (:mod:`.tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.tokens import key_hash, new_token, token_matches
from otter_tui.store.api_models import ApiKey
from otter_tui.store.models import Environment, JobTemplate, User
from otter_tui.targeting import TargetSpec, resolve_targets

SCOPES = ("view", "trigger", "remediate")
GRANTS = {"view": {"view"}, "trigger": {"view", "trigger"}, "remediate": {"view", "remediate"}}
"""What each scope may do: every scope reads."""
LAST_USED_EVERY = timedelta(seconds=60)
"""``last_used_at`` is written at most this often per key, so reading over HTTP stays a read."""


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    scope: str
    templates: tuple[str, ...]
    environments: tuple[str, ...]
    owner: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, action: str) -> bool:
        return self.revoked_at is None and action in GRANTS[self.scope]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def key_view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        row.id,
        row.name,
        row.scope,
        tuple(row.templates),
        tuple(row.environments),
        row.owner,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


class ApiKeyService:
    """Issue, list, revoke and check API keys; checks of what a key may target live here too."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def add(
        self,
        name: str,
        scope: str,
        templates: Sequence[str] = (),
        environments: Sequence[str] = (),
    ) -> tuple[ApiKeyView, str]:
        """A new key owned by the acting user, and the token, returned this once."""
        check_name("API key", name)
        if scope not in SCOPES:
            raise UsageError(f"unknown scope '{scope}' (use one of: {', '.join(SCOPES)})")
        token = new_token()
        with self.ctx.db.transaction() as s:
            self._known_user(s)
            if s.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
                raise ConflictError(f"API key '{name}' already exists")
            _check_known(s, JobTemplate.name, "template", templates)
            _check_known(s, Environment.name, "environment", environments)
            row = ApiKey(
                name=name,
                key_hash=key_hash(token),
                scope=scope,
                templates=sorted(set(templates)),
                environments=sorted(set(environments)),
                owner=self.ctx.actor,
                created_at=self.ctx.now(),
            )
            s.add(row)
            s.flush()
            self.ctx.audit(s, "api_key.add", "api_key", name, scope=scope)
            return key_view(row), token

    def list_keys(self) -> list[ApiKeyView]:
        with self.ctx.db.session() as s:
            return [key_view(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.name))]

    def revoke(self, name: str) -> ApiKeyView:
        """Its owner, or a user manager, ends a key at once; the row stays for the audit."""
        with self.ctx.db.transaction() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.name == name))
            if row is None:
                raise NotFoundError(f"unknown API key '{name}'")
            if row.owner != self.ctx.actor:
                self.ctx.require(s, "users.manage")
            if row.revoked_at is not None:
                raise ConflictError(f"API key '{name}' is already revoked")
            row.revoked_at = self.ctx.now()
            self.ctx.audit(s, "api_key.revoke", "api_key", name)
            return key_view(row)

    def authenticate(self, token: str) -> ApiKeyView:
        """The live key ``token`` is, noting its use; ``PermissionDenied`` for any other token."""
        hashed = key_hash(token)
        with self.ctx.db.session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.key_hash == hashed))
            if row is None or not token_matches(row.key_hash, token) or row.revoked_at:
                raise PermissionDenied("bad API key")
            view = key_view(row)
        now = self.ctx.now()
        if view.last_used_at is None or now - view.last_used_at >= LAST_USED_EVERY:
            with self.ctx.db.transaction() as s:
                s.execute(update(ApiKey).where(ApiKey.id == view.id).values(last_used_at=now))
        return view

    def require_within(
        self, key: ApiKeyView, targets: TargetSpec, session: Session | None = None
    ) -> None:
        """Refuse targets outside the key's environments (a job with no server is outside).

        ``session``: read the inventory there (the job's own transaction) rather than in a
        session of its own."""
        if not key.environments:
            return
        if session is None:
            with self.ctx.db.session() as s:
                inventory = load_inventory(s)
        else:
            inventory = load_inventory(session)
        allowed = inventory.environment_closure(key.environments)
        by_name = {x.name: x for x in inventory.servers}
        for target in resolve_targets(targets, inventory):
            server = by_name.get(target.server or "")
            if server is None or not server.environments & allowed:
                where = f"server '{target.server}'" if server else "a job with no server"
                limits = ", ".join(key.environments)
                raise PermissionDenied(f"API key '{key.name}' may not reach {where} ({limits})")

    def _known_user(self, s: Session) -> None:
        if s.scalar(select(User.id).where(User.name == self.ctx.actor)) is None:
            raise PermissionDenied(f"user '{self.ctx.actor}' is not known to otter-tui")


def _check_known(s: Session, column: Any, kind: str, names: Sequence[str]) -> None:
    known = set(s.scalars(select(column).where(column.in_(list(names))))) if names else set()
    for name in names:
        if name not in known:
            raise NotFoundError(f"unknown {kind} '{name}'")


__all__ = ["SCOPES", "ApiKeyService", "ApiKeyView"]
