"""Who is acting: the OS account of the process, whatever its environment says; and who can read
the database file it writes."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from otter_tui.cli import run
from otter_tui.runtime import open_runtime
from otter_tui.services.context import current_user
from tests.fixtures_core import make_runtime, write_config

OTTER = str(Path(sys.executable).with_name("otter-tui"))
GATED = '''
from otter_tui.plan import OrchestrationPlan, RunContext


class Gated(OrchestrationPlan):
    """Needs an approval."""

    name = "Gated"
    approval_required = True

    async def run(self, ctx: RunContext) -> None:
        ctx.log("ok")
'''


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_actor_is_the_os_account_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTTER_TUI_USER", "USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "bob")
    assert current_user() == pwd.getpwuid(os.getuid()).pw_name != "bob"


def test_a_new_database_and_its_dir_are_private(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, fresh=True)
    rt.users.list()  # a read, so SQLite's -wal file exists too
    data = tmp_path / "data"
    assert mode(data) == 0o700
    assert mode(data / "otter.db") == 0o600
    assert mode(data / "otter.db-wal") == 0o600
    assert rt.startup_warnings() == []
    rt.close()


def test_a_world_readable_database_is_warned_about(tmp_path: Path) -> None:
    make_runtime(tmp_path).close()
    (tmp_path / "data" / "otter.db").chmod(0o644)
    rt = make_runtime(tmp_path)
    [warning] = rt.startup_warnings()
    assert "otter.db is readable by every user on this machine (mode 644)" in warning
    rt.close()


def test_an_unknown_group_is_exit_2_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"database": {"group": "no-such-group-here"}})
    assert run(["--config", str(config), "servers", "list"], actor="alice") == 2
    err = capsys.readouterr().err
    expected = "'database.group' names an unknown group: 'no-such-group-here'"
    assert err == f"otter-tui: error: {expected}\n"
    assert not (tmp_path / "data").exists()


# two real OS accounts on one shared database -----------------------------------------------------


@dataclass
class Team:
    """Two OS accounts in one OS group, and a config whose database that group shares."""

    group: str
    requester: str
    approver: str
    config: Path

    def otter(self, user: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run the installed ``otter-tui`` as ``user`` (setuid, its group only, no root groups)."""
        gid = grp.getgrnam(self.group).gr_gid
        done = subprocess.run(
            [OTTER, "--config", str(self.config), *args],
            user=user,
            group=gid,
            extra_groups=[gid],
            env={"PATH": os.environ["PATH"], "HOME": str(self.config.parent), **(env or {})},
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextmanager
def reachable_interpreter() -> Iterator[None]:
    """Let other accounts reach this Python, for the test's length.

    A Python installed under root's home (pyenv in ``/root``, mode 0700) cannot be started by
    another account. Each directory on the way that others cannot search gets ``o+x`` (search,
    not listing) and its exact mode back afterwards.
    """
    needed = {Path(sys.executable).resolve(), Path(sys.base_prefix).resolve()}
    dirs = {d for p in needed for d in p.parents if not mode(d) & stat.S_IXOTH}
    saved = {d: mode(d) for d in dirs}
    try:
        for directory, old in saved.items():
            directory.chmod(old | stat.S_IXOTH)
        yield
    finally:
        for directory, old in saved.items():
            directory.chmod(old)


@pytest.fixture
def team() -> Iterator[Team]:
    """Creates the accounts and the group (tests run as root), removes them after."""
    tag = uuid.uuid4().hex[:6]
    group, requester, approver = f"ot-{tag}", f"ot-req-{tag}", f"ot-apr-{tag}"
    base = Path(tempfile.mkdtemp(prefix="otter-team-"))
    base.chmod(0o755)
    _sh("groupadd", group)
    try:
        for user in (requester, approver):
            _sh("useradd", "--no-create-home", "--gid", group, "--shell", "/bin/false", user)
        (base / "plans").mkdir()
        (base / "plans" / "gated.py").write_text(GATED)
        config = base / "config.toml"
        doc = {"paths": {"data_dir": "data", "plans_dir": "plans"}, "database": {"group": group}}
        config.write_bytes(tomli_w.dumps(doc).encode())
        with reachable_interpreter():
            yield Team(group, requester, approver, config)
    finally:
        for user in (requester, approver):
            subprocess.run(["userdel", user], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_two_os_accounts_the_requester_cannot_approve_their_own_job(team: Team) -> None:
    admin = open_runtime(team.config, seed=False)  # first start, as root: root is the admin
    for user in (team.requester, team.approver):
        admin.users.add(user, permissions=("jobs.run", "jobs.approve"))
    admin.plans.set_enabled("gated.Gated", True)
    data = team.config.parent / "data"
    assert mode(data) == 0o2770 and mode(data / "otter.db") == 0o660
    assert grp.getgrgid(data.joinpath("otter.db").stat().st_gid).gr_name == team.group

    code, out = team.otter(team.requester, "run", "gated.Gated")
    assert code == 0, out
    job_id = admin.jobs.recent(limit=1)[0].id
    assert out == f"job {job_id} created: pending_approval\n"

    disguise = {v: team.approver for v in ("OTTER_TUI_USER", "USER", "LOGNAME", "USERNAME")}
    code, out = team.otter(team.requester, "approvals", "approve", str(job_id), env=disguise)
    assert (code, out) == (
        1,
        f"otter-tui: error: user '{team.requester}' requested job {job_id} "
        "and may not decide on it\n",
    )
    assert admin.jobs.show(job_id).state == "pending_approval"

    code, out = team.otter(team.approver, "approvals", "approve", str(job_id))
    assert code == 0, out
    view = admin.jobs.show(job_id)
    assert view.requested_by == team.requester and view.state == "queued"
    assert admin.approvals.history(job_id)[0][:2] == ("approved", team.approver)
    admin.close()
