"""The API's own table: keys that let a script act over HTTP as the user who issued them.

Apart from :mod:`otter_tui.store.models` (the glossary's tables) because it is the HTTP door's
state, not the domain's; it shares the same ``Base``, so migrations and checks see it.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from otter_tui.store.models import Base, utcnow


class ApiKey(Base):
    """An API key: only its SHA-256 hash is kept. Revoked keys stay, for the audit trail."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    """``view``, ``trigger`` or ``remediate``."""
    templates: Mapped[list[Any]] = mapped_column(default=list)
    """Templates the key may trigger; empty: any."""
    environments: Mapped[list[Any]] = mapped_column(default=list)
    """Environments every target of the key's jobs must lie in; empty: any."""
    owner: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
