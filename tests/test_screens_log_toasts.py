"""What is logged while the console is open becomes a notification (under Textual, stderr is not
the terminal: these went nowhere before), from any thread, once per text in a while."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from otter_tui.runtime import Runtime
from screens.log_toasts import REPEAT_SECONDS, ToastHandler
from tests.screens_support import SIZE, deploy_runtime, settle, until
from tests.test_screens_jobs import console


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def shown(app: object) -> list[tuple[str, str]]:
    return [(str(n.message), n.severity) for n in app._notifications]  # type: ignore[attr-defined]


def from_a_thread(log: object) -> None:
    """Log as the database thread does: off the app's loop."""
    thread = threading.Thread(target=log)
    thread.start()
    thread.join()


def busy_and_dropped() -> None:
    logging.getLogger("otter_tui.engine.dbthread").warning(
        "database busy; retrying %s in %.1fs", "_store_runs", 0.2
    )
    logging.getLogger("asyncssh").info("connection opened: not for the operator")
    try:
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    except psycopg.OperationalError:
        logging.getLogger("sqlalchemy.pool.impl.QueuePool").error(
            "Exception during reset or similar", exc_info=True
        )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("otter_tui.engine.runner").exception("job %s: engine error", 7)


async def test_warnings_and_errors_logged_from_another_thread_are_notifications(
    runtime: Runtime,
) -> None:
    app, _ = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        before = len(app._notifications)
        from_a_thread(busy_and_dropped)
        await until(pilot, lambda: len(app._notifications) >= before + 3)
        assert shown(app)[before:] == [
            ("database busy; retrying _store_runs in 0.2s", "warning"),
            (
                "a broken database connection was discarded "
                "(server closed the connection unexpectedly)",
                "warning",
            ),
            ("job 7: engine error (RuntimeError: boom)", "error"),
        ]
    assert not any(isinstance(h, ToastHandler) for h in logging.getLogger().handlers)


async def test_the_same_text_is_not_shown_again_for_a_while(runtime: Runtime) -> None:
    app, _ = console(runtime, runs_jobs=False)
    now = [1000.0]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.toasts.clock = lambda: now[0]
        before = len(app._notifications)
        busy = logging.getLogger("otter_tui.engine.logs")
        for _ in range(3):  # a retry loop warns each time round
            busy.warning("log writer: database busy; retrying 200 line(s)")
        busy.warning("log writer: database busy; retrying 7 line(s)")
        await until(pilot, lambda: len(app._notifications) >= before + 2)
        now[0] += REPEAT_SECONDS - 1
        busy.warning("log writer: database busy; retrying 200 line(s)")
        await settle(pilot)
        assert [text for text, _ in shown(app)[before:]] == [
            "log writer: database busy; retrying 200 line(s)",
            "log writer: database busy; retrying 7 line(s)",
        ]
        now[0] += 2  # past the window since it was shown
        busy.warning("log writer: database busy; retrying 200 line(s)")
        await until(pilot, lambda: len(app._notifications) >= before + 3)
        assert shown(app)[-1] == ("log writer: database busy; retrying 200 line(s)", "warning")
