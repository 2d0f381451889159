"""The ``[database]`` table of config.toml, and where the database's password may come from.

A password never sits in a file in clear: a ``database.url`` in config.toml that holds one is
refused. It comes instead from

- the environment: ``OTTER_TUI_DATABASE_URL`` replaces ``database.url`` as a whole (set by a
  systemd ``EnvironmentFile``), or libpq's own ``PGPASSWORD`` / ``~/.pgpass``;
- the keyring: with ``database.password_from_keyring = true`` the password is read, when the
  database is opened, from keyring service ``otter-tui``, entry ``database:USER@HOST:PORT/NAME``
  (:func:`secret_name`), stored there by ``otter-tui db set-password``.

Kept apart from :mod:`otter_tui.config` (which owns the file format); it imports no keyring: the
lookup lives in :mod:`otter_tui.store.dsn`, reached only when the database is opened. Nor does
it import SQLAlchemy (~860 M instructions, ~0.2 s) until a URL is actually parsed: the default
``database.url`` is empty, and reading config.toml is all some commands do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from otter_tui.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ENV_URL = "OTTER_TUI_DATABASE_URL"
"""An environment variable that replaces ``database.url`` (it may hold a password: it is not a
file)."""
DIALECTS = ("sqlite", "postgresql")
"""The databases otter-tui runs on (and its test suite proves)."""


@dataclass(frozen=True)
class DatabaseSettings:
    """``[database]``: which database, and how SQLite waits and shares."""

    url: str = ""
    """SQLAlchemy URL; empty means a SQLite file ``otter.db`` in the data dir. A relative SQLite
    file path is relative to the config file."""
    busy_timeout_ms: int = 10_000
    """How long SQLite waits on a lock before failing, in milliseconds."""
    group: str = ""
    """Share a new SQLite file with this OS group (file 0660, data dir 2770); empty: only the
    account that creates it (0600 and 0700)."""
    password_from_keyring: bool = False
    """Take the PostgreSQL password from the keyring (``otter-tui db set-password`` stores it)."""


def parse_url(url: str, where: str = "'database.url'") -> URL:
    """A supported database URL, or one line naming what is wrong (the password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise ConfigError(
            f"{where} is not a database URL: {hide_password(url)!r} "
            "(e.g. sqlite:///otter.db or postgresql+psycopg://user@host/otter)"
        ) from None
    if backend not in DIALECTS:
        raise ConfigError(
            f"{where} uses {backend!r}, which otter-tui does not support "
            f"(use {' or '.join(DIALECTS)})"
        )
    return parsed


def check_file_url(url: str) -> None:
    """``database.url`` as written in config.toml: supported, and without a password."""
    if parse_url(url).password is not None:
        raise ConfigError(
            "'database.url' holds a password, and config.toml is no place for one: remove it and "
            f"set database.password_from_keyring = true (then: otter-tui db set-password), or "
            f"give the whole URL in {ENV_URL}, or use PGPASSWORD / ~/.pgpass"
        )


def env_url() -> str | None:
    """``OTTER_TUI_DATABASE_URL`` when set (checked like the file's, a password allowed)."""
    url = os.environ.get(ENV_URL, "").strip()
    if not url:
        return None
    parse_url(url, ENV_URL)
    return url


def hide_password(url: str) -> str:
    """The URL as it may be shown (``***`` for a password); the text itself if not a URL."""
    if not url:
        return url  # the default (a file in the data dir): nothing to parse
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def resolve_sqlite_url(url: str, absolute: Callable[[str], Path]) -> str:
    """A SQLite URL with a relative file path points next to the config file, not the cwd."""
    if not url:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return url
    path = str(absolute(name))
    if name.startswith("file:") or path == name:
        return url
    return parsed.set(database=path).render_as_string(hide_password=False)
