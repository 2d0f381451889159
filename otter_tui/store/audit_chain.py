"""The audit trail's hash chain: each event stores the hash of the one before it.

An event's hash covers its content and the previous event's hash, so changing, removing or
reordering any stored event breaks the chain from there on, and ``otter-tui audit verify`` says
where. Pure functions, shared by the services (which append) and the migration (which chained
the events written before the chain existed).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event."""


def canonical(value: Any) -> Any:
    """``value`` as it comes back from a JSON column (tuples as lists, keys as text)."""
    if value is None:
        return None
    if _plain(value):  # already so (most events): a copy, without the JSON round trip
        return dict(value)
    return json.loads(json.dumps(value, default=str))


def _plain(value: Any) -> bool:
    """A dict of text keys and text, whole-number, boolean or null values."""
    return type(value) is dict and all(
        type(k) is str and (v is None or type(v) in (str, int, bool)) for k, v in value.items()
    )


def event_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_name: str,
    detail: Any,
    before: Any,
    after: Any,
) -> str:
    """The SHA-256 of one event's content and the hash of the event before it."""
    payload = [
        prev_hash,
        at.astimezone(UTC).isoformat(),
        actor,
        action,
        object_type,
        object_name,
        canonical(detail),
        canonical(before),
        canonical(after),
    ]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
