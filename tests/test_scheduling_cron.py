"""Cron schedules in a time zone: validation, DST rules on real change days, descriptions.

The property test at the end checks next_fire against a brute-force oracle that walks every UTC
minute, reads the zone's wall clock and applies the documented DST rules, in zones with odd
transitions (30-minute DST, +12:45, +05:45, 24:00 changes, a 2-hour DST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otter_tui.errors import UsageError
from otter_tui.scheduling import (
    CronSpec,
    CronSyntaxError,
    UnknownTimeZoneError,
    describe,
    fires_between,
    last_fire,
    next_fire,
    next_n,
    parse_cron,
)

MINUTE = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def day_of_firings(expr: str, zone: str, start: datetime, hours: int = 48) -> list[datetime]:
    return list(
        fires_between(parse_cron(expr, zone), start, start + timedelta(hours=hours), 10_000)
    )


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("61 * * * *", "cron 'minute' field '61' is out of range 0-59"),
        ("* 24 * * *", "cron 'hour' field '24' is out of range 0-23"),
        ("0 0 0 * *", "cron 'day-of-month' field '0' is out of range 1-31"),
        ("0 0 * 13 *", "cron 'month' field '13' is out of range 1-12"),
        ("0 0 * * 8", "cron 'day-of-week' field '8' is out of range 0-7"),
        ("5,61 * * * *", "cron 'minute' field '5,61' has '61' out of range 0-59"),
        ("* * *", "cron line has 3 fields, expected 5: '* * *'"),
        ("0 * * * * 2026", "cron line has 6 fields, expected 5: '0 * * * * 2026'"),
        ("*/0 * * * *", "cron 'minute' field '*/0' has step '0'; a step must be 1-59"),
        ("*/90 * * * *", "cron 'minute' field '*/90' has step '90'; a step must be 1-59"),
        ("0 22-2 * * *", "cron 'hour' field '22-2' has range '22-2' running backwards"),
        ("1,,2 * * * *", "cron 'minute' field '1,,2' has an empty list item"),
        ("0 0 * foo *", "cron 'month' field 'foo' has 'foo', which is not a number or a name"),
        ("0 0 L * *", "cron 'day-of-month' field 'L' has 'L', which is not a number"),
        ("\uff11 * * * *", "cron 'minute' field '\uff11' has '\uff11', which is not a number"),
        ("0 0 30 2 *", "cron line '0 0 30 2 *' never fires: day-of-month '30'"),
        ("0 0 31 4,6,9,11 *", "cron line '0 0 31 4,6,9,11 *' never fires"),
        ("@reboot", "unknown cron alias '@reboot'; use one of @yearly"),
        ("*" * 10_000, "cron line is 10000 characters long, at most 100 are allowed"),
    ],
)
def test_a_bad_line_is_one_line_naming_the_wrong_part(line: str, message: str) -> None:
    with pytest.raises(CronSyntaxError) as caught:
        parse_cron(line, "UTC")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize("zone", ["Mars/Base", "", "America", "../etc/passwd", "localtime"])
def test_an_unknown_zone_is_named(zone: str) -> None:
    with pytest.raises(UnknownTimeZoneError, match="unknown time zone"):
        parse_cron("0 * * * *", zone)


def test_mars_base_message_is_exact() -> None:
    with pytest.raises(UnknownTimeZoneError) as caught:
        parse_cron("0 * * * *", "Mars/Base")
    assert str(caught.value) == "unknown time zone 'Mars/Base'"


@pytest.mark.parametrize(
    ("alias", "same_as"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@MIDNIGHT", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_aliases_fire_like_their_five_fields(alias: str, same_as: str) -> None:
    start = utc(2026, 1, 1)
    assert next_n(parse_cron(alias, "UTC"), start, 3) == next_n(
        parse_cron(same_as, "UTC"), start, 3
    )


def test_names_sunday_seven_and_whitespace_normalise() -> None:
    spec = parse_cron("  30   2 * JAN-mar  Mon-FRI ", "Europe/Berlin")
    assert spec.expression == "30 2 * JAN-mar Mon-FRI"
    assert spec == parse_cron("30 2 * JAN-mar Mon-FRI", "Europe/Berlin")
    assert parse_cron("0 0 * * 7", "UTC").fields[4].values == {0}
    assert parse_cron("0 0 * * sun", "UTC").fields[4].values == {0}


def test_constructing_a_spec_directly_validates_it() -> None:
    with pytest.raises(CronSyntaxError):
        CronSpec("0 99 * * *", "UTC")


def test_full_ranges_count_as_unrestricted_for_the_day_rule() -> None:
    """``1-31`` means ``*``, so ``0 0 1-31 * 1`` fires on Mondays only, like ``0 0 * * 1``."""
    start = utc(2026, 6, 1)
    firings = day_of_firings("0 0 1-31 * 1", "UTC", start, 24 * 14)
    assert firings == day_of_firings("0 0 * * 1", "UTC", start, 24 * 14)
    assert len(firings) == 2


def test_both_day_fields_restricted_means_either() -> None:
    firings = day_of_firings("0 12 13 * 5", "UTC", utc(2026, 2, 1), 24 * 28)
    assert [f.day for f in firings] == [6, 13, 20, 27]  # Fridays, and the 13th (also a Friday)
    firings = day_of_firings("0 12 1 * 1", "UTC", utc(2026, 5, 31), 24 * 7)
    assert [f.day for f in firings] == [1]  # June 1st 2026 is a Monday: one firing, not two


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(parse_cron("0 * * * *", "UTC"), datetime(2026, 1, 1))


# --- plain firing ------------------------------------------------------------------------------


def test_next_fire_is_strictly_after_and_in_utc() -> None:
    spec = parse_cron("30 2 * * *", "Europe/Berlin")
    first = next_fire(spec, utc(2026, 6, 1))
    assert first == utc(2026, 6, 1, 0, 30)
    assert first.tzinfo is UTC
    assert next_fire(spec, first) == utc(2026, 6, 2, 0, 30)
    assert next_fire(spec, first - timedelta(microseconds=1)) == first


def test_after_may_be_in_any_zone() -> None:
    spec = parse_cron("0 9 * * *", "Asia/Kathmandu")
    after = datetime(2026, 6, 1, 8, 0, tzinfo=ZoneInfo("Asia/Kathmandu"))
    assert next_fire(spec, after) == utc(2026, 6, 1, 3, 15)  # +05:45


def test_feb_29_fires_only_in_leap_years() -> None:
    spec = parse_cron("0 0 29 2 *", "UTC")
    assert next_fire(spec, utc(2026, 1, 1)) == utc(2028, 2, 29)


# --- DST: the change days of 2026 -----------------------------------------------------------------


def test_new_york_spring_forward_daily_fixed_time_runs_right_after_the_gap() -> None:
    firings = day_of_firings("30 2 * * *", "America/New_York", utc(2026, 3, 7), 72)
    # 02:30 EST, then 03:00 EDT (02:30 does not exist on Mar 8), then 02:30 EDT
    assert firings == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
    assert firings[1].astimezone(ZoneInfo("America/New_York")).hour == 3


def test_new_york_fall_back_daily_fixed_time_outside_the_repeat_is_unchanged() -> None:
    firings = day_of_firings("30 2 * * *", "America/New_York", utc(2026, 10, 31), 72)
    assert firings == [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)]


def test_berlin_spring_forward_daily_fixed_time_runs_at_three() -> None:
    firings = day_of_firings("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28), 72)
    assert firings == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]


def test_berlin_fall_back_daily_fixed_time_in_the_repeat_fires_once() -> None:
    """02:30 happens twice in Berlin on Oct 25 (CEST then CET): only the first one fires."""
    firings = day_of_firings("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24), 72)
    assert firings == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_new_york_fall_back_one_thirty_fires_once_at_the_first_pass() -> None:
    spec = parse_cron("30 1 * * *", "America/New_York")
    nov1 = list(fires_between(spec, utc(2026, 11, 1, 4), utc(2026, 11, 2, 4), 10))
    assert nov1 == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT; not 06:30 UTC (01:30 EST)
    assert next_fire(spec, nov1[0]) == utc(2026, 11, 2, 6, 30)


def test_a_fixed_hour_schedule_asked_during_the_second_pass_skips_it() -> None:
    spec = parse_cron("*/10 1 * * *", "America/New_York")
    assert next_fire(spec, utc(2026, 11, 1, 6, 5)) == utc(2026, 11, 2, 6, 0)


def test_every_thirty_minutes_across_fall_back_keeps_thirty_minutes_of_elapsed_time() -> None:
    zone = "America/New_York"
    firings = day_of_firings("*/30 * * * *", zone, utc(2026, 11, 1, 4), 25)  # the 25-hour day
    assert len(firings) == len(set(firings)) == 50
    assert {b - a for a, b in pairwise(firings)} == {timedelta(minutes=30)}
    walls = [f.astimezone(ZoneInfo(zone)).strftime("%H:%M") for f in firings[1:7]]
    assert walls == ["01:00", "01:30", "01:00", "01:30", "02:00", "02:30"]


def test_hourly_across_spring_forward_skips_the_missing_hour() -> None:
    firings = day_of_firings("0 * * * *", "America/New_York", utc(2026, 3, 8, 5), 23)
    assert len(firings) == 23
    assert {b - a for a, b in pairwise(firings)} == {timedelta(hours=1)}


def test_lord_howe_half_hour_shifts() -> None:
    # Apr 5: 02:00 (+11) becomes 01:30 (+10:30) at 15:00 UTC; 01:45 happens twice
    assert day_of_firings("45 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4), 24) == [
        utc(2026, 4, 4, 14, 45)
    ]
    interval = day_of_firings("15,45 * * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 14), 2)
    assert interval == [utc(2026, 4, 4, 14, m) for m in (15, 45)] + [
        utc(2026, 4, 4, 15, m)
        for m in (15, 45)  # 01:45 again at +10:30, then 02:15
    ]
    # Oct 4: 02:00 (+10:30) becomes 02:30 (+11) at 15:30 UTC; 02:15 does not exist
    assert day_of_firings("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3), 24) == [
        utc(2026, 10, 3, 15, 30)
    ]


def test_chatham_gap_of_an_hour_at_a_quarter_to() -> None:
    # Sep 27: 02:45 (+12:45) becomes 03:45 (+13:45) at 14:00 UTC
    spec = parse_cron("0 3 * * *", "Pacific/Chatham")
    fired = next_fire(spec, utc(2026, 9, 26, 12))
    assert fired == utc(2026, 9, 26, 14, 0)
    assert fired.astimezone(spec.zone).strftime("%H:%M") == "03:45"


def test_several_skipped_wall_times_collapse_into_one_firing() -> None:
    firings = day_of_firings("0,15,30,45 2,3 * * *", "America/New_York", utc(2026, 3, 8, 5), 4)
    assert firings[0] == utc(2026, 3, 8, 7, 0)  # 02:00-02:45 and 03:00 together: one run
    assert firings[1] == utc(2026, 3, 8, 7, 15)


def test_next_n_shows_both_passes_with_their_offsets() -> None:
    spec = parse_cron("*/30 * * * *", "America/New_York")
    pairs = next_n(spec, utc(2026, 11, 1, 5), 4)
    shown = [local.strftime("%H:%M %Z") for local, _ in pairs]
    assert shown == ["01:30 EDT", "01:00 EST", "01:30 EST", "02:00 EST"]
    assert [moment for _, moment in pairs] == [utc(2026, 11, 1, h, m) for h, m in _hm(5, 30, 4)]


def _hm(hour: int, minute: int, count: int) -> list[tuple[int, int]]:
    steps = [hour * 60 + minute + 30 * i for i in range(count)]
    return [(s // 60, s % 60) for s in steps]


def test_fires_between_is_open_at_start_closed_at_end_and_limited() -> None:
    spec = parse_cron("0 * * * *", "UTC")
    assert list(fires_between(spec, utc(2026, 1, 1, 0), utc(2026, 1, 1, 3), 10)) == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 3),
    ]
    assert len(list(fires_between(spec, utc(2026, 1, 1), utc(2027, 1, 1), 5))) == 5


@pytest.mark.parametrize(
    ("expr", "zone", "days"),
    [
        ("* * * * *", "UTC", 1),
        ("0 0 1 * *", "Europe/Berlin", 40),
        ("*/7 * * * *", "Australia/Lord_Howe", 1),
        ("30 1 * * *", "America/New_York", 10),
    ],
)
def test_last_fire_is_the_newest_firing_in_the_window(expr: str, zone: str, days: int) -> None:
    spec = parse_cron(expr, zone)
    end = utc(2026, 11, 1, 6, 40, 30)  # New York's second 01:40
    start = end - timedelta(days=days)
    assert last_fire(spec, start, end) == list(fires_between(spec, start, end, 100_000))[-1]
    assert last_fire(spec, end, end + timedelta(seconds=1)) is None


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("30 2 * * *", "at 02:30 every day"),
        ("*/30 * * * *", "every 30 minutes"),
        ("0 * * * 1-5", "at minute 0 past every hour on Monday through Friday"),
        ("@daily", "at 00:00 every day"),
        ("0 9,17 * * *", "at 09:00 and 17:00 every day"),
        (
            "*/15 9-17 * * mon-fri",
            "every 15 minutes between 09:00 and 17:59 on Monday through Friday",
        ),
        ("0 */2 * * *", "at minute 0 past every 2 hours"),
        ("0 0 1 jan,jul *", "at 00:00 on day 1 of the month in January and July"),
        ("0 0 13 * 5", "at 00:00 on day 13 of the month or on Friday"),
        ("0 8 * * sat,sun", "at 08:00 on Saturday and Sunday"),
        ("* * * * *", "every minute"),
        ("1-10 1,3,5 * * *", "at minutes 1-10 past hours 1, 3 and 5"),
    ],
)
def test_describe_reads_like_english(line: str, text: str) -> None:
    assert describe(parse_cron(line, "UTC")) == text


# --- property test against a brute-force oracle ------------------------------------------------

TRANSITIONS = {
    "America/New_York": [utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)],
    "Australia/Lord_Howe": [utc(2026, 4, 4, 15), utc(2026, 10, 3, 15, 30)],
    "Pacific/Chatham": [utc(2026, 4, 4, 14), utc(2026, 9, 26, 14)],
    "Asia/Kathmandu": [utc(2026, 3, 1), utc(2026, 9, 1)],  # no DST: plain days
    "America/Santiago": [utc(2026, 4, 5, 3), utc(2026, 9, 6, 4)],  # changes at 24:00
    "Antarctica/Troll": [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)],  # +00 <-> +02
}


def test_the_oracle_windows_sit_on_real_transitions() -> None:
    for name, moments in TRANSITIONS.items():
        zone = ZoneInfo(name)
        changes = [
            m.astimezone(zone).utcoffset() != (m - MINUTE).astimezone(zone).utcoffset()
            for m in moments
        ]
        assert changes == [name != "Asia/Kathmandu"] * 2, name


def _field(
    values: st.SearchStrategy[int], low: int, high: int
) -> st.SearchStrategy[frozenset[int]]:
    every = st.just(frozenset(range(low, high + 1)))
    listed = st.frozensets(values, min_size=1, max_size=4)
    steps = st.sampled_from([2, 3, 5, 10, 15, 20, 30]).map(
        lambda s: frozenset(range(low, high + 1, s))
    )
    return st.one_of(every, listed, steps) if high == 59 else st.one_of(every, every, listed)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[str, list[frozenset[int]]]:
    minutes = draw(_field(st.integers(0, 59), 0, 59))
    near_changes = st.one_of(st.integers(0, 4), st.integers(22, 23), st.integers(0, 23))
    hours = draw(_field(near_changes, 0, 23))  # changes happen between 22:00 and 04:00
    if len(minutes) == 60 and len(hours) > 3:
        hours = frozenset({0, 1, 2, 3})  # keep every-minute windows small enough to walk
    days = draw(
        st.one_of(
            st.just(frozenset(range(1, 32))),
            st.frozensets(st.integers(1, 31), min_size=1, max_size=3),
        )
    )
    weekdays = draw(
        st.one_of(
            st.just(frozenset(range(7))), st.frozensets(st.integers(0, 6), min_size=1, max_size=3)
        )
    )
    sets = [minutes, hours, days, frozenset(range(1, 13)), weekdays]
    return " ".join(
        _render(s, low, high) for s, (low, high) in zip(sets, BOUNDS, strict=True)
    ), sets


BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _render(values: frozenset[int], low: int, high: int) -> str:
    """The shortest spelling: ``*``, ``*/n`` or a list (lines are limited to 100 characters)."""
    for step in range(1, high - low + 1):
        if values == frozenset(range(low, high + 1, step)):
            return "*" if step == 1 else f"*/{step}"
    return ",".join(map(str, sorted(values)))


def _matches(sets: list[frozenset[int]], wall: datetime) -> bool:
    minutes, hours, days, months, weekdays = sets
    if wall.minute not in minutes or wall.hour not in hours or wall.month not in months:
        return False
    day_ok, week_ok = wall.day in days, (wall.isoweekday() % 7) in weekdays
    if len(days) < 31 and len(weekdays) < 7:
        return day_ok or week_ok
    return day_ok and week_ok


def oracle(
    sets: list[frozenset[int]], zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """Firings in (start, end], found by reading the wall clock at every UTC minute.

    Rules: a matching wall time fires; for a fixed-hour schedule, not in the second pass of a
    repeated period, and any matching wall time skipped by a forward change fires at the change.
    """
    fixed = len(sets[1]) < 24
    out: list[datetime] = []
    moment = start + MINUTE
    before = start.astimezone(zone)
    while moment <= end:
        local = moment.astimezone(zone)
        wall = local.replace(tzinfo=None)
        repeated = local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
        fires = _matches(sets, wall) and not (fixed and repeated)
        skipped = local.utcoffset() - before.utcoffset()  # type: ignore[operator]
        if fixed and skipped > timedelta(0):
            first_skipped = before.replace(tzinfo=None) + MINUTE
            fires = fires or any(
                _matches(sets, first_skipped + MINUTE * k) for k in range(skipped // MINUTE)
            )
        if fires:
            out.append(moment)
        before, moment = local, moment + MINUTE
    return out


@pytest.mark.parametrize("zone_name", sorted(TRANSITIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=schedules(),
    which=st.integers(0, 1),
    shift_minutes=st.integers(-26 * 60, 2 * 60),
    probe_seconds=st.integers(0, 28 * 3600),
)
def test_firings_equal_the_minute_by_minute_oracle(
    zone_name: str,
    schedule: tuple[str, list[frozenset[int]]],
    which: int,
    shift_minutes: int,
    probe_seconds: int,
) -> None:
    text, sets = schedule
    spec = parse_cron(text, zone_name)
    start = TRANSITIONS[zone_name][which] + timedelta(minutes=shift_minutes)
    end = start + timedelta(hours=28)
    expected = oracle(sets, spec.zone, start, end)
    assert list(fires_between(spec, start, end, 10_000)) == expected, text
    probe = start + timedelta(seconds=probe_seconds)
    later = [moment for moment in expected if moment > probe]
    if later:
        assert next_fire(spec, probe) == later[0], (text, probe)
    assert last_fire(spec, start, end) == (expected[-1] if expected else None), text
