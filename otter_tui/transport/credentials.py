"""Secrets (SSH passwords, key passphrases) live in the keyring, nowhere else.

On a headless machine keyring often has nothing usable: it resolves to its ``fail`` backend,
to a chain of zero backends, or to one that prompts on a stdin that is not there (EOFError).
Each of those becomes one ``OtterError`` line naming the supported alternatives; there is never
a silent fall-back to plaintext.

The alternatives for daemons and CI:

* :class:`EnvKeyring` here: read-only, secrets come from ``OTTER_SECRET_<SERVICE>_<NAME>``
  environment variables (e.g. systemd ``LoadCredential=`` plus an ``EnvironmentFile``);
  select it with ``PYTHON_KEYRING_BACKEND=otter_tui.transport.credentials.EnvKeyring``.
* ``keyrings.cryptfile``: an encrypted file whose key comes from ``KEYRING_CRYPTFILE_PASSWORD``;
  ``PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring``.
"""

from __future__ import annotations

import os
import re

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError, PasswordSetError

from otter_tui.errors import OtterError

SERVICE = "otter-tui"
"""The keyring service under which otter-tui stores its secrets."""
ENV_BACKEND = "otter_tui.transport.credentials.EnvKeyring"

ALTERNATIVES = (
    f"on a headless machine set PYTHON_KEYRING_BACKEND={ENV_BACKEND} and provide "
    "OTTER_SECRET_<SERVICE>_<NAME> variables, or install keyrings.cryptfile and set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring with "
    "KEYRING_CRYPTFILE_PASSWORD"
)


def get_secret(service: str, name: str) -> str | None:
    """The secret stored as ``name`` under ``service``, or None when there is none."""
    ring = usable_keyring()
    try:
        return ring.get_password(service, name)
    except (KeyringError, EOFError, OSError) as exc:
        raise _failure(ring, "read", name, exc) from None


def set_secret(service: str, name: str, value: str) -> None:
    """Store ``value`` as ``name`` under ``service`` (replacing any previous value)."""
    ring = usable_keyring()
    try:
        ring.set_password(service, name, value)
    except (KeyringError, EOFError, OSError) as exc:
        raise _failure(ring, "store", name, exc) from None


def delete_secret(service: str, name: str) -> bool:
    """Remove ``name``; False when it was not stored (deleting twice is not an error)."""
    if get_secret(service, name) is None:
        return False
    ring = usable_keyring()
    try:
        ring.delete_password(service, name)
    except (KeyringError, EOFError, OSError) as exc:
        raise _failure(ring, "delete", name, exc) from None
    return True


def keyring_lookup(kind: str, subject: str) -> str | None:
    """The SSH transport's secret lookup: ``("password", server)`` or ``("passphrase", path)``.

    Stored under :data:`SERVICE` as ``ssh-<kind>:<subject>``, e.g. ``ssh-password:web1``.
    """
    return get_secret(SERVICE, ssh_secret_name(kind, subject))


def ssh_secret_name(kind: str, subject: str) -> str:
    """The keyring name of an SSH secret, shared by the lookup and whatever stores it."""
    return f"ssh-{kind}:{subject}"


def usable_keyring() -> KeyringBackend:
    """keyring's current backend, or a one-line ``OtterError`` when it cannot hold secrets."""
    try:
        ring = keyring.get_keyring()
    except (KeyringError, EOFError, OSError, ImportError, RuntimeError) as exc:
        selected = os.environ.get("PYTHON_KEYRING_BACKEND", "the default")
        message = f"keyring backend {selected} cannot be loaded ({exc}); {ALTERNATIVES}"
        raise OtterError(message) from None
    if _unusable(ring):
        raise OtterError(f"no usable keyring backend (keyring chose {_name(ring)}); {ALTERNATIVES}")
    return ring


def _unusable(ring: KeyringBackend) -> bool:
    """fail and null lose secrets by design; a chainer with nothing to chain is the same."""
    if isinstance(ring, fail.Keyring | null.Keyring):
        return True
    return isinstance(ring, chainer.ChainerBackend) and not ring.backends


def _failure(ring: KeyringBackend, action: str, name: str, exc: BaseException) -> OtterError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, EOFError):
        detail = "it asked for input on a terminal that is not there"
    return OtterError(f"cannot {action} secret {name!r} in keyring {_name(ring)}: {detail}")


def _name(ring: KeyringBackend) -> str:
    return f"{type(ring).__module__}.{type(ring).__name__}"


def env_name(service: str, name: str) -> str:
    """``OTTER_SECRET_<SERVICE>_<NAME>``: upper-cased, every other character an underscore."""
    return "OTTER_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{service}_{name}".upper())


class EnvKeyring(KeyringBackend):
    """Read-only secrets from environment variables named by :func:`env_name`.

    Never chosen automatically (negative priority): only when selected with
    ``PYTHON_KEYRING_BACKEND``, so importing this module changes nobody's keyring.
    """

    @properties.classproperty
    def priority(cls) -> float:
        return -1

    def get_password(self, service: str, username: str) -> str | None:
        return os.environ.get(env_name(service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(
            f"the environment keyring is read-only; set {env_name(service, username)} instead"
        )

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError(
            f"the environment keyring is read-only; unset {env_name(service, username)} instead"
        )
