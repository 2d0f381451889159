"""Config files and values a user can get wrong: one line, exit 2, nothing created or changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from otter_tui.cli import run
from tests.fixtures_core import ACTOR, write_config


def otter(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run(["--config", str(config), *args], actor=ACTOR)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_config_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[paths]\ndata_dir = "d\xe9j\xe0"\n')
    assert otter(config, capsys, "servers", "list") == (
        2,
        f"otter-tui: error: {config}: not UTF-8 text (invalid byte at offset 21); "
        "save it as UTF-8\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    (tmp_path / "data").write_text("not a directory")
    assert otter(config, capsys, "servers", "list") == (
        2,
        f"otter-tui: error: the data dir {tmp_path / 'data'} is a file, not a directory\n",
    )
    assert (tmp_path / "data").read_text() == "not a directory"


def test_an_unsupported_database_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"database": {"url": "mysql://u@localhost/otter"}})
    assert otter(config, capsys, "servers", "list") == (
        2,
        "otter-tui: error: 'database.url' uses 'mysql', which otter-tui does not support "
        "(use sqlite or postgresql)\n",
    )
    assert not (tmp_path / "data").exists()


def test_config_set_a_negative_number_is_refused_as_a_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    before = config.read_bytes()
    assert otter(config, capsys, "config", "set", "ssh.connect_timeout", "-1") == (
        2,
        "otter-tui: error: 'ssh.connect_timeout' must be greater than 0, got -1.0\n",
    )
    assert config.read_bytes() == before
    assert not (tmp_path / "data").exists()


def test_an_empty_time_zone_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    code, out = otter(
        config, capsys, "schedules", "add", "x", "p.P", "--cron", "@daily", "--tz", ""
    )
    assert (code, out) == (
        2,
        "otter-tui: error: --tz needs an IANA time zone name (e.g. Europe/Paris), got ''\n",
    )


@pytest.mark.parametrize(
    ("queues", "line"),
    [
        ("ops", "'console.queues' must be a list of strings, got 'ops'"),
        (
            ["ops", "night shift"],
            "'console.queues' has an invalid queue name 'night shift': use letters, digits, "
            "'.', '_' and '-' (max 100)",
        ),
        (["ops", "ops"], "'console.queues' names queue 'ops' twice"),
    ],
)
def test_bad_console_queues_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], queues: object, line: str
) -> None:
    config = write_config(tmp_path, {"console": {"queues": queues}})
    assert otter(config, capsys, "servers", "list") == (2, f"otter-tui: error: {line}\n")
    assert not (tmp_path / "data").exists()


def test_config_set_console_queues_refuses_a_bad_name_and_keeps_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    before = config.read_bytes()
    code, out = otter(config, capsys, "config", "set", "console.queues", "ops,-x")
    assert (code, out.splitlines()) == (
        2,
        [
            "otter-tui: error: 'console.queues' has an invalid queue name '-x': use letters, "
            "digits, '.', '_' and '-' (max 100)"
        ],
    )
    assert config.read_bytes() == before
