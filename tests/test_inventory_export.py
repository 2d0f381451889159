"""``inventory export``: what it writes imports back into an empty database unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.runtime import Runtime
from tests.fixtures_core import ACTOR, make_runtime
from tests.inventory_support import DATA, ENVIRONMENTS, groups_of, servers_of, variables_of


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


def everything(rt: Runtime) -> tuple[object, ...]:
    return servers_of(rt), groups_of(rt), variables_of(rt)


def ansible_hosts(path: Path, tmp_path: Path) -> set[str]:
    """The hosts the real ansible-inventory reads from ``path``: the export is valid Ansible."""
    tool = Path(sys.executable).with_name("ansible-inventory")
    listed = subprocess.run(
        [str(tool), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    groups = json.loads(listed.stdout)
    return {
        host for name, body in groups.items() if name != "_meta" for host in body.get("hosts", [])
    }


def otter(directory: Path, *args: str) -> int:
    return run(["--config", str(directory / "config.toml"), *args], actor=ACTOR)


@pytest.mark.parametrize(("fmt", "suffix"), [("ansible-yaml", "yml"), ("json", "json")])
@pytest.mark.timeout(300)
def test_export_then_import_into_an_empty_database_gives_the_same_inventory(
    fmt: str, suffix: str, tmp_path: Path
) -> None:
    first = make_runtime(tmp_path / "a", seed=True)
    assert (
        otter(
            tmp_path / "a",
            "inventory",
            "import",
            "ansible",
            str(DATA / "hosts.yml"),
            "--environments",
            ENVIRONMENTS,
        )
        == 0
    )
    first.variables.set("server", "dba", "motd", "has spaces, 'quotes' and: colons")
    first.variables.set("role", "db", "port", "05432")
    exported = tmp_path / f"inventory.{suffix}"
    assert otter(tmp_path / "a", "inventory", "export", "--format", fmt, "-o", str(exported)) == 0

    second = make_runtime(tmp_path / "b", seed=False)
    assert otter(tmp_path / "b", "inventory", "import", "ansible", str(exported)) == 0
    assert everything(second) == everything(first)
    assert len(servers_of(second)) == 11  # the 8 imported and the 3 demo servers
    assert ("role", "db", "port", "05432") in variables_of(second)
    if fmt == "ansible-yaml":
        assert ansible_hosts(exported, tmp_path) == set(servers_of(first))
    first.close()
    second.close()
