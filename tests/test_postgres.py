"""The same store and services on PostgreSQL.

Runs when ``OTTER_TUI_TEST_POSTGRES_DSN`` names a database we may create schemas in, e.g.
``postgresql://otter@127.0.0.1:5432/postgres``. Each test gets its own schema (dropped after),
so the database itself is never changed.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from otter_tui.config import settings_from_mapping
from otter_tui.errors import ConflictError, NotFoundError, StoreError
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.services.audit import AuditFilter
from otter_tui.store.db import Database, head_revision, open_database, upgrade
from otter_tui.store.models import AuditEvent, Base, JobQueue
from otter_tui.targeting import Target, TargetSpec, resolve_targets
from tests.fixtures_core import ACTOR, FIXED_NOW, FixedClock

DSN_VAR = "OTTER_TUI_TEST_POSTGRES_DSN"
DSN = os.environ.get(DSN_VAR, "")

pytestmark = pytest.mark.skipif(
    not DSN, reason=f"set {DSN_VAR}=postgresql://user@host/db to run the PostgreSQL tests"
)


def _driver_url(dsn: str) -> str:
    url = make_url(dsn)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture
def schema_url() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema."""
    base = _driver_url(DSN)
    schema = f"otter_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database(schema_url: str) -> Iterator[Database]:
    db = open_database(schema_url)
    yield db
    db.dispose()


@pytest.fixture
def runtime(schema_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_from_mapping(
        {"database": {"url": schema_url}, "paths": {"data_dir": str(tmp_path / "data")}}, None
    )
    rt = open_runtime(settings=settings, actor=ACTOR, clock=FixedClock())
    yield rt
    rt.close()


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


def test_services_work_the_same(runtime: Runtime) -> None:
    inv, var = runtime.inventory, runtime.variables
    assert [s.name for s in inv.list_servers()] == ["demo-db1", "demo-web1", "demo-web2"]
    inv.add_environment("dev-eu", parent="dev")
    inv.add_server("eu1", "10.1.0.1", roles=("web",), environments=("dev-eu",))
    var.set("environment", "dev-eu", "log_level", "info")
    assert var.resolve("eu1", "web") == {
        "motd_message": "Managed by otter-tui",
        "app_port": "8080",
        "log_level": "info",
    }
    spec = TargetSpec(roles=("web",), environments=("dev",))
    assert resolve_targets(spec, inv.targeting_inventory()) == [
        Target("demo-web1", "web"),
        Target("demo-web2", "web"),
        Target("eu1", "web"),
    ]


def test_errors_change_nothing(runtime: Runtime) -> None:
    before = runtime.inventory.list_servers()
    with pytest.raises(ConflictError, match="server 'demo-web1' already exists"):
        runtime.inventory.add_server("demo-web1", "h")
    with pytest.raises(NotFoundError, match="unknown role 'nope'"):
        runtime.inventory.add_server("x", "h", roles=("nope",))
    assert runtime.inventory.list_servers() == before


def test_removing_a_server_cascades_to_its_memberships_and_variables(runtime: Runtime) -> None:
    runtime.inventory.remove_server("demo-web1")
    with runtime.db.session() as s:
        count = s.execute(text("SELECT count(*) FROM variables WHERE scope = 'server'")).scalar()
    assert count == 2
    assert runtime.inventory.show_role("web").servers == ("demo-web2",)


def test_times_come_back_timezone_aware_in_utc(runtime: Runtime) -> None:
    with runtime.db.session() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    assert event is not None and event.at == FIXED_NOW and event.at.utcoffset() is not None


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


def test_locked_read_then_update_never_loses_an_update(database: Database) -> None:
    """On PostgreSQL the row lock (``with_for_update``) does what BEGIN IMMEDIATE does on SQLite."""
    with database.transaction() as s:
        s.add(JobQueue(name="counter", concurrency=0))
    rounds, start = 40, threading.Barrier(2)
    errors: list[BaseException] = []

    def increment() -> None:
        start.wait()
        try:
            for _ in range(rounds):
                with database.transaction() as s:
                    query = select(JobQueue).where(JobQueue.name == "counter").with_for_update()
                    row = s.scalars(query).one()
                    row.concurrency += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.session() as s:
        assert s.scalar(select(JobQueue.concurrency)) == 2 * rounds


def test_inventory_import_reimport_and_prune(runtime: Runtime, tmp_path: Path) -> None:
    """The import's bulk statements (multi-row INSERT ... RETURNING, bulk UPDATE, DELETE ... IN)
    behave on PostgreSQL as on SQLite."""
    from otter_tui.inventory_import import AnsibleOptions, read_ansible
    from otter_tui.services.inventory_sync import InventorySyncService
    from tests.inventory_support import DATA, ENVIRONMENTS, servers_of, variables_of

    options = AnsibleOptions(frozenset(ENVIRONMENTS.split(",")))
    service = InventorySyncService(runtime.ctx)
    first = service.sync(read_ansible(str(DATA / "hosts.yml"), options))
    assert first.counts() == {"added": 8, "kept": 3}
    assert servers_of(runtime)["web-eu"] == ("10.1.0.9", 2201, "deploy", "ssh", ("web",), ("eu",))
    changed = tmp_path / "hosts.yml"
    changed.write_text((DATA / "hosts.yml").read_text().replace("2201", "2202"))
    again = service.sync(read_ansible(str(changed), options), prune=True)
    assert again.counts() == {"changed": 1, "unchanged": 7, "removed": 3}
    assert servers_of(runtime)["web-eu"][1] == 2202 and len(servers_of(runtime)) == 8
    assert ("environment", "eu", "region", "eu-west-1") in variables_of(runtime)


def test_the_audit_trail_is_append_only_and_chained(runtime: Runtime) -> None:
    runtime.users.add("bob", permissions=("jobs.run",))
    runtime.users.grant("bob", "jobs.approve", "environment", "dev")
    assert runtime.audit.verify().intact and runtime.audit.verify().checked >= 3
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        refused = pytest.raises(DatabaseError, match="audit events are append-only")
        with refused, runtime.db.transaction() as s:
            s.execute(text(statement))
    assert runtime.audit.list(AuditFilter(actor="mallory")) == []
