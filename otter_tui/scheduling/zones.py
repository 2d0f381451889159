"""UTC-offset facts about a zone that zoneinfo computes but does not expose directly.

zoneinfo answers "what is the offset at this instant" but not "when does the offset next change".
The cron engine needs the second, so it probes offsets one day apart and bisects to the second.
That is exact because (a) tzdata records every transition on a whole second and (b) no zone in
tzdata since 1970 changes its offset twice within two days (checked against every zone's transition
table), so a one-day probe cannot step over a change and its reversal.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo

PROBE_STEP = timedelta(days=1)


def as_utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; a naive datetime is a bug in the caller (not user input), so it raises."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def utc_offset(zone: tzinfo, moment: datetime) -> timedelta:
    """The zone's UTC offset at the aware instant ``moment``."""
    offset = moment.astimezone(zone).utcoffset()
    if offset is None:
        raise ValueError(f"time zone {zone} has no UTC offset at {moment.isoformat()}")
    return offset


def first_change(zone: tzinfo, start: datetime, end: datetime, base: timedelta) -> datetime | None:
    """The first instant in ``(start, end]`` whose offset is not ``base``, or None.

    ``start`` itself is never looked at, so a caller may pass the instant just before a
    transition together with the offset that holds after it.
    """
    low = start
    while low < end:
        high = min(low + PROBE_STEP, end)
        if utc_offset(zone, high) != base:
            return _bisect(zone, low, high, base)
        low = high
    return None


def _bisect(zone: tzinfo, low: datetime, high: datetime, base: timedelta) -> datetime:
    """The change in ``(low, high]``, to the second; ``high`` is known to have another offset."""
    low_s, high_s = math.floor(low.timestamp()), math.floor(high.timestamp())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if utc_offset(zone, datetime.fromtimestamp(middle, UTC)) == base:
            low_s = middle
        else:
            high_s = middle
    return datetime.fromtimestamp(high_s, UTC)


def in_second_pass(zone: tzinfo, moment: datetime) -> bool:
    """True when ``moment`` shows a wall time the zone already showed earlier (fall-back).

    zoneinfo marks the later of two equal wall times with ``fold=1``; the offset check guards
    against a fold flag on a wall time that is not actually repeated.
    """
    local = moment.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def resolve_wall(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone``, by the same DST rules as cron firings.

    A wall time that happens once is that instant. One that happens twice (fall back) is the
    first pass. One that never happens (spring forward) is the first instant after the gap: the
    change itself. ``wall`` is naive; its ``fold`` is ignored.
    """
    naive = wall.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    before = utc_offset(zone, first - PROBE_STEP)
    change = first_change(zone, first - PROBE_STEP, first + PROBE_STEP, before)
    if change is None:  # cannot happen with tzdata; fall back to zoneinfo's own answer
        return first
    return change


def offset_changes_on(zone: tzinfo, day: date) -> bool:
    """True when the zone's UTC offset changes during the local calendar ``day`` (a DST day).

    Compares the offset just before the day's first instant with the one just before the next
    day's: tzdata changes fall on whole seconds and never twice within two days.
    """
    second = timedelta(seconds=1)
    start = resolve_wall(datetime.combine(day, time()), zone) - second
    end = resolve_wall(datetime.combine(day + timedelta(days=1), time()), zone) - second
    return utc_offset(zone, start) != utc_offset(zone, end)
