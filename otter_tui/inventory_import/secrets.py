"""Which Ansible variables are secrets: those are never written to the database.

A name is secret-looking when it holds a password, passphrase, secret, token or private key
(``ansible_password``, ``ansible_become_pass``, ``db_password``, ``api_token``...); a value
encrypted with Ansible Vault is a secret whatever its name. Paths to key files
(``*_key_file``, ``*_file``) are not secrets.
"""

from __future__ import annotations

import re

SECRET_NAME = re.compile(
    r"(^|_)pass$|passw(or)?d|passphrase|secret|token|api_?key|private_key$|credential",
    re.IGNORECASE,
)
PASSWORD_KEYS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")
"""Login passwords: on request they become the server's SSH password in the keyring."""


class VaultValue(str):
    """A value Ansible Vault encrypted (``!vault`` in YAML, ``__ansible_vault`` in JSON)."""


def looks_secret(name: str, value: object) -> bool:
    """True for a vaulted value or a secret-looking name that is not a file path."""
    if isinstance(value, VaultValue):
        return True
    if name.lower().endswith("_file"):
        return False
    return bool(SECRET_NAME.search(name))
