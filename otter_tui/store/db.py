"""Open the database: engine, sessions, checks and migrations.

SQLite is opened with WAL, foreign keys on and a busy timeout. We drive SQLite's transactions
ourselves (the driver is put in autocommit mode and the ``begin`` event emits ``BEGIN``), so that a
write transaction can be ``BEGIN IMMEDIATE``: it takes the write lock up front, and two processes
can never both read-then-update the same row. Reads stay deferred, and WAL lets them run beside a
writer.

A database file that is not SQLite, is truncated or corrupt, holds someone else's tables, or was
written by a newer otter-tui is refused with one line and left byte for byte as it was (WAL mode,
which is written into the file, is only switched on once the file is known to be ours); we never
create a silent fresh database over it. Before migrations touch an existing SQLite file it is
checked (``PRAGMA quick_check``) and copied aside with the online backup API.

Alembic is imported only when the database is not already at the head revision: the stored
revision is read with one ``SELECT`` and compared to the head declared by the revision files
(their ``revision``/``down_revision`` lines, read as text). Importing Alembic costs a tenth of a
second or more, and almost every start finds the database at head.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from otter_tui.errors import StoreError
from otter_tui.store.files import create_database_file
from otter_tui.store.outage import OUTAGE

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine plus the two kinds of session every caller needs."""

    def __init__(self, url: str, busy_timeout_ms: int = 10_000) -> None:
        url = driver_url(url)
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.created = False
        """True when this open created the schema in an empty database (first start)."""
        self.engine = _make_engine(url, busy_timeout_ms)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(otter_immediate=True), expire_on_commit=False
        )

    def session(self) -> Session:
        """A session for reading (deferred transaction)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        with self._writer() as session, session.begin():
            yield session

    @functools.cached_property
    def hot_engine(self) -> Engine:
        """PostgreSQL: an autocommit engine for one-statement hot paths (the claim), without
        the pool's ping before each checkout.

        The ping doubled the claim's round trips (ping, then claim). Without it a connection
        the server dropped (a restart) fails on its next statement instead; SQLAlchemy then
        invalidates the pool, the error counts as an outage (``store.outage.is_unavailable``:
        ``connection_invalidated``), the caller's ``DbThread`` waits and retries, and the retry
        opens a fresh connection. When the main engine meets a dropped connection first, the
        hot one's pooled connection is dropped with it, so one restart is one outage, not two.
        """
        if self.is_sqlite:
            return self.engine
        hot = create_engine(self.url, pool_size=1, isolation_level="AUTOCOMMIT")
        _report_connections(hot)

        def _drop_with_main(context: ExceptionContext) -> None:
            if context.is_disconnect:
                hot.dispose()

        event.listen(self.engine, "handle_error", _drop_with_main)
        return hot

    def dispose(self) -> None:
        self.engine.dispose()
        if "hot_engine" in self.__dict__:
            self.hot_engine.dispose()


def driver_url(url: str) -> str:
    """``postgresql://`` (and ``postgres://``, as libpq and most hosts write it) means psycopg 3,
    the driver we ship with, rather than SQLAlchemy's default psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)
    return url


def _make_engine(url: str, busy_timeout_ms: int) -> Engine:
    sqlite = make_url(url).get_backend_name() == "sqlite"
    args: dict[str, Any] = {"timeout": busy_timeout_ms / 1000} if sqlite else {}
    try:
        engine = create_engine(url, connect_args=args, pool_pre_ping=not sqlite)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"cannot open database {_shown(url)}: no driver for "
            f"'{make_url(url).drivername}' ({exc}); use sqlite:///FILE or postgresql://..."
        ) from None
    if sqlite:
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        from otter_tui.store.models import use_postgresql_options

        use_postgresql_options()
        _report_connections(engine)
    return engine


def _report_connections(engine: Engine) -> None:
    """Every new PostgreSQL connection tells :data:`~otter_tui.store.outage.OUTAGE`: only a
    connection opened after a loss proves the server is back."""
    event.listen(engine, "connect", lambda _conn, _record: OUTAGE.connected())


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("otter_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_database(
    url: str, busy_timeout_ms: int = 10_000, *, migrate: bool = True, group: str = ""
) -> Database:
    """Check, back up if needed, migrate to head, and return the database.

    A new SQLite file is created ``0600`` (``0660`` for ``group``) before SQLite opens it; see
    :mod:`otter_tui.store.files`.
    """
    path = sqlite_path(url)
    if path is not None:
        create_database_file(path, group)
        _check_sqlite_file(path)
    db = Database(url, busy_timeout_ms)
    try:
        current = _current_revision(db)
        db.created = current is None
        at_head = current is not None and current == declared_head(MIGRATIONS)
        if current is not None and not at_head:
            _refuse_unknown_revision(db, current)
        if path is not None:
            # Only now that the file is known to be ours (or empty): WAL mode is written into
            # the file, and a refused file must be left exactly as it was.
            _use_wal(db)
        if migrate and not at_head and current != head_revision():
            if path is not None and current is not None:
                _check_integrity(db, path)
                backup_sqlite(path, current)
            upgrade(db)
    except (DatabaseError, OperationalError) as exc:
        db.dispose()
        reason = " ".join(str(exc.orig).split())  # libpq's messages span lines
        raise StoreError(f"cannot open database {_shown(url)}: {reason}") from None
    except StoreError:
        db.dispose()
        raise
    return db


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not SQLite, or is shorter than its own header says, untouched."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(
            f"{path} is not a SQLite database; refusing to start "
            "(move it aside or set database.url to another file)"
        )
    expected = _size_from_header(header)
    wal = path.with_name(path.name + "-wal")
    pending_wal = wal.exists() and wal.stat().st_size > 0
    if expected and not pending_wal and path.stat().st_size < expected:
        raise StoreError(
            f"{path} is truncated ({path.stat().st_size} of {expected} bytes); "
            "refusing to start, restore a backup"
        )


