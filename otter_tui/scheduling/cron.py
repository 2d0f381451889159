"""Cron schedules in an IANA time zone: when they fire, as UTC instants, with defined DST rules.

A schedule is a cron line (five fields or an alias) plus a zone. Its firings are computed in the
zone's wall-clock time and returned as tz-aware UTC datetimes, because the store keys each firing by
(schedule, UTC instant) and that key is what makes a firing run exactly once.

DST rules (the same as ISC/Vixie cron, made exact; docs/scheduling.md has worked examples). A
schedule is *fixed-hour* when its hour field leaves out at least one hour (``30 2 * * *``,
``*/5 1 * * *``, ``0 9-17 * * *``) and an *interval* schedule when it names every hour (``*``,
``*/1``, ``0-23``; so ``*/30 * * * *`` and ``0 * * * *``).

(a) Skipped wall time (spring forward). A fixed-hour schedule whose wall time falls in the skipped
    period runs once, at the first instant after the gap (the transition itself): ``30 2 * * *`` in
    America/New_York on 2026-03-08 fires at 03:00 EDT (07:00 UTC). Several skipped wall times of one
    gap collapse into that single firing, and so does a firing due exactly at the end of the gap.
    An interval schedule does not catch up: the skipped wall times never happen, its next firing is
    the next real instant that matches, so its elapsed-time rhythm continues (``*/30`` goes from
    01:30 EST to 03:00 EDT, 30 minutes later).
(b) Repeated wall time (fall back). A fixed-hour schedule fires only in the first pass (the
    earlier UTC instant, ``fold=0``): ``30 1 * * *`` in America/New_York fires on 2026-11-01 at
    01:30 EDT (05:30 UTC) and not again at 01:30 EST (06:30 UTC). croniter 7 returns both.
(c) An interval schedule fires at every real instant whose wall time matches, in both passes, so
    ``*/30 * * * *`` fires at 05:00, 05:30, 06:00 and 06:30 UTC while New York shows 01:00 and 01:30
    twice: every gap is 30 minutes of elapsed time. No UTC instant is ever returned twice.

These rules hold for any size of change: Lord Howe's 30-minute shift, Chatham's +12:45/+13:45,
Kathmandu's +05:45 (no DST). Both day fields restricted means either may match (POSIX cron).

How it is computed: croniter walks naive wall-clock times only (pure calendar arithmetic, where it
is reliable); this module maps them to instants one constant-offset segment at a time, crossing
each offset change explicitly (zones.first_change). One croniter step per firing, no minute scans.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from croniter import croniter

from otter_tui.scheduling.syntax import CronField, load_zone, normalize_line, parse_line
from otter_tui.scheduling.zones import as_utc, first_change, in_second_pass, utc_offset

_TICK = timedelta(microseconds=1)
"""Firings fall on whole seconds, so 1 µs before an instant turns "strictly after" into "from"."""
_CACHE_LIMIT = 256
_local = threading.local()


@dataclass(frozen=True)
class CronSpec:
    """A validated cron line in an IANA zone; constructing one validates both."""

    expression: str
    """The cron line as given: five fields or an alias such as ``@daily``."""
    timezone: str
    """IANA zone name, e.g. ``Europe/Berlin``; the fields are matched against its wall clock."""
    fields: tuple[CronField, ...] = field(init=False, repr=False, compare=False)
    """The five parsed fields (aliases expanded)."""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    """The loaded zone."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", parse_line(self.expression))
        object.__setattr__(self, "zone", load_zone(self.timezone))

    @property
    def fixed_hour(self) -> bool:
        """True unless the hour field names every hour; decides the DST rules (see module doc)."""
        return not self.fields[1].is_every

    @property
    def canonical(self) -> str:
        """The line croniter evaluates, rebuilt from the validated value sets."""
        return " ".join(f.canonical for f in self.fields)


def parse_cron(expression: str, timezone: str) -> CronSpec:
    """Validate a cron line and a zone name; errors are one line naming the bad field or zone."""
    return CronSpec(normalize_line(expression), timezone.strip())


