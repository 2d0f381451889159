"""Fetching, trusting and looking up host keys."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import asyncssh
import pytest

from otter_tui.errors import HostKeyError, TransportError
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.known_hosts import (
    fetch_host_key,
    key_line,
    load_known_hosts,
    recorded_keys,
    trust_host_key,
)


def new_key_line() -> str:
    return key_line(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())


def test_trust_creates_a_private_file_with_a_bracketed_line(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deeper" / "known_hosts"
    key = new_key_line()
    assert trust_host_key(path, "127.0.0.1", 2201, key) is True
    assert path.read_text() == f"[127.0.0.1]:2201 {key}\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    trust_host_key(path, "web1.example", 22, key)
    assert path.read_text().splitlines()[1] == f"web1.example {key}"


def test_trusting_the_same_key_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    key = new_key_line()
    trust_host_key(path, "h", 2201, key)
    assert trust_host_key(path, "h", 2201, key) is False
    assert len(path.read_text().splitlines()) == 1


def test_a_different_key_is_refused_unless_replaced(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    old, new, other = new_key_line(), new_key_line(), new_key_line()
    path.write_text(f"# mine\n[h]:2201 {old}\n[elsewhere]:2201 {other}")  # no final newline
    with pytest.raises(HostKeyError, match=r"different host key for h:2201 \(SHA256:") as caught:
        trust_host_key(path, "h", 2201, new)
    assert "\n" not in str(caught.value)
    assert trust_host_key(path, "h", 2201, new, replace=True) is True
    assert path.read_text() == f"# mine\n[elsewhere]:2201 {other}\n[h]:2201 {new}\n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_appending_to_a_file_without_a_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    first, second = new_key_line(), new_key_line()
    path.write_text(f"[a]:1 {first}")
    trust_host_key(path, "b", 2, second)
    assert path.read_text() == f"[a]:1 {first}\n[b]:2 {second}\n"


def test_a_garbage_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HostKeyError, match="not a public host key"):
        trust_host_key(tmp_path / "kh", "h", 22, "ssh-ed25519 not-base64!")


def test_lookup_merges_files_skips_bad_lines_and_missing_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    key_a, key_b = new_key_line(), new_key_line()
    first.write_text(f"[h]:2201 {key_a}\nthis-line-is-broken\n")
    second.write_text(f"[h]:2201 {key_b}\n")
    known = load_known_hosts([first, tmp_path / "missing", second])
    found = {key_line(k) for k in recorded_keys(known, "h", 2201)}
    assert found == {key_a, key_b}
    assert recorded_keys(known, "h", 2202) == []


def test_a_trust_is_seen_by_the_next_lookup(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    assert recorded_keys(load_known_hosts([path]), "h", 2201) == []
    trust_host_key(path, "h", 2201, new_key_line())
    assert len(recorded_keys(load_known_hosts([path]), "h", 2201)) == 1


async def test_fetch_returns_the_key_and_the_fingerprint_ssh_keygen_shows(
    ssh_fleet: SshdFleet,
) -> None:
    server = ssh_fleet.servers[3]
    line, fingerprint = await fetch_host_key(server.host, server.port, timeout=5)
    assert line == ssh_fleet.host_key_line(3)
    shown = subprocess.run(
        ["ssh-keygen", "-lf", str(ssh_fleet.workdir / "ssh_host_ed25519_key.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint == shown


async def test_fetch_from_a_closed_port_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError) as caught:
        await fetch_host_key("127.0.0.1", port, timeout=5)
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"
