"""The schedules service: what is refused (naming the bad part), what is stored, one-shots in a
zone, DST through the loop on real change days, approvals, permissions, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from otter_tui.errors import ConflictError, PermissionDenied, UsageError
from otter_tui.scheduling import CronSyntaxError, UnknownTimeZoneError
from otter_tui.services.context import ServiceContext
from otter_tui.services.schedules import ScheduleFields, ScheduleService
from otter_tui.store.models import AuditEvent, JobState
from otter_tui.targeting import TargetSpec
from tests.fixtures_scheduler import START, World, make_world

pytestmark = pytest.mark.both_stores


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        (dict(cron="30 25 * * *"), CronSyntaxError, "cron 'hour' field '25' is out of range"),
        (dict(cron="0 0 * * 8"), CronSyntaxError, "'day-of-week' field '8'"),
        (dict(cron="@reboot"), CronSyntaxError, "unknown cron alias '@reboot'"),
        (dict(timezone="Mars/Base"), UnknownTimeZoneError, "unknown time zone 'Mars/Base'"),
        (dict(cron=None), UsageError, "needs a cron line (--cron) or a single time (--at)"),
        (dict(at=datetime(2026, 12, 1, 3)), UsageError, "either a cron line or --at"),
        (dict(cron=None, at=datetime(2026, 11, 30, 11)), UsageError, "is not in the future"),
        (dict(misfire="sometimes"), UsageError, "unknown misfire policy 'sometimes'"),
        (dict(overlap="replace"), UsageError, "unknown overlap policy 'replace'"),
        (dict(misfire_cap=0), UsageError, "run_all cap must be at least 1"),
        (dict(grace_seconds=-1), UsageError, "grace must be 0 seconds or more"),
        (dict(plan="nope.Nope"), UsageError, "unknown plan 'nope.Nope'"),
        (dict(plan="conf.Conf"), UsageError, "configuration plan 'Conf' needs targets"),
        (dict(variables={"colour": "red"}), UsageError, "colour"),
        (dict(queue="elsewhere"), UsageError, "may not use queue 'elsewhere'"),
        (dict(targets=TargetSpec(roles=("nope",))), UsageError, "nope"),
        (
            dict(start=datetime(2026, 12, 2), end=datetime(2026, 12, 1)),
            UsageError,
            "is not after --start",
        ),
    ],
)
def test_bad_input_is_refused_naming_what_is_wrong(
    world: World, fields: dict[str, object], error: type[Exception], message: str
) -> None:
    fields = dict(fields)
    cron = fields.pop("cron", "0 3 * * *")
    with pytest.raises(error) as caught:
        world.add("s", cron, **fields)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert world.schedules.list_schedules() == []


def test_a_plan_with_sensitive_variables_cannot_be_scheduled(world: World) -> None:
    with pytest.raises(UsageError) as caught:
        world.add("s", plan="secret.Secretive")
    assert str(caught.value) == (
        "plan 'Secretive' has sensitive variables (token): it cannot be scheduled, because their "
        "values are never stored; run it now with 'otter-tui run'"
    )


def test_a_disabled_plan_cannot_be_scheduled(world: World) -> None:
    world.rt.plans.set_enabled("tick.Tick", False)
    with pytest.raises(ConflictError, match="disabled"):
        world.add("s")


def test_names_are_unique(world: World) -> None:
    world.add("s")
    with pytest.raises(ConflictError, match="schedule 's' already exists"):
        world.add("s")


def test_saving_needs_the_schedules_permission(world: World) -> None:
    world.rt.users.add("bob", permissions=("jobs.run",))
    bob = ScheduleService(world.rt.ctx.as_user("bob"), world.rt.plans)
    with pytest.raises(PermissionDenied, match=r"lacks permission 'schedules\.edit'"):
        bob.add("s", ScheduleFields(plan="tick.Tick", cron="* * * * *"))
    world.rt.users.grant("bob", "schedules.edit")
    assert bob.add("s", ScheduleFields(plan="tick.Tick", cron="* * * * *")).updated_by == "bob"


# --- what is stored --------------------------------------------------------------------------


def test_defaults_follow_the_plan_kind(world: World) -> None:
    orchestration = world.add("o")
    configuration = world.add("c", plan="conf.Conf", targets=TargetSpec(roles=("web",)))
    assert (orchestration.misfire_policy, orchestration.overlap_policy) == ("skip", "skip")
    assert (configuration.misfire_policy, configuration.overlap_policy) == ("run_once", "skip")
    assert (configuration.grace_seconds, configuration.misfire_cap) == (3600, 10)


def test_next_due_is_stored_in_utc_and_recomputed_on_change_only(world: World) -> None:
    view = world.add("s", "30 2 * * *", timezone="Europe/Berlin")
    assert view.next_due_at == utc(2026, 12, 1, 1, 30)
    world.fixed.now = START + timedelta(hours=1)
    assert world.schedules.show("s").next_due_at == utc(2026, 12, 1, 1, 30)
    edited = world.schedules.edit("s", ScheduleFields(timezone="America/New_York"))
    assert edited.next_due_at == utc(2026, 12, 1, 7, 30)
    assert world.schedules.edit("s", ScheduleFields(simulation=True)).next_due_at == utc(
        2026, 12, 1, 7, 30
    )


def test_enabling_again_owes_nothing_for_the_time_it_was_disabled(world: World) -> None:
    world.add("s", "0 * * * *")
    assert world.schedules.set_enabled("s", False).next_due_at is None
    world.fixed.now = START + timedelta(hours=5, minutes=10)
    assert world.schedules.set_enabled("s", True).next_due_at == START + timedelta(hours=6)


def test_start_and_end_bound_the_firings(world: World) -> None:
    world.add("s", "0 12 * * *", start=datetime(2026, 12, 3), end=datetime(2026, 12, 5, 12))
    upcoming = world.schedules.upcoming("s", 10)
    assert [moment for _, moment in upcoming.firings] == [
        utc(2026, 12, 3, 12),
        utc(2026, 12, 4, 12),
        utc(2026, 12, 5, 12),
    ]


def test_next_shows_zone_and_utc_with_the_rule_in_words(world: World) -> None:
    world.fixed.now = utc(2026, 10, 31, 12)
    world.add("s", "*/30 * * * *", timezone="America/New_York")
    upcoming = world.schedules.upcoming("s", 200)
    assert upcoming.description == "every 30 minutes"
    walls = [f"{local:%H:%M %Z}" for local, _ in upcoming.firings]
    first = walls.index("01:00 EDT")
    assert walls[first : first + 6] == [
        "01:00 EDT",
        "01:30 EDT",
        "01:00 EST",
        "01:30 EST",
        "02:00 EST",
        "02:30 EST",
    ]
    moments = [moment for _, moment in upcoming.firings]
    assert len(set(moments)) == len(moments)  # never twice for one UTC instant


def test_every_change_is_audited(world: World) -> None:
    world.add("s")
    world.schedules.edit("s", ScheduleFields(cron="0 * * * *"))
    world.schedules.set_enabled("s", False)
    world.schedules.remove("s")
    with world.rt.db.session() as s:
        actions = list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "schedule"))
        )
    assert actions == ["schedule.add", "schedule.edit", "schedule.disable", "schedule.remove"]


# --- one-shots: a time with a zone ----------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "zone", "instant"),
    [
        (datetime(2026, 12, 1, 3, 0), "Europe/Berlin", utc(2026, 12, 1, 2, 0)),
        (datetime(2027, 3, 28, 2, 30), "Europe/Berlin", utc(2027, 3, 28, 1, 0)),  # in the gap
        (datetime(2027, 10, 31, 2, 30), "Europe/Berlin", utc(2027, 10, 31, 0, 30)),  # repeated
        (
            datetime(2026, 12, 1, 3, 0, tzinfo=ZoneInfo("Asia/Kathmandu")),
            "UTC",
            utc(2026, 11, 30, 21, 15),
        ),
    ],
)
def test_a_one_shot_runs_at_its_wall_time_by_the_dst_rules(
    world: World, wall: datetime, zone: str, instant: datetime
) -> None:
    view = world.add("once", None, at=wall, timezone=zone)
    assert view.once_at == view.next_due_at == instant
    assert view.cron == ""


async def test_a_one_shot_fires_once_and_then_has_no_next(world: World) -> None:
    world.add("once", None, at=datetime(2026, 12, 1, 3, 0), timezone="Europe/Berlin")
    async with world.running("daemon"):
        world.set_time(utc(2026, 12, 1, 2, 0))
        await world.step(0)
        await world.step(86_400)
    assert world.states("once") == ["dispatched"]
    assert world.schedules.show("once").next_due_at is None
    assert len(world.jobs()) == 1


# --- DST through the loop: the stored next firing is where the loop wakes ------------------------


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        ("America/New_York", utc(2026, 3, 7, 12), [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]),
        (
            "America/New_York",
            utc(2026, 10, 31, 12),
            [utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)],
        ),
        ("Europe/Berlin", utc(2026, 3, 28, 12), [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]),
        (
            "Europe/Berlin",
            utc(2026, 10, 24, 12),
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
    ],
)
async def test_half_past_two_daily_on_both_change_days(
    tmp_path: Path, zone: str, start: datetime, expected: list[datetime]
) -> None:
    for world in make_world(tmp_path, start):
        world.add("nightly", "30 2 * * *", timezone=zone, overlap="parallel")
        async with world.running("daemon"):
            for _ in range(2 * 48):  # every half hour for two days
                await world.step(1800)
        assert [due for due, _, _ in world.firings("nightly")] == expected


async def test_every_thirty_minutes_across_fall_back_fires_at_each_real_instant(
    tmp_path: Path,
) -> None:
    for world in make_world(tmp_path, utc(2026, 11, 1, 4)):
        world.add("half", "*/30 * * * *", timezone="America/New_York", overlap="parallel")
        async with world.running("daemon"):
            for _ in range(8):
                await world.step(1800)
        dues = [due for due, _, _ in world.firings("half")]
        assert dues == [utc(2026, 11, 1, 4) + timedelta(minutes=30 * i) for i in range(1, 9)]
        local = [f"{d.astimezone(ZoneInfo('America/New_York')):%H:%M}" for d in dues]
        assert local == ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00", "02:30", "03:00"]


# --- approvals and permissions at firing time ----------------------------------------------------


async def test_an_approval_plan_fires_a_job_that_waits_until_the_next_occurrence(
    world: World,
) -> None:
    world.add("gated", "0 * * * *", plan="gated.Gated")
    async with world.running("daemon"):
        await world.step(3600)
    (job,) = world.jobs()
    assert job.state is JobState.PENDING_APPROVAL
    assert job.window_end == START + timedelta(hours=2)
    assert world.states("gated") == ["dispatched"]


async def test_a_firing_the_job_service_refuses_is_recorded_failed(world: World) -> None:
    world.add("tick")
    world.rt.plans.set_enabled("tick.Tick", False)
    async with world.running("daemon"):
        await world.step(60)
    (firing,) = world.schedules.firings("tick")
    assert firing.state == "failed"
    assert "disabled" in firing.note
    assert world.jobs() == []


def test_jobs_are_requested_as_whoever_last_saved_the_schedule(world: World) -> None:
    ctx: ServiceContext = world.rt.ctx
    view = world.add("s")
    assert (view.created_by, view.updated_by) == (ctx.actor, ctx.actor)
