"""Stopping the test servers by PID: the processes the suite started and everything under them.

Used by the sshd fleet (a listener forks a session per connection; a stop must end both).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def terminate(
    processes: list[subprocess.Popen[bytes]], sessions: bool = True, grace: float = 5.0
) -> None:
    """SIGTERM each process (and, with ``sessions``, every descendant), then SIGKILL stragglers.

    Without ``sessions`` only the listener goes: established connections live on until their
    clients close them, which is what a real sshd restart does.
    """
    if not processes:
        return
    descendants = _descendants({p.pid for p in processes}) if sessions else []
    for pid in [p.pid for p in processes] + descendants:
        _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    while any(_alive(pid) for pid in descendants) and time.monotonic() < deadline:
        time.sleep(0.01)
    for pid in descendants:
        if _alive(pid):
            _kill(pid, signal.SIGKILL)


def _descendants(roots: set[int]) -> list[int]:
    """PIDs below ``roots`` in the process tree, from /proc (empty where there is no /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    frontier = list(roots)
    while frontier:
        children = parents.get(frontier.pop(), [])
        found.extend(children)
        frontier.extend(children)
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie counts as gone (our init may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
