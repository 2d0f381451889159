"""Fixtures for core tests: a config file in a tmp dir, an opened runtime on it, a fixed clock.

Nothing here touches the real user's config or data dirs: every runtime is built from a
config.toml written into the test's ``tmp_path``, with a relative ``data_dir`` so the test also
exercises "paths are relative to the file".
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy import inspect, text

from otter_tui.config import load_settings
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.services.context import current_user
from otter_tui.services.demo import seed_demo
from otter_tui.store.db import open_database
from otter_tui.store.files import create_database_file

ACTOR = "alice"
"""The user every test runtime acts as; the first user of a fresh database is its admin."""

FIXED_NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


@dataclass
class FixedClock:
    """A clock that only moves when a test moves it."""

    now: datetime = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def write_config(directory: Path, sections: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write ``directory/config.toml`` with a relative data dir, merged with ``sections``."""
    directory.mkdir(parents=True, exist_ok=True)
    doc: dict[str, dict[str, Any]] = {"paths": {"data_dir": "data", "plans_dir": "plans"}}
    for name, values in (sections or {}).items():
        doc.setdefault(name, {}).update(values)
    path = directory / "config.toml"
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


def make_runtime(
    tmp_path: Path,
    *,
    seed: bool = True,
    actor: str = ACTOR,
    clock: FixedClock | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
    fresh: bool = False,
    url: str | None = None,
) -> Runtime:
    """An opened runtime on a SQLite file under ``tmp_path/data`` (demo seeded unless told), or
    on the database at ``url`` (a fresh copy of the migrated template, see fixtures_postgres).

    Migrating a new database takes most of a test's time, so a new database starts as a copy of
    one migrated once per session, then gets its admin and demo exactly as a first start does.
    ``fresh=True`` lets ``open_runtime`` do all of it from an empty file instead.
    """
    config = tmp_path / "config.toml"
    if url is not None:
        sections = {**(sections or {}), "database": {"url": url}}
    if not config.exists() or sections:
        write_config(tmp_path, sections)
    settings = load_settings(config)
    database = settings.data_dir / "otter.db"
    copied = url is not None or (not fresh and not database.exists() and not settings.database.url)
    if copied and url is None:
        create_database_file(database)  # 0600, as a first start makes it
        shutil.copyfile(_migrated_template(), database)
    rt = open_runtime(settings=settings, actor=actor, clock=clock or FixedClock(), seed=seed)
    if copied and rt.users.bootstrap() and seed:
        seed_demo(rt.ctx)
    return rt


@functools.cache
def _migrated_template() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="otter-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "otter.db"
    open_database(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def admit_os_account(rt: Runtime) -> str:
    """Make the OS account this test runs as an admin of ``rt``'s database; returns its name.

    A child ``otter-tui`` process acts as the account it runs under, whatever its environment
    says, so a test that starts one must first make that account known.
    """
    name = current_user()
    if name not in {u.name for u in rt.users.list()}:
        rt.users.add(name, admin=True)
    return name


def store_rows(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the runtime's database, SQLite or PostgreSQL ("unchanged")."""
    with rt.db.engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        return {
            name: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
            for name in names
        }


def db_file(tmp_path: Path) -> Path:
    """The SQLite file a runtime made by :func:`make_runtime` uses."""
    return tmp_path / "data" / "otter.db"


def table_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read with a plain sqlite3 connection (to prove "unchanged")."""
    conn = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }
    finally:
        conn.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock, store_url: str | None) -> Iterator[Runtime]:
    """A runtime with the demo inventory, acting as the admin ``alice``."""
    rt = make_runtime(tmp_path, clock=clock, url=store_url)
    yield rt
    rt.close()


@pytest.fixture
def empty_runtime(tmp_path: Path, clock: FixedClock, store_url: str | None) -> Iterator[Runtime]:
    """A runtime on a fresh database with no demo inventory (only the admin ``alice``)."""
    rt = make_runtime(tmp_path, seed=False, clock=clock, url=store_url)
    yield rt
    rt.close()
