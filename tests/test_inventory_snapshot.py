"""The inventory snapshot a process keeps between jobs: reused while nothing changed, and every
change targeting can see (through the services, another process, raw SQL) seen at the next read,
on a SQLite file and on PostgreSQL, where the triggers that replace the token differ."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from otter_tui.runtime import Runtime
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.store.db import open_database
from otter_tui.store.models import Server, TransportKind
from otter_tui.targeting import TargetSpec, resolve_targets

pytestmark = pytest.mark.both_stores


def targets(runtime: Runtime, **spec: tuple[str, ...]) -> list[str]:
    """The servers a job with these targets would run on, as a job created now resolves them."""
    inventory = runtime.inventory.targeting_inventory()
    return [t.server or "" for t in resolve_targets(TargetSpec(**spec), inventory)]


def test_an_unchanged_inventory_is_read_once_and_reused(runtime: Runtime) -> None:
    first = runtime.inventory.targeting_inventory()
    runtime.jobs.recent()  # other reads and writes leave the snapshot alone
    runtime.inventory.add_role("spare")
    second = runtime.inventory.targeting_inventory()
    assert "spare" in second.roles and second is not first
    assert runtime.inventory.targeting_inventory() is second


def test_each_change_the_services_make_is_seen_at_once(runtime: Runtime) -> None:
    assert targets(runtime, roles=("web",)) == ["demo-web1", "demo-web2"]
    inventory = runtime.inventory
    inventory.add_server("web3", host="10.0.0.3", roles=("web",))
    assert targets(runtime, roles=("web",)) == ["demo-web1", "demo-web2", "web3"]
    inventory.update_server("demo-web1", active=False)
    assert targets(runtime, roles=("web",)) == ["demo-web2", "web3"]
    inventory.set_memberships("web3", remove_roles=("web",), add_environments=("dev",))
    assert targets(runtime, roles=("web",)) == ["demo-web2"]
    inventory.add_environment("prod")
    inventory.set_environment_parent("dev", "prod")
    assert "web3" in targets(runtime, environments=("prod",))
    inventory.remove_server("web3")
    assert "web3" not in targets(runtime, environments=("prod",))


def test_a_change_from_another_process_or_raw_sql_is_seen(runtime: Runtime) -> None:
    assert "demo-db1" in targets(runtime, roles=("demo",))
    other = open_database(runtime.db.url)  # another process's connections to the same database
    try:
        with other.engine.begin() as conn:
            conn.execute(text("UPDATE servers SET active = false WHERE name = 'demo-db1'"))
        assert "demo-db1" not in targets(runtime, roles=("demo",))
        web2 = "SELECT id FROM servers WHERE name = 'demo-web2'"
        with other.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM server_roles WHERE server_id = ({web2})"))
        assert targets(runtime, roles=("demo",)) == ["demo-web1"]
    finally:
        other.dispose()


def test_a_rolled_back_change_is_never_taken_for_the_inventory(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), runtime.db.transaction() as s:
        s.add(Server(name="ghost", host="10.0.0.9", transport=TransportKind.SSH))
        s.flush()
        assert "ghost" in {x.name for x in load_inventory(s).servers}  # its own change
        raise RuntimeError("abandon the transaction")
    assert "ghost" not in {x.name for x in runtime.inventory.targeting_inventory().servers}
    runtime.inventory.add_server("real", host="10.0.0.10")
    names = {x.name for x in runtime.inventory.targeting_inventory().servers}
    assert "real" in names and "ghost" not in names
