"""The ``[console]`` table of config.toml: what the console's own worker serves.

Kept apart from :mod:`otter_tui.config` (which owns the file format) so the console's rules sit
together. Only the form of a queue name is checked here; whether the queue exists is a question
for the database, answered when the console starts (an unknown one is shown there in one line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from otter_tui.errors import ConfigError

QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""The rule every queue name follows (the same as ``services.context.NAME_RE``)."""


@dataclass(frozen=True)
class ConsoleSettings:
    """``[console]``: what the console's own worker claims."""

    queues: tuple[str, ...] = ()
    """The job queues the console's own worker claims from (while no daemon serves them);
    empty: every queue whose backend is ``local``, including queues added later."""


def check_console(values: ConsoleSettings) -> None:
    """Each queue named once, in the form a queue name takes."""
    seen: set[str] = set()
    for name in values.queues:
        if not QUEUE_NAME.match(name):
            raise ConfigError(
                f"'console.queues' has an invalid queue name {name!r}: "
                "use letters, digits, '.', '_' and '-' (max 100)"
            )
        if name in seen:
            raise ConfigError(f"'console.queues' names queue {name!r} twice")
        seen.add(name)
