"""``otter-tui db copy --to``: a SQLite database moves into an empty PostgreSQL one with every row
and id kept, new rows get fresh ids, and a non-empty or unreachable target is refused in one
line, left as it was."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.runtime import Runtime
from otter_tui.store.db import Database, open_database
from otter_tui.store.models import Base
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster, free_port
from tests.engine_support import add_local, create, engine_runtime, run_now

_names = itertools.count(1)


@pytest.fixture
def empty_pg(pg_cluster: PostgresCluster) -> Iterator[str]:
    name = f"otter_copy_{next(_names)}"
    yield pg_cluster.create_database(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A SQLite database with inventory, a finished job with its runs and logs, and audit."""
    rt = engine_runtime(tmp_path)
    add_local(rt, "here")
    rt.inventory.add_environment("dev")
    rt.inventory.add_environment("dev-eu", parent="dev")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    assert run_now(rt, job.id) == "succeeded"
    yield rt
    rt.close()


def every_row(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in Base.metadata.sorted_tables
        }


def copy(tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(
        ["--config", str(tmp_path / "config.toml"), "db", "copy", "--to", target], actor="alice"
    )
    out, err = capsys.readouterr()
    return code, out, err


def test_every_row_is_copied_with_its_id_and_new_rows_get_fresh_ids(
    source: Runtime, tmp_path: Path, empty_pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = copy(tmp_path, empty_pg, capsys)
    assert (code, err) == (0, "")
    target = open_database(empty_pg)
    try:
        before, after = every_row(source.db), every_row(target)
        assert after == before
        rows = sum(len(v) for v in before.values())
        assert out == f"copied {rows} rows of {len(before)} tables to {empty_pg}\n"
        assert before["log_entries"] and before["server_runs"] and before["audit_events"]
    finally:
        target.dispose()
    (tmp_path / "moved").mkdir()
    moved = engine_runtime(tmp_path / "moved", url=empty_pg)
    try:
        new = moved.inventory.add_server("web9", "10.0.0.9")
        assert new.name == "web9"
        again = create(moved, "Echo", TargetSpec(servers=("here",)))
        assert again.id == max(j.id for j in source.jobs.recent()) + 1
    finally:
        moved.close()


def test_a_non_empty_target_is_refused_and_left_as_it_was(
    source: Runtime, tmp_path: Path, empty_pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert copy(tmp_path, empty_pg, capsys)[0] == 0
    target = open_database(empty_pg)
    first = every_row(target)
    code, out, err = copy(tmp_path, empty_pg, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"otter-tui: error: database {empty_pg} is not empty (")
    assert err.endswith("tables); copy only into an empty database\n")
    assert every_row(target) == first
    target.dispose()


def test_an_unreachable_target_is_one_line(
    source: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://otter@127.0.0.1:{free_port()}/otter"
    code, out, err = copy(tmp_path, url, capsys)
    assert (code, out) == (1, "")
    assert err.startswith(f"otter-tui: error: cannot open database {url}: ")
    assert err.count("\n") == 1
