"""config.toml: where it is found, how it is checked, and how ``config set`` writes it back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from otter_tui.config import (
    ENV_VAR,
    Settings,
    find_config,
    load_settings,
    set_value,
    settings_as_dict,
)
from otter_tui.errors import ConfigError


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the real user's config: cwd, XDG dirs and the env var all point at tmp."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def marked(path: Path, value: int) -> Path:
    """A config file whose ``engine.max_parallel`` tells which file was read."""
    return write(path, f"[engine]\nmax_parallel = {value}\n")


# lookup order ----------------------------------------------------------------------------------


def test_lookup_order_is_flag_then_env_then_cwd_then_user_config_dir(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked(tmp_path / "xdg-config" / "otter-tui" / "config.toml", 4)
    assert load_settings().engine.max_parallel == 4

    marked(isolated / "config.toml", 3)
    assert load_settings().engine.max_parallel == 3

    env = marked(tmp_path / "env.toml", 2)
    monkeypatch.setenv(ENV_VAR, str(env))
    assert load_settings().engine.max_parallel == 2

    flag = marked(tmp_path / "flag.toml", 1)
    settings = load_settings(flag)
    assert settings.engine.max_parallel == 1
    assert settings.source == flag.resolve()


def test_no_file_anywhere_means_built_in_defaults_in_the_user_data_dir(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.source is None
    assert settings.engine == Settings().engine
    assert settings.data_dir == tmp_path / "xdg-data" / "otter-tui"
    assert settings.database_url == f"sqlite:///{tmp_path / 'xdg-data' / 'otter-tui' / 'otter.db'}"


@pytest.mark.parametrize("via_env", [False, True])
def test_a_named_file_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via_env: bool
) -> None:
    marked(Path.cwd() / "config.toml", 3)  # must not be used instead
    missing = tmp_path / "nope.toml"
    if via_env:
        monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(None if via_env else missing)


def test_relative_paths_are_relative_to_the_file_not_the_cwd(tmp_path: Path) -> None:
    config = write(
        tmp_path / "etc" / "config.toml",
        '[paths]\ndata_dir = "state"\nplans_dir = "../plans"\n'
        '[database]\nurl = "sqlite:///db/otter.db"\n'
        '[ssh]\nknown_hosts = "keys/known_hosts"\nclient_keys = ["keys/id_ed25519"]\n',
    )
    settings = load_settings(config)
    etc = (tmp_path / "etc").resolve()
    assert settings.data_dir == etc / "state"
    assert settings.plans_dir == tmp_path.resolve() / "plans"
    assert settings.database_url == f"sqlite:///{etc / 'db' / 'otter.db'}"
    assert settings.ssh.known_hosts == str(etc / "keys" / "known_hosts")
    assert settings.ssh.client_keys == (str(etc / "keys" / "id_ed25519"),)


def test_home_is_expanded_and_absolute_paths_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = write(
        tmp_path / "config.toml",
        f'[paths]\ndata_dir = "~/otter"\nplans_dir = "{tmp_path / "p"}"\n'
        '[database]\nurl = "postgresql+psycopg://otter@db.example/otter"\n',
    )
    settings = load_settings(config)
    assert settings.data_dir == tmp_path / "home" / "otter"
    assert settings.plans_dir == tmp_path / "p"
    assert settings.database_url == "postgresql+psycopg://otter@db.example/otter"


def test_an_integer_is_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[ssh]\nconnect_timeout = 5\n")
    assert load_settings(config).ssh.connect_timeout == 5.0


# validation -------------------------------------------------------------------------------------

BAD = [
    ("[enigne]\nmax_parallel = 5\n", "unknown section 'enigne'"),
    ("[engine]\nmax_paralel = 5\n", "unknown key 'engine.max_paralel'"),
    ('[engine]\nmax_parallel = "many"\n', "'engine.max_parallel' must be an integer"),
    ("[engine]\nmax_parallel = 2.5\n", "'engine.max_parallel' must be an integer"),
    ("[engine]\nmax_parallel = 0\n", "'engine.max_parallel' must be greater than 0"),
    ("[database]\nbusy_timeout_ms = -1\n", "'database.busy_timeout_ms' must be greater than 0"),
    ('[ssh]\nuse_agent = "yes"\n', "'ssh.use_agent' must be true or false"),
    ("[ssh]\nconnect_timeout = true\n", "'ssh.connect_timeout' must be a number"),
    ("[ssh]\nconnect_timeout = 0\n", "'ssh.connect_timeout' must be greater than 0"),
    ("[ssh]\nconnect_timeout = nan\n", "'ssh.connect_timeout' must be a finite number"),
    ('[ssh]\nclient_keys = "id_rsa"\n', "'ssh.client_keys' must be a list of strings"),
    ("[ssh]\nclient_keys = [1]\n", "'ssh.client_keys' must be a list of strings"),
    ("[retention]\nlog_days = -5\n", "'retention.log_days' must be 0 or more"),
    ("[ssh]\npool_size = -1\n", "'ssh.pool_size' must be 0 or more"),
    ("[ssh]\npool_size = 1.5\n", "'ssh.pool_size' must be an integer"),
    ("[ssh]\npool_idle_seconds = -0.5\n", "'ssh.pool_idle_seconds' must be 0 or more"),
    ("[ssh]\npool_idle_seconds = inf\n", "'ssh.pool_idle_seconds' must be a finite number"),
    (
        '[ssh]\nciphers = ["arcfour"]\n',
        "'ssh.ciphers': 'arcfour' is not offered (allowed: chacha20",
    ),
    ('[ssh]\nciphers = "aes128-ctr"\n', "'ssh.ciphers' must be a list of strings"),
    ("[scheduler]\nrun_all_cap = 0\n", "'scheduler.run_all_cap' must be greater than 0"),
    ("[paths]\ndata_dir = 5\n", "'paths.data_dir' must be a string"),
    ('[database]\nurl = "not a url"\n', "'database.url' is not a database URL"),
    ("engine = 5\n", "'engine' must be a table"),
    ("[engine\nmax_parallel = 5\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_file_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 2


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[engine]\nmax_parallel = = 5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert str(config) in str(err.value)
    assert "line 2" in str(err.value)


def test_settings_cannot_be_changed_after_loading(tmp_path: Path) -> None:
    settings = load_settings(marked(tmp_path / "config.toml", 9))
    with pytest.raises(AttributeError):
        settings.engine.max_parallel = 1  # type: ignore[misc]


def test_every_setting_is_listed_for_config_show() -> None:
    shown = settings_as_dict(Settings())
    assert set(shown) == {
        "database",
        "paths",
        "engine",
        "jobs",
        "ssh",
        "retention",
        "scheduler",
        "approvals",
        "daemon",
        "inventory",
        "api",
        "console",
    }
    assert shown["engine"]["max_parallel"] == 200
    assert shown["ssh"]["client_keys"] == []


# config set ------------------------------------------------------------------------------------


def test_set_writes_a_typed_value_and_keeps_the_rest(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml", '[paths]\ndata_dir = "data"\n[engine]\nmax_parallel = 5\n'
    )
    set_value(config, "engine.log_batch_ms", "25")
    set_value(config, "ssh.use_agent", "false")
    set_value(config, "ssh.client_keys", "a,b")
    set_value(config, "ssh.connect_timeout", "2.5")
    doc = tomllib.loads(config.read_text())
    assert doc == {
        "paths": {"data_dir": "data"},  # still relative: written as given, resolved on load
        "engine": {"max_parallel": 5, "log_batch_ms": 25},
        "ssh": {"use_agent": False, "client_keys": ["a", "b"], "connect_timeout": 2.5},
    }
    assert load_settings(config).engine.log_batch_ms == 25


def test_set_creates_the_file_when_there_is_none(tmp_path: Path) -> None:
    config = tmp_path / "new.toml"
    settings = set_value(config, "retention.log_days", "7")
    assert settings.retention.log_days == 7
    assert tomllib.loads(config.read_text()) == {"retention": {"log_days": 7}}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("engine.max_parallel", "0", "'engine.max_parallel' must be greater than 0"),
        ("engine.max_parallel", "lots", "'engine.max_parallel' must be a number"),
        ("ssh.use_agent", "maybe", "'ssh.use_agent' must be true or false"),
        ("engine.nope", "1", "unknown key 'engine.nope'"),
        ("nope.key", "1", "unknown key 'nope.key'"),
        ("engine", "1", "unknown key 'engine'"),
        ("database.url", "::", "'database.url' is not a database URL"),
    ],
)
def test_set_refuses_a_bad_value_and_leaves_the_file_alone(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    config = marked(tmp_path / "config.toml", 5)
    before = config.read_bytes()
    with pytest.raises(ConfigError) as err:
        set_value(config, key, value)
    assert message in str(err.value)
    assert config.read_bytes() == before
    assert not (tmp_path / "config.toml.tmp").exists()


def test_find_config_prefers_an_explicit_path_over_everything(tmp_path: Path) -> None:
    marked(Path.cwd() / "config.toml", 3)
    flag = marked(tmp_path / "other.toml", 1)
    assert find_config(flag) == flag.resolve()
    assert find_config(None) == (Path.cwd() / "config.toml").resolve()


def test_console_queue_names_follow_the_rule_of_every_queue_name() -> None:
    """config cannot import the services; the two patterns must stay one rule."""
    from otter_tui.console_settings import QUEUE_NAME
    from otter_tui.services.context import NAME_RE

    assert QUEUE_NAME.pattern == NAME_RE.pattern
