"""The database password never sits in a file in clear: a config.toml URL holding one is refused;
it comes from ``OTTER_TUI_DATABASE_URL`` or from the keyring (``db set-password`` stores it,
``database.password_from_keyring`` reads it), proven against a real PostgreSQL role that must
give a password (``scram-sha-256`` in the suite cluster's pg_hba.conf, for that role only).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import psycopg
import pytest
from sqlalchemy import text

from otter_tui.cli import run
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.store.dsn import secret_name
from otter_tui.store.outage import is_unavailable
from otter_tui.testing.postgres import PostgresCluster
from tests.fixtures_core import ACTOR, write_config
from tests.fixtures_postgres import TEMPLATE
from tests.fixtures_ssh import wait_until
from tests.test_credentials import MemoryKeyring

ROLE = "teller"
PASSWORD = "s3cret-teller"
HBA_LINE = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"


def otter(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = run(["--config", str(config), *args], actor=ACTOR)
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


@pytest.fixture
def teller_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A database at head for role ``teller``, which must log in with its password."""
    name = "otter_teller"
    pg_cluster.execute(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    pg_cluster.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}" OWNER {ROLE}')
    hba = pg_cluster.data / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text(HBA_LINE + before)  # first match wins: only this role needs a password
    pg_cluster.execute("SELECT pg_reload_conf()")
    try:
        yield f"postgresql://{ROLE}@127.0.0.1:{pg_cluster.port}/{name}"
    finally:
        hba.write_text(before)
        pg_cluster.execute("SELECT pg_reload_conf()")
        pg_cluster.drop_database(name)
        pg_cluster.execute(f"DROP ROLE {ROLE}")


def test_a_password_in_the_config_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"database": {"url": "postgresql://otter:pw@db/otter"}})
    code, lines = otter(config, capsys, "servers", "list")
    assert code == 2
    assert lines == [
        "otter-tui: error: 'database.url' holds a password, and config.toml is no place for "
        "one: remove it and set database.password_from_keyring = true (then: otter-tui db "
        "set-password), or give the whole URL in OTTER_TUI_DATABASE_URL, or use PGPASSWORD / "
        "~/.pgpass"
    ]
    assert not (tmp_path / "data").exists()


def test_config_set_will_not_write_a_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    before = config.read_bytes()
    code, lines = otter(config, capsys, "config", "set", "database.url", "postgresql://a:pw@h/d")
    assert (code, len(lines)) == (2, 1)
    assert "holds a password" in lines[0] and "pw" not in lines[0].replace("password", "")
    assert config.read_bytes() == before


def test_the_environment_url_replaces_the_file_and_config_show_hides_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    monkeypatch.setenv("OTTER_TUI_DATABASE_URL", "postgresql://otter:hunter2@db.example/otter")
    code, lines = otter(config, capsys, "config", "show", "--json")
    assert code == 0
    shown = json.loads("\n".join(lines))
    assert shown["database"]["url"] == "postgresql://otter:***@db.example/otter"
    assert "hunter2" not in "\n".join(lines)
    monkeypatch.setenv("OTTER_TUI_DATABASE_URL", "mysql://otter@db/otter")
    assert otter(config, capsys, "config", "show") == (
        2,
        [
            "otter-tui: error: OTTER_TUI_DATABASE_URL uses 'mysql', which otter-tui does not "
            "support (use sqlite or postgresql)"
        ],
    )


def test_the_password_comes_from_the_keyring_and_opens_a_real_database(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ring: MemoryKeyring,
    teller_db: str,
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    config = write_config(tmp_path, {"database": {"url": teller_db}})
    code, lines = otter(config, capsys, "servers", "list")
    assert code == 1 and len(lines) == 1 and "no password supplied" in lines[0]

    write_config(tmp_path, {"database": {"url": teller_db, "password_from_keyring": True}})
    entry = f"database:{ROLE}@127.0.0.1:{teller_db.split(':')[2].split('/')[0]}/otter_teller"
    code, lines = otter(config, capsys, "servers", "list")
    assert (code, lines) == (
        2,
        [
            f"otter-tui: error: no password for {teller_db} in the keyring (service otter-tui, "
            f"entry {entry}); store it with: otter-tui db set-password"
        ],
    )

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, lines = otter(config, capsys, "db", "set-password")
    assert (code, lines) == (0, [f"stored the password of {teller_db} as otter-tui {entry}"])
    assert ring.store == {("otter-tui", entry): PASSWORD}
    assert PASSWORD not in config.read_text()

    assert otter(config, capsys, "servers", "list")[0] == 0

    ring.store[("otter-tui", entry)] = "not-it"  # the keyring's value is what PostgreSQL gets
    code, lines = otter(config, capsys, "servers", "list")
    assert code == 1 and "password authentication failed" in lines[0]
    assert "not-it" not in lines[0]


def test_set_password_refuses_a_sqlite_database_and_an_empty_password(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ring: MemoryKeyring,
) -> None:
    config = write_config(tmp_path)
    code, lines = otter(config, capsys, "db", "set-password")
    assert code == 2 and lines[0].endswith("is a SQLite file: it has no password to store")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    url = "postgresql://otter@db.example/otter"
    assert otter(config, capsys, "db", "set-password", "--url", url) == (
        2,
        ["otter-tui: error: empty password: nothing stored"],
    )
    assert ring.store == {}


async def test_a_worker_listens_with_the_password_from_the_keyring(
    tmp_path: Path, ring: MemoryKeyring, teller_db: str
) -> None:
    """The wake-up connection is opened with the engine's URL, password included."""
    config = write_config(tmp_path, {"database": {"url": teller_db, "password_from_keyring": True}})
    ring.store[("otter-tui", secret_name(teller_db))] = PASSWORD
    rt = open_runtime(config, actor=ACTOR, seed=False, sync_plans=False)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    worker = Worker(engine, poll_seconds=300, name="teller", prune_every=None)
    await engine.start()
    await worker.start()
    try:
        assert await wait_until(lambda: listening_as(rt, ROLE) == 1, timeout=10)
    finally:
        await worker.stop(5)
        await engine.close()
        rt.close()


def listening_as(rt: Runtime, role: str) -> int:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN otter_jobs' "
        "AND usename = :role"
    )
    with rt.db.session() as s:
        return int(s.scalar(text(query), {"role": role}) or 0)


def test_a_connection_refused_for_its_password_is_not_an_outage(teller_db: str) -> None:
    """Waiting would not help: the error is reported at once, not retried for ten minutes."""
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(teller_db, connect_timeout=2)
    assert "no password supplied" in str(refused.value)
    assert not is_unavailable(refused.value)
