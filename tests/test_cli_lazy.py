"""The CLI imports a command's module only when the command is used: ``--version`` and the
console start stay free of what other commands need, and no command is lost by being lazy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from otter_tui.cli import COMMAND_MODULES, cli
from otter_tui.database_settings import ENV_URL
from tests.fixtures_core import admit_os_account, make_runtime, write_config

PROBE = """
import json, sys
from otter_tui.cli import run
code = run(["--version"])
heavy = sorted(m for m in ("sqlalchemy", "asyncssh", "otter_tui.runtime", "otter_tui.engine")
               if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def probe(script: str, *args: str, env: dict[str, str] | None = None) -> tuple[str, Any]:
    """Run ``script`` in a fresh interpreter (nothing imported yet): its output, and the JSON
    its last line prints."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(done.stdout.splitlines()[-1])


def test_version_imports_no_command_module() -> None:
    _out, result = probe(PROBE)
    assert result == {"code": 0, "heavy": []}


def test_every_command_module_is_mapped() -> None:
    """A command a module adds to ``COMMANDS`` but not to ``COMMAND_MODULES`` would only be
    found after ``--help`` loaded everything."""
    with click.Context(cli) as ctx:
        names = cli.list_commands(ctx)
    assert set(names) <= set(COMMAND_MODULES)
    assert set(names) == {n for n in COMMAND_MODULES if cli.get_command(ctx, n) is not None}


RUN_PROBE = """
import json, sys
from otter_tui.cli import run
code = run(["--config", sys.argv[1], "run", "lazy_plans.Hello", "--servers", "here"])
loaded = sorted(sys.modules)
unwanted = (
    "alembic", "sqlalchemy.dialects.postgresql", "textual", "rich", "keyring",
    "otter_tui.engine.worker", "otter_tui.engine.retention", "otter_tui.engine.warm",
    "otter_tui.transport.pool", "otter_tui.services.bulk_trust", "otter_tui.cli.inventory",
    "asyncssh", "cryptography", "otter_tui.transport.ssh", "tomli_w",
    "otter_tui.transport.ssh_options", "otter_tui.services.slices", "otter_tui.services.presence",
    "otter_tui.services.inventory", "otter_tui.services.variables",
    "otter_tui.plan.operations.commands",
    "otter_tui.plan.operations.files", "otter_tui.plan.operations.lines",
    "otter_tui.plan.operations.links", "otter_tui.plan.operations.packages",
)
print(json.dumps({
    "code": code,
    "unwanted": sorted({u for u in unwanted for m in loaded if m == u or m.startswith(u + ".")}),
    "plans": sorted(m.split(".")[1] for m in loaded if m.startswith("otter_plans_") and "." in m),
}))
"""

LAZY_PLANS = """
from otter_tui.plan import Command, OrchestrationPlan


class Hello(OrchestrationPlan):
    name = "Hello"

    async def run(self, ctx):
        await ctx.shell(Command.shell("echo hello"))
"""


def test_run_on_a_current_sqlite_database_imports_only_what_it_uses(tmp_path: Path) -> None:
    """``otter-tui run`` pays its start-up on every use: with the schema at head it imports no
    Alembic, on SQLite no PostgreSQL dialect, no UI, no keyring (key login needs none), none of
    the long-lived worker's parts (queue polling, pruning, slicing, the connection pool, daemon
    presence), on local servers only no asyncssh, cryptography or SSH options, no TOML writer
    (only ``config set`` writes), no inventory or variable service (only the cascade it reads),
    no operation kinds its plan does not name, and it loads the plan file it runs, not the
    others. In a fresh interpreter, as a user runs it."""
    rt = make_runtime(tmp_path, seed=False)
    plans = rt.settings.plans_dir
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "lazy_plans.py").write_text(LAZY_PLANS)
    (plans / "other_plans.py").write_text(LAZY_PLANS.replace("Hello", "Other"))
    rt.plans.sync(audit=False)
    rt.plans.set_enabled("lazy_plans.Hello", True)
    rt.inventory.add_server("here", "localhost", transport="local")
    admit_os_account(rt)
    rt.close()
    out, result = probe(RUN_PROBE, str(tmp_path / "config.toml"))
    assert "[here] hello" in out
    assert result == {"code": 0, "unwanted": [], "plans": ["lazy_plans"]}


DRIFT_PROBE = """
import json, sys
from otter_tui.cli import run
code = run(["--config", sys.argv[1], "drift", "check", "--servers", "here"])
loaded = set(sys.modules)
print(json.dumps({
    "code": code,
    "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in loaded),
}))
"""

DRIFT_PLANS = """
from otter_tui.plan import ConfigurationPlan
from otter_tui.plan import operations as ops


