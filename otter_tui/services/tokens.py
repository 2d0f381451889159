"""Bearer tokens for scripts (template trigger keys, API keys): made, hashed and checked here.

A token is 32 random bytes, so a fast hash (SHA-256) is enough: there is nothing to guess that
a slow hash would protect. Only the hash is stored; a token is shown once, when issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sha256:"


def new_token() -> str:
    """A fresh high-entropy token, URL-safe (it may travel in a query string)."""
    return secrets.token_urlsafe(32)


def key_hash(token: str) -> str:
    """What is stored for a token: a random token needs a fast hash, not a slow one."""
    return KEY_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def token_matches(stored: str, token: str) -> bool:
    """Whether ``token`` hashes to ``stored``, compared in constant time; never for an empty one."""
    return bool(stored) and hmac.compare_digest(stored.encode(), key_hash(token).encode())


__all__ = ["key_hash", "new_token", "token_matches"]
