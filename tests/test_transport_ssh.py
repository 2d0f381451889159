"""SshTransport against real OpenSSH servers on 127.0.0.1 (see tests/fixtures_ssh.py)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
from pathlib import Path

import asyncssh
import pytest

from otter_tui.errors import HostKeyError, TransportError
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.base import Command, CommandResult
from otter_tui.transport.known_hosts import fetch_host_key, trust_host_key
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_ssh import MakeTransport, pgrep, require_sshd, unique_sleep, wait_until
from tests.test_transport_local import Lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fingerprint_of(fleet: SshdFleet, index: int) -> str:
    return asyncssh.import_public_key(fleet.host_key_line(index)).get_fingerprint("sha256")


async def test_lines_stream_while_the_remote_command_runs(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"  # the "server" is this machine, so the test can open the gate
    lines = Lines()
    line = f"echo ready; echo warn >&2; while [ ! -e {gate} ]; do sleep 0.01; done; echo done"
    task = asyncio.create_task(ssh_transport().run(Command.shell(line), lines))
    await lines.wait_for("ready")
    assert not task.done()
    gate.touch()
    result = await asyncio.wait_for(task, 10)
    assert result == CommandResult(0, "ready\ndone\n", "warn\n")
    assert lines.of("stdout") == ["ready", "done"] and lines.of("stderr") == ["warn"]


async def test_exit_status_signal_and_quoting(ssh_transport: MakeTransport) -> None:
    transport = ssh_transport()
    assert (await transport.run(Command.shell("exit 7"))).exit_status == 7
    assert (await transport.run(Command.shell("kill -9 $$"))).exit_status == -9
    odd = 'it\'s $HOME; `x` "q" \\ *'
    echoed = await transport.run(Command.argv("printf", "%s", odd))
    assert echoed.stdout == odd


async def test_one_connection_carries_many_concurrent_commands(
    ssh_transport: MakeTransport,
) -> None:
    transport = ssh_transport(1)
    await transport.connect()
    first = transport._conn
    results = await asyncio.gather(*(transport.run(Command.shell(f"echo {i}")) for i in range(40)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(40)]
    assert transport._conn is first


async def test_cancel_ends_the_remote_process_group(ssh_transport: MakeTransport) -> None:
    foreground, background = unique_sleep(), unique_sleep()
    lines = Lines()
    line = f"{background} & echo started; {foreground}"
    task = asyncio.create_task(ssh_transport().run(Command.shell(line), lines))
    await lines.wait_for("started")
    assert await wait_until(lambda: bool(pgrep(foreground)) and bool(pgrep(background)))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: not pgrep(foreground) and not pgrep(background))


async def test_cancel_while_the_channel_opens_leaves_nothing_running(
    ssh_transport: MakeTransport,
) -> None:
    sleeper = unique_sleep()
    transport = ssh_transport()
    await transport.connect()
    task = asyncio.create_task(transport.run(Command.shell(sleeper)))
    await asyncio.sleep(0)  # let run() send the channel-open request, no further
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not pgrep(sleeper)  # the cancellation returned only after the command was ended


async def test_cancel_kills_a_remote_command_that_ignores_sigterm(
    ssh_transport: MakeTransport,
) -> None:
    sleeper = unique_sleep()
    lines = Lines()
    transport = ssh_transport(kill_grace=0.3)
    task = asyncio.create_task(
        transport.run(Command.shell(f"trap '' TERM; echo started; {sleeper}"), lines)
    )
    await lines.wait_for("started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: not pgrep(sleeper))
    assert (await transport.run(Command.shell("echo still usable"))).ok


async def test_files_are_written_atomically_with_their_mode(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    transport = ssh_transport()
    target = tmp_path / "app.conf"
    assert await transport.read_file(str(target)) is None
    target.write_bytes(b"old")
    with target.open("rb") as reader_of_old:
        await transport.write_file(str(target), b"new\x00bytes", mode=0o600)
        assert reader_of_old.read() == b"old"  # renamed into place, not rewritten in place
    assert target.read_bytes() == b"new\x00bytes"
    assert target.stat().st_mode & 0o7777 == 0o600
    await transport.write_file(str(target), b"newer")
    assert target.stat().st_mode & 0o7777 == 0o600  # mode None keeps the existing mode
    assert await transport.read_file(str(target)) == b"newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.conf"]


async def test_file_errors_are_one_line(ssh_transport: MakeTransport, tmp_path: Path) -> None:
    transport = ssh_transport()
    with pytest.raises(TransportError, match=r"^srv001: cannot write .*/no/f: ") as caught:
        await transport.write_file(str(tmp_path / "no" / "f"), b"x")
    assert "\n" not in str(caught.value)
    with pytest.raises(TransportError, match="cannot read"):
        await transport.read_file(str(tmp_path))  # a directory


async def test_unreachable_port_is_one_line(ssh_fleet: SshdFleet) -> None:
    port = free_port()
    transport = SshTransport("web1", "127.0.0.1", port, "root", ssh_fleet.ssh_options())
    with pytest.raises(TransportError) as caught:
        await transport.run(Command.shell("true"))
    assert str(caught.value) == f"web1: cannot connect to 127.0.0.1:{port}: connection refused"


async def test_a_server_that_never_answers_times_out(ssh_fleet: SshdFleet) -> None:
    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = ssh_fleet.ssh_options(connect_timeout=0.3)
    async with server:
        with pytest.raises(TransportError) as caught:
            await SshTransport("mute", "127.0.0.1", port, "root", options).connect()
    assert str(caught.value) == f"mute: cannot connect to 127.0.0.1:{port}: timed out"


async def test_a_rejected_login_is_one_line(ssh_transport: MakeTransport, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with pytest.raises(TransportError) as caught:
        await ssh_transport(client_keys=(stranger,)).connect()
    assert re.fullmatch(
        r"srv001: login as \S+ to 127\.0\.0\.1:\d+ refused \(.*\)", str(caught.value)
    )


async def test_an_unknown_host_key_is_refused_before_anything_runs(
    ssh_transport: MakeTransport, ssh_fleet: SshdFleet, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    transport = ssh_transport(known_hosts=(tmp_path / "empty_known_hosts",))
    with pytest.raises(HostKeyError) as caught:
        await transport.run(Command.argv("touch", str(marker)))
    message = str(caught.value)
    assert fingerprint_of(ssh_fleet, 0) in message
    assert "unknown host key" in message and "otter-tui servers trust srv001" in message
    assert not marker.exists()


async def test_trusting_the_fetched_key_lets_the_connection_through(
    ssh_transport: MakeTransport, ssh_fleet: SshdFleet, tmp_path: Path
) -> None:
    app_known_hosts = tmp_path / "app" / "known_hosts"
    server = ssh_fleet.servers[2]
    key_line, fingerprint = await fetch_host_key(server.host, server.port, timeout=5)
    assert fingerprint == fingerprint_of(ssh_fleet, 2)
    trust_host_key(app_known_hosts, server.host, server.port, key_line)
    missing = tmp_path / "user_known_hosts_that_does_not_exist"
    transport = ssh_transport(2, known_hosts=(missing, app_known_hosts))
    assert (await transport.run(Command.shell("echo trusted"))).stdout == "trusted\n"


async def test_a_changed_host_key_is_a_hard_failure(lone_sshd: SshdFleet, tmp_path: Path) -> None:
    before = lone_sshd.transport(0)
    assert (await before.run(Command.shell("true"))).ok
    await before.close()
    new_key = lone_sshd.rekey(0)
    marker = tmp_path / "marker"
    after = lone_sshd.transport(0)
    with pytest.raises(HostKeyError) as caught:
        await after.run(Command.argv("touch", str(marker)))
    message = str(caught.value)
    assert "host key CHANGED" in message and fingerprint_of(lone_sshd, 0) in message
    assert not marker.exists()
    server = lone_sshd.servers[0]
    with pytest.raises(HostKeyError, match="different host key"):
        trust_host_key(lone_sshd.known_hosts, server.host, server.port, new_key)
    trust_host_key(lone_sshd.known_hosts, server.host, server.port, new_key, replace=True)
    assert (await after.run(Command.shell("echo ok"))).stdout == "ok\n"
    await after.close()


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_ssh_config_supplies_address_but_cannot_disable_host_keys(
    ssh_transport: MakeTransport, ssh_fleet: SshdFleet, tmp_path: Path
) -> None:
    server = ssh_fleet.servers[0]
    config = write_config(
        tmp_path / "config",
        f"Host db\n  HostName {server.host}\n  Port {server.port}\n  User {server.user}\n"
        "Host *\n  UserKnownHostsFile none\n  StrictHostKeyChecking no\n  ForwardAgent yes\n",
    )
    options = ssh_fleet.ssh_options(ssh_config=config)
    aliased = SshTransport("db", "db", None, None, options)
    assert (await aliased.run(Command.shell("echo via-config"))).stdout == "via-config\n"
    await aliased.close()
    untrusting = ssh_transport(ssh_config=config, known_hosts=(tmp_path / "none",))
    with pytest.raises(HostKeyError, match="unknown host key"):
        await untrusting.connect()


async def test_proxyjump_hosts_are_verified_too(ssh_fleet: SshdFleet, tmp_path: Path) -> None:
    jump, target = ssh_fleet.servers[0], ssh_fleet.servers[1]
    config = write_config(
        tmp_path / "config",
        f"Host inner\n  HostName {target.host}\n  Port {target.port}\n  User {target.user}\n"
        f"  ProxyJump {jump.user}@{jump.host}:{jump.port}\n",
    )
    through = SshTransport("inner", "inner", None, None, ssh_fleet.ssh_options(ssh_config=config))
    assert through.endpoint().jumps == (f"{jump.user}@{jump.host}:{jump.port}",)
    assert (await through.run(Command.shell("echo hop"))).stdout == "hop\n"
    await through.close()
    only_target = tmp_path / "only_target"
    only_target.write_text(
        "".join(
            line + "\n"
            for line in ssh_fleet.known_hosts.read_text().splitlines()
            if line.startswith(f"[{target.host}]:{target.port} ")
        )
    )
    options = ssh_fleet.ssh_options(ssh_config=config, known_hosts=(only_target,))
    with pytest.raises(HostKeyError, match=rf"unknown host key for {jump.host}:{jump.port}"):
        await SshTransport("inner", "inner", None, None, options).connect()


async def test_an_encrypted_key_uses_the_passphrase_lookup_only_when_needed(
    lone_sshd: SshdFleet, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    keygen = [
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-a",
        "2",
        "-N",
        "open sesame",
        "-f",
        str(locked),
    ]
    subprocess.run(keygen, check=True)  # OpenSSH's own format: decrypting it needs bcrypt
    with lone_sshd.authorized_keys.open("a") as authorized:
        authorized.write(Path(f"{locked}.pub").read_text())
    asked: list[tuple[str, str]] = []

    def lookup(kind: str, subject: str) -> str | None:
        asked.append((kind, subject))
        return "open sesame"

    plain = lone_sshd.transport(0, secret_lookup=lookup)
    assert (await plain.run(Command.shell("true"))).ok
    assert asked == []  # an unencrypted key never touches the keyring
    await plain.close()
    transport = lone_sshd.transport(0, client_keys=(locked,), secret_lookup=lookup)
    assert (await transport.run(Command.shell("echo in"))).stdout == "in\n"
    assert asked == [("passphrase", str(locked))]
    await transport.close()
    with pytest.raises(TransportError, match=r"^srv001: cannot load client key .*locked"):
        await lone_sshd.transport(0, client_keys=(locked,)).connect()


async def test_fleet_runs_16_ports_per_sshd_rekeys_one_server_and_stops_by_pid(
    tmp_path: Path,
) -> None:
    require_sshd()
    workdir = tmp_path / "fleet17"
    with SshdFleet(workdir, 17) as fleet:
        assert len(pgrep(f"sshd .*{workdir}/")) == 2  # ceil(17 / 16)
        original = fleet.host_key_line(0)
        for index in (0, 16):  # one shares its sshd with 15 others, one is alone in its own
            fleet.rekey(index)
        fetched = await asyncio.gather(
            *(fetch_host_key(s.host, s.port, timeout=10) for s in fleet.servers)
        )
        for index, (line, _fingerprint) in enumerate(fetched):
            assert line == fleet.host_key_line(index)
            assert (line != original) == (index in (0, 16))
        transport = fleet.transport(5)
        assert (await transport.run(Command.shell("echo unaffected"))).ok
        await transport.close()
    assert pgrep(f"sshd .*{workdir}/") == []


async def test_a_changed_host_key_names_the_file_that_records_it(
    lone_sshd: SshdFleet, tmp_path: Path
) -> None:
    user_file = tmp_path / "user_known_hosts"  # holds other hosts only
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    user_file.write_text(f"otherhost {other}\n")
    lone_sshd.rekey(0)
    transport = lone_sshd.transport(0, known_hosts=(user_file, lone_sshd.known_hosts))
    with pytest.raises(HostKeyError) as caught:
        await transport.connect()
    message = str(caught.value)
    assert f"not the key recorded in {lone_sshd.known_hosts}; refusing" in message
    assert str(user_file) not in message
    await transport.close()
