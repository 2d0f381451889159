"""config.toml -> validated, frozen settings.

The file is found via ``--config``, then ``OTTER_TUI_CONFIG``, then ``./config.toml``, then the
user's config dir. Every key is checked against the schema below: an unknown key, a wrong type or
a bad value is a :class:`ConfigError` naming the key path, so nothing starts on a half-read file.
Relative paths are relative to the file that holds them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from otter_tui.api_settings import ApiSettings, check_api, resolve_api_paths
from otter_tui.config_sections import (
    ApprovalSettings,
    DaemonSettings,
    EngineSettings,
    InventorySettings,
    JobSettings,
    PathSettings,
    RetentionSettings,
    SchedulerSettings,
    SshSettings,
)
from otter_tui.console_settings import ConsoleSettings, check_console
from otter_tui.database_settings import (
    DatabaseSettings,
    check_file_url,
    env_url,
    hide_password,
    resolve_sqlite_url,
)
from otter_tui.errors import ConfigError
from otter_tui.transport.ciphers import check_ciphers

ENV_VAR = "OTTER_TUI_CONFIG"
APP_NAME = "otter-tui"


@dataclass(frozen=True)
class Settings:
    """Every setting, validated. Paths are absolute."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    ssh: SshSettings = field(default_factory=SshSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    inventory: InventorySettings = field(default_factory=InventorySettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    source: Path | None = None
    """The file these settings were read from; None when built from defaults."""

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data_dir)

    @property
    def plans_dir(self) -> Path:
        return Path(self.paths.plans_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'otter.db'}"

    @property
    def app_known_hosts(self) -> Path:
        """The app's own known_hosts, where ``servers trust`` records keys."""
        return self.data_dir / "known_hosts"


SECTIONS: dict[str, type[Any]] = {
    name: hint for name, hint in get_type_hints(Settings).items() if name != "source"
}
POSITIVE = {
    "busy_timeout_ms",
    "max_parallel",
    "slice_size",
    "log_batch_ms",
    "log_batch_lines",
    "lease_seconds",
    "connect_timeout",
    "max_concurrent_connects",
    "run_all_cap",
    "poll_seconds",
    "max_body_bytes",
    "key_failures_per_minute",
    "stream_send_timeout_seconds",
    "workers",
}
NON_NEGATIVE = {
    "cancel_grace_seconds",
    "log_days",
    "job_days",
    "misfire_grace_seconds",
    "shutdown_grace_seconds",
    "one_shot_window_seconds",
    "pool_size",
    "pool_idle_seconds",
}


