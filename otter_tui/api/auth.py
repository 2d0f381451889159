"""Which key a request carries, whether it is a live one, and whether it may do this.

Keys are accepted as Otter accepts them: the ``X-ApiKey`` header (the safe way: headers stay out
of access logs, browser history and proxies' URL logs), a ``key`` query or form field, or an
``API_Key`` JSON property. A client that sends ``api.key_failures_per_minute`` bad keys within a
minute gets 429 until the minute is over, whatever it sends, so keys cannot be guessed quickly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from otter_tui.api.refusals import Refused
from otter_tui.api.state import api_state, client_address
from otter_tui.errors import PermissionDenied
from otter_tui.services.api_keys import ApiKeyView

HEADER = "x-apikey"


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


async def key_for(request: Request, token: str) -> ApiKeyView | None:
    """The live API key ``token`` is, or None (the caller decides how to refuse)."""
    try:
        key = await asyncio.to_thread(api_state(request).runtime.api_keys.authenticate, token)
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


async def caller(request: Request, action: str, fields: Mapping[str, Any]) -> ApiKeyView:
    """The key of a request that may ``action`` (``view``, ``trigger``, ``remediate``)."""
    check_rate(request)
    key = await key_for(request, token_of(request, fields))
    if key is None:
        raise bad_key(request)
    require_scope(key, action)
    return key


__all__ = ["bad_key", "caller", "check_rate", "key_for", "require_scope", "token_of"]
