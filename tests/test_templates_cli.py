"""``otter-tui templates`` as a user types it: output, one-line errors, keys kept out of argv."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.store.models import Job
from tests.fixtures_core import ACTOR
from tests.fixtures_scheduler import World, make_world

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)
    monkeypatch.delenv("OTTER_TUI_TRIGGER_KEY", raising=False)
    yield from make_world(tmp_path)


@pytest.fixture
def cli(world: World, capsys: pytest.CaptureFixture[str]) -> Cli:
    config = str(world.rt.settings.source)

    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--config", config, "templates", *args], actor=ACTOR)
        out, err = capsys.readouterr()
        return code, out, err

    return call


def jobs(world: World) -> list[Job]:
    with world.rt.db.session() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_add_list_show_rm(cli: Cli) -> None:
    code, out, _ = cli("add", "greet", "tick.Tick", "--var", "word=hello", "--simulate")
    assert code == 0 and out == "template greet added: Tick on no targets\n"
    code, out, _ = cli("list")
    assert "greet" in out and "word=hello" in out
    code, out, _ = cli("show", "greet", "--json")
    shown = json.loads(out)
    assert (shown["plan_key"], shown["variables"], shown["simulation"]) == (
        "tick.Tick",
        {"word": "hello"},
        True,
    )
    assert cli("rm", "greet")[1] == "template greet removed\n"
    assert json.loads(cli("list", "--json")[1]) == []


def test_a_bad_template_is_one_line_and_exit_2(cli: Cli) -> None:
    code, out, err = cli("add", "greet", "tick.Tick", "--var", "colour=red")
    assert code == 2 and out == ""
    assert err == "otter-tui: error: unknown variable 'colour' for plan Tick\n"


def test_run_prints_the_job_and_leaves_it_queued(cli: Cli, world: World) -> None:
    cli("add", "greet", "tick.Tick", "--var", "word=hello")
    code, out, _ = cli("run", "greet", "--var", "word=bye")
    job = jobs(world)[-1]
    assert code == 0 and out == f"job {job.id} created: queued\n"
    assert job.variables == {"word": "bye"} and job.template_id is not None


def test_run_follow_runs_here_and_streams_the_log(cli: Cli, world: World) -> None:
    cli("add", "greet", "tick.Tick", "--var", "word=hello-from-template")
    code, out, _ = cli("run", "greet", "--follow")
    job = jobs(world)[-1]
    assert code == 0
    assert "[job] hello-from-template" in out
    assert out.endswith(f"job {job.id} succeeded\n")


def test_trigger_takes_the_key_from_the_environment(
    cli: Cli, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("add", "greet", "tick.Tick")
    code, out, err = cli("key", "greet")
    token = out.strip()
    assert code == 0 and len(token) >= 40 and "shown once" in err
    monkeypatch.setenv("OTTER_TUI_TRIGGER_KEY", token)
    config = str(world.rt.settings.source)
    argv = ["--config", config, "templates", "trigger", "greet", "--var", "word=scripted"]
    code = run(argv, actor="some-script")
    out = capsys.readouterr().out
    job = jobs(world)[-1]
    assert code == 0 and out == f"job {job.id} created: queued\n"
    assert job.requested_by == ACTOR and job.variables == {"word": "scripted"}


def test_trigger_reads_a_key_file(cli: Cli, world: World, tmp_path: Path) -> None:
    cli("add", "greet", "tick.Tick")
    key_file = tmp_path / "greet.key"
    key_file.write_text(cli("key", "greet")[1])
    assert cli("trigger", "greet", "--key-file", str(key_file))[0] == 0
    assert len(jobs(world)) == 1


def test_a_bad_or_missing_key_is_refused_in_one_line(
    cli: Cli, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("add", "greet", "tick.Tick")
    cli("key", "greet")
    code, _, err = cli("trigger", "greet")
    assert code == 2
    assert err == (
        "otter-tui: error: no trigger key: set $OTTER_TUI_TRIGGER_KEY or pass --key-file\n"
    )
    monkeypatch.setenv("OTTER_TUI_TRIGGER_KEY", "guessed")
    code, _, err = cli("trigger", "greet")
    assert code == 1
    assert err == "otter-tui: error: bad trigger key for template 'greet'\n"
    assert jobs(world) == []


def test_trigger_does_not_take_the_key_as_an_argument(cli: Cli) -> None:
    cli("add", "greet", "tick.Tick")
    code, _, err = cli("trigger", "greet", "--key", "abc")
    assert code == 2 and "No such option '--key'" in err


def test_a_sensitive_value_runs_the_job_here_and_is_not_stored(cli: Cli, world: World) -> None:
    cli("add", "secretive", "secret.Secretive")
    code, out, _ = cli("run", "secretive", "--var", "token=hunter2-for-this-run")
    job = jobs(world)[-1]
    assert code == 0 and out.endswith(f"job {job.id} succeeded\n")
    files = world.rt.settings.data_dir.glob("otter.db*")
    assert all(b"hunter2-for-this-run" not in p.read_bytes() for p in files)


def test_a_script_is_not_asked_for_a_secret_it_did_not_give(cli: Cli, world: World) -> None:
    """stdin is not a terminal here: a hidden prompt would hang a script; one line instead."""
    cli("add", "secretive", "secret.Secretive")
    code, _, err = cli("run", "secretive")
    assert code == 2 and "token" in err and len(err.strip().splitlines()) == 1
    assert jobs(world) == []
