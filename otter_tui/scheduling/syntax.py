"""Cron line syntax: five fields or an alias, validated field by field, and IANA zone names.

Why our own validator in front of croniter: croniter's errors do not say which field is wrong, it
accepts extensions we do not promise (seconds, years, ``L``, ``W``, ``#``, ``H``), and Python's
``int()`` accepts non-ASCII digits. We parse every field into its set of values and later hand
croniter a canonical line built from those sets, so what we validate is exactly what runs.

Grammar of a field: a comma list of items; an item is ``*``, ``N``, ``N-M``, ``*/S``, ``N-M/S`` or
``N/S`` (from N to the end of the range, every S). Months accept ``jan``-``dec``, days of the week
``sun``-``sat`` (any case); day-of-week 7 is Sunday, like 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otter_tui.errors import UsageError

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
MAX_LINE_LENGTH = 100
"""The store keeps a cron line in 100 characters; longer input is rejected up front."""

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_SIZES = (60, 24, 31, 12, 7)
"""How many distinct values each field has (day-of-week 7 folds onto 0)."""
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    {name: number for number, name in enumerate(_DAY_NAMES)},
)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NUMBER = re.compile(r"[0-9]{1,4}")
_NOT_PORTABLE_ZONES = frozenset({"localtime", "posixrules"})
"""Names that resolve to the machine's own zone: a schedule must mean the same everywhere."""


class CronSyntaxError(UsageError):
    """A cron line is malformed, names a value out of range, or can never fire."""


class UnknownTimeZoneError(UsageError):
    """A schedule names a time zone that is not in the IANA database."""


@dataclass(frozen=True)
class CronField:
    """One parsed field: what the user wrote and the set of values it matches."""

    name: str
    """One of FIELD_NAMES."""
    text: str
    """The field as written (aliases already expanded)."""
    values: frozenset[int]
    """Matching values; day-of-week uses 0-6 with 0 = Sunday."""

    @property
    def is_every(self) -> bool:
        """True when the field matches every value of its range, whatever its spelling."""
        return len(self.values) == _SIZES[FIELD_NAMES.index(self.name)]

    @property
    def canonical(self) -> str:
        """The field for croniter: ``*`` when unrestricted, else the sorted values."""
        return "*" if self.is_every else ",".join(str(v) for v in sorted(self.values))


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a one-line error naming it."""
    if name in _NOT_PORTABLE_ZONES:
        raise UnknownTimeZoneError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZoneError(f"unknown time zone {name!r}") from None


def normalize_line(line: str) -> str:
    """Collapse whitespace and lower-case an alias, so equal schedules compare equal."""
    text = " ".join(line.split())
    return text.lower() if text.startswith("@") else text


def parse_line(line: str) -> tuple[CronField, ...]:
    """The five fields of ``line``; raises CronSyntaxError naming the first wrong field."""
    if len(line) > MAX_LINE_LENGTH:
        raise CronSyntaxError(
            f"cron line is {len(line)} characters long, at most {MAX_LINE_LENGTH} are allowed"
        )
    parts = _expand_alias(line.strip()).split()
    if len(parts) != 5:
        raise CronSyntaxError(f"cron line has {len(parts)} fields, expected 5: {line!r}")
    fields = tuple(_parse_field(index, part) for index, part in enumerate(parts))
    _check_fires(fields, line)
    return fields


def _expand_alias(text: str) -> str:
    if not text.startswith("@"):
        return text
    try:
        return ALIASES[text.lower()]
    except KeyError:
        known = ", ".join(ALIASES)
        raise CronSyntaxError(f"unknown cron alias {text!r}; use one of {known}") from None


def _parse_field(index: int, text: str) -> CronField:
    values: set[int] = set()
    for item in text.split(","):
        values |= _parse_item(index, text, item)
    if index == 4:
        values = {0 if v == 7 else v for v in values}
    return CronField(FIELD_NAMES[index], text, frozenset(values))


def _parse_item(index: int, text: str, item: str) -> set[int]:
    if not item:
        raise _field_error(index, text, "has an empty list item")
    base, slash, step_text = item.partition("/")
    step = _parse_step(index, text, step_text) if slash else 1
    low, high = _BOUNDS[index]
    if base == "*":
        return set(range(low, high + 1, step))
    start, end = _parse_range(index, text, base)
    if slash and "-" not in base:
        end = high
    return set(range(start, end + 1, step))


def _parse_step(index: int, text: str, step_text: str) -> int:
    largest = _SIZES[index] - 1
    if not _NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= largest:
        raise _field_error(index, text, f"has step {step_text!r}; a step must be 1-{largest}")
    return int(step_text)


def _parse_range(index: int, text: str, base: str) -> tuple[int, int]:
    first, dash, last = base.partition("-")
    start = _parse_value(index, text, first)
    end = _parse_value(index, text, last) if dash else start
    if end < start:
        raise _field_error(index, text, f"has range {base!r} running backwards")
    return start, end


def _parse_value(index: int, text: str, token: str) -> int:
    named = _NAMES[index].get(token.lower())
    if named is not None:
        return named
    if not _NUMBER.fullmatch(token):
        return _reject_token(index, text, token)
    low, high = _BOUNDS[index]
    if not low <= int(token) <= high:
        detail = "is" if token == text else f"has {token!r}"
        raise _field_error(index, text, f"{detail} out of range {low}-{high}")
    return int(token)


def _reject_token(index: int, text: str, token: str) -> int:
    names = _NAMES[index]
    hint = f" or a name like {next(iter(names))!r}" if names else ""
    raise _field_error(index, text, f"has {token!r}, which is not a number{hint}")


def _field_error(index: int, text: str, detail: str) -> CronSyntaxError:
    return CronSyntaxError(f"cron {FIELD_NAMES[index]!r} field {text!r} {detail}")


def _check_fires(fields: tuple[CronField, ...], line: str) -> None:
    """Reject day/month combinations that never occur, such as ``0 0 30 2 *``.

    Only a restricted day-of-month with an unrestricted day-of-week can be impossible: when both
    day fields are restricted either may match, and weekdays occur in every month.
    """
    days, months, weekdays = fields[2], fields[3], fields[4]
    if days.is_every or not weekdays.is_every:
        return
    if any(day <= _MONTH_DAYS[month - 1] for month in months.values for day in days.values):
        return
    raise CronSyntaxError(
        f"cron line {line!r} never fires: day-of-month {days.text!r} "
        f"does not occur in month {months.text!r}"
    )


def parse_time(option: str, text: str | None) -> datetime | None:
    """ISO date and time; without an offset it is a wall time in the schedule's zone.

    ``option`` names the field in the error (``--at`` on the command line, ``Run at`` in a form).
    """
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} takes a date and time like '2026-12-01 03:00' (optionally with an "
            f"offset); got {text!r}"
        ) from None
