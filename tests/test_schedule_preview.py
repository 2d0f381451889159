"""The schedule preview the console shows while a cron line is typed: firings in the zone and in
UTC, the days on which the zone's offset changes marked; and each schedule's last result."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from otter_tui.errors import UsageError
from otter_tui.scheduling import offset_changes_on
from otter_tui.services.schedule_views import preview
from otter_tui.services.schedules import ScheduleFields
from otter_tui.store.models import FiringState, ScheduleFiring
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR

AFTER = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
"""Not "now": the preview is asked about the firings after this moment."""


@pytest.mark.parametrize(
    ("zone", "day", "changes"),
    [
        ("Europe/Paris", date(2026, 3, 29), True),
        ("Europe/Paris", date(2026, 3, 28), False),
        ("America/New_York", date(2026, 11, 1), True),
        ("Pacific/Chatham", date(2026, 4, 5), True),
        ("Asia/Kathmandu", date(2026, 3, 29), False),
        ("America/Santiago", date(2026, 9, 6), True),
    ],
)
def test_offset_changes_on_marks_the_local_days_of_a_change(
    zone: str, day: date, changes: bool
) -> None:
    assert offset_changes_on(ZoneInfo(zone), day) is changes


def test_preview_lists_the_next_firings_with_the_dst_day_marked() -> None:
    shown = preview("30 2 * * *", "Europe/Paris", AFTER, 10)
    assert shown.description == "at 02:30 every day"
    assert len(shown.firings) == 10
    marked = [f.local.date() for f in shown.firings if f.dst_day]
    assert marked == [date(2026, 3, 29)]
    skipped = next(f for f in shown.firings if f.dst_day)
    assert (skipped.local.hour, skipped.local.minute, skipped.utc.hour) == (3, 0, 1)


def test_preview_refuses_a_bad_line_with_the_parser_message() -> None:
    with pytest.raises(UsageError, match="minute"):
        preview("61 * * * *", "UTC", AFTER)


def test_last_firings_gives_each_schedule_its_newest_firing(tmp_path: Path) -> None:
    clock = FixedClock()
    rt = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    try:
        rt.plans.set_enabled(DEPLOY, True)
        fields = ScheduleFields(
            plan=DEPLOY,
            cron="@daily",
            targets=TargetSpec(roles=("demo",)),
            variables={"version": "1"},
        )
        first, second = rt.schedules.add("a", fields), rt.schedules.add("b", fields)
        with rt.db.transaction() as s:
            for hours, state in ((48, FiringState.MISSED), (24, FiringState.SKIPPED)):
                due = clock.now - timedelta(hours=hours)
                s.add(ScheduleFiring(schedule_id=first.id, due_at=due, state=state, note="x"))
        last = rt.schedules.last_firings()
        assert set(last) == {first.id}
        assert last[first.id].result == "skipped: x"
        assert second.id not in last
        assert rt.schedules.last_firings([second.id]) == {}
        assert set(rt.schedules.last_firings([first.id, second.id])) == {first.id}
    finally:
        rt.close()