def _size_from_header(header: bytes) -> int:
    """The file size the header promises, or 0 when the header's page count is not valid."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is only valid when the change counter matches "version-valid-for".
    return page_size * pages if header[24:28] == header[92:96] else 0


def _use_wal(db: Database) -> None:
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        mode = raw.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        raise StoreError(f"cannot switch {_shown(db.url)} to WAL mode (got {mode!r})")


def _check_integrity(db: Database, path: Path) -> None:
    """Run before an upgrade: a migration must never build on damaged pages."""
    try:
        with db.engine.connect() as conn:
            result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
    except DatabaseError as exc:
        result = str(exc.orig)
    if result != "ok":
        raise StoreError(f"{path} is corrupt ({result}); refusing to start, restore a backup")


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The head revision as Alembic sees it (imports Alembic; see :func:`declared_head`)."""
    head = _scripts(MIGRATIONS).get_current_head()
    assert head is not None
    return head


@functools.lru_cache(maxsize=4)
def _scripts(location: Path) -> ScriptDirectory:
    """The migration scripts, read once per process: reading compiles every revision file."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(cfg)


_REVISION = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(
    r"""^down_revision\s*(?::[^=\n]*)?=\s*(?:None|["']([^"'\n]+)["'])\s*$""", re.M
)


@functools.lru_cache(maxsize=4)
def declared_head(location: Path) -> str | None:
    """The single head of a linear chain of revision files, read as text without Alembic.

    None when the files are not a plain chain this can read for sure (a merge, a branch, an
    unusual assignment): the caller then asks Alembic, which is always right.
    """
    revisions: dict[str, str | None] = {}
    for path in (location / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision = _REVISION.findall(text)
        down = list(_DOWN_REVISION.finditer(text))
        if len(revision) != 1 or len(down) != 1 or revision[0] in revisions:
            return None
        revisions[revision[0]] = down[0].group(1)
    parents = set(revisions.values())
    heads = [revision for revision in revisions if revision not in parents]
    roots = [revision for revision, down in revisions.items() if down is None]
    if len(heads) != 1 or len(roots) != 1 or len(parents) != len(revisions):
        return None
    return heads[0]


def _current_revision(db: Database) -> str | None:
    """The revision stored in the database; None when it is empty. Foreign tables: refused."""
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if not tables:
            return None
        if "alembic_version" not in tables:
            raise StoreError(
                f"database {_shown(db.url)} holds tables that otter-tui did not create; "
                "refusing to start (point database.url at an empty or otter-tui database)"
            )
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
        if len(rows) <= 1:
            return str(rows[0][0]) if rows else None
        from alembic.runtime.migration import MigrationContext

        # Several heads stored: Alembic says what that means (it refuses).
        return MigrationContext.configure(conn).get_current_revision()


def _refuse_unknown_revision(db: Database, current: str) -> None:
    """Refuse a database at a revision none of our migration files declares (a newer version)."""
    known = {s.revision for s in _scripts(MIGRATIONS).walk_revisions()}
    if current not in known:
        raise StoreError(
            f"database {_shown(db.url)} is at revision {current}, written by a newer otter-tui; "
            "upgrade otter-tui"
        )


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction.

    On SQLite, foreign keys are off while migrations run: a batch migration rebuilds a table by
    copying it and dropping the old one, and with foreign keys on that drop would cascade-delete
    every child row (server memberships, variables, server runs, logs). The keys are checked
    before the transaction commits, and turned back on whatever happens.
    """
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            # Not through SQLAlchemy: that would open a transaction, inside which SQLite
            # ignores this pragma.
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            from alembic import command

            with conn.begin():
                command.upgrade(_config(conn), revision)
                if raw is not None:
                    _check_foreign_keys(conn)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = ", ".join(sorted({str(row[0]) for row in broken}))
        raise StoreError(f"migration left rows with dangling references in {tables}; rolled back")


def backup_sqlite(path: Path, revision: str) -> Path:
    """Copy the file aside with SQLite's online backup API before a migration touches it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.backup-{revision}-{stamp}")
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target
