"""Which key a request carries, whether it is a live one, and whether it may do this.

Keys are accepted as Otter accepts them: the ``X-ApiKey`` header (the safe way: headers stay out
of access logs, browser history and proxies' URL logs), a ``key`` query or form field, or an
``API_Key`` JSON property. A client that sends ``api.key_failures_per_minute`` bad keys within a
minute gets 429 until the minute is over, whatever it sends, so keys cannot be guessed quickly.

A request's key is checked and its work done in one trip to a worker thread (:func:`acting`):
two trips per request were twice the thread hand-offs, and the API under load spent 11% of its
CPU switching threads (docs/bench-findings.md, "API threads and the SSE stream").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from starlette.requests import Request

from otter_tui.api.refusals import Refused
from otter_tui.api.state import ApiState, api_state, client_address
from otter_tui.errors import PermissionDenied
from otter_tui.services.api_keys import ApiKeyView

HEADER = "x-apikey"
T = TypeVar("T")


class BadKey(Exception):
    """Raised on a worker for a token that is no live key; the loop counts and refuses it."""


def check_rate(request: Request) -> None:
    """429 while this client is over its bad-key allowance."""
    limiter = api_state(request).limiter
    client = client_address(request)
    wait = limiter.retry_after(client)
    if wait:
        request.scope["otter.audit_429"] = limiter.first_refusal(client)
        raise Refused(
            429,
            f"too many bad API keys from {client}: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def token_of(request: Request, fields: Mapping[str, Any]) -> str:
    """The key the request carries, from the header first; 403 when there is none."""
    token = request.headers.get(HEADER) or fields.get("key") or fields.get("API_Key")
    if not isinstance(token, str) or not token:
        raise Refused(403, "no API key: send it in the X-ApiKey header")
    return token


def authenticated(request: Request, state: ApiState, token: str) -> ApiKeyView | None:
    """The live API key ``token`` is, or None; on a worker. Noted on the request, so a refusal
    after this point is audited under the key's owner."""
    try:
        key = state.runtime.api_keys.authenticate(token)
    except PermissionDenied:
        return None
    request.scope["otter.key"] = key
    return key


def bad_key(request: Request) -> Refused:
    """Count a failed attempt against the client and return the refusal to raise."""
    api_state(request).limiter.fail(client_address(request))
    return Refused(403, "bad API key")


def require_scope(key: ApiKeyView, action: str) -> None:
    if not key.allows(action):
        raise Refused(403, f"API key '{key.name}' has scope '{key.scope}': it may not {action}")


async def acting(
    request: Request, action: str, fields: Mapping[str, Any], work: Callable[[ApiKeyView], T]
) -> T:
    """``work(key)`` for a request whose key may ``action`` (``view``, ``trigger``,
    ``remediate``), key check and work in one trip to a worker: a bad key is 403 and counted,
    a key without the scope 403, before ``work`` runs."""
    check_rate(request)
    token = token_of(request, fields)
    state = api_state(request)

    def checked_then_work() -> T:
        key = authenticated(request, state, token)
        if key is None:
            raise BadKey
        require_scope(key, action)
        return work(key)

    try:
        return await state.call(checked_then_work)
    except BadKey:
        raise bad_key(request) from None


__all__ = [
    "BadKey",
    "acting",
    "authenticated",
    "bad_key",
    "check_rate",
    "require_scope",
    "token_of",
]
