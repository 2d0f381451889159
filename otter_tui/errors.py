"""Typed errors a user can cause.

Every error here carries a one-line message naming the bad thing. The CLI and the TUI show that
line and never a traceback; anything else is a bug and is logged with its traceback.
"""

from __future__ import annotations


class OtterError(Exception):
    """Base for errors caused by user input or by the outside world, shown as one line."""

    exit_code = 1


class UsageError(OtterError):
    """Bad input: a malformed value, an unknown name, a duplicate. CLI exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """config.toml is missing a value, has an unknown key, or a value of the wrong type."""


class NotFoundError(UsageError):
    """A named thing (server, role, plan, job...) does not exist."""


class ConflictError(UsageError):
    """The name is taken, or the action conflicts with the current state."""


class PermissionDenied(OtterError):
    """The user may not do this."""


class StoreError(OtterError):
    """The database cannot be opened or upgraded (corrupt, foreign, or too new)."""


class TransportError(OtterError):
    """A server could not be reached, logged in to, or trusted."""


class HostKeyError(TransportError):
    """The server's host key is unknown or has changed."""
