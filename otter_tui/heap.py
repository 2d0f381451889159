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

_owned = False


def own_process() -> None:
    """Say the process is ours (the installed command's entry point calls this): from now on
    :func:`collector_paused` also freezes what its block made. Never called for a caller's heap
    (a test, a program embedding :func:`otter_tui.cli.run`): that is not ours to pin."""
    global _owned
    _owned = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; in a process that is ours (:func:`own_process`),
    everything alive at its end is then moved out of the collector's sight for good
    (``gc.freeze``), so later collections do not walk it again. The few hundred cycles an
    import leaves, and any garbage cycle alive at that moment, are never freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _owned:
            gc.freeze()
        if was_enabled:
            gc.enable()


LONG_RUN_THRESHOLDS = (5_000, 10, 100)
"""The collector's thresholds for a long-lived process that streams (CPython's are 700, 10, 10).

A young collection every 700 allocations comes every few milliseconds while a job streams
10,000 lines a second, so a line still in flight (in the bus, a batch, a read) survives two of
them and is promoted; a quarter of the heap's survivors promoted brings a full collection, and
the console had 14 or 15 of 100-145 ms in a 10 s stream, its worst key delays. Young passes
every 5,000 allocations let those lines die young, and a full pass waits for 100 older-
generation passes as well: none over 10 ms in the same stream, CPU 10.7 -> 8.4 s, peak RSS
unchanged (110 MB); the bench's key p99 there went from 181 to 24 ms with the change of
``screens.background.Handoff`` (bench/keys.py, docs/bench-findings.md).
"""


def tune_for_long_run() -> None:
    """Use :data:`LONG_RUN_THRESHOLDS` from now on (the console, once started)."""
    gc.set_threshold(*LONG_RUN_THRESHOLDS)


def settle_for_long_run(*, freeze: bool = False) -> None:
    """In a process that is ours (:func:`own_process`): :data:`LONG_RUN_THRESHOLDS` from now on,
    for the daemon once started and for a job the command runs itself; with ``freeze``, first
    collect once and freeze what start-up left (the daemon's API and plans).

    The engine storing 1,000,000 lines from 100 servers (``./dev bench --only logs``, taking
    turns twice): 67,224-69,131 lines/s with CPython's thresholds, 79,988-85,377 with these;
    arrival->stored p99 185-197 -> 122-156 ms; peak RSS the same (94 MB).
    """
    if _owned:
        (freeze_for_long_run if freeze else tune_for_long_run)()


def freeze_for_long_run() -> None:
    """Once start-up is done (the console's sections built, the daemon started): collect once,
    freeze what is left (frozen garbage would never be freed), then :func:`tune_for_long_run`."""
    gc.collect()
    gc.freeze()
    tune_for_long_run()
