"""Spawn a command from a small process and report its own wall, CPU and peak RSS.

``python -m bench.launch RESULT_FILE ARGV...``. Linux counts a process's peak RSS from the
address space it was forked from, so a child of the bench's own (large) process would report at
least the bench's size; this launcher is small, so what it reports is the command's own. Output
goes straight through; the figures are written to RESULT_FILE as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    result_file, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _pid, status, usage = os.wait4(pid, 0)
    figures = {
        "wall": time.perf_counter() - started,
        "status": os.waitstatus_to_exitcode(status),
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }
    with open(result_file, "w") as out:
        json.dump(figures, out)
    sys.exit(0)


if __name__ == "__main__":
    main()
