"""Building operations: bad input is refused with one line, descriptions read well, secrets
never show, and a server that cannot be read gives "unknown" with the reason.
"""

from __future__ import annotations

import pytest

from otter_tui.errors import UsageError
from otter_tui.plan import Command, Status, collect_all, remediate
from otter_tui.plan import operations as ops
from otter_tui.transport.base import CommandResult
from otter_tui.transport.fake import FakeTransport


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ops.file("etc/motd", "x"), "path 'etc/motd' must be absolute"),
        (lambda: ops.file("/f", mode="rw-r--r--"), "mode 'rw-r--r--' is not an octal number"),
        (lambda: ops.file("/f", mode=0o17777), "out of range"),
        (lambda: ops.file("/f", "a", template="b"), "give content or template, not both"),
        (lambda: ops.file("/f", template="$nope"), r"template for /f: no value for \$nope"),
        (lambda: ops.line("/f", "a\nb"), "must be a single line"),
        (lambda: ops.line("/f", "a", regex="("), "bad regex"),
        (lambda: ops.command("  "), "the command line is empty"),
        (lambda: ops.command("true", creates="out"), "must be an absolute path"),
    ],
)
def test_bad_input_is_one_usage_error(build: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build()  # type: ignore[operator]


def test_descriptions_name_the_managed_thing() -> None:
    assert ops.file("/etc/motd", "x", mode="644", owner="root").describe() == (
        "file /etc/motd (mode 0644, owner root)"
    )
    assert ops.file("/tmp/x", absent=True).describe() == "file /tmp/x is absent"
    assert ops.directory("/srv/app", mode=0o750).describe() == "directory /srv/app (mode 0750)"
    assert ops.line("/etc/c", "port = 1", regex="^port").describe() == (
        "/etc/c has line 'port = 1' (lines matching /^port/)"
    )
    assert ops.symlink("/cur", "/rel/2").describe() == "link /cur -> /rel/2"
    assert ops.command("make install", creates="/usr/bin/app").describe() == (
        "run make install (creates /usr/bin/app)"
    )


async def test_secrets_are_masked_in_descriptions_diffs_and_logs() -> None:
    server = FakeTransport("s1").on("grep", CommandResult(1)).on("curl", CommandResult(0))
    op = ops.command(
        "curl -H 'Token: s3cr3t' http://x", unless="grep -q s3cr3t /f", secrets=["s3cr3t"]
    )
    assert "s3cr3t" not in op.describe()
    [item] = await collect_all([op], server)
    assert item.status is Status.DRIFTED and "s3cr3t" not in item.diff + item.description
    logged: list[str] = []
    await remediate([op], server, False, lambda _, t: logged.append(t))
    assert logged and not [line for line in logged if "s3cr3t" in line]
    assert "s3cr3t" in server.lines[-1], "the server itself gets the real value"


async def test_secrets_given_to_remediate_mask_file_diffs() -> None:
    server = FakeTransport("s1")
    op = ops.file("/etc/app.env", "PASSWORD=hunter22\n")
    logged: list[str] = []
    [item] = await remediate([op], server, True, lambda _, t: logged.append(t), ["hunter22"])
    assert "hunter22" not in item.diff and "+PASSWORD=********" in item.diff
    assert not [line for line in logged if "hunter22" in line]


async def test_a_path_that_cannot_be_read_is_unknown_with_the_reason() -> None:
    server = FakeTransport("s1", unreadable={"/root/x"})
    found = await ops.file("/root/x", "a").collect(server)
    assert found.status is Status.UNKNOWN
    assert found.reason == "s1: cannot stat /root/x: Permission denied"


async def test_collect_sends_only_read_only_commands() -> None:
    server = FakeTransport("s1")
    items = [
        ops.file("/a", "x", mode=0o600, owner="app"),
        ops.directory("/d"),
        ops.line("/c", "k = v"),
        ops.symlink("/l", "/t"),
        ops.command(Command.argv("make", "install"), creates="/bin/app"),
    ]
    await collect_all(items, server)
    assert server.files == {}
    assert server.lines == [], "paths are looked at with Transport.stat, not with commands"


async def test_owner_names_come_from_one_lookup_and_a_nameless_id_shows_as_its_number() -> None:
    def getent(command: Command) -> CommandResult:
        """uid 0 is root; gid 0 has no name on this server."""
        lookups = command.line.split(";")
        return CommandResult(0, "".join("root\n" if "passwd" in x else "\n" for x in lookups))

    server = FakeTransport("s1", files={"/f": b"x"}).on("getent", getent)
    found = await ops.file("/f", owner="root", group="app").collect(server)
    assert found.diff == "group 0 -> app"
    assert (await ops.file("/f", owner="0", group="0").collect(server)).status is Status.DESIRED
    assert len(server.lines) == 2, "a known name is remembered, a missing one asked again"


def test_every_public_name_of_operations_resolves_to_its_kind() -> None:
    """The kinds are imported on first use, yet each public name is there, from its module,
    for ``ops.name`` and ``from ... import name`` alike; a wrong name fails as usual."""
    for name in ops.__all__:
        value = getattr(ops, name)
        assert value.__module__.startswith("otter_tui.plan.operations"), name
        assert name in dir(ops)
    from otter_tui.plan.operations import FileOp, file

    assert isinstance(file("/f", "x"), FileOp)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ops.nope  # noqa: B018