def find_config(explicit: str | Path | None, cwd: Path | None = None) -> Path | None:
    """The config file to use, by the documented order; None means built-in defaults."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path.resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        return find_config(env)
    for candidate in ((cwd or Path.cwd()) / "config.toml", _user_dir("config") / "config.toml"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _user_dir(kind: str) -> Path:
    """The user's config or data folder for the app; platformdirs is imported only when a path
    is not given (most starts name their config and data folder)."""
    import platformdirs

    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME))
    return Path(platformdirs.user_data_dir(APP_NAME))


def load_settings(explicit: str | Path | None = None) -> Settings:
    """Find, read and validate the configuration."""
    path = find_config(explicit)
    raw = read_toml(path) if path else {}
    settings = settings_from_mapping(raw, path)
    url = env_url()
    if url is None:
        return settings
    return dataclasses.replace(settings, database=dataclasses.replace(settings.database, url=url))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file and the line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def settings_from_mapping(raw: Mapping[str, Any], path: Path | None) -> Settings:
    """Validate a parsed document against the schema and resolve paths."""
    base = path.parent if path else Path.cwd()
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in SECTIONS:
            raise ConfigError(f"unknown section '{name}' (known: {', '.join(SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"'{name}' must be a table ([{name}])")
        sections[name] = _section(name, SECTIONS[name], value)
    settings = Settings(**sections, source=path)
    return _resolve_paths(settings, base)


def _section(name: str, cls: type[Any], values: Mapping[str, Any]) -> Any:
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            known = ", ".join(hints)
            raise ConfigError(f"unknown key '{name}.{key}' (known in [{name}]: {known})")
        kwargs[key] = _coerce(f"{name}.{key}", hints[key], value)
        _check_range(f"{name}.{key}", key, kwargs[key])
    if name == "database" and kwargs.get("url"):
        check_file_url(kwargs["url"])
    section = cls(**kwargs)
    if name == "api":
        check_api(section)
    if name == "console":
        check_console(section)
    if name == "ssh":
        check_ciphers("ssh.ciphers", section.ciphers)
    return section


def _check_range(path: str, key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"'{path}' must be a finite number, got {value!r}")
    if key in POSITIVE and value <= 0:
        raise ConfigError(f"'{path}' must be greater than 0, got {value!r}")
    if key in NON_NEGATIVE and value < 0:
        raise ConfigError(f"'{path}' must be 0 or more, got {value!r}")


def _coerce(key: str, hint: Any, value: Any) -> Any:
    expected = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if hint is bool or hint is str:
        if not isinstance(value, hint):
            raise ConfigError(f"'{key}' must be {expected[hint]}, got {value!r}")
        return value
    if hint is int or hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{key}' must be {expected[hint]}, got {value!r}")
        if hint is int and not isinstance(value, int):
            raise ConfigError(f"'{key}' must be an integer, got {value!r}")
        return hint(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of strings, got {value!r}")
    return tuple(value)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Every path setting made absolute: ``~`` expanded, relative ones against ``base``."""
    data = settings.paths.data_dir or str(_user_dir("data"))
    paths = PathSettings(
        data_dir=str(_absolute(data, base)),
        plans_dir=str(_absolute(settings.paths.plans_dir, base)),
    )
    ssh = dataclasses.replace(
        settings.ssh,
        known_hosts=str(_absolute(settings.ssh.known_hosts, base)),
        ssh_config=str(_absolute(settings.ssh.ssh_config, base)) if settings.ssh.ssh_config else "",
        client_keys=tuple(str(_absolute(k, base)) for k in settings.ssh.client_keys),
    )
    url = resolve_sqlite_url(settings.database.url, lambda p: _absolute(p, base))
    database = dataclasses.replace(settings.database, url=url)
    api = resolve_api_paths(settings.api, lambda p: _absolute(p, base))
    return dataclasses.replace(settings, paths=paths, ssh=ssh, database=database, api=api)


def _absolute(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def settings_as_dict(settings: Settings) -> dict[str, Any]:
    """Every section and key with its effective value, for ``config show``."""
    out: dict[str, Any] = {}
    for name in SECTIONS:
        section = dataclasses.asdict(getattr(settings, name))
        if name == "database":
            section["url"] = hide_password(section["url"])
        out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
    return out


def parse_cli_value(key: str, text: str) -> tuple[str, str, Any]:
    """Turn ``section.key`` and a string from the command line into a typed value."""
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise ConfigError(f"unknown key '{key}' (use SECTION.KEY, e.g. engine.max_parallel)")
    hints = get_type_hints(SECTIONS[section])
    if name not in hints:
        raise ConfigError(f"unknown key '{key}' (known in [{section}]: {', '.join(hints)})")
    hint = hints[name]
    value: Any = text
    if hint is bool:
        if text.lower() not in ("true", "false"):
            raise ConfigError(f"'{key}' must be true or false, got {text!r}")
        value = text.lower() == "true"
    elif hint in (int, float):
        try:
            value = hint(text)
        except ValueError:
            raise ConfigError(f"'{key}' must be a number, got {text!r}") from None
    elif hint is not str:
        value = [part for part in text.split(",") if part]
    return section, name, value


def set_value(path: Path, key: str, text: str) -> Settings:
    """Set one key in the file and write it back, only if the whole result validates."""
    raw = read_toml(path) if path.exists() else {}
    section, name, value = parse_cli_value(key, text)
    raw.setdefault(section, {})[name] = value
    settings = settings_from_mapping(raw, path)
    import tomli_w  # only ``config set`` writes TOML: every other start merely reads it

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(tomli_w.dumps(raw).encode())
    os.replace(tmp, path)
    return settings
