"""How commands and files reach a server: ``ssh`` (asyncssh) and ``local`` (subprocess)."""

from otter_tui.transport.base import Command, CommandResult, LineSink, Transport

__all__ = ["Command", "CommandResult", "LineSink", "Transport"]
