"""Finding jobs and log lines in the store: filtered job lists and text search in a job's log.

Both are paged queries, so a front end shows the first page at once and asks for the next one
when it needs it, whatever the size of the history: a job with a million stored lines is searched
a page of matches at a time (``after_seq``), never loaded whole. Matching is a case-insensitive
substring (SQL ``LIKE`` with the wildcards of the text escaped), the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, or_, select

from otter_tui.errors import UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import JobView, LogView, get_job, job_view
from otter_tui.store.models import Job, JobState, LogEntry, ServerRun

MAX_PAGE = 1000
FILTER_KEYS = ("state", "plan", "user")


@dataclass(frozen=True)
class JobFilter:
    """Which jobs to list; every part given must match. Empty: the newest jobs."""

    states: tuple[str, ...] = ()
    plan: str = ""
    """A part of the plan's key or name."""
    user: str = ""
    """A part of the requesting user's name."""
    text: str = ""
    """A part of the plan name, the requester, the targets or the error."""

    @property
    def empty(self) -> bool:
        return not (self.states or self.plan or self.user or self.text)

    def describe(self) -> str:
        parts = [f"state:{','.join(self.states)}"] if self.states else []
        parts += [f"{k}:{v}" for k, v in (("plan", self.plan), ("user", self.user)) if v]
        return " ".join([*parts, self.text]).strip()


def parse_filter(line: str) -> JobFilter:
    """``state:failed plan:deploy user:alice free words``; a bad state is a one-line error."""
    found: dict[str, str] = {}
    words: list[str] = []
    for word in line.split():
        key, sep, value = word.partition(":")
        if sep and key in FILTER_KEYS and value:
            found[key] = value
        else:
            words.append(word)
    states = tuple(s for s in found.get("state", "").split(",") if s)
    known = {state.value for state in JobState}
    for state in states:
        if state not in known:
            raise UsageError(f"unknown job state '{state}' (known: {', '.join(sorted(known))})")
    return JobFilter(states, found.get("plan", ""), found.get("user", ""), " ".join(words))


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    return func.lower(column).like(_like(text), escape="\\")


def _check_page(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"a page is 1-{MAX_PAGE} rows, got {limit}")


class JobSearch:
    """Read-only queries over jobs and logs; no permission beyond reading, as ``jobs list``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def jobs(
        self, wanted: JobFilter, *, limit: int = 200, before_id: int | None = None
    ) -> list[JobView]:
        """Newest first; ``before_id`` continues a previous page (older jobs)."""
        _check_page(limit)
        query = self._job_query(wanted).order_by(Job.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(Job.id < before_id)
        with self.ctx.db.session() as s:
            return [job_view(job) for job in s.scalars(query)]

    def _job_query(self, wanted: JobFilter) -> Select[Job]:
        query = select(Job)
        if wanted.states:
            query = query.where(Job.state.in_([JobState(x) for x in wanted.states]))
        if wanted.plan:
            plan = wanted.plan
            query = query.where(or_(_contains(Job.plan_key, plan), _contains(Job.plan_name, plan)))
        if wanted.user:
            query = query.where(_contains(Job.requested_by, wanted.user))
        if wanted.text:
            columns = (Job.plan_name, Job.requested_by, Job.error, cast(Job.targets, String))
            query = query.where(or_(*(_contains(c, wanted.text) for c in columns)))
        return query

    def log_matches(
        self,
        job_id: int,
        text: str,
        *,
        server_run_id: int | None = None,
        after_seq: int = 0,
        limit: int = 200,
    ) -> list[LogView]:
        """The job's lines holding ``text``, in order, from after ``after_seq``: one page."""
        _check_page(limit)
        if not text:
            raise UsageError("search for what? the text is empty")
        query = (
            select(LogEntry, ServerRun.server_name)
            .outerjoin(ServerRun, LogEntry.server_run_id == ServerRun.id)
            .where(LogEntry.job_id == job_id, LogEntry.seq > after_seq)
            .where(_contains(LogEntry.text, text))
        )
        if server_run_id is not None:
            query = query.where(LogEntry.server_run_id == server_run_id)
        with self.ctx.db.session() as s:
            get_job(s, job_id)
            rows = s.execute(query.order_by(LogEntry.seq).limit(limit))
            return [
                LogView(e.seq, e.at, server or "", e.level, e.stream, e.text, e.server_run_id)
                for e, server in rows
            ]
