"""The floor: what a minimal, correct asyncssh client pays for each workload.

Connect to all N servers at once (handshakes bounded by the same ``ssh.max_concurrent_connects``
the product uses), host keys checked against the fleet's known_hosts, key login, do the work,
disconnect. It writes nothing to a database and keeps no log: every product figure is a ratio
to this.

- W1: run ``hostname && uname -r && echo ok`` and read its output;
- W2: over SFTP, stat the file (absent), write a temp file with mode 0644, rename it into place
  (the same atomic write the product promises);
- W3: over SFTP, stat the file and read it, and compare mode and content;
- lines: run ``seq 1 COUNT`` and count the lines that come back.

``python -m bench.floor '<json spec>'`` is the floor as a whole process, as a user would run a
small script: it prints each server's output lines prefixed with its name (W2/W3: one line per
server saying what it did), the way ``otter-tui run`` prints its log.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncssh

from bench.timing import ChannelCounter, cpu_seconds

W1_COMMAND = "hostname && uname -r && echo ok"
Work = Callable[[asyncssh.SSHClientConnection, str, dict[str, Any]], Awaitable[int]]


async def fanout(conn: asyncssh.SSHClientConnection, path: str, spec: dict[str, Any]) -> int:
    result = await conn.run(W1_COMMAND, check=True)
    assert isinstance(result.stdout, str) and result.stdout.endswith("ok\n")
    if spec.get("print"):
        name = path.rsplit("/", 1)[-1].removesuffix(".conf")
        sys.stdout.write("".join(f"[{name}] {line}\n" for line in result.stdout.splitlines()))
    return 0


async def ensure(conn: asyncssh.SSHClientConnection, path: str, spec: dict[str, Any]) -> int:
    async with conn.start_sftp_client() as sftp:
        if await sftp.exists(path):
            raise AssertionError(f"{path} should be absent before W2")
        temp = path + ".floor.tmp"
        attrs = asyncssh.SFTPAttrs(permissions=0o644)
        async with sftp.open(temp, "wb", attrs) as handle:
            await handle.write(spec["content"].encode())
        await sftp.posix_rename(temp, path)
    return 1


async def check(conn: asyncssh.SSHClientConnection, path: str, spec: dict[str, Any]) -> int:
    async with conn.start_sftp_client() as sftp:
        attrs = await sftp.lstat(path)
        async with sftp.open(path, "rb") as handle:
            data = await handle.read()
    perms = stat.S_IMODE(attrs.permissions or 0)
    if data != spec["content"].encode() or perms != 0o644:
        raise AssertionError(f"{path} drifted ({perms:o}); W3 expects it as desired")
    return 0


async def lines(conn: asyncssh.SSHClientConnection, path: str, spec: dict[str, Any]) -> int:
    result = await conn.run(f"seq 1 {int(spec['count'])}", check=True)
    assert isinstance(result.stdout, str)
    return result.stdout.count("\n")


WORK: dict[str, Work] = {"w1": fanout, "w2": ensure, "w3": check, "lines": lines}


async def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """Run workload ``spec['workload']`` on the first ``spec['n']`` servers; count results."""
    fleet = spec["fleet"]
    servers = fleet["servers"][: spec["n"]]
    channels = ChannelCounter().install()
    started, cpu = time.perf_counter(), cpu_seconds()
    known = asyncssh.read_known_hosts(fleet["known_hosts"])
    keys = asyncssh.load_keypairs([fleet["client_key"]])
    gate = asyncio.Semaphore(fleet["max_concurrent_connects"])
    work = WORK[spec["workload"]]

    async def one(name: str, host: str, port: int, user: str) -> int:
        async with gate, asyncio.timeout(fleet["connect_timeout"]):
            conn = await asyncssh.connect(
                host,
                port,
                username=user,
                known_hosts=known,
                client_keys=keys,
                agent_path=None,
                config=None,
                encryption_algs=spec.get("ciphers") or (),
            )
        async with conn:
            done = await work(conn, f"{fleet['files_dir']}/{name}.conf", spec)
        if spec.get("print") and spec["workload"] != "w1":
            print(f"[{name}] {'changed' if done else 'as desired'}")
        return done

    results = await asyncio.gather(*(one(*server) for server in servers), return_exceptions=True)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    failures = [r for r in results if isinstance(r, BaseException)]
    counted = sum(r for r in results if isinstance(r, int))
    error = f"{len(failures)} failed: {failures[0]!r}" if failures else ""
    return {
        "ok": not failures,
        "error": error,
        "count": counted,
        "wall": wall,
        "cpu": cpu,
        "channels": channels.count,
    }


def main() -> None:
    """The floor as a whole process: exit 0 when every server did its work."""
    spec = {**json.loads(sys.argv[1]), "print": True}
    result = asyncio.run(run_floor(spec))
    if not result["ok"]:
        print(result["error"], file=sys.stderr)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
