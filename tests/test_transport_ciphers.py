"""The cipher an SSH connection uses: AES-GCM first on a CPU with AES instructions, never at the
cost of a server that offers only other ciphers, and the operator's choice (config.toml's
``ssh.ciphers`` or ssh_config's ``Ciphers``) over ours. Against real sshd servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncssh.encryption import get_default_encryption_algs

from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport import ciphers
from otter_tui.transport.base import Command
from otter_tui.transport.ciphers import AES_FIRST, MODERN, has_aes
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_ssh import MakeTransport, require_sshd

X86_WITH_AES = "processor\t: 0\nflags\t\t: fpu sse2 aes avx2\n"
X86_WITHOUT = "processor\t: 0\nflags\t\t: fpu sse2 avx2 aesni_like\n"
ARM_WITH_AES = "processor\t: 0\nFeatures\t: fp asimd aes pmull sha1\n"


@pytest.fixture
def aes_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(ciphers, "cpu_has_aes", lambda: True)
    yield


@pytest.fixture(scope="module")
def chacha_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    """A server whose sshd offers chacha20-poly1305 and nothing else."""
    require_sshd()
    fleet = SshdFleet(
        tmp_path_factory.mktemp("chacha-sshd"), 1, "Ciphers chacha20-poly1305@openssh.com"
    ).start()
    yield fleet
    fleet.stop()


async def cipher_of(transport: SshTransport) -> str:
    """The cipher the connection negotiated, after a command ran on it."""
    assert (await transport.run(Command.shell("echo up"))).stdout == "up\n"
    conn = await transport._connection()
    sent, received = conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher")
    await transport.close()
    assert sent == received
    return str(sent)


def test_the_allowed_ciphers_are_asyncssh_defaults_and_aes_first_only_reorders_them() -> None:
    assert [name.encode() for name in MODERN] == get_default_encryption_algs()
    assert sorted(AES_FIRST) == sorted(MODERN)
    assert AES_FIRST[0] == "aes128-gcm@openssh.com"


@pytest.mark.parametrize(
    ("cpuinfo", "system", "machine", "expected"),
    [
        (X86_WITH_AES, "linux", "x86_64", True),
        (X86_WITHOUT, "linux", "x86_64", False),
        (ARM_WITH_AES, "linux", "aarch64", True),
        ("", "darwin", "arm64", True),
        ("", "darwin", "x86_64", False),
        ("", "linux", "x86_64", False),
    ],
)
def test_aes_instructions_are_read_from_the_cpu_flags(
    cpuinfo: str, system: str, machine: str, expected: bool
) -> None:
    assert has_aes(cpuinfo, system, machine) is expected


async def test_a_cpu_with_aes_connects_with_aes_gcm(
    ssh_transport: MakeTransport, aes_cpu: None
) -> None:
    assert await cipher_of(ssh_transport()) == "aes128-gcm@openssh.com"


async def test_without_aes_instructions_asyncssh_order_stands(
    ssh_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ciphers, "cpu_has_aes", lambda: False)
    assert await cipher_of(ssh_transport()) == "chacha20-poly1305@openssh.com"


async def test_a_server_without_aes_gcm_still_connects(
    chacha_only: SshdFleet, aes_cpu: None
) -> None:
    assert await cipher_of(chacha_only.transport(0)) == "chacha20-poly1305@openssh.com"


async def test_the_operators_list_from_config_toml_wins(
    ssh_transport: MakeTransport, aes_cpu: None, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  Ciphers aes192-ctr\n")
    chosen = ssh_transport(ciphers=("aes256-ctr",), ssh_config=config)
    assert await cipher_of(chosen) == "aes256-ctr"


async def test_ciphers_set_in_ssh_config_are_honoured(
    ssh_transport: MakeTransport, aes_cpu: None, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  Ciphers aes192-ctr\n")
    assert await cipher_of(ssh_transport(ssh_config=config)) == "aes192-ctr"
    other = tmp_path / "other_config"
    other.write_text("Host elsewhere\n  Ciphers aes192-ctr\n")
    assert await cipher_of(ssh_transport(ssh_config=other)) == "aes128-gcm@openssh.com"
