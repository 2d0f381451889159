"""What a source (an Ansible inventory, an ssh_config) says the inventory is, before syncing."""

from __future__ import annotations

from dataclasses import dataclass, field

from otter_tui.errors import UsageError


@dataclass(frozen=True)
class SourceServer:
    """One server as the source describes it; ``name`` is how a re-import finds it again."""

    name: str
    host: str
    port: int = 22
    user: str = ""
    transport: str = "ssh"
    roles: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    where: str = ""
    """``file:line`` of the host's first mention, for error messages."""


@dataclass(frozen=True)
class SourceGroup:
    """A role or an environment (``parent`` only for environments) and its variables."""

    name: str
    variables: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    where: str = ""


@dataclass(frozen=True)
class SecretValue:
    """A secret-looking variable the source holds; never stored in the database."""

    scope: str
    """``server``, ``role``, ``environment`` or ``global``."""
    owner: str
    name: str
    value: str
    where: str


@dataclass
class Source:
    """Everything one source says; parsers fill it, the sync service reads it."""

    label: str
    servers: list[SourceServer] = field(default_factory=list)
    roles: list[SourceGroup] = field(default_factory=list)
    environments: list[SourceGroup] = field(default_factory=list)
    global_vars: dict[str, str] = field(default_factory=dict)
    secrets: list[SecretValue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    describes_groups: bool = True
    """False for sources without groups or variables (ssh_config): a re-import then leaves a
    server's roles, environments and variables as they are."""


class SourceError(UsageError):
    """A malformed source: one line naming the file and line (CLI exit code 2)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


def located(label: str, line: int | None) -> str:
    """``file:line``, or just ``file`` when the line is not known."""
    return f"{label}:{line}" if line else label
