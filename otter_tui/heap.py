"""The garbage collector around heavy imports: paused while they run, optionally frozen after.

Imports make tens of thousands of objects that live as long as the process (classes, functions,
SQLAlchemy's tables and mappers, asyncssh's algorithm tables) and almost no garbage, yet the
cyclic collector walked them over and over while they were made: ~220 collections and 0.15 s of
CPU in a one-server ``otter-tui run``, a fifth of its start-up. Every full collection of a long
job walked them again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic collection inside the block; with ``freeze``, everything alive at its end is
    moved out of the collector's sight for good (``gc.freeze``).

    Freeze only in a process that is ours (the installed command), never in a caller's heap
    (a test, an embedding program). The few hundred cycles an import leaves are never freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
