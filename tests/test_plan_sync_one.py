"""``otter-tui run file.Class`` loads only that plan's file at start: the record it runs from is
refreshed from the class as by a full sync, other files are not executed, and asking for any
other plan still finds it (every file is loaded then)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.config import load_settings
from otter_tui.runtime import Runtime, open_runtime
from tests.fixtures_core import ACTOR, make_runtime
from tests.test_plan_records import KEY, Cli, hello, write_plan


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, seed=False)
    write_plan(runtime, hello())
    runtime.plans.sync()
    runtime.plans.set_enabled(KEY, True)
    yield runtime
    runtime.close()


def unsynced(rt: Runtime) -> Runtime:
    """A second start on the same config that loads no plan file by itself."""
    assert rt.settings.source is not None
    settings = load_settings(rt.settings.source)
    return open_runtime(settings=settings, actor=ACTOR, seed=False, sync_plans=False)


def marker_plan(marker: Path, name: str) -> str:
    """A plan file that leaves ``marker`` behind when it is executed."""
    executed = f"from pathlib import Path\nPath({str(marker)!r}).write_text('executed')\n"
    return executed + hello().replace("Hello", name)


def test_a_run_by_key_takes_the_edited_class(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plan(rt, hello(grouping="Greetings", soft=20))
    assert rt.settings.source is not None
    code, out, _err = Cli(rt.settings.source, capsys)("run", KEY)
    assert code == 0, out
    view = rt.plans.show(KEY)
    assert view.grouping == "Greetings" and view.metadata["soft_time_limit"] == 20
    assert view.enabled is True


def test_other_plan_files_are_not_executed_until_asked_for(rt: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "other-executed"
    write_plan(rt, marker_plan(marker, "Other"), "other.py")
    second = unsynced(rt)
    try:
        second.plans.sync_plan(KEY)
        assert not marker.exists()
        assert [view.key for view in second.plans.list()] == [KEY]
        assert second.plans.plan_class("other.Other").key == "other.Other"
        assert marker.exists()
    finally:
        second.close()


def test_a_display_name_syncs_every_file(rt: Runtime) -> None:
    write_plan(rt, hello().replace("Hello", "Other"), "other.py")
    second = unsynced(rt)
    try:
        second.plans.sync_plan("Hello")
        assert sorted(view.key for view in second.plans.list()) == [KEY, "other.Other"]
    finally:
        second.close()
