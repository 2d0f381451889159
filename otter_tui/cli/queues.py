"""``queues list|add|set|rm``: the named places jobs wait to run."""

from __future__ import annotations

import click

from otter_tui.cli.output import emit_json, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.services.queues import BACKENDS, DEFAULT_CONCURRENCY, QueueService, QueueView

pass_state = click.make_pass_decorator(CliState)
BACKEND_HELP = "; ".join(f"{name}: {meaning}" for name, meaning in BACKENDS.items())


def queue_service(state: CliState) -> QueueService:
    return QueueService(state.runtime().ctx)


def _said(view: QueueView, verb: str) -> None:
    click.echo(f"queue {view.name} {verb}: backend {view.backend}, concurrency {view.concurrency}")


@click.group()
def queues() -> None:
    """Job queues: where jobs wait, which backend runs them, how many at once."""


@queues.command("list")
@json_option
@pass_state
def queues_list(state: CliState, as_json: bool) -> None:
    """Every queue with its backend, concurrency and unfinished jobs."""
    views = queue_service(state).all()
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(
        ["name", "backend", "concurrency", "waiting", "description"],
        [(v.name, v.backend, v.concurrency, v.waiting, v.description) for v in views],
    )


@queues.command("add")
@click.argument("name")
@click.option("--backend", default="local", show_default=True, help=BACKEND_HELP)
@click.option(
    "--concurrency",
    type=int,
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Jobs of this queue one worker runs at once.",
)
@click.option("--description", default="")
@pass_state
def queues_add(
    state: CliState, name: str, backend: str, concurrency: int, description: str
) -> None:
    """Add a queue; plans name it as their default or eligible queue."""
    view = queue_service(state).add(
        name, backend=backend, concurrency=concurrency, description=description
    )
    _said(view, "added")


@queues.command("set")
@click.argument("name")
@click.option("--backend", default=None, help=BACKEND_HELP)
@click.option("--concurrency", type=int, default=None, help="Jobs one worker runs at once.")
@click.option("--description", default=None)
@pass_state
def queues_set(
    state: CliState,
    name: str,
    backend: str | None,
    concurrency: int | None,
    description: str | None,
) -> None:
    """Change a queue; running jobs go on, new claims follow the new values."""
    view = queue_service(state).set(
        name, backend=backend, concurrency=concurrency, description=description
    )
    _said(view, "changed")


@queues.command("rm")
@click.argument("name")
@pass_state
def queues_rm(state: CliState, name: str) -> None:
    """Remove a queue no job, plan, schedule or template uses ('default' stays)."""
    queue_service(state).remove(name)
    click.echo(f"queue {name} removed")


COMMANDS = (queues,)
