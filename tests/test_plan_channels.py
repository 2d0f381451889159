"""Round trips an operation costs over real sshd: each SSH channel is a fork (and, for a
command, a shell) on the server, so the budget per operation is a user-visible cost at fleet
scale. These budgets fail when a change brings back a command where an SFTP request does.
"""

from __future__ import annotations

import grp
import pwd
from pathlib import Path

from otter_tui.plan import Status, collect_all, remediate
from otter_tui.plan import operations as ops
from tests.fixtures_ssh import MakeTransport

CONTENT = "listen = 0.0.0.0:8080\nworkers = 4\n"


def quiet(_level: str, _text: str) -> None:
    """A log sink for runs whose log is not under test."""


async def test_ensuring_an_absent_file_opens_one_channel(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    """Collect, apply, the parent check, the look after the write and the confirming collect
    all share the one SFTP session; no command runs."""
    server = ssh_transport(0)
    op = ops.file(f"{tmp_path}/app.conf", CONTENT, mode=0o644)
    [item] = await remediate([op], server, False, quiet)
    assert item.status is Status.CHANGED, item.message
    assert (tmp_path / "app.conf").read_text() == CONTENT
    assert (tmp_path / "app.conf").stat().st_mode & 0o7777 == 0o644
    assert server.channels == 1


async def test_a_drift_check_of_paths_as_desired_opens_one_channel(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    """Reading content and looking at files, folders and links are all SFTP requests."""
    (tmp_path / "app.conf").write_text(CONTENT)
    (tmp_path / "app.conf").chmod(0o644)
    (tmp_path / "current").symlink_to("app.conf")
    server = ssh_transport(0)
    items = [
        ops.file(f"{tmp_path}/app.conf", CONTENT, mode=0o644),
        ops.directory(str(tmp_path)),
        ops.symlink(f"{tmp_path}/current", "app.conf"),
        ops.line(f"{tmp_path}/app.conf", "workers = 4"),
        ops.command("false", creates=f"{tmp_path}/app.conf"),
    ]
    found = await collect_all(items, server)
    assert [i.status for i in found] == [Status.DESIRED] * len(items), found
    assert server.channels == 1


async def test_a_new_file_in_a_missing_folder_adds_only_the_mkdir(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    server = ssh_transport(0)
    op = ops.file(f"{tmp_path}/etc/app/app.conf", CONTENT, mode=0o600)
    [item] = await remediate([op], server, False, quiet)
    assert item.status is Status.CHANGED, item.message
    assert (tmp_path / "etc/app/app.conf").read_text() == CONTENT
    assert server.channels == 2, "SFTP, and one command for mkdir -p"


async def test_owner_names_are_looked_up_once_per_server_run(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    """Managing ownership needs names (SFTP reports numbers): one lookup, remembered."""
    for name in ("a", "b"):
        (tmp_path / name).write_text(CONTENT)
    st = (tmp_path / "a").stat()
    user, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    server = ssh_transport(0)
    items = [ops.file(f"{tmp_path}/{n}", owner=user, group=group) for n in ("a", "b")]
    found = await collect_all([*items, *items], server)
    assert [i.status for i in found] == [Status.DESIRED] * 4, found
    assert server.channels == 2, "SFTP, then one command naming the user and the group"
