"""The Servers screen's Import action with Pilot: the dry-run table in a modal, applied only on
"yes"; reachable by its key and from the command palette."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from otter_tui.config import settings_from_mapping
from otter_tui.runtime import Runtime, open_runtime
from screens.app import OtterApp
from screens.import_modal import ImportPreviewModal
from screens.modals import FormModal
from screens.servers import ServersScreen
from tests.inventory_support import DATA, ENVIRONMENTS
from tests.screens_support import SIZE, rows, settle

DEMO = ["demo-db1", "demo-web1", "demo-web2"]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_from_mapping({"paths": {"data_dir": str(tmp_path)}}, None)
    runtime = open_runtime(settings=settings, actor="alice")
    yield runtime
    runtime.close()


def names(app: OtterApp) -> list[str]:
    return [row[0] for row in rows(app, "#servers")]


async def fill(pilot: Pilot[None], path: str, environments: str) -> None:
    """Source stays ansible; type the path and the environments, then submit."""
    form = pilot.app.screen
    assert isinstance(form, FormModal)
    form.query_one("#field-path").focus()
    await pilot.press(*path)
    await pilot.press("tab")
    await pilot.press(*environments)
    await pilot.press("enter")
    await settle(pilot)


async def test_import_shows_the_dry_run_and_applies_only_on_yes(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ServersScreen) and names(app) == DEMO
        await pilot.press("i")
        await settle(pilot)
        await fill(pilot, str(DATA / "hosts.ini"), ENVIRONMENTS)
        preview = app.screen
        assert isinstance(preview, ImportPreviewModal)
        table = {r[1]: (r[0], r[2], r[3]) for r in rows(app, "#import-changes")}
        assert table["web-eu"] == ("server", "added", "10.1.0.9:2201")
        assert table["demo-web1"] == ("server", "kept", "not in the source")
        assert table["eu"][:2] == ("environment", "added")
        shown = str(preview.query_one("#import-summary", Static).visual)
        assert shown == "servers: 8 added, 3 kept"

        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ServersScreen) and names(app) == DEMO
        assert len(runtime.inventory.list_servers()) == 3

        await pilot.press("i")
        await settle(pilot)
        await fill(pilot, str(DATA / "hosts.ini"), ENVIRONMENTS)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ServersScreen)
        assert len(names(app)) == 11 and "web-eu" in names(app)
        assert runtime.inventory.show_server("web-eu").environments == ("eu",)


async def test_a_bad_file_is_one_error_line_in_the_form(runtime: Runtime, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ini"
    bad.write_text("[web\nweb1\n")
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await fill(pilot, str(bad), "")
        assert isinstance(app.screen, FormModal)
        error = str(app.screen.query_one("#form-error", Static).visual)
        assert error.startswith(f"{bad}:1: malformed section header")
        assert len(runtime.inventory.list_servers()) == 3


async def test_the_palette_opens_the_import(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"import inv")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormModal)
        assert str(app.screen.query_one(".dialog--title", Static).visual) == "Import inventory"
