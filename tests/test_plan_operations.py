"""Every operation, on a real transport: collect -> simulate (changes nothing) -> apply ->
collect again is clean -> a second remediation changes nothing.

Each case runs twice: on LocalTransport and over SSH against a real sshd of the test fleet
(the fleet's servers are this machine, so both act on the test's ``tmp_path``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from otter_tui.plan import Operation, Status, remediate
from otter_tui.plan import operations as ops
from otter_tui.transport.base import Transport
from otter_tui.transport.local import LocalTransport
from tests.fixtures_ssh import MakeTransport

AS_ROOT = os.geteuid() == 0


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest) -> Transport:
    """The same tests on both transports; the ssh one is closed by its fixture."""
    if request.param == "local":
        return LocalTransport("local")
    make: MakeTransport = request.getfixturevalue("ssh_transport")
    return make(0)


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` with its kind, mode, ownership and content (links not followed)."""
    seen: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            key = str(path.relative_to(root))
            if path.is_symlink():
                seen[key] = ("link", os.readlink(path))
            elif path.is_dir():
                seen[key] = ("dir", st.st_mode & 0o7777, st.st_uid, st.st_gid)
            else:
                seen[key] = ("file", st.st_mode & 0o7777, st.st_uid, st.st_gid, path.read_bytes())
    return seen


Spec = tuple[object, ...]
"""``("file", mode, text)``, ``("dir", mode)`` or ``("link", target)``; a mode of None: any."""


def build(root: Path, given: dict[str, Spec]) -> None:
    """Create the server's starting state under ``root``."""
    for rel, spec in given.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec[0] == "link":
            path.symlink_to(str(spec[1]))
            continue
        if spec[0] == "dir":
            path.mkdir(exist_ok=True)
        else:
            path.write_text(str(spec[2]))
        path.chmod(int(str(spec[1])))


def state(root: Path, rel: str, want: Spec | None) -> Spec | None:
    """What is at ``root/rel``, shaped like ``want`` (its mode left out when ``want``'s is)."""
    path = root / rel
    if path.is_symlink():
        return ("link", os.readlink(path))
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o7777 if want is None or want[1] is not None else None
    return ("dir", mode) if path.is_dir() else ("file", mode, path.read_text())


@dataclass(frozen=True)
class Case:
    """An operation, the state before it, the text its drift must show, the state after it."""

    id: str
    op: Callable[[str], Operation]
    diff_has: str
    want: dict[str, Spec | None]
    given: dict[str, Spec] = field(default_factory=dict)


