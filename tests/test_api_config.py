"""The ``[api]`` table: a bad address or half a TLS pair is refused naming the key, TLS paths are
relative to the file, and the API listens on loopback unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from otter_tui.api_settings import parse_bind
from otter_tui.config import Settings, load_settings
from otter_tui.errors import ConfigError, UsageError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_api_listens_on_loopback_by_default() -> None:
    bind = parse_bind(Settings().api.bind)
    assert (bind.host, bind.port, bind.loopback) == ("127.0.0.1", 8640, True)


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [
        ("0.0.0.0:9000", "0.0.0.0", 9000, False),
        ("[::1]:8641", "::1", 8641, True),
        ("localhost", "localhost", 8640, True),
        ("api.example.net:443", "api.example.net", 443, False),
    ],
)
def test_bind_addresses(text: str, host: str, port: int, loopback: bool) -> None:
    bind = parse_bind(text)
    assert (bind.host, bind.port, bind.loopback) == (host, port, loopback)


@pytest.mark.parametrize("text", ["", ":80", "host:port", "127.0.0.1:70000", "127.0.0.1:-1"])
def test_a_bad_bind_is_refused_naming_it(text: str) -> None:
    with pytest.raises(UsageError, match=r"'api.bind' must be HOST:PORT"):
        parse_bind(text)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('bind = "nowhere:x"', "'api.bind' must be HOST:PORT"),
        ('tls_cert = "cert.pem"', "'api.tls_cert' and 'api.tls_key' must be set together"),
        ("max_body_bytes = 0", "'api.max_body_bytes' must be greater than 0"),
        ("trusted_proxy_headers = 1", "'api.trusted_proxy_headers' must be true or false"),
        ("colour = 1", "unknown key 'api.colour'"),
        ("workers = 0", "'api.workers' must be greater than 0"),
        ('workers = "two"', "'api.workers' must be an integer"),
    ],
)
def test_a_bad_api_table_is_refused_in_one_line(tmp_path: Path, body: str, message: str) -> None:
    config = write(tmp_path / "config.toml", f"[api]\n{body}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(config)
    assert "\n" not in str(caught.value)


def test_tls_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml", '[api]\ntls_cert = "tls/c.pem"\ntls_key = "tls/k.pem"\n'
    )
    api = load_settings(config).api
    assert (api.tls_cert, api.tls_key) == (str(tmp_path / "tls/c.pem"), str(tmp_path / "tls/k.pem"))
