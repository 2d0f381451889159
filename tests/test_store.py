"""The store: SQLite settings, migrations with a backup first, refusal of files that are not ours,
and write transactions that take the lock up front."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from otter_tui.runtime import Runtime
from otter_tui.store import db as store_db
from otter_tui.store.db import Database, head_revision, open_database, upgrade
from otter_tui.store.models import AuditEvent, Base, JobQueue, User
from tests.fixtures_core import FIXED_NOW, db_file, make_runtime, store_rows, table_snapshot


def url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(url(tmp_path / "otter.db"), busy_timeout_ms=4321)
    yield db
    db.dispose()


def pragma(db: Database, name: str) -> object:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


# settings and schema --------------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_the_configured_busy_timeout(
    tmp_path: Path,
) -> None:
    rt = make_runtime(tmp_path, sections={"database": {"busy_timeout_ms": 4321}}, fresh=True)
    try:
        assert pragma(rt.db, "journal_mode") == "wal"
        assert pragma(rt.db, "foreign_keys") == 1
        assert pragma(rt.db, "busy_timeout") == 4321
        with rt.db.transaction() as s:
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        rt.close()
    # WAL is a property of the file: a plain sqlite3 connection sees it too
    conn = sqlite3.connect(db_file(tmp_path))
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.execute(text("INSERT INTO server_roles (server_id, role_id) VALUES (41, 42)"))


@pytest.mark.both_stores
def test_deleting_a_server_removes_its_memberships_and_variables(runtime: Runtime) -> None:
    runtime.inventory.remove_server("demo-web1")
    with runtime.db.session() as s:
        orphans = s.execute(
            text(
                "SELECT count(*) FROM server_roles WHERE server_id NOT IN (SELECT id FROM servers)"
            )
        ).scalar()
        variables = s.execute(
            text("SELECT count(*) FROM variables WHERE scope = 'server'")
        ).scalar()
    assert orphans == 0
    assert variables == 2  # demo-web2 and demo-db1 keep their 'root'


def test_a_fresh_database_is_at_head_and_matches_the_models(database: Database) -> None:
    assert database.created
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, Base.metadata) == []


def test_reopening_neither_migrates_nor_backs_up(tmp_path: Path) -> None:
    open_database(url(tmp_path / "otter.db")).dispose()
    again = open_database(url(tmp_path / "otter.db"))
    again.dispose()
    assert not again.created
    assert not list(tmp_path.glob("otter.db.backup-*"))


OPEN_PROBE = """
import sys
from otter_tui.store.db import open_database
open_database(sys.argv[1]).dispose()
print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
"""


def test_a_database_at_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    """Alembic costs a tenth of a second to import; a start that has nothing to migrate skips it.
    Checked in a fresh interpreter, where nothing else has imported it already."""
    open_database(url(tmp_path / "otter.db")).dispose()
    done = subprocess.run(
        [sys.executable, "-c", OPEN_PROBE, url(tmp_path / "otter.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not list(tmp_path.glob("otter.db.backup-*"))


def test_the_head_read_from_the_revision_files_is_alembics() -> None:
    assert store_db.declared_head(store_db.MIGRATIONS) == head_revision()


def test_revision_files_that_are_not_one_chain_leave_the_head_to_alembic(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(store_db.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_branch.py").write_text(
        'revision = "9999"\ndown_revision = "0001"\n'
    )
    assert store_db.declared_head(migrations) is None


@pytest.mark.both_stores
def test_times_come_back_timezone_aware_in_utc(runtime: Runtime) -> None:
    with runtime.db.session() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    assert event is not None
    assert event.at == FIXED_NOW
    assert event.at.utcoffset() is not None


def test_a_naive_datetime_is_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.transaction() as s:
        s.add(AuditEvent(at=datetime(2026, 1, 1), actor="a", action="x", object_type="y"))
        s.flush()


def test_every_shape_of_stored_time_text_reads_back_as_the_same_instant_in_utc(
    database: Database,
) -> None:
    """SQLite holds times as text: what SQLAlchemy writes, but also what SQL or an older
    version wrote (no fraction, an offset, a ``T``, a short fraction)."""
    stored = {  # any instant will do: nothing here is compared with the clock
        "2025-11-02 01:31:54.123456": datetime(2025, 11, 2, 1, 31, 54, 123456, tzinfo=UTC),
        "2025-11-02 01:31:54": datetime(2025, 11, 2, 1, 31, 54, tzinfo=UTC),
        "2025-11-02 01:31:54.123456+02:00": datetime(2025, 11, 1, 23, 31, 54, 123456, tzinfo=UTC),
        "2025-11-02T01:31:54Z": datetime(2025, 11, 2, 1, 31, 54, tzinfo=UTC),
        "2025-11-02 01:31:54.120": datetime(2025, 11, 2, 1, 31, 54, 120000, tzinfo=UTC),
    }
    insert = text("INSERT INTO users (name, is_admin, created_at) VALUES (:name, 0, :at)")
    names = [f"stored-{index}" for index in range(len(stored))]
    with database.transaction() as s:
        for name, at in zip(names, stored, strict=True):
            s.execute(insert, {"name": name, "at": at})
    with database.session() as s:
        read = list(
            s.scalars(select(User.created_at).where(User.name.in_(names)).order_by(User.id))
        )
    assert read == list(stored.values())
    assert all(at.tzinfo is UTC for at in read)


# upgrades --------------------------------------------------------------------------------------

ROWS_0001 = [
    "INSERT INTO users (id, name, is_admin, created_at) VALUES (1, 'alice', 1, '2025-01-01')",
    "INSERT INTO user_permissions (id, user_id, permission) VALUES (1, 1, 'jobs.run')",
    "INSERT INTO roles (id, name, description) VALUES (1, 'web', 'front'), (2, 'db', '')",
    "INSERT INTO environments (id, name, description, parent_id) "
    "VALUES (1, 'prod', '', NULL), (2, 'prod-eu', '', 1)",
    "INSERT INTO servers (id, name, host, port, user, transport, active, description, "
    "created_at) VALUES (1, 'web1', '10.0.0.1', 22, 'ops', 'ssh', 1, '', '2025-01-01'), "
    "(2, 'db1', '10.0.0.2', 2222, 'ops', 'ssh', 0, 'old', '2025-01-01')",
    "INSERT INTO server_roles (server_id, role_id) VALUES (1, 1), (2, 2), (1, 2)",
    "INSERT INTO server_environments (server_id, environment_id) VALUES (1, 2), (2, 1)",
    "INSERT INTO variables (id, scope, scope_key, server_id, role_id, environment_id, name, "
    "value) VALUES (1, 'global', 'global', NULL, NULL, NULL, 'motd', 'hi'), "
    "(2, 'role', 'role:1', NULL, 1, NULL, 'port', '8080'), "
    "(3, 'environment', 'environment:2', NULL, NULL, 2, 'region', 'eu'), "
    "(4, 'server', 'server:1', 1, NULL, NULL, 'max_conn', '100')",
    "INSERT INTO audit_events (id, at, actor, action, object_type, object_name, detail) "
    "VALUES (1, '2025-01-01', 'alice', 'server.add', 'server', 'web1', '{}')",
]
TABLES_0001 = (
    "users",
    "user_permissions",
    "roles",
    "environments",
    "servers",
    "server_roles",
    "server_environments",
    "variables",
    "audit_events",
)


def database_at_0001(path: Path) -> None:
    """A database as the first release left it, with one of everything in it."""
    db = open_database(url(path), migrate=False)
    upgrade(db, "0001")
    with db.engine.begin() as conn:
        for statement in ROWS_0001:
            conn.exec_driver_sql(statement)
    db.dispose()


def test_upgrade_from_the_first_migration_keeps_every_row_and_backs_up_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "otter.db"
    database_at_0001(path)
    before = table_snapshot(path)
    assert set(before) == {"alembic_version", *TABLES_0001}

    db = open_database(url(path))
    db.dispose()

    after = table_snapshot(path)
    assert after["alembic_version"] == [(head_revision(),)]
    for table in TABLES_0001:
        width = len(before[table][0]) if before[table] else 0
        # Later revisions may add columns (audit_events: the hash chain); never change a row.
        assert [row[:width] for row in after[table]] == before[table], table
    backups = list(tmp_path.glob("otter.db.backup-0001-*"))
    assert len(backups) == 1
    assert table_snapshot(backups[0]) == before


def test_upgraded_inventory_reads_through_the_services(tmp_path: Path) -> None:
    database_at_0001(db_file(tmp_path))
    rt = make_runtime(tmp_path)  # an upgraded database is not a first start: no demo seeded
    try:
        servers = {s.name: s for s in rt.inventory.list_servers()}
        assert sorted(servers) == ["db1", "web1"]
        assert servers["web1"].roles == ("db", "web")
        assert servers["db1"].port == 2222 and not servers["db1"].active
        assert rt.variables.resolve("web1", "web") == {
            "motd": "hi",
            "port": "8080",
            "region": "eu",
            "max_conn": "100",
        }
        # The event written before the hash chain existed was chained by the upgrade.
        assert rt.audit.verify().checked >= 1 and rt.audit.verify().intact
        assert rt.audit.list()[0].actor == "alice"
    finally:
        rt.close()


def test_a_migration_that_rebuilds_a_table_keeps_the_rows_that_point_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite rebuilds a table to alter it; with foreign keys on, dropping the old copy would
    cascade-delete every membership and variable of every server."""
    rt = make_runtime(tmp_path)
    rt.close()
    before = table_snapshot(db_file(tmp_path))
    assert before["server_roles"] and before["variables"]

    migrations = tmp_path / "migrations"
    shutil.copytree(store_db.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_rebuild_servers.py").write_text(
        f'revision = "9999"\ndown_revision = "{head_revision()}"\n'
        "from alembic import op\n\n\n"
        "def upgrade():\n"
        '    with op.batch_alter_table("servers", recreate="always"):\n'
        "        pass\n"
    )
    monkeypatch.setattr(store_db, "MIGRATIONS", migrations)

    open_database(url(db_file(tmp_path))).dispose()

    after = table_snapshot(db_file(tmp_path))
    assert after["alembic_version"] == [("9999",)]
    for table in ("servers", "server_roles", "server_environments", "variables"):
        assert after[table] == before[table], table


