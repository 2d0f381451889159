"""A system package, installed or not, through the server's own package manager.

The manager is detected per server with read-only commands: ``dpkg-query`` means apt (Debian,
Ubuntu), ``rpm`` means dnf (Fedora, RHEL). Installing needs the rights to do so (run as root, or
a login allowed to); the operation does not add ``sudo`` by itself.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from otter_tui.errors import UsageError
from otter_tui.plan.operations.base import Operation, read_fact, run_checked
from otter_tui.plan.results import Applied, Collected, FactError
from otter_tui.transport.base import Command, LineSink, Transport

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_:~-]*$")

DETECT = Command.shell(
    "if command -v dpkg-query >/dev/null 2>&1; then echo apt; "
    "elif command -v rpm >/dev/null 2>&1; then echo dnf; else echo none; fi"
)


async def detect_manager(t: Transport) -> str:
    """``apt`` or ``dnf``; a server with neither is a ``FactError``."""
    found = (await read_fact(t, DETECT)).strip()
    if found not in ("apt", "dnf"):
        raise FactError(f"no apt or dnf on {t.name}: cannot manage packages there")
    return found


async def is_installed(t: Transport, manager: str, name: str) -> bool:
    """Ask dpkg or rpm (read-only) whether ``name`` is installed."""
    if manager == "apt":
        query = Command.argv("dpkg-query", "-W", "-f=${Status}", name)
        result = await t.run(query)
        return result.ok and result.stdout.strip().endswith(" installed")
    return (await t.run(Command.argv("rpm", "-q", name))).ok


def change_command(manager: str, name: str, present: bool) -> Command:
    """The install or remove command, non-interactive."""
    verb = "install" if present else "remove"
    if manager == "apt":
        line = f"DEBIAN_FRONTEND=noninteractive apt-get {verb} -y -q {shlex.quote(name)}"
        return Command.shell(line)
    return Command.argv("dnf", verb, "-y", "-q", name)


@dataclass(frozen=True)
class PackageOp(Operation):
    """Package ``name`` is installed (or, with ``present=False``, not installed)."""

    name: str
    present: bool = True

    def describe(self) -> str:
        return f"package {self.name} is {'installed' if self.present else 'not installed'}"

    async def inspect(self, t: Transport) -> Collected:
        manager = await detect_manager(t)
        if await is_installed(t, manager, self.name) == self.present:
            return Collected.desired()
        verb = "install" if self.present else "remove"
        return Collected.drifted(f"{verb} package {self.name} ({manager})")

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        manager = await detect_manager(t)
        if await is_installed(t, manager, self.name) == self.present:
            return Applied(False, "already as desired")
        await run_checked(t, change_command(manager, self.name, self.present), on_line)
        return Applied(True, f"{'installed' if self.present else 'removed'} {self.name}")


def package(name: str, *, present: bool = True) -> PackageOp:
    """Ensure a package is installed (``present=False``: removed), via apt or dnf."""
    if not NAME.match(name):
        raise UsageError(f"package name {name!r} is not valid")
    return PackageOp(name, present)