CASES = [
    Case(
        "file-create",
        lambda r: ops.file(f"{r}/etc/motd", "hello\n", mode="0640"),
        "+hello",
        {"etc/motd": ("file", 0o640, "hello\n")},
    ),
    Case(
        "file-content-keeps-mode",
        lambda r: ops.file(f"{r}/f", "new\n"),
        "-old\n+new",
        {"f": ("file", 0o600, "new\n")},
        {"f": ("file", 0o600, "old\n")},
    ),
    Case(
        "file-mode-only",
        lambda r: ops.file(f"{r}/f", mode=0o600),
        "mode 0644 -> 0600",
        {"f": ("file", 0o600, "x")},
        {"f": ("file", 0o644, "x")},
    ),
    Case(
        "file-template",
        lambda r: ops.file(f"{r}/t", template="Hi $who, ${n}x\n", variables={"who": "ops", "n": 2}),
        "+Hi ops, 2x",
        {"t": ("file", None, "Hi ops, 2x\n")},
    ),
    Case(
        "file-absent",
        lambda r: ops.file(f"{r}/old.conf", absent=True),
        "remove file",
        {"old.conf": None},
        {"old.conf": ("file", 0o644, "bye\n")},
    ),
    Case(
        "directory-create",
        lambda r: ops.directory(f"{r}/srv/app", mode=0o750),
        "create",
        {"srv/app": ("dir", 0o750)},
    ),
    Case(
        "directory-mode",
        lambda r: ops.directory(f"{r}/d", mode=0o700),
        "mode 0755 -> 0700",
        {"d": ("dir", 0o700)},
        {"d": ("dir", 0o755)},
    ),
    Case(
        "directory-absent",
        lambda r: ops.directory(f"{r}/gone", absent=True),
        "remove directory",
        {"gone": None},
        {"gone/inner/file": ("file", 0o644, "x")},
    ),
    Case(
        "line-append",
        lambda r: ops.line(f"{r}/app.conf", "c = 3"),
        "+c = 3",
        {"app.conf": ("file", 0o600, "a = 1\nb = 2\nc = 3\n")},
        {"app.conf": ("file", 0o600, "a = 1\nb = 2\n")},
    ),
    Case(
        "line-regex-replace",
        lambda r: ops.line(f"{r}/app.conf", "port = 8080", regex=r"^port\s*="),
        "-port = 80\n+port = 8080",
        {"app.conf": ("file", 0o640, "x = 1\nport = 8080\ny = 2\n")},
        {"app.conf": ("file", 0o640, "x = 1\nport = 80\ny = 2\n")},
    ),
    Case(
        "line-absent",
        lambda r: ops.line(f"{r}/hosts", "10.0.0.9 old", present=False),
        "-10.0.0.9 old",
        {"hosts": ("file", 0o644, "a\nb\n")},
        {"hosts": ("file", 0o644, "a\n10.0.0.9 old\nb\n")},
    ),
    Case(
        "line-new-file",
        lambda r: ops.line(f"{r}/etc/new.conf", "k = v"),
        "+k = v",
        {"etc/new.conf": ("file", None, "k = v\n")},
    ),
    Case(
        "symlink-create",
        lambda r: ops.symlink(f"{r}/current", "releases/2"),
        "create link",
        {"current": ("link", "releases/2")},
        {"releases/2": ("dir", 0o755)},
    ),
    Case(
        "symlink-retarget",
        lambda r: ops.symlink(f"{r}/current", "releases/2"),
        "target releases/1 -> releases/2",
        {"current": ("link", "releases/2"), "releases/1": ("dir", 0o755)},
        {
            "releases/1": ("dir", 0o755),
            "releases/2": ("dir", 0o755),
            "current": ("link", "releases/1"),
        },
    ),
    Case(
        "command-creates",
        lambda r: ops.command(f"echo built > {r}/out", creates=f"{r}/out"),
        "would run: echo built",
        {"out": ("file", None, "built\n")},
    ),
    Case(
        "command-unless",
        lambda r: ops.command(f"echo x=1 >> {r}/f", unless=f"grep -q '^x=1$' {r}/f"),
        "would run",
        {"f": ("file", 0o644, "y=2\nx=1\n")},
        {"f": ("file", 0o644, "y=2\n")},
    ),
    Case(
        "command-onlyif",
        lambda r: ops.command(f"rm {r}/lock", onlyif=f"test -e {r}/lock"),
        "would run: rm",
        {"lock": None},
        {"lock": ("file", 0o644, "")},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_collect_simulate_apply_then_clean(
    case: Case, target: Transport, tmp_path: Path
) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    build(root, case.given)
    op = case.op(str(root))
    found = await op.collect(target)
    assert found.status is Status.DRIFTED
    assert case.diff_has in found.diff

    before, lines = snapshot(root), Log()
    simulated = await remediate([op], target, True, lines)
    assert simulated[0].status is Status.DRIFTED
    assert snapshot(root) == before, "a simulation must change nothing"
    assert lines.texts[0] == f"would change: {op.describe()}"

    applied = await remediate([op], target, False, Log())
    assert applied[0].status is Status.CHANGED, applied[0].message
    assert {rel: state(root, rel, want) for rel, want in case.want.items()} == case.want
    assert (await op.collect(target)).status is Status.DESIRED

    after = snapshot(root)
    again = await remediate([op], target, False, Log())
    assert again[0].status is Status.DESIRED
    assert snapshot(root) == after


class Log:
    """A log sink that keeps (level, text) pairs."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def __call__(self, level: str, text: str) -> None:
        self.entries.append((level, text))

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.entries]


@pytest.mark.skipif(not AS_ROOT, reason="changing a file's owner needs root")
async def test_owner_and_group_are_changed_only_where_they_differ(
    target: Transport, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x")
    op = ops.file(f"{tmp_path}/f", owner="nobody", group="nogroup")
    found = await op.collect(target)
    assert found.diff == "owner root -> nobody\ngroup root -> nogroup"
    [item] = await remediate([op], target, False, Log())
    assert item.status is Status.CHANGED and item.message == found.diff.replace("\n", "; ")
    assert ((tmp_path / "f").stat().st_uid, (tmp_path / "f").stat().st_gid) == (65534, 65534)
    assert (await op.collect(target)).status is Status.DESIRED


async def test_a_command_without_guard_is_unknown_and_runs_on_remediation(
    target: Transport, tmp_path: Path
) -> None:
    op = ops.command(f"echo run >> {tmp_path}/count")
    found = await op.collect(target)
    assert found.status is Status.UNKNOWN and "no guard" in found.reason

    log = Log()
    simulated = await remediate([op], target, True, log)
    assert simulated[0].status is Status.UNKNOWN
    assert not (tmp_path / "count").exists()
    assert ("warning", f"unknown: {op.describe()}: {found.reason}") in log.entries

    await remediate([op], target, False, Log())
    assert (tmp_path / "count").read_text() == "run\n"
    assert (await op.collect(target)).status is Status.UNKNOWN, "still cannot know"


async def test_a_different_kind_at_the_path_is_drift_but_never_replaced(
    target: Transport, tmp_path: Path
) -> None:
    (tmp_path / "etc").mkdir()
    op = ops.file(f"{tmp_path}/etc", "x")
    found = await op.collect(target)
    assert found.status is Status.DRIFTED and "is a directory, expected a file" in found.diff

    result = await remediate([op], target, False, Log())
    assert result[0].status is Status.ERROR
    assert "is a directory, not a file" in result[0].message
    assert (tmp_path / "etc").is_dir()


async def test_a_failing_command_is_an_error_item_with_its_exit_status(
    target: Transport, tmp_path: Path
) -> None:
    op = ops.command("echo nope >&2; exit 3", creates=f"{tmp_path}/never")
    log = Log()
    result = await remediate([op, ops.file(f"{tmp_path}/after", "ok")], target, False, log)
    assert result[0].status is Status.ERROR
    assert "exited with status 3: nope" in result[0].message
    assert result[1].status is Status.CHANGED, "one failed item does not stop the others"
    assert any(level == "error" for level, _ in log.entries)


async def test_file_content_with_a_missing_final_newline_is_drift(
    target: Transport, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("a")
    found = await ops.file(f"{tmp_path}/f", "a\n").collect(target)
    assert found.status is Status.DRIFTED
    assert "final newline" in found.diff