# refusals ---------------------------------------------------------------------------------------


def test_a_write_transaction_takes_the_write_lock_before_its_first_write(
    database: Database,
) -> None:
    other = sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=0)
    try:
        with database.transaction() as s:
            s.execute(select(JobQueue.id)).all()  # only a read so far
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_readers_see_the_last_commit_while_a_writer_holds_the_lock(database: Database) -> None:
    with database.transaction() as s:
        s.add(JobQueue(name="probe", concurrency=1))
    with database.transaction() as s:
        s.execute(text("UPDATE job_queues SET concurrency = 99"))
        with database.session() as reader:
            query = select(JobQueue.concurrency).where(JobQueue.name == "probe")
            assert reader.scalar(query) == 1


@pytest.fixture
def any_database(tmp_path: Path, store_url: str | None) -> Iterator[Database]:
    """The SQLite file, or a PostgreSQL database, at the head revision."""
    db = open_database(store_url or url(tmp_path / "otter.db"))
    yield db
    db.dispose()


@pytest.mark.both_stores
def test_concurrent_read_then_update_never_loses_an_update(any_database: Database) -> None:
    """BEGIN IMMEDIATE on SQLite, the row lock (``with_for_update``) on PostgreSQL."""
    database = any_database
    with database.transaction() as s:
        s.add(JobQueue(name="counter", concurrency=0))
    rounds, start = 60, threading.Barrier(2)
    errors: list[BaseException] = []

    def increment() -> None:
        start.wait()
        try:
            for _ in range(rounds):
                with database.transaction() as s:
                    query = select(JobQueue).where(JobQueue.name == "counter").with_for_update()
                    row = s.scalars(query).one()
                    row.concurrency = row.concurrency + 1
        except BaseException as exc:  # surfaced below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.session() as s:
        count = select(JobQueue.concurrency).where(JobQueue.name == "counter")
        assert s.scalar(count) == 2 * rounds


@pytest.mark.both_stores
def test_a_failed_write_transaction_changes_nothing(runtime: Runtime) -> None:
    before = store_rows(runtime)
    with pytest.raises(RuntimeError), runtime.db.transaction() as s:
        s.execute(text("DELETE FROM servers"))
        raise RuntimeError("boom")
    assert store_rows(runtime) == before
