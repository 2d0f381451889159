"""Group commit: writes asked for while one batch is being stored go in the next one together.

Hundreds of server runs start, finish and report drift at about the same moment; one
transaction each would keep the database thread busy for longer than the SSH work took. Each
caller still gets its own result only once its write is committed, so "written, then published"
holds exactly as it did with a transaction per write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from otter_tui.engine.dbthread import DbThread

W = TypeVar("W")
R = TypeVar("R")


class GroupCommit(Generic[W, R]):
    """Queue writes of type ``W``; ``store`` writes a batch in one transaction (on the database
    thread) and returns one result per write, in order."""

    def __init__(
        self, dbthread: DbThread, store: Callable[[Sequence[W]], list[R]], name: str
    ) -> None:
        self.dbthread = dbthread
        self.store = store
        self.name = name
        self._pending: list[tuple[W, asyncio.Future[R]]] = []
        self._committer: asyncio.Task[None] | None = None

    def submit(self, write: W) -> asyncio.Future[R]:
        """Queue ``write`` for the next batch; the future resolves once it is committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit(), name=self.name)
        return future

    async def _commit(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self.dbthread.run(self.store, [w for w, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
