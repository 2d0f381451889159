"""The ``[api]`` table of config.toml: where the HTTP API listens and what it accepts.

Kept apart from :mod:`otter_tui.config` (which owns the file format and validation) so the API's
own rules (an address with a port, TLS as a pair of files) sit together. It imports nothing but
the errors, so reading config never pulls in the HTTP stack.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from otter_tui.errors import ConfigError, UsageError

DEFAULT_PORT = 8640


@dataclass(frozen=True)
class ApiSettings:
    """``[api]``: where and how the HTTP API listens."""

    bind: str = f"127.0.0.1:{DEFAULT_PORT}"
    """``HOST:PORT`` the API listens on (``--api`` overrides it); loopback unless you say so.
    Port 0 picks a free port (the ``api.started`` log line names it)."""
    tls_cert: str = ""
    """PEM certificate file for HTTPS; set it together with ``tls_key``."""
    tls_key: str = ""
    """PEM private key file for HTTPS."""
    trusted_proxy_headers: bool = False
    """Believe ``X-Forwarded-For``/``-Proto`` from any peer: only behind a proxy you run, since a
    client could otherwise pick the address the brute-force limit counts against."""
    max_body_bytes: int = 1_048_576
    """A request body longer than this is refused with 413 before it is read whole."""
    key_failures_per_minute: int = 10
    """Bad keys one client may send per minute; past that it gets 429 until the minute is over."""
    stream_send_timeout_seconds: float = 10.0
    """A live log client that takes longer than this to accept a batch is dropped (it may
    reconnect with ``Last-Event-ID``); the server never buffers for it."""
    workers: int = 2
    """Threads that run requests' database work. Python runs one of them at a time, so more
    only help while they wait on the database: on PostgreSQL over a network, not on SQLite."""


@dataclass(frozen=True)
class Bind:
    """A parsed ``HOST:PORT`` to listen on."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_bind(text: str, what: str = "api.bind") -> Bind:
    """``HOST:PORT``, ``[IPv6]:PORT``, or a bare ``HOST`` (port 8640); a bad one names itself."""
    host, sep, port = text.rpartition(":")
    if not sep or (":" in host and not host.startswith("[")):
        host, port = text, str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(
            f"'{what}' must be HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT}), got {text!r}"
        )
    return Bind(host, int(port))


def check_api(values: ApiSettings) -> None:
    """The rules one key alone cannot check: a valid address, TLS files given as a pair."""
    try:
        parse_bind(values.bind)
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    if bool(values.tls_cert) != bool(values.tls_key):
        raise ConfigError("'api.tls_cert' and 'api.tls_key' must be set together")


def resolve_api_paths(values: ApiSettings, absolute: Callable[[str], Path]) -> ApiSettings:
    """The TLS files made absolute like every path in config.toml."""
    return dataclasses.replace(
        values,
        tls_cert=str(absolute(values.tls_cert)) if values.tls_cert else "",
        tls_key=str(absolute(values.tls_key)) if values.tls_key else "",
    )


__all__ = ["ApiSettings", "Bind", "check_api", "parse_bind", "resolve_api_paths"]