class Motd(ConfigurationPlan):
    name = "Motd"
    roles = ("web",)

    def operations(self, server):
        yield ops.file(server.var("motd"), content="hello\\n", mode=0o644)
"""


def test_drift_check_imports_only_the_operation_kinds_its_plans_name(tmp_path: Path) -> None:
    """``drift check`` on one server: the kinds its plans build (files here), not the others,
    and it prints what it checked without the inventory or the variable service."""
    rt = make_runtime(tmp_path, seed=False)
    rt.settings.plans_dir.mkdir(parents=True, exist_ok=True)
    (rt.settings.plans_dir / "drift_plans.py").write_text(DRIFT_PLANS)
    rt.plans.sync(audit=False)
    rt.plans.set_enabled("drift_plans.Motd", True)
    rt.inventory.add_role("web")
    rt.inventory.add_server("here", "localhost", transport="local", roles=["web"])
    rt.variables.set("server", "here", "motd", str(tmp_path / "motd"))
    admit_os_account(rt)
    rt.close()
    (tmp_path / "motd").write_text("hello\n")
    (tmp_path / "motd").chmod(0o644)
    watched = [
        "otter_tui.plan.operations.files",
        "otter_tui.plan.operations.lines",
        "otter_tui.plan.operations.packages",
        "otter_tui.services.inventory",
        "otter_tui.services.variables",
        "asyncssh",
    ]
    out, result = probe(DRIFT_PROBE, str(tmp_path / "config.toml"), json.dumps(watched))
    assert "here    current" in out
    assert result == {"code": 0, "loaded": ["otter_tui.plan.operations.files"]}


GC_PROBE = """
import gc, json, sys
from otter_tui import cli
argv = ["--config", sys.argv[1], "config", "show"]
try:
    code = cli.main(argv) if sys.argv[2] == "main" else cli.run(argv)
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}))
"""


@pytest.mark.parametrize(("entry", "frozen"), [("main", True), ("run", False)])
def test_command_import_pauses_the_collector_and_only_the_command_freezes(
    tmp_path: Path, entry: str, frozen: bool
) -> None:
    """Loading a command module runs without cyclic GC, which is back on afterwards (a long job
    still frees its cycles); the installed command (``main``) then freezes what the import
    made, while a program calling :func:`otter_tui.cli.run` keeps its heap as it was."""
    config = write_config(tmp_path)
    _out, result = probe(GC_PROBE, str(config), entry)
    assert result == {"code": 0, "enabled": True, "frozen": frozen}


STORE_PROBE = """
import __future__, json, sys
from otter_tui.store.models import Base
modules = sorted({m.class_.__module__ for m in Base.registry.mappers})
print(json.dumps({
    "configured": all(m.configured for m in Base.registry.mappers),
    "postponed": [
        m for m in modules if getattr(sys.modules[m], "annotations", None) is __future__.annotations
    ],
    "modules": modules,
}))
"""


def test_store_import_builds_and_configures_mappers_from_evaluated_annotations() -> None:
    """Every start that touches the database imports the models: their ``Mapped[...]``
    annotations are objects, not strings SQLAlchemy must evaluate one by one (no ``from
    __future__ import annotations`` in a module that maps a class; forward references are
    quoted), and the mappers are configured by the import, inside the caller's collector pause,
    not by the first query. Together ~80 M instructions of a one-server ``otter-tui run``."""
    _out, result = probe(STORE_PROBE)
    assert result["configured"] is True
    assert result["postponed"] == []
    assert "otter_tui.store.models" in result["modules"]


CONFIG_PROBE = """
import json, sys
from otter_tui.cli import run
code = run(["--config", sys.argv[1], "config", "show"])
print(json.dumps({"code": code, "sqlalchemy": "sqlalchemy" in sys.modules}))
"""


def test_config_show_on_the_default_database_imports_no_sqlalchemy(tmp_path: Path) -> None:
    """Reading config.toml parses a database URL only when one is set: ``config show`` on the
    default (empty) ``database.url`` costs ~280 M instructions instead of ~960 M."""
    config = write_config(tmp_path)
    _out, result = probe(
        CONFIG_PROBE, str(config), env={k: v for k, v in os.environ.items() if k != ENV_URL}
    )
    assert result == {"code": 0, "sqlalchemy": False}
