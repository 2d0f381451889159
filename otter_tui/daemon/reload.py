"""SIGHUP: read config.toml again, say what changed, apply what can change without a restart.

A file that does not validate changes nothing: one error line, and the daemon keeps the settings
it has. Settings read at the moment they are used (log batching, cancel grace, the shutdown grace,
retention, the scheduler's) apply at once; the ones the daemon built long-lived things from are
listed as ``restart_needed`` and keep their old value until the next start.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from otter_tui.config import Settings, load_settings, settings_as_dict
from otter_tui.errors import OtterError

RESTART_NEEDED = (
    "database.",
    "paths.data_dir",
    "engine.max_parallel",
    "engine.lease_seconds",
    "scheduler.",
)
"""Keys (or section prefixes) whose new value needs a restart: the database connection, the
data dir, the engine's parallelism, the workers' lease and the scheduler's settings are fixed
when the daemon starts."""


@dataclass(frozen=True)
class Reload:
    """The outcome of a reload: the settings to use from now on and what changed."""

    settings: Settings
    changed: tuple[str, ...] = ()
    restart_needed: tuple[str, ...] = ()
    error: str = ""


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """``section.key`` of every setting whose value differs, in config order."""
    before, after = settings_as_dict(old), settings_as_dict(new)
    return [
        f"{section}.{key}"
        for section, values in after.items()
        for key, value in values.items()
        if before.get(section, {}).get(key) != value
    ]


def needs_restart(key: str) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESTART_NEEDED)


def reload_settings(current: Settings, path: Path | None) -> Reload:
    """Read ``path`` again; on any error the current settings stay, with the error's one line."""
    if path is None:
        return Reload(current, error="the daemon started without a config file: nothing to reload")
    try:
        new = load_settings(path)
    except OtterError as exc:
        return Reload(current, error=str(exc))
    changed = changed_keys(current, new)
    restart = tuple(k for k in changed if needs_restart(k))
    kept = settings_keeping(current, new, restart)
    return Reload(kept, tuple(changed), restart)


def settings_keeping(current: Settings, new: Settings, restart: tuple[str, ...]) -> Settings:
    """``new``, except the sections a restart is needed for keep their running values."""
    if not restart:
        return new
    sections = {key.split(".")[0] for key in restart}
    kept = {name: getattr(current, name) for name in sections}
    if "paths" in kept:
        # plans_dir may change live; only data_dir waits for a restart.
        kept["paths"] = dataclasses.replace(new.paths, data_dir=current.paths.data_dir)
    if "engine" in kept:
        kept["engine"] = dataclasses.replace(
            new.engine,
            max_parallel=current.engine.max_parallel,
            lease_seconds=current.engine.lease_seconds,
        )
    return dataclasses.replace(new, **kept)
