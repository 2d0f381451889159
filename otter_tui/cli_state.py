"""What the command line shares between commands: the config path and a lazily opened runtime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otter_tui.config import Settings
    from otter_tui.runtime import Runtime


class CliState:
    """Opens config and database only when a command needs them, once.

    The config and runtime modules (SQLAlchemy, every service) are imported here on first use,
    not at import time, so ``otter-tui --version`` and the console start import only what they use.
    """

    def __init__(
        self,
        config_path: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        actor: str | None = None,
    ) -> None:
        self.config_path = config_path
        self.clock = clock
        """What "now" is for every command; ``None`` is the system clock. Embedders and tests
        hand one to :func:`otter_tui.cli.run`, so a schedule's "next firing" or a one-shot's
        "is it in the future" is computed against the clock they chose, not the calendar."""
        self.actor = actor
        """Who acts; None (always, from the installed command): the process's OS account."""
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from otter_tui.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    def runtime(self) -> Runtime:
        if self._runtime is None:
            from otter_tui.runtime import open_runtime

            self._runtime = open_runtime(**self._runtime_options())
        return self._runtime

    def runtime_for_plan(self, plan: str) -> Runtime:
        """The runtime for a command that runs one plan: only that plan's file is loaded and
        its records refreshed (every file when ``plan`` is a display name), not all of them."""
        if self._runtime is None:
            from otter_tui.runtime import open_runtime

            self._runtime = open_runtime(**self._runtime_options(), sync_plans=False)
            self._runtime.plans.sync_plan(plan)
        return self._runtime

    def _runtime_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"settings": self.settings(), "actor": self.actor}
        if self.clock is not None:
            options["clock"] = self.clock
        return options

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
