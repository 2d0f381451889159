"""Secrets: keyring only, a one-line error when it is unusable, and the env-var backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.compat import properties

from otter_tui.errors import OtterError
from otter_tui.transport.credentials import (
    ENV_BACKEND,
    SERVICE,
    EnvKeyring,
    delete_secret,
    env_name,
    get_secret,
    keyring_lookup,
    set_secret,
)

ROOT = Path(__file__).resolve().parents[1]


class MemoryKeyring(KeyringBackend):
    """A working keyring for tests; never auto-selected."""

    @properties.classproperty
    def priority(cls) -> float:
        return -1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]


class PromptingKeyring(MemoryKeyring):
    """Like keyrings.cryptfile without its key: asks on stdin, which a daemon does not have."""

    def get_password(self, service: str, username: str) -> str | None:
        raise EOFError("EOF when reading a line")


@pytest.fixture
def use_keyring() -> Iterator[Callable[[KeyringBackend], None]]:
    before = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(before)


def test_secrets_round_trip(use_keyring: Callable[[KeyringBackend], None]) -> None:
    use_keyring(MemoryKeyring())
    assert get_secret(SERVICE, "ssh-password:web1") is None
    set_secret(SERVICE, "ssh-password:web1", "hunter2")
    assert get_secret(SERVICE, "ssh-password:web1") == "hunter2"
    assert keyring_lookup("password", "web1") == "hunter2"
    assert delete_secret(SERVICE, "ssh-password:web1") is True
    assert delete_secret(SERVICE, "ssh-password:web1") is False
    assert keyring_lookup("password", "web1") is None


@pytest.mark.parametrize("action", ["get", "set"])
def test_the_fail_backend_names_the_headless_alternatives(
    use_keyring: Callable[[KeyringBackend], None], action: str
) -> None:
    use_keyring(fail.Keyring())
    with pytest.raises(OtterError) as caught:
        if action == "get":
            get_secret(SERVICE, "x")
        else:
            set_secret(SERVICE, "x", "plaintext-never")
    message = str(caught.value)
    assert "no usable keyring" in message and "keyring.backends.fail.Keyring" in message
    assert ENV_BACKEND in message and "keyrings.cryptfile" in message and "\n" not in message


def test_a_chain_of_no_backends_is_unusable(
    use_keyring: Callable[[KeyringBackend], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    use_keyring(chainer.ChainerBackend())
    with pytest.raises(OtterError, match="no usable keyring"):
        get_secret(SERVICE, "x")


def test_a_backend_prompting_on_a_missing_terminal_is_one_line(
    use_keyring: Callable[[KeyringBackend], None],
) -> None:
    use_keyring(PromptingKeyring())
    with pytest.raises(OtterError) as caught:
        get_secret(SERVICE, "ssh-password:web1")
    assert str(caught.value) == (
        "cannot read secret 'ssh-password:web1' in keyring "
        "tests.test_credentials.PromptingKeyring: it asked for input on a terminal that is "
        "not there"
    )


def test_env_keyring_reads_variables_and_refuses_writes(
    use_keyring: Callable[[KeyringBackend], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring(EnvKeyring())
    assert env_name("otter-tui", "ssh-password:web1") == "OTTER_SECRET_OTTER_TUI_SSH_PASSWORD_WEB1"
    monkeypatch.setenv("OTTER_SECRET_OTTER_TUI_SSH_PASSWORD_WEB1", "from-env")
    assert keyring_lookup("password", "web1") == "from-env"
    with pytest.raises(OtterError, match="read-only; set OTTER_SECRET_OTTER_TUI_SSH_PASSWORD_DB"):
        set_secret(SERVICE, "ssh-password:db", "x")
    with pytest.raises(OtterError, match="read-only; unset OTTER_SECRET_OTTER_TUI_SSH_PASS"):
        delete_secret(SERVICE, "ssh-password:web1")


def run_fresh(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a new interpreter, so keyring's backend choice starts from scratch."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTTER_", "PYTHON_KEY"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


GET_WEB1 = """
from otter_tui.errors import OtterError
from otter_tui.transport.credentials import keyring_lookup
try:
    print(keyring_lookup("password", "web1"))
except OtterError as exc:
    print("ERROR", exc)
"""


def test_the_env_backend_is_selected_with_python_keyring_backend() -> None:
    done = run_fresh(
        GET_WEB1,
        PYTHON_KEYRING_BACKEND=ENV_BACKEND,
        OTTER_SECRET_OTTER_TUI_SSH_PASSWORD_WEB1="s3cret",
    )
    assert done.stdout == "s3cret\n", done.stderr


def test_an_unloadable_backend_is_one_line() -> None:
    done = run_fresh(GET_WEB1, PYTHON_KEYRING_BACKEND="keyrings.nowhere.Keyring")
    assert done.stdout.startswith("ERROR keyring backend keyrings.nowhere.Keyring cannot be ")
    assert done.stdout.count("\n") == 1


def test_importing_the_module_does_not_make_env_keyring_the_default() -> None:
    code = (
        "import otter_tui.transport.credentials, keyring\n"
        "print(type(keyring.get_keyring()).__name__)"
    )
    done = run_fresh(code, XDG_CONFIG_HOME="/nonexistent", DBUS_SESSION_BUS_ADDRESS="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() != "EnvKeyring"
