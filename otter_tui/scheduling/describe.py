"""Plain-English descriptions of cron lines, for schedule lists and forms.

It covers the shapes people write ("at 02:30 every day", "every 30 minutes", "at minute 0 past
every hour on Monday through Friday") and otherwise falls back to naming the values of each field,
which is always correct if less elegant. It describes the parsed value sets, so ``0-23``, ``*`` and
``*/1`` read the same.
"""

from __future__ import annotations

from collections.abc import Callable

from otter_tui.scheduling.cron import CronSpec
from otter_tui.scheduling.syntax import CronField

_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_WEEKDAYS_FROM_MONDAY = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_MAX_TIMES = 6
"""Up to this many minute x hour combinations are listed as clock times."""


def describe(spec: CronSpec) -> str:
    """A one-line English description of when ``spec`` fires (the zone is shown elsewhere)."""
    minute, hour, days, months, weekdays = spec.fields
    clock = _clock_times(minute, hour)
    parts = [clock or _time_phrase(minute, hour), _day_phrase(days, weekdays, bool(clock))]
    if not months.is_every:
        parts.append("in " + _join(_runs(sorted(months.values), _month_name)))
    return " ".join(part for part in parts if part)


def _clock_times(minute: CronField, hour: CronField) -> str:
    """``at 02:30`` or ``at 09:00 and 17:00`` when a day's firings are few and fixed."""
    if minute.is_every or hour.is_every or len(minute.values) * len(hour.values) > _MAX_TIMES:
        return ""
    times = [f"{h:02d}:{m:02d}" for h in sorted(hour.values) for m in sorted(minute.values)]
    return "at " + _join(times)


def _time_phrase(minute: CronField, hour: CronField) -> str:
    """Repeating minutes ("every 5 minutes ...") or fixed minutes ("at minute 0 past ...")."""
    step = _step_from_zero(minute.values, 60)
    if minute.is_every or step:
        repeat = "every minute" if minute.is_every else f"every {step} minutes"
        return repeat if hour.is_every else f"{repeat} {_hour_span(hour)}"
    label = "minute" if len(minute.values) == 1 else "minutes"
    return f"at {label} {_join(_runs(sorted(minute.values), str))} past {_hour_target(hour)}"


def _hour_span(hour: CronField) -> str:
    """Where repeating minutes apply: "between 09:00 and 17:59" or "during hours 1, 3 and 5"."""
    values = sorted(hour.values)
    if values == list(range(values[0], values[-1] + 1)):
        return f"between {values[0]:02d}:00 and {values[-1]:02d}:59"
    return "during hours " + _join(_runs(values, str))


def _hour_target(hour: CronField) -> str:
    """Which hours fixed minutes belong to: "every hour", "every 2 hours", "hours 1, 3 and 5"."""
    if hour.is_every:
        return "every hour"
    step = _step_from_zero(hour.values, 24)
    if step:
        return f"every {step} hours"
    values = sorted(hour.values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"every hour from {values[0]:02d}:00 to {values[-1]:02d}:59"
    return "hours " + _join(_runs(values, str))


def _day_phrase(days: CronField, weekdays: CronField, clock: bool) -> str:
    """Which days; when both day fields are restricted either may match (POSIX cron)."""
    day_part = "" if days.is_every else _month_days(days)
    week_part = "" if weekdays.is_every else "on " + _weekdays(weekdays)
    if day_part and week_part:
        return f"{day_part} or {week_part}"
    return day_part or week_part or ("every day" if clock else "")


def _month_days(days: CronField) -> str:
    label = "day" if len(days.values) == 1 else "days"
    return f"on {label} {_join(_runs(sorted(days.values), str))} of the month"


def _weekdays(weekdays: CronField) -> str:
    """Monday-first, so ``sat,sun`` reads "Saturday and Sunday" and ``1-5`` stays one range."""
    from_monday = sorted((day + 6) % 7 for day in weekdays.values)
    return _join(_runs(from_monday, _WEEKDAYS_FROM_MONDAY.__getitem__))


def _step_from_zero(values: frozenset[int], size: int) -> int:
    """``n`` when the values are exactly 0, n, 2n, ... below ``size`` with n > 1, else 0."""
    ordered = sorted(values)
    if len(ordered) < 2 or ordered[0] != 0 or ordered[1] < 2:
        return 0
    return ordered[1] if frozenset(range(0, size, ordered[1])) == values else 0


def _runs(values: list[int], render: Callable[[int], str]) -> list[str]:
    """Three or more consecutive values become one item: "1-5" or "Monday through Friday"."""
    groups: list[list[int]] = []
    for value in values:
        if groups and value == groups[-1][-1] + 1:
            groups[-1].append(value)
        else:
            groups.append([value])
    joiner = "-" if render is str else " through "
    items: list[str] = []
    for group in groups:
        if len(group) >= 3:
            items.append(f"{render(group[0])}{joiner}{render(group[-1])}")
        else:
            items.extend(render(value) for value in group)
    return items


def _month_name(value: int) -> str:
    return _MONTHS[value - 1]


def _join(items: list[str]) -> str:
    """English list: "a", "a and b", "a, b and c"."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
