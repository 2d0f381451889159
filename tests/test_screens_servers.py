"""The servers section driven with Pilot as an operator would: keys in, the screen out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Select, Static, Tree

from otter_tui.config import settings_from_mapping
from otter_tui.errors import NotFoundError
from otter_tui.events import DriftChecked, EventBus
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.store.models import DriftItem, DriftStatus, Server
from screens.app import OtterApp
from screens.modals import ConfirmModal, FormModal
from screens.servers import ServersScreen
from tests.screens_support import settle

DEMO = ["demo-db1", "demo-web1", "demo-web2"]
SIZE = (160, 50)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_from_mapping({"paths": {"data_dir": str(tmp_path)}}, None)
    runtime = open_runtime(settings=settings, actor="alice")
    yield runtime
    runtime.close()


def column(app: OtterApp, table_id: str, index: int = 0) -> list[str]:
    table: DataTable[object] = app.screen.query_one(table_id, DataTable)
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


def cell(app: OtterApp, server: str, column_key: str) -> str:
    return str(app.screen.query_one("#servers", DataTable).get_cell(server, column_key))


def shown_text(app: OtterApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).visual)


def focused_id(app: OtterApp) -> str | None:
    return app.focused.id if app.focused else None


async def select_server(pilot: Pilot[None], name: str) -> None:
    table = pilot.app.screen.query_one("#servers", DataTable)
    table.move_cursor(row=column(pilot.app, "#servers").index(name))  # type: ignore[arg-type]
    await settle(pilot)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*("space" if char == " " else char for char in text))


async def fill_add_form(pilot: Pilot[None], name: str, host: str, roles: str, envs: str) -> None:
    """Type into the add form field by field, as a user tabbing through it would."""
    await pilot.press("a")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FormModal)
    await type_text(pilot, name)
    await pilot.press("tab")
    await type_text(pilot, host)
    await pilot.press("tab", "tab", "tab", "tab")  # port, user, transport: keep the defaults
    await type_text(pilot, roles)
    await pilot.press("tab")
    await type_text(pilot, envs)
    await pilot.press("enter")
    await settle(pilot)


async def test_opens_on_the_demo_servers_with_who_and_which_database(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ServersScreen)
        assert column(app, "#servers") == DEMO
        assert app.title == "otter-tui · Servers"
        assert app.sub_title == f"alice @ {runtime.settings.data_dir / 'otter.db'}"
        assert str(app.screen.query_one("#servers-count", Label).visual) == "3 servers"


async def test_detail_shows_the_selected_server_and_its_resolved_variables(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown_text(app, "#server-fields").startswith("demo-db1  active")
        assert "app_port" not in column(app, "#server-variables")
        await pilot.press("down")
        await settle(pilot)
        assert shown_text(app, "#server-fields").startswith("demo-web1  active")
        names = column(app, "#server-variables")
        values = dict(zip(names, column(app, "#server-variables", 1), strict=True))
        assert values["app_port"] == "8080"  # from the web role
        assert values["log_level"] == "debug"  # from the dev environment
        assert values["root"].endswith("sandbox/demo-web1")  # the server's own


async def test_typing_a_filter_narrows_the_table_and_escape_clears_it(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert focused_id(app) == "filter"
        await type_text(pilot, "web")
        await settle(pilot)
        assert column(app, "#servers") == ["demo-web1", "demo-web2"]
        assert str(app.screen.query_one("#servers-count", Label).visual) == "2 of 3 servers"
        # Not " 2": the description holds the sandbox path, and pytest's tmp dir may hold a 2.
        await type_text(pilot, " web2")
        await settle(pilot)
        assert column(app, "#servers") == ["demo-web2"]
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "#servers") == DEMO
        assert focused_id(app) == "servers"


async def test_adding_a_server_through_the_form_shows_it_and_stores_it(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await fill_add_form(pilot, "web-03", "10.0.0.7", "web demo", "dev")
        assert isinstance(app.screen, ServersScreen)
        assert column(app, "#servers") == [*DEMO, "web-03"]
        assert cell(app, "web-03", "address") == "10.0.0.7:22"
        assert shown_text(app, "#server-fields").startswith("web-03  active")
        stored = runtime.inventory.show_server("web-03")
        assert (stored.host, stored.port, stored.transport) == ("10.0.0.7", 22, "ssh")
        assert set(stored.roles) == {"web", "demo"}
        assert stored.environments == ("dev",)


async def test_an_unknown_role_keeps_the_form_open_with_one_line_and_adds_nothing(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await fill_add_form(pilot, "web-04", "10.0.0.8", "web nope", "")
        assert isinstance(app.screen, FormModal)
        error = app.screen.query_one("#form-error", Static)
        assert error.display
        assert str(error.visual) == "unknown role 'nope'"
        assert app.screen.query_one("#field-name", Input).value == "web-04"  # nothing lost
        with pytest.raises(NotFoundError):
            runtime.inventory.show_server("web-04")
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "#servers") == DEMO


async def test_markup_in_user_data_is_shown_literally(runtime: Runtime) -> None:
    runtime.inventory.update_server("demo-db1", description="[bold]x[/bold]")
    runtime.variables.set("server", "demo-db1", "banner", "[red]boom")
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "description  [bold]x[/bold]" in shown_text(app, "#server-fields")
        assert "[red]boom" in column(app, "#server-variables", 1)
        await fill_add_form(pilot, "web-05", "h", "[b]web", "")
        assert str(app.screen.query_one("#form-error", Static).visual) == ("unknown role '[b]web'")


async def test_d_deactivates_and_activates_the_selected_server(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_server(pilot, "demo-web1")
        await pilot.press("d")
        await settle(pilot)
        assert cell(app, "demo-web1", "active") == "no"
        assert runtime.inventory.show_server("demo-web1").active is False
        assert shown_text(app, "#server-fields").startswith("demo-web1  inactive")
        await pilot.press("d")
        await settle(pilot)
        assert cell(app, "demo-web1", "active") == "yes"
        assert runtime.inventory.show_server("demo-web1").active is True


async def test_delete_asks_first_and_only_yes_deletes(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_server(pilot, "demo-web2")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "demo-web2" in shown_text(app, "#confirm-question")
        await pilot.press("enter")  # the focus starts on Cancel
        await settle(pilot)
        assert column(app, "#servers") == DEMO
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert column(app, "#servers") == ["demo-db1", "demo-web1"]
        with pytest.raises(NotFoundError):
            runtime.inventory.show_server("demo-web2")


async def test_edit_changes_fields_and_memberships(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, FormModal)
        assert app.screen.query_one("#field-name", Input).disabled
        app.screen.query_one("#field-roles", Input).value = "db web"
        app.screen.query_one("#field-description", Input).value = "primary database"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ServersScreen)
        assert cell(app, "demo-db1", "roles") == "db, web"
        stored = runtime.inventory.show_server("demo-db1")
        assert (set(stored.roles), stored.description) == ({"db", "web"}, "primary database")


async def test_groups_tab_lists_roles_and_nests_a_new_environment(runtime: Runtime) -> None:
    runtime.inventory.add_environment("prod")
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert column(app, "#roles") == ["db", "demo", "web"]
        assert column(app, "#roles", 1) == ["1", "3", "2"]
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, FormModal)
        await type_text(pilot, "prod-eu")
        modal.query_one("#field-parent", Select).value = "prod"
        await pilot.press("enter")
        await settle(pilot)
        tree: Tree[str] = app.screen.query_one("#environments", Tree)
        top = {str(node.data): node for node in tree.root.children}
        assert set(top) == {"dev", "prod"}
        assert [child.data for child in top["prod"].children] == ["prod-eu"]
        assert runtime.inventory.show_environment("prod-eu").parent == "prod"


async def test_core_events_reach_the_screen_through_the_bridge(runtime: Runtime) -> None:
    bus = EventBus()
    app = OtterApp(runtime, bus)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert cell(app, "demo-web1", "drift") == "never"
        # As a check does: the result is stored, then announced (a reload agrees with the event).
        checked = runtime.ctx.now()
        with runtime.db.transaction() as s:
            server = s.scalar(select(Server).where(Server.name == "demo-web1"))
            assert server is not None
            server.drift_checked_at = checked
            s.add(DriftItem(server_id=server.id, plan_key="p.P", item="/etc/motd",
                            status=DriftStatus.DRIFTED, checked_at=checked))  # fmt: skip
        await bus.publish(DriftChecked("demo-web1", "drifted", checked))
        await pilot.pause(0.1)
        await settle(pilot)
        assert cell(app, "demo-web1", "drift") == "drifted"


async def test_a_feed_reload_during_the_reload_after_an_add_keeps_the_cursor_on_the_new_server(
    runtime: Runtime,
) -> None:
    """The change feed reloads the list too (the add moved the audit marker); that reload
    replaces the one in flight and must not drop "put the cursor on web-03"."""
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        runtime.inventory.add_server("web-03", "10.0.0.7", roles=["web"])
        screen = app.screen
        assert isinstance(screen, ServersScreen)
        screen.action_reload("web-03")  # what the add form's InventoryChanged asks for
        screen.action_reload()  # the feed's tick, before the first read is back
        await settle(pilot)
        assert shown_text(app, "#server-fields").startswith("web-03  active")
