"""The command line as a user types it: output, one-line errors, exit codes, nothing half-done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from otter_tui.cli import run
from tests.fixtures_core import ACTOR, db_file, make_runtime, table_snapshot, write_config

DEMO = ["demo-db1", "demo-web1", "demo-web2"]


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file whose database already holds the demo inventory (as after a first start)."""
    make_runtime(tmp_path).close()
    return tmp_path / "config.toml"


class Cli:
    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.capsys = config, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = run(["--config", str(self.config), *args], actor=ACTOR)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> object:
        code, out, err = self(*args, "--json")
        assert (code, err) == (0, "")
        return json.loads(out)


@pytest.fixture
def cli(config: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(config, capsys)


def one_line_error(err: str, message: str) -> None:
    assert err.startswith("otter-tui: error: ")
    assert message in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


# inventory --------------------------------------------------------------------------------------


def test_servers_list_json_prints_the_demo_inventory(cli: Cli) -> None:
    servers = cli.json("servers", "list")
    assert isinstance(servers, list)
    assert [s["name"] for s in servers] == DEMO
    web1 = servers[1]
    assert web1["roles"] == ["demo", "web"]
    assert web1["environments"] == ["dev"]
    assert web1["transport"] == "local"
    assert web1["active"] is True


def test_servers_list_prints_a_table(cli: Cli) -> None:
    code, out, _ = cli("servers", "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "NAME",
        "TRANSPORT",
        "HOST",
        "PORT",
        "USER",
        "ACTIVE",
        "ROLES",
        "ENVIRONMENTS",
    ]
    assert [line.split()[0] for line in lines[1:]] == DEMO
    assert lines[2].split()[-2:] == ["demo,web", "dev"]


def test_add_a_server_then_find_it(cli: Cli) -> None:
    added = cli.json(
        "servers",
        "add",
        "web3",
        "--host",
        "10.0.0.3",
        "--port",
        "2222",
        "--roles",
        "web,demo",
        "--environments",
        "dev",
    )
    assert added == {
        "name": "web3",
        "host": "10.0.0.3",
        "port": 2222,
        "user": "",
        "transport": "ssh",
        "active": True,
        "roles": ["demo", "web"],
        "environments": ["dev"],
        "description": "",
    }
    assert [s["name"] for s in cli.json("servers", "list")] == [*DEMO, "web3"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "h", "--roles", "web,nope"], "unknown role 'nope'"),
        (["--host", "h", "--environments", "prod"], "unknown environment 'prod'"),
        (["--port", "0", "--host", "h"], "port 0 is out of range 1-65535"),
        ([], "an ssh server needs a host"),
    ],
)
def test_a_bad_server_is_one_line_exit_2_and_nothing_changes(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    before = table_snapshot(db_file(tmp_path))
    code, out, err = cli("servers", "add", "web3", *args)
    assert code == 2
    assert out == ""
    one_line_error(err, message)
    assert table_snapshot(db_file(tmp_path)) == before


def test_a_duplicate_server_is_one_line_exit_2_and_nothing_changes(
    cli: Cli, tmp_path: Path
) -> None:
    before = table_snapshot(db_file(tmp_path))
    code, _, err = cli("servers", "add", "demo-web1", "--host", "elsewhere")
    assert code == 2
    one_line_error(err, "server 'demo-web1' already exists")
    assert table_snapshot(db_file(tmp_path)) == before


def test_a_malformed_config_stops_everything_with_exit_2(cli: Cli, tmp_path: Path) -> None:
    before = table_snapshot(db_file(tmp_path))
    cli.config.write_text('[paths]\ndata_dir = "data"\n[engine]\nmax_parallel = "lots"\n')
    code, out, err = cli("servers", "add", "web3", "--host", "10.0.0.3")
    assert (code, out) == (2, "")
    one_line_error(err, "'engine.max_parallel' must be an integer")
    assert table_snapshot(db_file(tmp_path)) == before


def test_a_malformed_config_creates_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"engine": {"max_paralel": 5}})
    code = run(["--config", str(config), "servers", "list"], actor=ACTOR)
    one_line_error(capsys.readouterr().err, "unknown key 'engine.max_paralel'")
    assert code == 2
    assert not (tmp_path / "data").exists()


