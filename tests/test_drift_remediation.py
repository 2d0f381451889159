"""Drift: a check finds it, a remediation fixes only the drifted items, a second check is clean;
a simulated remediation changes no file. The same on real sshd servers and on local ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otter_tui.runtime import Runtime
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import (
    add_fleet,
    add_local,
    engine_runtime,
    log_text,
    run_now,
    snapshot,
)


@pytest.fixture(params=["ssh", "local"])
def fleet_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Runtime, list[str]]:
    """Three servers in role ``fleet``, each with its own ``root`` under ``tmp_path/roots``."""
    if request.param == "ssh":
        fleet: SshdFleet = request.getfixturevalue("ssh_fleet")
        rt = engine_runtime(tmp_path, fleet)
        names = add_fleet(rt, fleet, range(3))
    else:
        rt = engine_runtime(tmp_path)
        names = [add_local(rt, f"local{i}") for i in range(3)]
    for name in names:
        root = tmp_path / "roots" / name
        root.mkdir(parents=True)
        rt.variables.set("server", name, "root", str(root))
    request.addfinalizer(rt.close)
    return rt, names


def drift_job(rt: Runtime, *, remediate: bool, simulation: bool = False) -> int:
    job = rt.jobs.create_drift(
        TargetSpec(roles=("fleet",)), remediate=remediate, simulation=simulation
    )
    assert run_now(rt, job.id) == "succeeded"
    return job.id


def statuses(rt: Runtime) -> dict[str, str]:
    return {d.server: d.status for d in rt.drift.servers()}


def test_check_remediate_check(fleet_runtime: tuple[Runtime, list[str]], tmp_path: Path) -> None:
    rt, names = fleet_runtime
    first = tmp_path / "roots" / names[0]
    (first / "motd").write_text(f"hello {names[0]}\n")
    (first / "motd").chmod(0o644)
    kept = os.stat(first / "motd")
    assert set(statuses(rt).values()) == {"never checked"}

    drift_job(rt, remediate=False)
    assert set(statuses(rt).values()) == {"drifted"}
    assert rt.drift.groups()["roles"] == {"fleet": "drifted"}
    items = {i.item: i.status for i in rt.drift.items(names[0])}
    assert [status for item, status in items.items() if "/motd" in item] == ["desired"]
    assert sorted(items.values()) == ["desired", "drifted", "drifted"]

    fix = drift_job(rt, remediate=True)
    assert os.stat(first / "motd").st_mtime_ns == kept.st_mtime_ns  # not drifted: untouched
    changed = [line for line in log_text(rt, fix, names[0]) if line.startswith("changed:")]
    assert len(changed) == 2 and not any("/motd" in line for line in changed)
    for name in names:
        root = tmp_path / "roots" / name
        assert (root / "motd").read_text() == f"hello {name}\n"
        assert (root / "app").is_dir()
        assert (root / "app.conf").read_text() == "level = info\n"

    drift_job(rt, remediate=False)
    assert set(statuses(rt).values()) == {"current"}
    assert rt.drift.groups()["roles"] == {"fleet": "current"}


def test_simulated_remediation_changes_no_file(
    fleet_runtime: tuple[Runtime, list[str]], tmp_path: Path
) -> None:
    rt, names = fleet_runtime
    (tmp_path / "roots" / names[1] / "app.conf").write_text("level = debug\nother = 1\n")
    drift_job(rt, remediate=False)
    before = snapshot(tmp_path / "roots")

    job_id = drift_job(rt, remediate=True, simulation=True)

    assert snapshot(tmp_path / "roots") == before
    view = rt.jobs.show(job_id)
    assert view.simulation and view.summary["simulation"]
    assert view.summary["changes"] == 9  # 3 servers x 3 items, all drifted
    lines = log_text(rt, job_id, names[1])
    assert any(line.startswith("would change:") and "app.conf" in line for line in lines)
    assert set(statuses(rt).values()) == {"drifted"}  # a simulation records no drift result


def test_an_item_in_error_shows_in_the_drift_view(
    fleet_runtime: tuple[Runtime, list[str]], tmp_path: Path
) -> None:
    rt, names = fleet_runtime
    (tmp_path / "roots" / names[0] / "app").write_text("a file where a folder must be\n")
    job = rt.jobs.create_drift(TargetSpec(roles=("fleet",)), remediate=True, simulation=False)

    assert run_now(rt, job.id) == "failed"

    assert statuses(rt) == {names[0]: "error", names[1]: "current", names[2]: "current"}
    [error] = [i for i in rt.drift.items(names[0]) if i.status == "error"]
    assert error.item.startswith("directory ") and error.message
    [run] = [r for r in rt.jobs.show(job.id).server_runs if r.server == names[0]]
    assert run.state == "failed" and "1 item(s) failed" in run.error
    assert rt.drift.groups()["roles"] == {"fleet": "error"}


def test_a_plan_that_no_longer_applies_leaves_the_drift_view(
    fleet_runtime: tuple[Runtime, list[str]],
) -> None:
    rt, names = fleet_runtime
    drift_job(rt, remediate=False)
    assert set(statuses(rt).values()) == {"drifted"}
    rt.plans.set_enabled("engine_plans.FleetConfig", False)

    drift_job(rt, remediate=False)

    assert set(statuses(rt).values()) == {"current"}
    assert rt.drift.items(names[0]) == []
