"""``inventory import ansible``: static INI and YAML, and the JSON of the real ansible-inventory,
all land as the same servers, roles, nested environments and variables."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.inventory_import import AnsibleOptions, read_ansible
from otter_tui.inventory_import.source import SourceError
from otter_tui.runtime import Runtime
from otter_tui.services.inventory_sync import InventorySyncService
from tests.fixtures_core import ACTOR, make_runtime
from tests.inventory_support import DATA, ENVIRONMENTS, groups_of, servers_of, variables_of

EXPECTED = {
    "bastion": ("203.0.113.5", 22, "admin", "ssh", (), ()),
    "dba": ("10.2.0.1", 22, "", "ssh", ("db",), ("eu",)),
    "dbb": ("10.2.0.1", 22, "", "ssh", ("db",), ("us",)),
    "localhost": ("localhost", 22, "", "local", ("control",), ()),
    "web-eu": ("10.1.0.9", 2201, "deploy", "ssh", ("web",), ("eu",)),
    "web01.example.com": ("web01.example.com", 22, "deploy", "ssh", ("web",), ("us",)),
    "web02.example.com": ("web02.example.com", 22, "deploy", "ssh", ("web",), ("us",)),
    "web03.example.com": ("web03.example.com", 22, "deploy", "ssh", ("web",), ("staging",)),
}
VARIABLES = {
    ("global", "", "ntp_server", "ntp.example.com"),
    ("role", "web", "nginx_workers", "4"),
    ("environment", "eu", "region", "eu-west-1"),
    *{("server", f"web0{i}.example.com", "http_port", "8080") for i in (1, 2, 3)},
}


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's acting user; the services below are given theirs explicitly."""
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


def assert_fleet(rt: Runtime) -> None:
    assert servers_of(rt) == EXPECTED
    roles, envs = groups_of(rt)
    assert roles == ["control", "db", "web"]
    assert envs == [
        ("eu", "production"),
        ("production", None),
        ("staging", None),
        ("us", "production"),
    ]
    assert variables_of(rt) == VARIABLES


@pytest.mark.parametrize("name", ["hosts.ini", "hosts.yml"])
def test_static_inventory_imports_ranges_children_and_vars(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=False)
    config = str(tmp_path / "config.toml")
    code = run(
        [
            "--config",
            config,
            "inventory",
            "import",
            "ansible",
            str(DATA / name),
            "--environments",
            ENVIRONMENTS,
        ],
        actor=ACTOR,
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "imported: servers: 8 added" in out
    assert_fleet(rt)
    rt.close()


@pytest.mark.timeout(300)
def test_json_printed_by_the_real_ansible_inventory(tmp_path: Path) -> None:
    tool = Path(sys.executable).with_name("ansible-inventory")
    assert tool.exists() or shutil.which("ansible-inventory"), "ansible-core is in the dev extra"
    listed = subprocess.run(
        [str(tool), "-i", str(DATA / "hosts.ini"), "--list", "--export"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible"),
            "HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
    )
    path = tmp_path / "inventory.json"
    path.write_text(listed.stdout)
    rt = make_runtime(tmp_path, seed=False, actor=ACTOR)
    options = AnsibleOptions(frozenset(ENVIRONMENTS.split(",")))
    InventorySyncService(rt.ctx).sync(read_ansible(str(path), options))
    assert_fleet(rt)

    winrm = listed.stdout.replace('"ansible_connection": "local"', '"ansible_connection": "winrm"')
    line = winrm.splitlines().index(next(x for x in winrm.splitlines() if "winrm" in x)) + 1
    path.write_text(winrm)
    with pytest.raises(SourceError, match=rf"^{path}:{line}: host 'localhost': unknown"):
        read_ansible(str(path), options)
    rt.close()


def test_environment_prefix_from_the_config(tmp_path: Path) -> None:
    inventory = tmp_path / "prefixed.ini"
    inventory.write_text("[env_prod:children]\nenv_prod_eu\n\n[env_prod_eu]\nweb1\n\n[web]\nweb1\n")
    rt = make_runtime(tmp_path, seed=False, sections={"inventory": {"environment_prefix": "env_"}})
    code = run(
        [
            "--config",
            str(tmp_path / "config.toml"),
            "inventory",
            "import",
            "ansible",
            str(inventory),
        ],
        actor=ACTOR,
    )
    assert code == 0
    assert servers_of(rt)["web1"][4:] == (("web",), ("env_prod_eu",))
    assert groups_of(rt) == (["web"], [("env_prod", None), ("env_prod_eu", "env_prod")])
    rt.close()


def test_import_from_stdin_and_yaml_vault_is_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = make_runtime(tmp_path, seed=False)
    vaulted = (
        "all:\n  hosts:\n    h1:\n      db_pw: !vault |\n"
        "        $ANSIBLE_VAULT;1.1;AES256\n        6162\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(vaulted))
    code = run(
        ["--config", str(tmp_path / "config.toml"), "inventory", "import", "ansible", "-"],
        actor=ACTOR,
    )
    _, err = capsys.readouterr()
    assert code == 2 and "<stdin>:4:" in err and "'db_pw'" in err and "--secrets-to-keyring" in err
    assert servers_of(rt) == {}
    rt.close()
