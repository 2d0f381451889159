"""SIGHUP's logic: what changed, what needs a restart, and a bad file changing nothing."""

from __future__ import annotations

from pathlib import Path

from otter_tui.config import load_settings
from otter_tui.daemon.reload import changed_keys, needs_restart, reload_settings
from tests.fixtures_core import write_config


def test_changed_keys_names_each_setting_that_differs(tmp_path: Path) -> None:
    old = load_settings(write_config(tmp_path))
    path = write_config(
        tmp_path,
        {"daemon": {"shutdown_grace_seconds": 5}, "engine": {"max_parallel": 3}},
    )
    new = load_settings(path)
    assert changed_keys(old, new) == ["engine.max_parallel", "daemon.shutdown_grace_seconds"]
    assert changed_keys(new, new) == []


def test_connection_and_engine_sizes_need_a_restart_the_rest_applies_live() -> None:
    for key in ("database.url", "paths.data_dir", "engine.max_parallel", "engine.lease_seconds"):
        assert needs_restart(key), key
    for key in ("paths.plans_dir", "engine.cancel_grace_seconds", "daemon.shutdown_grace_seconds"):
        assert not needs_restart(key), key


def test_a_reload_applies_live_keys_and_keeps_restart_keys_until_restart(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    current = load_settings(path)
    write_config(
        tmp_path,
        {
            "daemon": {"shutdown_grace_seconds": 5},
            "engine": {"max_parallel": 3, "cancel_grace_seconds": 2},
            "paths": {"plans_dir": "other-plans"},
        },
    )
    result = reload_settings(current, path)
    assert result.error == ""
    assert result.restart_needed == ("engine.max_parallel",)
    assert set(result.changed) == {
        "engine.max_parallel",
        "engine.cancel_grace_seconds",
        "daemon.shutdown_grace_seconds",
        "paths.plans_dir",
    }
    assert result.settings.engine.max_parallel == current.engine.max_parallel
    assert result.settings.engine.cancel_grace_seconds == 2
    assert result.settings.daemon.shutdown_grace_seconds == 5
    assert result.settings.plans_dir == tmp_path / "other-plans"
    assert result.settings.data_dir == current.data_dir


def test_a_malformed_file_keeps_the_current_settings_with_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"daemon": {"shutdown_grace_seconds": 7}})
    current = load_settings(path)
    for text in (
        "[daemon\nshutdown_grace_seconds = 1\n",
        "[daemon]\nshutdown_grace_seconds = -1\n",
    ):
        path.write_text(text)
        result = reload_settings(current, path)
        assert result.settings is current
        assert result.error and "\n" not in result.error
    assert "daemon.shutdown_grace_seconds" in result.error


def test_without_a_config_file_there_is_nothing_to_reload(tmp_path: Path) -> None:
    current = load_settings(write_config(tmp_path))
    result = reload_settings(current, None)
    assert result.settings is current
    assert "without a config file" in result.error
