"""Trusting a host key from the palette, against a real sshd: the question, then the fingerprint
and where it was recorded; a second time it is already trusted. (The trust flow is a worker
waiting on the user's answers, so these steps wait on what is shown, not on workers.)"""

from __future__ import annotations

from pathlib import Path

from otter_tui.testing.sshd import SshdFleet
from screens.app import OtterApp
from screens.modals import ConfirmModal
from tests.screens_support import SIZE, settle, until
from tests.test_screens_palette import command
from tests.test_trust import fleet_runtime


async def test_trust_host_key_of_a_server_from_the_palette(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    runtime = fleet_runtime(tmp_path, ssh_fleet)
    try:
        app = OtterApp(runtime)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            for expected in ("Trusted: recorded in", "Already trusted"):
                await command(pilot, app, "trust host key of srv", wait=False)
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
                assert "Fetch the SSH host key srv presents" in app.screen.question  # type: ignore[attr-defined]
                await pilot.press("y")
                await until(
                    pilot,
                    lambda: (
                        isinstance(app.screen, ConfirmModal) and "SHA256:" in app.screen.question
                    ),
                )
                assert expected in app.screen.question  # type: ignore[attr-defined]
                await pilot.press("n")
                await pilot.pause()
    finally:
        runtime.close()
    assert runtime.settings.app_known_hosts.read_text().strip()
