"""The import section: `inventory import` of a generated fleet and bulk trust of the test fleet,
each beside its floor (``ansible-inventory --list``, ``ssh-keyscan``) in the same run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.report import Row
from bench.timing import median

if TYPE_CHECKING:
    from bench.sections import Context


def importing(ctx: Context) -> None:
    from bench import inventory_io as io

    hosts = 1_000 if ctx.plan.quick else 5_000
    repeats = 1 if ctx.plan.quick else 3
    workdir = ctx.fleet.workdir
    inventory = io.write_inventory(workdir / f"hosts-{hosts}.ini", hosts)
    firsts, agains, floors = [], [], []
    for repeat in range(repeats):
        first, again = io.import_once(workdir, inventory, repeat)
        floor = io.ansible_list(inventory, workdir)
        io.log(f"import {hosts:,} hosts", first)
        io.log("re-import (unchanged)", again)
        io.log("ansible-inventory --list", floor)
        firsts.append(first)
        agains.append(again)
        floors += [floor] if floor is not None else []
    size = f"{hosts:,} hosts"
    wall = median([t[0] for t in firsts])
    floor_wall = median([t[0] for t in floors]) if floors else None
    floor_cpu = median([t[1] for t in floors]) if floors else None
    row = ctx.report.add(Row("Import", size, "import (empty db)", wall, "s", floor_wall, "< 3 s"))
    row.ok = wall < 3
    ctx.report.add(
        Row("Import", size, "import CPU", median([t[1] for t in firsts]), "s", floor_cpu)
    )
    ctx.report.add(
        Row("Import", size, "re-import (unchanged)", median([t[0] for t in agains]), "s")
    )
    _trust_rows(ctx, io)
    ctx.report.footnotes.append(
        f"Import: `otter-tui inventory import ansible` of an INI with {hosts:,} hosts (4 roles, "
        "nested environments, host and group vars), process start to exit, median of "
        f"{repeats}; the database is migrated beforehand. Floor: `ansible-inventory --list` "
        "parsing the same file. Bulk trust: `otter-tui servers trust --all --yes` with nothing "
        "trusted yet, process start to exit; floor: `ssh-keyscan -t ed25519 -p PORT` for the "
        "same servers, one process per port (it takes one port a run), "
        "ssh.max_concurrent_connects at once. CPU: user + system of the measured processes "
        "(not of sshd)."
    )


def _trust_rows(ctx: Context, io: Any) -> None:
    servers = ctx.info["servers"][:300]
    n = len(servers)
    config = io.trust_setup(ctx.fleet.workdir, servers, ctx.info["client_key"])
    parallel = ctx.info["max_concurrent_connects"]
    ours, scans = [], []
    for repeat in range(1 if ctx.plan.quick else 3):
        for kind in ("ours", "scan") if repeat % 2 == 0 else ("scan", "ours"):
            if kind == "ours":
                ours.append(io.trust_all(config))
                io.log(f"servers trust --all, {n} servers", ours[-1])
            else:
                scans.append(io.keyscan(servers, parallel))
                io.log(f"ssh-keyscan, {n} servers", scans[-1])
    wall, floor = median([t[0] for t in ours]), median([t[0] for t in scans])
    row = ctx.report.add(Row("Bulk trust", str(n), "trust --all", wall, "s", floor, "< 1.5x"))
    row.ok = wall < 1.5 * floor
    cpu, floor_cpu = median([t[1] for t in ours]), median([t[1] for t in scans])
    ctx.report.add(Row("Bulk trust", str(n), "trust --all CPU", cpu, "s", floor_cpu))
