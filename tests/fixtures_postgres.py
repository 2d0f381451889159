"""The suite's own PostgreSQL, and the one fixture that runs a test on SQLite and on PostgreSQL.

The cluster starts once per session (``otter_tui.testing.postgres``) and is stopped by PID at the
end. Nothing here skips: a machine where ``./dev`` ran has PostgreSQL installed, and a test that
cannot reach its server fails.

A module opts in to both databases with ``pytestmark = pytest.mark.both_stores``: every test in it
whose fixtures reach ``store_url`` (``runtime``, ``empty_runtime``, a ``world``...) runs twice, on a
SQLite file and on a fresh PostgreSQL database copied from one migrated once per session with the
real Alembic migrations. Elsewhere ``store_url`` is None: the SQLite file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from otter_tui.store.db import open_database
from otter_tui.testing.postgres import PostgresCluster

BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "otter_template"
_names = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_stores: run on a SQLite file and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_stores"
    ):
        metafunc.parametrize("store_backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session, with a database migrated to head to copy."""
    with PostgresCluster() as cluster:
        cluster.create_database(TEMPLATE)
        open_database(cluster.url(TEMPLATE)).dispose()
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh PostgreSQL database at the head revision, dropped after the test."""
    name = f"otter_test_{next(_names)}"
    url = pg_cluster.create_database(name, template=TEMPLATE)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless the module is marked ``both_stores``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def store_url(store_backend: str, request: pytest.FixtureRequest) -> str | None:
    """None for the SQLite file under ``tmp_path``; a fresh PostgreSQL database's URL otherwise."""
    if store_backend == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))
