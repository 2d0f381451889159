"""The URL a connection is opened with: the configured one, plus the password from the keyring
when ``database.password_from_keyring`` asks for it (see :mod:`otter_tui.database_settings`).

Only the opener sees the password: settings, logs and error lines keep the URL without it.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from otter_tui.database_settings import DatabaseSettings, hide_password
from otter_tui.errors import ConfigError

DEFAULT_PORT = 5432


def secret_name(url: str | URL) -> str:
    """The keyring entry (service ``otter-tui``) of a database's password:
    ``database:USER@HOST:PORT/NAME``, e.g. ``database:otter@db.example:5432/otter``."""
    parsed = make_url(url) if isinstance(url, str) else url
    where = f"{parsed.host or 'localhost'}:{parsed.port or DEFAULT_PORT}"
    return f"database:{parsed.username or ''}@{where}/{parsed.database or ''}"


def connect_url(url: str, settings: DatabaseSettings) -> str:
    """``url`` with its password filled in from the keyring when the settings ask for it.

    A URL that already holds one (from ``OTTER_TUI_DATABASE_URL``) and a SQLite URL are left as
    they are. A missing entry is one line naming it and the command that stores it.
    """
    if not settings.password_from_keyring:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.password is not None:
        return url
    from otter_tui.transport.credentials import SERVICE, get_secret

    password = get_secret(SERVICE, secret_name(parsed))
    if password is None:
        raise ConfigError(
            f"no password for {hide_password(url)} in the keyring (service {SERVICE}, entry "
            f"{secret_name(parsed)}); store it with: otter-tui db set-password"
        )
    return parsed.set(password=password).render_as_string(hide_password=False)
