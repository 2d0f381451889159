"""The console as the command line opens it: its first frame before the runtime exists, the
section once it is open (a number key pressed meanwhile honoured), and an error while opening
ending the app with that error for the command line to print as one line."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otter_tui.errors import ConfigError
from otter_tui.runtime import Runtime
from screens.jobs import JobsScreen
from screens.opening import STARTING, OpeningApp, StartingScreen
from screens.servers import ServersScreen
from tests.screens_support import SIZE, deploy_runtime, rows, settle, until


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def gated(runtime: Runtime) -> tuple[Callable[[], Runtime], threading.Event]:
    """An opener that hands out ``runtime`` once the test sets the returned event."""
    go = threading.Event()

    def opener() -> Runtime:
        assert go.wait(30), "the test never let the runtime open"
        return runtime

    return opener, go


async def test_the_first_frame_is_painted_before_the_runtime_opens(runtime: Runtime) -> None:
    opener, go = gated(runtime)
    app = OpeningApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, StartingScreen)
        assert "opening" in app.title
        assert "Opening: reading the config" in str(app.screen.query_one("#opening").render())
        assert not app.use_command_palette  # its commands need the services
        go.set()
        await until(pilot, lambda: isinstance(app.screen, ServersScreen))
        await settle(pilot)
        assert [r[0] for r in rows(app, "#servers")] == ["demo-db1", "demo-web1", "demo-web2"]
        assert app.use_command_palette
        assert STARTING not in app._modes  # the opening screen is gone for good
        assert "Servers" in app.title
        await pilot.press("ctrl+q")


async def test_a_section_key_pressed_while_opening_is_shown_once_open(runtime: Runtime) -> None:
    opener, go = gated(runtime)
    app = OpeningApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2")
        assert isinstance(app.screen, StartingScreen)
        go.set()
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        assert app.current_mode == "jobs"
        await pilot.press("ctrl+q")  # as a user leaves (it stops building the other sections)


async def test_an_error_while_opening_ends_the_app_with_that_error() -> None:
    def opener() -> Runtime:
        raise ConfigError("config.toml: not valid TOML: Invalid value (at line 1)")

    app = OpeningApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1
    assert isinstance(app.failure, ConfigError)
    assert str(app.failure) == "config.toml: not valid TOML: Invalid value (at line 1)"


async def test_quit_while_opening_leaves_without_waiting_for_the_database(
    runtime: Runtime,
) -> None:
    opener, go = gated(runtime)
    app = OpeningApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None)
        assert isinstance(app.screen, StartingScreen)
    go.set()
    assert app.failure is None
