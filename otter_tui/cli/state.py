"""What the command line shares between commands: the config path and a lazily opened runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otter_tui.config import Settings
    from otter_tui.runtime import Runtime


class CliState:
    """Opens config and database only when a command needs them, once.

    The config and runtime modules (SQLAlchemy, every service) are imported here on first use,
    not at import time, so ``otter-tui --version`` and the console start import only what they use.
    """

    def __init__(self, config_path: str | None, actor: str | None = None) -> None:
        self.config_path = config_path
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

            self._runtime = open_runtime(settings=self.settings(), actor=self.actor)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
