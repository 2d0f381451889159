"""Bench section ``import``: importing 5,000 Ansible hosts, and trusting a fleet's host keys.

Both are measured end to end as an operator runs them (``otter-tui`` in a fresh process), next
to a floor measured in the same run: ``ansible-inventory --list`` parsing the same file, and
``ssh-keyscan`` fetching the same servers' keys (one process per port, as many at once as
``ssh.max_concurrent_connects``, since ssh-keyscan takes one port per run).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomli_w

from bench.timing import progress

OTTER = [sys.executable, "-m", "otter_tui"]
ENVIRONMENTS = "production,staging,eu,us"


def write_inventory(path: Path, hosts: int) -> Path:
    """An INI inventory of ``hosts`` hosts: ranges, roles, nested environments and vars."""
    per = hosts // 4
    lines = ["[all:vars]", "ntp_server=ntp.example.com", ""]
    for index, role in enumerate(("web", "db", "cache", "queue")):
        lines += [f"[{role}]"]
        lines += [
            f"{role}{i:05d}.example.com ansible_host=10.{index}.{i // 250}.{i % 250} "
            f"ansible_user=deploy slot={i}"
            for i in range(per)
        ]
        lines += [f"[{role}:vars]", f"{role}_port={8000 + index}", ""]
    lines += ["[eu:children]", "web", "db", "", "[us:children]", "cache", "", "[staging:children]"]
    lines += ["queue", "", "[production:children]", "eu", "us", "", "[eu:vars]", "region=eu-1", ""]
    path.write_text("\n".join(lines))
    return path


def write_config(directory: Path, known_hosts: Path, client_key: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ssh = {"known_hosts": str(known_hosts), "use_agent": False, "ssh_config": ""}
    if client_key:
        ssh["client_keys"] = [client_key]  # type: ignore[assignment]
    document = {"paths": {"data_dir": str(directory / "data")}, "ssh": ssh}
    config = directory / "config.toml"
    config.write_text(tomli_w.dumps(document))
    return config


Timing = tuple[float, float]
"""(wall seconds, CPU seconds of the child processes: user + system)."""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str] | None = None) -> Timing:
    """Wall and CPU of one command; a failure raises with its stderr.

    CPU is reported beside wall because the bench shares its cores with the loopback sshd
    processes (and, on a busy machine, with everything else): CPU moves far less with load.
    """
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}... failed: {done.stderr.strip()[:300]}")
    return wall, children_cpu() - cpu


def import_once(workdir: Path, inventory: Path, repeat: int) -> tuple[Timing, Timing]:
    """(first import into an empty database, re-import of the same file): wall seconds."""
    directory = workdir / f"import-{repeat}"
    shutil.rmtree(directory, ignore_errors=True)
    config = write_config(directory, directory / "none")
    argv = [*OTTER, "--config", str(config), "inventory", "import", "ansible", str(inventory)]
    argv += ["--environments", ENVIRONMENTS]
    subprocess.run(
        [*OTTER, "--config", str(config), "roles", "list"], check=True, capture_output=True
    )  # creates and migrates the database outside the timing
    return timed(argv, _env()), timed(argv, _env())


def ansible_list(inventory: Path, workdir: Path) -> Timing | None:
    tool = shutil.which("ansible-inventory") or str(
        Path(sys.executable).with_name("ansible-inventory")
    )
    if not Path(tool).exists():
        return None
    env = {**_env(), "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"), "HOME": str(workdir)}
    return timed([tool, "-i", str(inventory), "--list"], env)


def trust_setup(workdir: Path, servers: list[tuple[str, str, int, str]], key: str) -> Path:
    """A database with ``servers`` (imported from an INI) and no trusted host key."""
    directory = workdir / "trust"
    shutil.rmtree(directory, ignore_errors=True)
    config = write_config(directory, directory / "user_known_hosts", key)
    inventory = directory / "fleet.ini"
    inventory.write_text(
        "[fleet]\n"
        + "".join(
            f"{name} ansible_host={host} ansible_port={port} ansible_user={user}\n"
            for name, host, port, user in servers
        )
    )
    subprocess.run(
        [*OTTER, "--config", str(config), "inventory", "import", "ansible", str(inventory)],
        check=True,
        capture_output=True,
        env=_env(),
    )
    return config


def trust_all(config: Path) -> Timing:
    """``servers trust --all --yes`` with nothing trusted yet (the app's file removed first)."""
    (config.parent / "data" / "known_hosts").unlink(missing_ok=True)
    return timed([*OTTER, "--config", str(config), "servers", "trust", "--all", "--yes"], _env())


def keyscan(servers: list[tuple[str, str, int, str]], parallel: int) -> Timing:
    """ssh-keyscan of every server, one process per port, ``parallel`` at once."""
    tool = shutil.which("ssh-keyscan") or "/usr/bin/ssh-keyscan"

    def one(server: tuple[str, str, int, str]) -> None:
        argv = [tool, "-t", "ed25519", "-T", "10", "-p", str(server[2]), server[1]]
        found = subprocess.run(argv, capture_output=True, text=True, check=False)
        if "ssh-ed25519" not in found.stdout:
            raise RuntimeError(f"ssh-keyscan found no key on port {server[2]}")

    started, cpu = time.perf_counter(), children_cpu()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, servers))
    return time.perf_counter() - started, children_cpu() - cpu


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OTTER_TUI_CONFIG", None)
    return env


def log(what: str, timing: Timing | None) -> None:
    shown = "n/a" if timing is None else f"{timing[0]:.2f}s wall, {timing[1]:.2f}s CPU"
    progress(f"  {what}: {shown}")
