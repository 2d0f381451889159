"""``./dev bench``: every figure and its ratio to the floor, in one table.

    ./dev bench                 # full size (N = 1, 100, 500, 1,000), about 25 minutes on 2 cores
    ./dev bench --quick         # small N, one repeat: a smoke run
    ./dev bench --only logs     # one section: workloads, w1, w2, w3, logs, scheduler, daemon, warm,
                                # console, api, profile, import

The table is printed, and written with the machine line and the profile to
bench/results/latest.md. See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import compileall
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.fleet import RESULTS_DIR, BenchFleet, raise_open_files
from bench.report import Report, machine_line
from bench.sections import SECTIONS, Context, Plan
from bench.timing import progress

NAMES = (
    "workloads",
    "w1",
    "w2",
    "w3",
    "logs",
    "scheduler",
    "daemon",
    "warm",
    "console",
    "api",
    "profile",
    "import",
)


def parse(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N and one repeat")
    parser.add_argument("--only", choices=NAMES, help="run one section")
    parser.add_argument("--sizes", help="comma-separated fleet sizes (default 1,100,500,1000)")
    parser.add_argument("--repeats", type=int, help="floor/product pairs per figure")
    args = parser.parse_args(argv)
    sizes: tuple[int, ...] = (1, 5, 20) if args.quick else (1, 100, 500, 1000)
    if args.sizes:
        sizes = tuple(sorted({int(x) for x in args.sizes.split(",") if x}))
    repeats = args.repeats or (1 if args.quick else 3)
    profile_size = 500 if 500 in sizes else max(sizes)
    return Plan(sizes, repeats, args.quick, args.only, profile_size)


def wanted(plan: Plan, section: str) -> bool:
    if plan.only is None:
        return True
    if plan.only in ("w1", "w2", "w3"):
        return section == "workloads"
    return plan.only == section


def compile_bytecode() -> None:
    """Byte-compile the product and the floor's script once, as ``pip install`` does for a user.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in CI and agent shells) an editable checkout has no
    ``.pyc`` files, so every timed process compiled each otter_tui module from source again:
    about 0.1 s of CPU a start that no installed copy pays, and that the floor's one small
    script hardly pays. ``compileall`` writes them whatever that variable says.
    """
    root = Path(__file__).resolve().parent.parent
    for package in ("otter_tui", "screens", "bench"):
        compileall.compile_dir(root / package, quiet=1)


def main(argv: list[str]) -> int:
    plan = parse(argv)
    raise_open_files()
    compile_bytecode()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "children.log").write_text("")
    report = Report()
    machine_before = machine_line()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="otter-bench-") as tmp:
        workdir = Path(tmp)
        fleet_size = max(plan.sizes + ((100,) if wanted(plan, "logs") and not plan.quick else ()))
        progress(f"starting a loopback fleet of {fleet_size} sshd ports in {workdir}")
        with BenchFleet(workdir, fleet_size, plan.sizes) as fleet:
            ctx = Context(plan=plan, fleet=fleet, info=asdict(fleet.info()), report=report)
            for name, run in SECTIONS:
                if wanted(plan, name):
                    section_start = time.perf_counter()
                    progress(f"section {name}")
                    run(ctx)
                    progress(f"section {name} done in {time.perf_counter() - section_start:.0f}s")
    total = time.perf_counter() - started
    write_results(report, machine_before, total)
    return 0 if all(r.ok is not False or r.value is not None for r in report.rows) else 1


def write_results(report: Report, machine: str, total: float) -> None:
    end = machine_line()
    head = f"Machine: {machine}\nLoad at end: {end.rsplit('load average ', 1)[-1]}"
    footer = f"Total bench time: {total:.0f} s"
    print()
    print(head)
    print()
    print(report.text())
    print()
    print(report.notes())
    print(footer)
    print()
    print("Markdown (for the README):")
    print()
    print(report.markdown())
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    latest = RESULTS_DIR / "latest.md"
    notes = "\n".join(f"{i}. {n}" for i, n in enumerate(report.footnotes, start=1))
    body = [head.replace("\n", "  \n"), "", report.markdown(), "", notes, "", footer, ""]
    body += report.details
    latest.write_text("\n".join(body) + "\n")
    print(f"\nwritten to {latest}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
