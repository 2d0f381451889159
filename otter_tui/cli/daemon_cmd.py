"""``otter-tui daemon``: run the scheduler and workers headless (see docs/daemon.md)."""

from __future__ import annotations

import click

from otter_tui.cli.api_cmd import api_bind
from otter_tui.cli.output import csv
from otter_tui.cli_state import CliState
from otter_tui.daemon import DaemonOptions, run_daemon

pass_state = click.make_pass_decorator(CliState)


@click.command("daemon")
@click.option(
    "--queues",
    default="",
    metavar="A,B",
    help="Serve only these job queues (default: every queue with the local backend).",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    help="Also run the scheduler (default), or only workers.",
)
@click.option("--job-lines", is_flag=True, help="Also log each line of each job's log.")
@click.option(
    "--api",
    "api",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[HOST:PORT]",
    help="Also serve the HTTP API (default address: [api] bind, loopback).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@pass_state
def daemon_command(
    state: CliState,
    queues: str,
    scheduler: bool,
    job_lines: bool,
    api: str | None,
    log_level: str,
) -> int:
    """Run jobs with nobody logged in: SIGHUP reloads config, SIGTERM stops gracefully."""
    options = DaemonOptions(
        queues=csv(queues),
        scheduler=scheduler,
        job_lines=job_lines,
        api=None if api is None else api_bind(state, api),
    )
    return run_daemon(state.runtime(), options, level=log_level)


COMMANDS = (daemon_command,)