def next_fire(spec: CronSpec, after: datetime) -> datetime:
    """The first firing strictly after the aware instant ``after``, as an aware UTC datetime."""
    moment = as_utc(after, "after")
    if spec.fixed_hour:
        moment = _past_second_pass(spec.zone, moment)
    offset = utc_offset(spec.zone, moment)
    while True:
        candidate = _next_wall(spec, moment + offset) - offset
        change = first_change(spec.zone, moment, candidate, offset)
        if change is None:
            return candidate
        new_offset = utc_offset(spec.zone, change)
        if _fires_in_gap(spec, change, offset, new_offset):
            return change
        moment = change - _TICK
        if spec.fixed_hour and new_offset < offset:
            moment += offset - new_offset  # rule (b): walk on from the end of the repeat
        offset = new_offset


def iter_fires(spec: CronSpec, after: datetime) -> Iterator[datetime]:
    """Every firing strictly after ``after``, in order, without end; callers bound it."""
    moment = as_utc(after, "after")
    while True:
        moment = next_fire(spec, moment)
        yield moment


def fires_between(spec: CronSpec, start: datetime, end: datetime, limit: int) -> Iterator[datetime]:
    """Firings in ``(start, end]``, oldest first, at most ``limit`` of them."""
    stop = as_utc(end, "end")
    for moment in islice(iter_fires(spec, start), max(limit, 0)):
        if moment > stop:
            return
        yield moment


def last_fire(spec: CronSpec, start: datetime, end: datetime) -> datetime | None:
    """The newest firing in ``(start, end]``, or None; cost grows with log(end - start).

    A scheduler that was down for a month needs the most recent missed firing without walking
    the 43,200 firings of an every-minute schedule: search back in doubling windows for one that
    holds a firing, then bisect. Invariant: a firing lies in (low, end], none in (high, end].
    """
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if start >= end or next_fire(spec, start) > end:
        return None
    width, high = timedelta(minutes=1), end
    low = max(start, end - width)
    while next_fire(spec, low) > end:
        width, high = width * 2, low
        low = max(start, end - width)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        low, high = (middle, high) if next_fire(spec, middle) <= end else (low, middle)
    return next_fire(spec, low)


def next_n(spec: CronSpec, after: datetime, n: int) -> list[tuple[datetime, datetime]]:
    """The next ``n`` firings as (wall time in the schedule's zone, UTC) pairs, for display."""
    return [(moment.astimezone(spec.zone), moment) for moment in islice(iter_fires(spec, after), n)]


def _past_second_pass(zone: ZoneInfo, moment: datetime) -> datetime:
    """Rule (b) when ``after`` itself lies in a repeated period: the instant just before the
    repeat ends, so a fixed-hour schedule does not fire again in the second pass."""
    if not in_second_pass(zone, moment):
        return moment
    local = moment.astimezone(zone)
    before, after = utc_offset(zone, local.replace(fold=0)), utc_offset(zone, local)
    change = first_change(zone, moment - (before - after), moment, before)
    return moment if change is None else max(moment, change + (before - after) - _TICK)


def _fires_in_gap(spec: CronSpec, change: datetime, before: timedelta, after: timedelta) -> bool:
    """Rule (a): does a fixed-hour schedule match a wall time the offset change skips?"""
    if not spec.fixed_hour or after <= before:
        return False
    gap_start, gap_end = change + before, change + after
    return _next_wall(spec, gap_start - _TICK) < gap_end


def _next_wall(spec: CronSpec, wall: datetime) -> datetime:
    """The first matching wall time strictly after ``wall`` (a UTC datetime used as a wall clock).

    croniter sees naive datetimes only, so it never applies an offset of its own.
    """
    found: datetime = _walker(spec.canonical).get_next(
        datetime, start_time=wall.replace(tzinfo=None)
    )
    return found.replace(tzinfo=UTC)


def _walker(line: str) -> croniter:
    """A croniter for ``line``, cached per thread: building one costs ~3x a step, and a croniter
    keeps its position in itself, so threads must not share one."""
    cache: dict[str, croniter] = _local.__dict__.setdefault("walkers", {})
    walker = cache.get(line)
    if walker is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        walker = cache[line] = croniter(line, datetime(2000, 1, 1))
    return walker
