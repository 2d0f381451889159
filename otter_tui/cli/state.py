"""What the command line shares between commands: the config path and a lazily opened runtime."""

from __future__ import annotations

from otter_tui.config import Settings, load_settings
from otter_tui.runtime import Runtime, open_runtime


class CliState:
    """Opens config and database only when a command needs them, once."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = open_runtime(settings=self.settings())
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
