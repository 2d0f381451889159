"""What only PostgreSQL needs proving: the real migrations build the models' schema, an upgrade
keeps rows, foreign or newer schemas are refused. (Row locks: tests/test_store.py, on both.)

Runs against the suite's own cluster (tests/fixtures_postgres.py); never skipped. The services,
store, scheduler and claim tests run on PostgreSQL too, through the ``both_stores`` marker.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from otter_tui.cli import run
from otter_tui.errors import StoreError
from otter_tui.store.db import Database, head_revision, open_database, upgrade
from otter_tui.store.models import Base
from otter_tui.testing.postgres import PostgresCluster, free_port
from tests.fixtures_core import FIXED_NOW, write_config

_empty = itertools.count(1)


@pytest.fixture
def schema_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    """An empty database (no migrations run yet), dropped after."""
    name = f"otter_empty_{next(_empty)}"
    yield pg_cluster.create_database(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def database(schema_url: str) -> Iterator[Database]:
    db = open_database(schema_url)
    yield db
    db.dispose()


def test_migrations_build_the_schema_the_models_describe(database: Database) -> None:
    assert database.created
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_from_the_first_migration_keeps_the_rows(schema_url: str) -> None:
    db = open_database(schema_url, migrate=False)
    upgrade(db, "0001")
    tables = Base.metadata.tables
    with db.engine.begin() as conn:
        conn.execute(tables["roles"].insert(), [{"id": 1, "name": "web", "description": ""}])
        conn.execute(
            tables["servers"].insert(),
            [
                {
                    "id": 1,
                    "name": "web1",
                    "host": "10.0.0.1",
                    "port": 22,
                    "user": "ops",
                    "transport": "ssh",
                    "active": True,
                    "description": "",
                    "created_at": FIXED_NOW,
                }
            ],
        )
        conn.execute(tables["server_roles"].insert(), [{"server_id": 1, "role_id": 1}])
    db.dispose()

    db = open_database(schema_url)
    try:
        assert not db.created
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                head_revision()
            )
            rows = conn.execute(
                text(
                    'SELECT s.name, s."user", r.name FROM servers s '
                    "JOIN server_roles sr ON sr.server_id = s.id JOIN roles r ON r.id = sr.role_id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [("web1", "ops", "web")]
    finally:
        db.dispose()


def test_a_schema_with_someone_elses_tables_is_refused(schema_url: str) -> None:
    engine = create_engine(schema_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id serial PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreError, match="holds tables that otter-tui did not create"):
        open_database(schema_url)


def test_a_database_from_a_newer_otter_tui_is_refused(database: Database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042_future'"))
    with pytest.raises(StoreError, match="newer otter-tui"):
        open_database(database.url)


def bad_start(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``servers list`` on a config whose database is ``url``: exit code and stderr."""
    write_config(tmp_path, {"database": {"url": url}})
    code = run(["--config", str(tmp_path / "config.toml"), "servers", "list"])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_a_refused_connection_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = free_port()
    code, err = bad_start(tmp_path, f"postgresql://otter@127.0.0.1:{closed}/otter", capsys)
    assert code == 1
    assert err.count("\n") == 1
    shown = f"postgresql://otter@127.0.0.1:{closed}/otter"
    assert err.startswith(f"otter-tui: error: cannot open database {shown}: ")
    assert "Connection refused" in err


def test_an_unknown_driver_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bad_start(tmp_path, "postgresql+nodriver://otter@127.0.0.1/otter", capsys)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no driver for 'postgresql+nodriver'" in err


def test_a_newer_schema_is_refused_from_the_cli_untouched(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042_future'"))
    code, err = bad_start(tmp_path, database.url, capsys)
    assert code == 1
    assert err.count("\n") == 1 and "at revision 0042_future, written by a newer otter-tui" in err
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM servers")).scalar() == 0
