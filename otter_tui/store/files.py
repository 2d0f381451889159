"""Who may read the database: permissions of a new SQLite file and of the data dir.

The database holds the inventory, every job's variables and log, and the audit trail, so a new
file is created ``0600`` in a new directory ``0700``: only the account that created it reads it.
For a team sharing one database, ``database.group`` names a group: the file is then ``0660`` and
the directory ``2770`` (setgid, so SQLite's ``-wal``/``-shm`` files and backups get the group
too), both owned by that group. Existing files and directories are never changed: an operator
who loosened them on purpose keeps that, and the console warns when the file is world-readable.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from otter_tui.errors import ConfigError

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
SHARED_DIR, SHARED_FILE = 0o2770, 0o660


def group_id(group: str) -> int | None:
    """The gid of ``database.group``; None when it is empty (private)."""
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError(f"'database.group' names an unknown group: {group!r}") from None


def make_data_dir(path: Path, group: str = "") -> None:
    """Create the data dir with our mode when it is missing (its parents as the umask says)."""
    gid = group_id(group)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"the data dir {path} is a file, not a directory")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()
    _restrict(path, SHARED_DIR if gid is not None else PRIVATE_DIR, gid)


def create_database_file(path: Path, group: str = "") -> None:
    """Create an empty SQLite file with our mode before SQLite does (it would use the umask)."""
    gid = group_id(group)
    make_data_dir(path.parent, group)
    mode = SHARED_FILE if gid is not None else PRIVATE_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    os.close(fd)
    _restrict(path, mode, gid)


def _restrict(path: Path, mode: int, gid: int | None) -> None:
    if gid is not None:
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def world_readable_warning(path: Path | None) -> str | None:
    """A one-line warning when the database file can be read by every account on the machine."""
    if path is None or not path.exists():
        return None
    if path.stat().st_mode & stat.S_IROTH:
        return (
            f"{path} is readable by every user on this machine (mode "
            f"{stat.S_IMODE(path.stat().st_mode):o}): run chmod o-rwx on it"
        )
    return None
