"""``otter-tui schedules`` as a user types it: output, one-line errors naming the field, exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from tests.fixtures_core import ACTOR
from tests.fixtures_scheduler import World, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)
    yield from make_world(tmp_path)


@pytest.fixture
def cli(world: World, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    config = str(world.rt.settings.source)

    def call(*args: str) -> tuple[int, str, str]:
        # The world's clock, not the calendar: "next" and "is in the future" are computed from
        # START, so the expected dates below hold on any day.
        code = run(["--config", config, "schedules", *args], actor=ACTOR, clock=world.fixed)
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "30 25 * * *"], "cron 'hour' field '25' is out of range 0-23"),
        (["--cron", "*/0 * * * *"], "cron 'minute' field '*/0' has step '0'"),
        (["--cron", "* * *"], "cron line has 3 fields, expected 5"),
        (["--cron", "0 3 * * *", "--tz", "Europe/Berlinn"], "unknown time zone 'Europe/Berlinn'"),
        (["--at", "tomorrow"], "--at takes a date and time like '2026-12-01 03:00'"),
        (["--cron", "0 3 * * *", "--var", "oops"], "--var takes NAME=VALUE"),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_exit_2(
    cli,
    args: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    code, out, err = cli("add", "nightly", "tick.Tick", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("otter-tui: error: ")
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_policy_is_refused_by_its_choices(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("add", "nightly", "tick.Tick", "--cron", "0 3 * * *", "--misfire", "later")
    assert code == 2
    assert "run_once" in err and "skip" in err and "run_all" in err


def test_add_list_show_next_edit_disable_rm(cli, world: World) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "add", "nightly", "tick.Tick", "--cron", "30 2 * * *", "--tz", "America/New_York"
    )
    assert (code, err) == (0, "")
    assert out == (
        "schedule nightly added: at 02:30 every day (America/New_York); next 2026-12-01 07:30 UTC\n"
    )
    code, out, _ = cli("list")
    assert code == 0
    assert out.splitlines()[1].split()[:5] == ["nightly", "yes", "Tick", "30", "2"]

    code, out, _ = cli("next", "nightly", "3")
    assert out.splitlines() == [
        "nightly: at 02:30 every day (America/New_York)",
        "LOCAL (AMERICA/NEW_YORK)  UTC",
        "2026-12-01 02:30 EST      2026-12-01 07:30",
        "2026-12-02 02:30 EST      2026-12-02 07:30",
        "2026-12-03 02:30 EST      2026-12-03 07:30",
    ]
    code, out, _ = cli("next", "nightly", "2", "--json")
    assert json.loads(out)["firings"][0] == {
        "local": "2026-12-01T02:30:00-05:00",
        "utc": "2026-12-01T07:30:00+00:00",
    }

    code, out, _ = cli("show", "nightly", "--json")
    shown = json.loads(out)
    assert (shown["misfire_policy"], shown["overlap_policy"], shown["firings"]) == (
        "skip",
        "skip",
        [],
    )

    assert cli("edit", "nightly", "--cron", "@hourly", "--overlap", "queue")[0] == 0
    assert world.schedules.show("nightly").overlap_policy == "queue"
    assert cli("disable", "nightly")[1] == "schedule nightly disabled\n"
    assert "disabled" in cli("next", "nightly")[1].splitlines()[0]
    assert cli("rm", "nightly") == (0, "schedule nightly removed\n", "")
    code, _, err = cli("show", "nightly")
    assert code == 2 and "unknown schedule 'nightly'" in err


def test_a_one_shot_at_a_wall_time_in_a_zone(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "add", "patch", "tick.Tick", "--at", "2026-12-01 03:00", "--tz", "Europe/Berlin"
    )
    assert (code, err) == (0, "")
    assert out == (
        "schedule patch added: once, at 2026-12-01 03:00 CET (Europe/Berlin); "
        "next 2026-12-01 02:00 UTC\n"
    )
