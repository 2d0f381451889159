"""Trusting a server's SSH host key from the palette: "trust host key of web1".

The same service as ``otter-tui servers trust``: after a question, the console fetches the key
the server presents (key exchange only, nothing runs there), records it in the app's known_hosts
and shows its fingerprint. A key that differs from the recorded one is refused with the service's
line, and the console then asks whether to replace it (the CLI's ``--replace``).
``inventory.edit`` is asked before the question.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.app import App
from textual.command import Hit, Hits, Provider

from otter_tui.errors import HostKeyError, OtterError
from otter_tui.runtime import Runtime
from screens.modals import ConfirmModal

if TYPE_CHECKING:
    from otter_tui.services.trust import TrustResult


def result_text(result: TrustResult) -> str:
    where = f"{result.host}:{result.port}"
    lines = [f"{result.server}: {where} presents {result.algorithm} {result.fingerprint}", ""]
    if result.outcome == "already trusted":
        lines.append("Already trusted; nothing changed.")
    else:
        lines += [f"Replaced the previously recorded key {old}." for old in result.replaced]
        lines.append(f"Trusted: recorded in {result.file}.")
        lines += [f"Note: {path} still lists the old key (not edited)." for path in result.stale]
    return "\n".join(lines)


async def _ask(app: App[object], question: str, label: str) -> bool:
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    app.push_screen(
        ConfirmModal(question, confirm_label=label), lambda yes: answer.set_result(bool(yes))
    )
    return await answer


async def trust_flow(app: App[object], runtime: Runtime, server: str) -> None:
    """Ask, fetch and record; on a changed key, ask again before replacing."""
    from otter_tui.services.trust import TrustService  # imports asyncssh: only when asked

    service = TrustService(runtime.ctx)
    try:
        await asyncio.to_thread(runtime.ctx.check, "inventory.edit")
        question = f"Fetch the SSH host key {server} presents and trust it?\n\nNothing runs there."
        if not await _ask(app, question, "Trust"):
            return
        try:
            result = await service.trust(server)
        except HostKeyError as changed:
            question = f"{changed}\n\nReplace the recorded key (the server was reinstalled)?"
            if not await _ask(app, question, "Replace"):
                return
            result = await service.trust(server, replace=True)
    except OtterError as error:
        app.notify(str(error), severity="error", markup=False)
        return
    app.push_screen(ConfirmModal(result_text(result), confirm_label="Done", deny_label="Close"))


class TrustCommands(Provider):
    """ "trust host key of NAME" for every SSH server."""

    async def startup(self) -> None:
        runtime: Runtime = getattr(self.app, "runtime")  # noqa: B009 - OtterApp, not imported
        servers = await asyncio.to_thread(runtime.inventory.list_servers)
        self.names = [s.name for s in servers if s.transport == "ssh"]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        runtime: Runtime = getattr(app, "runtime")  # noqa: B009 - OtterApp, not imported
        for name in getattr(self, "names", []):
            text = f"trust host key of {name}"
            if score := matcher.match(text):

                def command(server: str = name) -> None:
                    app.run_worker(
                        trust_flow(app, runtime, server), group="trust", exit_on_error=False
                    )

                yield Hit(score, matcher.highlight(text), command, help="servers trust")
