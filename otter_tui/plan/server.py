"""What a plan knows about the server it runs on: a frozen value, passed in, never a global."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class ServerInfo:
    """One server as a plan sees it, with the role it is targeted through.

    Demo servers use the ``local`` transport and carry a ``root`` variable (their sandbox
    folder); plans written for them use it as a path prefix so they never touch the real machine.
    """

    name: str
    host: str = "localhost"
    transport: str = "local"
    """``ssh`` or ``local``."""
    roles: tuple[str, ...] = ()
    """Every role the server is in."""
    role: str | None = None
    """The role in context: the one the job targeted this server through, if any."""
    variables: Mapping[str, object] = field(default_factory=dict, hash=False)
    """The server's resolved variables (cascade applied; job variables win)."""

    def __post_init__(self) -> None:
        # A plan may keep the mapping around; a read-only view stops it editing shared state.
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))

    def in_role(self, name: str) -> bool:
        """Otter's ``for role`` block: the role in context, or (with none) any of its roles."""
        return self.role == name if self.role is not None else name in self.roles

    def var(self, name: str, default: str = "") -> str:
        """A variable as text (``default`` when unset), for paths and templates."""
        value = self.variables.get(name)
        return default if value is None else str(value)
