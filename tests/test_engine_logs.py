"""Log volume: a server that prints 200,000 lines over SSH has every line stored, in order."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, create, engine_runtime, run_now
from tests.fixtures_core import db_file

LINES = 200_000


def test_200k_lines_all_stored_in_order(tmp_path: Path, ssh_fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    [name] = add_fleet(rt, ssh_fleet, [0])
    job = create(rt, "Echo", TargetSpec(servers=(name,)), lines=str(LINES))
    started = time.monotonic()

    assert run_now(rt, job.id) == "succeeded"

    elapsed = time.monotonic() - started
    conn = sqlite3.connect(db_file(tmp_path))
    try:
        rows = conn.execute(
            "SELECT seq, stream, text FROM log_entries WHERE job_id = ? ORDER BY seq", (job.id,)
        ).fetchall()
    finally:
        conn.close()
    seqs = [seq for seq, _, _ in rows]
    assert seqs == list(range(1, len(rows) + 1))  # no gap, no duplicate
    output = [text for _, stream, text in rows if stream == "stdout"]
    assert output == [str(n) for n in range(1, LINES + 1)]
    print(f"\n{LINES} lines stored in {elapsed:.2f}s ({LINES / elapsed:,.0f} lines/s)")
    rt.close()