def test_a_config_that_is_not_toml_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[paths\n")
    assert run(["--config", str(config), "servers", "list"], actor=ACTOR) == 2
    one_line_error(capsys.readouterr().err, "not valid TOML")


def test_a_missing_config_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--config", str(tmp_path / "nope.toml"), "servers", "list"], actor=ACTOR) == 2
    one_line_error(capsys.readouterr().err, "config file not found")


def test_a_corrupt_database_is_exit_1_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db_file(tmp_path).parent.mkdir()
    db_file(tmp_path).write_bytes(b"\x00garbage" * 512)
    assert run(["--config", str(config), "servers", "list"], actor=ACTOR) == 1
    one_line_error(capsys.readouterr().err, "is not a SQLite database")
    assert db_file(tmp_path).read_bytes() == b"\x00garbage" * 512


def test_unknown_names_are_exit_2(cli: Cli) -> None:
    for args, message in (
        (["servers", "show", "nope"], "unknown server 'nope'"),
        (["servers", "rm", "nope"], "unknown server 'nope'"),
        (["roles", "show", "nope"], "unknown role 'nope'"),
        (["environments", "set", "dev", "--parent", "nope"], "unknown environment 'nope'"),
        (["vars", "resolve", "demo-web1", "--role", "nope"], "unknown role 'nope'"),
    ):
        code, _, err = cli(*args)
        assert code == 2, args
        one_line_error(err, message)


def test_a_user_who_may_not_is_exit_1_and_nothing_changes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_snapshot(db_file(tmp_path))
    code = run(["--config", str(cli.config), "roles", "add", "cache"], actor="mallory")
    err = cli.capsys.readouterr().err
    assert code == 1
    one_line_error(err, "user 'mallory' is not known to otter-tui")
    assert table_snapshot(db_file(tmp_path)) == before


def test_deactivate_and_activate(cli: Cli) -> None:
    code, out, _ = cli("servers", "deactivate", "demo-web2")
    assert (code, out) == (0, "server 'demo-web2' is inactive\n")
    assert cli.json("servers", "show", "demo-web2")["active"] is False  # type: ignore[index]
    cli("servers", "activate", "demo-web2")
    assert cli.json("servers", "show", "demo-web2")["active"] is True  # type: ignore[index]


def test_servers_set_changes_fields_and_memberships(cli: Cli) -> None:
    shown = cli.json(
        "servers",
        "set",
        "demo-db1",
        "--port",
        "2200",
        "--add-roles",
        "web",
        "--remove-roles",
        "demo",
    )
    assert shown["port"] == 2200  # type: ignore[index]
    assert shown["roles"] == ["db", "web"]  # type: ignore[index]


def test_environments_nest(cli: Cli) -> None:
    assert cli("environments", "add", "dev-eu", "--parent", "dev")[0] == 0
    envs = cli.json("environments", "list")
    assert envs == [
        {"name": "dev", "description": "the demo environment", "servers": DEMO},
        {"name": "dev-eu", "description": "", "servers": [], "parent": "dev"},
    ]


def test_variables_set_and_resolve_through_the_cascade(cli: Cli) -> None:
    assert cli("vars", "set", "global", "region=eu")[0] == 0
    assert cli("vars", "set", "server", "demo-web1", "app_port=9090")[0] == 0
    resolved = cli.json("vars", "resolve", "demo-web1", "--role", "web")
    assert resolved["app_port"] == "9090"  # type: ignore[index]
    assert resolved["region"] == "eu"  # type: ignore[index]
    assert cli.json("vars", "resolve", "demo-web2")["app_port"] == "8080"  # type: ignore[index]
    assert cli("vars", "rm", "server", "demo-web1", "app_port")[:2] == (
        0,
        "removed server variable app_port\n",
    )
    assert cli.json("vars", "resolve", "demo-web1")["app_port"] == "8080"  # type: ignore[index]


def test_a_malformed_variable_assignment_is_exit_2(cli: Cli) -> None:
    code, _, err = cli("vars", "set", "global", "region")
    assert code == 2
    assert "expected NAME=VALUE" in err
    code, _, err = cli("vars", "set", "role", "region=eu")
    assert code == 2
    assert "'role' takes OWNER NAME" in err


def test_users_list_shows_the_first_user_as_admin(cli: Cli) -> None:
    assert cli.json("users", "list") == [{"name": ACTOR, "admin": True, "permissions": []}]
    assert cli("users", "add", "bob", "--grant", "jobs.run")[0] == 0
    users = cli.json("users", "list")
    assert users[1] == {"name": "bob", "admin": False, "permissions": ["jobs.run"]}  # type: ignore[index]


# config -----------------------------------------------------------------------------------------


def test_config_show_prints_valid_toml_with_effective_values(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("config", "show")
    assert code == 0
    assert out.splitlines()[0] == f"# source: {cli.config.resolve()}"
    shown = tomllib.loads(out)
    assert shown["paths"]["data_dir"] == str((tmp_path / "data").resolve())
    assert shown["ssh"]["use_agent"] is True
    assert shown["engine"]["max_parallel"] == 200


def test_config_show_json(cli: Cli) -> None:
    shown = cli.json("config", "show")
    assert shown["source"] == str(cli.config.resolve())  # type: ignore[index]
    assert set(shown) >= {"database", "paths", "engine", "ssh", "retention", "scheduler"}  # type: ignore[arg-type]


def test_config_set_writes_the_file(cli: Cli) -> None:
    code, out, _ = cli("config", "set", "engine.max_parallel", "50")
    assert code == 0
    assert out == f"set engine.max_parallel in {cli.config.resolve()}\n"
    assert tomllib.loads(cli.config.read_text())["engine"]["max_parallel"] == 50
    assert tomllib.loads(cli.config.read_text())["paths"]["data_dir"] == "data"
    assert cli.json("config", "show")["engine"]["max_parallel"] == 50  # type: ignore[index]


def test_config_set_with_a_bad_value_is_exit_2_and_keeps_the_file(cli: Cli) -> None:
    before = cli.config.read_bytes()
    code, _, err = cli("config", "set", "engine.max_parallel", "0")
    assert code == 2
    one_line_error(err, "'engine.max_parallel' must be greater than 0")
    code, _, err = cli("config", "set", "engine.turbo", "yes")
    assert code == 2
    one_line_error(err, "unknown key 'engine.turbo'")
    assert cli.config.read_bytes() == before


def test_config_path(cli: Cli) -> None:
    assert cli("config", "path")[1] == f"{cli.config.resolve()}\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("otter-tui, version ")


# the installed entry point -----------------------------------------------------------------------


def test_the_installed_console_script_runs(tmp_path: Path) -> None:
    """A first start through the real ``otter-tui`` executable: migrate, seed, print JSON."""
    script = Path(sys.executable).with_name("otter-tui")
    assert script.exists(), f"console script not installed at {script}"
    config = write_config(tmp_path)
    env = dict(os.environ)
    env.pop("OTTER_TUI_CONFIG", None)
    done = subprocess.run(
        [str(script), "--config", str(config), "servers", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert [s["name"] for s in json.loads(done.stdout)] == DEMO
    assert db_file(tmp_path).exists()
