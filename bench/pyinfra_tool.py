"""pyinfra on the same fleet: the tool issue 15 asks otter-tui to be ahead of, run as a user would.

pyinfra lives in a venv of its own (``.venv-pyinfra``, gitignored), made on demand with pip: it
pulls gevent and paramiko, which the product must not depend on. When it cannot be installed the
bench says so in one line and leaves out only the pyinfra rows.

Each workload is one ``pyinfra`` process against a Python inventory of the first N servers
(127.0.0.1 and each port, the fleet's user and client key, host keys checked against the fleet's
known_hosts with strict checking, no agent, no ssh_config):

- W1: ``pyinfra INV exec -y --parallel N -- 'hostname && uname -r && echo ok'``;
- W2: ``pyinfra INV deploy.py -y --parallel N``, the deploy a ``files.put`` of the content with
  mode 644 to the server's own file;
- W3: ``pyinfra INV deploy.py --dry --parallel N`` against files already as desired: the drift
  check (``-y`` would skip change detection, so ``--dry`` runs without it and exits before the
  prompt).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.child import ROOT
from bench.floor import W1_COMMAND
from bench.timing import progress

REQUIREMENT = "pyinfra>=3,<4"
VENV = ROOT / ".venv-pyinfra"


def ensure_pyinfra(venv: Path = VENV) -> Path | None:
    """The ``pyinfra`` command of its own venv, installing it first if needed; None if it can't."""
    command = venv / "bin" / "pyinfra"
    if command.exists():
        return command
    progress(f"installing {REQUIREMENT} into {venv} (once)")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", REQUIREMENT],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"pyinfra rows skipped: could not install {REQUIREMENT}: {tail}")
            return None
    return command if command.exists() else None


def pyinfra_version(command: Path) -> str:
    """``v3.10.0``, or "unknown" (for the footnote)."""
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().rsplit(" ", 1)[-1] or "unknown"


def inventory_text(fleet: dict[str, Any], n: int) -> str:
    """A pyinfra inventory of the fleet's first ``n`` servers, each with its own file path."""
    shared = {
        "ssh_key": fleet["client_key"],
        "ssh_known_hosts_file": fleet["known_hosts"],
        "ssh_strict_host_key_checking": "yes",
        "ssh_allow_agent": False,
        "ssh_look_for_keys": False,
        "ssh_config_file": "/dev/null",
    }
    hosts = [
        (
            name,
            {
                **shared,
                "ssh_hostname": host,
                "ssh_port": port,
                "ssh_user": user,
                "bench_path": f"{fleet['files_dir']}/{name}.conf",
            },
        )
        for name, host, port, user in fleet["servers"][:n]
    ]
    lines = "".join(f"    {host!r},\n" for host in hosts)
    return f'"""Benchmark inventory: written by bench/pyinfra_tool.py."""\n\nbench = [\n{lines}]\n'


def deploy_text(content: str) -> str:
    """The W2/W3 deploy: the server's file with ``content`` and mode 644."""
    return (
        '"""Benchmark deploy: written by bench/pyinfra_tool.py."""\n\n'
        "from io import StringIO\n\n"
        "from pyinfra import host\n"
        "from pyinfra.operations import files\n\n"
        "files.put(\n"
        '    name="Bench ensure file",\n'
        f"    src=StringIO({content!r}),\n"
        "    dest=host.data.bench_path,\n"
        '    mode="644",\n'
        ")\n"
    )


def pyinfra_argv(
    command: Path, workdir: Path, fleet: dict[str, Any], workload: str, n: int
) -> list[str]:
    """Write the inventory (and deploy) for size ``n`` under ``workdir``; the argv to run."""
    workdir.mkdir(parents=True, exist_ok=True)
    inventory = workdir / f"inventory_n{n}.py"
    if not inventory.exists():
        inventory.write_text(inventory_text(fleet, n))
    parallel = ["--parallel", str(n)]
    head = [str(command), str(inventory)]
    if workload == "w1":
        return [*head, "exec", "-y", *parallel, "--", W1_COMMAND]
    deploy = workdir / "deploy.py"
    if not deploy.exists():
        from bench.plans.bench_plans import CONTENT

        deploy.write_text(deploy_text(CONTENT))
    mode = ["-y"] if workload == "w2" else ["--dry"]
    return [*head, str(deploy), *mode, *parallel]


def pyinfra_footnote(command: Path, repeats: int) -> str:
    return (
        f"W1-W3 pyinfra rows: pyinfra {pyinfra_version(command)} in its own venv (.venv-pyinfra), "
        f"median of {repeats} cold runs in the same rounds as floor and product (order rotated "
        "each round), measured the same way (spawn to exit, its output read to the end; pyinfra "
        "logs to stderr, merged into the pipe). Inventory: a Python file of the first N servers "
        "(ssh_hostname 127.0.0.1, ssh_port, ssh_user, ssh_key = the fleet's client key, "
        "ssh_known_hosts_file = the fleet's known_hosts with ssh_strict_host_key_checking = yes, "
        "no agent, no key search, no ssh_config). W1: `pyinfra INV exec -y --parallel N -- "
        "'hostname && uname -r && echo ok'`; W2: `pyinfra INV deploy.py -y --parallel N`, the "
        "deploy one `files.put` of the content (StringIO) with mode 644; W3: `pyinfra INV "
        "deploy.py --dry --parallel N` on files already as desired (change detection, no "
        "`-y`, which would skip it). otter-tui/pyinfra is the product's median over pyinfra's "
        "(< 1: otter-tui ahead); the ratio column is pyinfra's to the floor."
    )
