"""The core is UI-free: importing it (as the daemon and the CLI do) loads no Textual, Rich or
screens. Checked in a fresh interpreter, where nothing else has imported them already."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

CORE = ["otter_tui.cli", "otter_tui.runtime", "otter_tui.events"]
OPTIONAL = ["otter_tui.daemon", "otter_tui.cli.daemon_cmd"]
UI = ("textual", "rich", "screens")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in {ui!r})
print(json.dumps({{"loaded": [n for n in sys.argv[1:] if n in sys.modules], "ui": ui}}))
"""


def core_modules() -> list[str]:
    return CORE + [name for name in OPTIONAL if importlib.util.find_spec(name) is not None]


def test_importing_the_core_loads_no_ui() -> None:
    modules = core_modules()
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(ui=set(UI)), *modules],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["loaded"] == modules
    assert result["ui"] == []


def test_the_probe_would_notice_a_ui_import() -> None:
    """The check above is only worth something if it sees a UI module when one is loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(ui=set(UI)), "otter_tui.events", "rich"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "rich" in json.loads(done.stdout)["ui"]


FIRST_FRAME = ["otter_tui.cli", "otter_tui.runtime", "screens.app", "screens.servers"]
"""What the console imports before its first frame (the servers section is the first shown)."""
NOT_BEFORE_FIRST_FRAME = (
    "alembic",
    "asyncssh",
    "croniter",
    "otter_tui.engine",
    "otter_tui.scheduler",
)
"""Imported after the first frame (runner, scheduler) or only to migrate."""

LATE_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
late = {late!r}
found = [m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in late)]
print(json.dumps(sorted(found)))
"""


def imported_too_early(modules: list[str], late: tuple[str, ...]) -> list[str]:
    """Which of ``late`` (or their submodules) a fresh interpreter holds after importing
    ``modules``."""
    done = subprocess.run(
        [sys.executable, "-c", LATE_PROBE.format(late=late), *modules],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout)
    return found


def test_the_console_paints_before_importing_the_engine_scheduler_or_alembic() -> None:
    assert imported_too_early(FIRST_FRAME, NOT_BEFORE_FIRST_FRAME) == []


OPENING_FRAME = ["otter_tui.cli", "screens.opening"]
"""What the console imports before its very first frame (screens/opening.py): the runtime is
opened behind that frame."""
NOT_BEFORE_OPENING_FRAME = (
    *NOT_BEFORE_FIRST_FRAME,
    "sqlalchemy",
    "otter_tui.runtime",
    "otter_tui.store",
    "otter_tui.services",
    "otter_tui.config",
)


def test_the_console_paints_before_importing_the_store_or_reading_the_config() -> None:
    assert imported_too_early(OPENING_FRAME, NOT_BEFORE_OPENING_FRAME) == []
