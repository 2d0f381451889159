"""The bench's pyinfra rows: the inventory and deploy it writes, the commands, the rows it adds.

pyinfra itself is not installed here (it lives in the bench's own venv, made on demand): these
test the pure helpers that decide what pyinfra is asked to do, so the comparison stays fair
(same servers, host keys checked, same content and mode) without running it.
"""

from __future__ import annotations

import ast
import stat
from pathlib import Path
from typing import Any

import pytest

from bench.floor import W1_COMMAND
from bench.plans.bench_plans import CONTENT
from bench.pyinfra_tool import deploy_text, ensure_pyinfra, inventory_text, pyinfra_argv
from bench.report import Report
from bench.whole import pyinfra_rows, rotated


def _fleet(tmp_path: Path, count: int = 3) -> dict[str, Any]:
    return {
        "client_key": str(tmp_path / "id_ed25519"),
        "known_hosts": str(tmp_path / "known_hosts"),
        "files_dir": str(tmp_path / "files"),
        "servers": [(f"srv{i:03d}", "127.0.0.1", 40_000 + i, "bench") for i in range(1, count + 1)],
    }


def _hosts(text: str) -> list[tuple[str, dict[str, Any]]]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "inventory.py", "exec"), namespace)
    hosts: list[tuple[str, dict[str, Any]]] = namespace["bench"]
    return hosts


def test_inventory_lists_the_first_n_servers_with_host_keys_checked(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path, count=3)
    hosts = _hosts(inventory_text(fleet, 2))
    assert [name for name, _ in hosts] == ["srv001", "srv002"]
    for (name, data), (_, host, port, user) in zip(hosts, fleet["servers"], strict=False):
        assert isinstance((name, data), tuple)
        assert (data["ssh_hostname"], data["ssh_port"], data["ssh_user"]) == (host, port, user)
        assert data["ssh_known_hosts_file"] == fleet["known_hosts"]
        assert data["ssh_strict_host_key_checking"] == "yes"
        assert data["ssh_key"] == fleet["client_key"]
        assert data["ssh_allow_agent"] is False
        assert data["bench_path"] == f"{fleet['files_dir']}/{name}.conf"


def test_deploy_puts_the_bench_content_with_mode_644() -> None:
    tree = ast.parse(deploy_text(CONTENT))
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "files.put"
    ]
    assert len(calls) == 1
    keywords = {k.arg: k.value for k in calls[0].keywords}
    source = keywords["src"]
    assert isinstance(source, ast.Call) and ast.literal_eval(source.args[0]) == CONTENT
    assert ast.literal_eval(keywords["mode"]) == "644"
    assert ast.unparse(keywords["dest"]) == "host.data.bench_path"


def test_commands_per_workload(tmp_path: Path) -> None:
    fleet, pyinfra, scratch = _fleet(tmp_path), tmp_path / "pyinfra", tmp_path / "scratch"
    w1 = pyinfra_argv(pyinfra, scratch, fleet, "w1", 3)
    assert w1[:2] == [str(pyinfra), str(scratch / "inventory_n3.py")]
    assert w1[2:] == ["exec", "-y", "--parallel", "3", "--", W1_COMMAND]
    w2 = pyinfra_argv(pyinfra, scratch, fleet, "w2", 3)
    w3 = pyinfra_argv(pyinfra, scratch, fleet, "w3", 3)
    assert w2[2:] == [str(scratch / "deploy.py"), "-y", "--parallel", "3"]
    assert w3[2:] == [str(scratch / "deploy.py"), "--dry", "--parallel", "3"]
    assert len(_hosts((scratch / "inventory_n3.py").read_text())) == 3
    compile((scratch / "deploy.py").read_text(), "deploy.py", "exec")


def test_who_goes_first_turns_each_round() -> None:
    kinds = ("floor", "product", "pyinfra")
    assert [rotated(kinds, r)[0] for r in range(4)] == ["floor", "product", "pyinfra", "floor"]
    assert rotated(("floor", "product"), 1) == ("product", "floor")


def _run(wall: float, cpu: float) -> dict[str, Any]:
    return {"ok": True, "wall": wall, "cpu": cpu}


def test_rows_give_otter_tui_over_pyinfra() -> None:
    report = Report()
    runs = {
        "floor": [_run(1.0, 0.5)],
        "product": [_run(1.5, 1.2)],
        "pyinfra": [_run(2.0, 1.0)],
    }
    pyinfra_rows(report, "W1", 100, runs)
    wall, cpu = report.rows
    assert (wall.figure, wall.value, wall.ratio, wall.versus, wall.ok) == (
        "pyinfra wall",
        2.0,
        2.0,
        0.75,
        True,
    )
    assert cpu.versus == pytest.approx(1.2) and cpu.ok is False
    assert "0.75x" in wall.cells() and "MISS" in cpu.cells()


def test_a_failed_pyinfra_run_is_one_row_saying_so() -> None:
    report = Report()
    runs = {
        "floor": [_run(1.0, 0.5)],
        "product": [_run(1.5, 1.2)],
        "pyinfra": [{"ok": False, "error": "StrictPolicy: No host key"}],
    }
    pyinfra_rows(report, "W1", 1, runs)
    (row,) = report.rows
    assert row.value is None and "StrictPolicy" in row.cells()[-1]


def test_an_installed_pyinfra_is_used_as_it_is(tmp_path: Path) -> None:
    command = tmp_path / "venv" / "bin" / "pyinfra"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    assert ensure_pyinfra(tmp_path / "venv") == command


def test_no_venv_no_rows_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert ensure_pyinfra(blocker / "venv") is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("pyinfra rows skipped: could not install")
