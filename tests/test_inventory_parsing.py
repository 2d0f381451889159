"""Pure parsing rules of the importers: host ranges, secret-looking names, YAML line numbers."""

from __future__ import annotations

import pytest

from otter_tui.inventory_import.ansible_tree import AnsibleOptions, to_source
from otter_tui.inventory_import.ansible_yaml import parse_yaml
from otter_tui.inventory_import.ranges import RangeError, expand_hosts
from otter_tui.inventory_import.secrets import VaultValue, looks_secret
from otter_tui.inventory_import.source import SourceError


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("web[8:10].x", ["web8.x", "web9.x", "web10.x"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("n[0:6:3]", ["n0", "n3", "n6"]),
        ("r[1:2]c[a:b]", ["r1ca", "r1cb", "r2ca", "r2cb"]),
        ("plain.example.com", ["plain.example.com"]),
    ],
)
def test_host_ranges_expand_as_ansible_does(pattern: str, hosts: list[str]) -> None:
    assert expand_hosts(pattern) == hosts


@pytest.mark.parametrize("pattern", ["web[3:1]", "web[a:3]", "web[1:3", "web[1:3:0]"])
def test_bad_ranges_are_refused(pattern: str) -> None:
    with pytest.raises(RangeError):
        expand_hosts(pattern)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ansible_password", True),
        ("ansible_become_pass", True),
        ("ansible_ssh_pass", True),
        ("db_password", True),
        ("vault_secret", True),
        ("github_token", True),
        ("api_key", True),
        ("ansible_ssh_private_key_file", False),
        ("password_file", False),
        ("http_port", False),
        ("passenger_workers", False),
        ("compass", False),
    ],
)
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert looks_secret(name, "x") is secret


def test_a_vaulted_value_is_secret_whatever_its_name() -> None:
    assert looks_secret("motd", VaultValue("$ANSIBLE_VAULT;1.1;AES256"))


def test_yaml_errors_name_the_line() -> None:
    text = "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_port: ssh\n"
    with pytest.raises(SourceError, match=r"^inv.yml:6: host 'w1': ansible_port 'ssh'"):
        to_source(parse_yaml(text, "inv.yml"), AnsibleOptions())
    with pytest.raises(SourceError, match=r"^inv.yml:4: group 'web' has unknown key 'host'"):
        parse_yaml("all:\n  children:\n    web:\n      host: {}\n", "inv.yml")
    with pytest.raises(SourceError, match=r"^inv.yml:2: not valid YAML"):
        parse_yaml("all:\n\thosts:\n", "inv.yml")
