"""Statements whose behaviour differs by dialect, proven on a SQLite file and on PostgreSQL:
the inventory import's bulk writes and the audit trail's append-only triggers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from otter_tui.inventory_import import AnsibleOptions, read_ansible
from otter_tui.runtime import Runtime
from otter_tui.services.audit import AuditFilter
from otter_tui.services.inventory_sync import InventorySyncService
from tests.inventory_support import DATA, ENVIRONMENTS, servers_of, variables_of

pytestmark = pytest.mark.both_stores


def test_inventory_import_reimport_and_prune(runtime: Runtime, tmp_path: Path) -> None:
    """Multi-row INSERT ... RETURNING, bulk UPDATE and DELETE ... IN behave alike."""
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
