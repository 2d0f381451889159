"""The templates service: what is refused at save (one line naming the bad part), what a run
creates, that sensitive values and trigger keys never reach the database, and who a trigger
runs as."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from otter_tui.services.templates import Overrides, TemplateFields, TemplateService
from otter_tui.store.models import AuditEvent, Job, JobTemplate
from otter_tui.targeting import TargetSpec
from tests.fixtures_scheduler import TICK, World, make_world

pytestmark = pytest.mark.both_stores


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


def database_files(world: World) -> bytes:
    """Every byte of the SQLite database, its WAL and shared-memory files included."""
    return b"".join(p.read_bytes() for p in world.rt.settings.data_dir.glob("otter.db*"))


def service(world: World) -> TemplateService:
    return world.rt.templates


def add(world: World, name: str = "greet", **fields: object) -> None:
    fields.setdefault("plan", TICK)
    service(world).add(name, TemplateFields(**fields))  # type: ignore[arg-type]


def jobs(world: World) -> list[Job]:
    with world.rt.db.session() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def audit_actions(world: World) -> list[tuple[str, str]]:
    with world.rt.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "template"))
        return [(e.action, e.actor) for e in rows]


# --- save-time refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        (dict(plan="nope.Nope"), UsageError, "unknown plan 'nope.Nope'"),
        (dict(plan="conf.Conf"), UsageError, "configuration plan 'Conf' needs targets"),
        (dict(variables={"colour": "red"}), UsageError, "unknown variable 'colour'"),
        (dict(queue="elsewhere"), UsageError, "may not use queue 'elsewhere'"),
        (dict(targets=TargetSpec(roles=("nope",))), UsageError, "nope"),
        (
            dict(plan="secret.Secretive", variables={"token": "hunter2"}),
            UsageError,
            "variable 'token' of plan 'Secretive' is sensitive: a template never stores it",
        ),
    ],
)
def test_bad_template_is_refused_in_one_line_and_not_saved(
    world: World, fields: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        add(world, **fields)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert service(world).list_templates() == []


def test_a_disabled_plan_cannot_be_saved_in_a_template(world: World) -> None:
    world.rt.plans.set_enabled(TICK, False)
    with pytest.raises(ConflictError, match="plan 'Tick' is disabled: enable it first"):
        add(world)


def test_names_are_unique_and_checked(world: World) -> None:
    add(world)
    with pytest.raises(ConflictError, match="template 'greet' already exists"):
        add(world)
    with pytest.raises(UsageError, match="invalid template name"):
        add(world, "bad name")


def test_a_user_without_templates_edit_cannot_save(world: World) -> None:
    world.rt.users.add("bob")
    bob = TemplateService(world.rt.ctx.as_user("bob"), world.rt.plans)
    with pytest.raises(PermissionDenied, match=r"lacks permission 'templates\.edit'"):
        bob.add("greet", TemplateFields(plan=TICK))


# --- reading, editing, removing --------------------------------------------------------------


def test_add_show_edit_remove_with_audit(world: World) -> None:
    add(world, variables={"word": "hello"}, simulation=True, description="say hello")
    view = service(world).show("greet")
    assert (view.plan_name, view.variables, view.simulation) == ("Tick", {"word": "hello"}, True)
    assert view.owner == "alice" and not view.has_trigger_key
    edited = service(world).edit("greet", TemplateFields(simulation=False))
    assert edited.simulation is False and edited.variables == {"word": "hello"}
    service(world).remove("greet")
    with pytest.raises(NotFoundError, match="unknown template 'greet'"):
        service(world).show("greet")
    actions = [a for a, _ in audit_actions(world)]
    assert actions == ["template.add", "template.edit", "template.remove"]


# --- running ---------------------------------------------------------------------------------


def test_run_creates_a_job_with_the_templates_values(world: World) -> None:
    add(world, variables={"word": "hello"}, simulation=True)
    result = service(world).run("greet")
    job = jobs(world)[-1]
    assert job.id == result.job.id and job.template_id == service(world).show("greet").id
    assert (job.plan_key, job.variables, job.simulation) == (TICK, {"word": "hello"}, True)
    assert job.requested_by == "alice"


def test_run_overrides_variables_targets_and_simulation(world: World) -> None:
    add(world, variables={"word": "hello"}, simulation=True)
    overrides = Overrides({"word": "bye"}, TargetSpec(roles=("demo",)), simulation=False)
    service(world).run("greet", overrides)
    job = jobs(world)[-1]
    assert job.variables == {"word": "bye"} and job.simulation is False
    assert TargetSpec.from_dict(job.targets).roles == ("demo",)
    assert service(world).show("greet").variables == {"word": "hello"}


def test_a_sensitive_value_given_at_run_time_is_never_stored(world: World) -> None:
    add(world, "secretive", plan="secret.Secretive")
    result = service(world).run("secretive", secrets={"token": "hunter2-typed-now"})
    assert result.secrets == {"token": "hunter2-typed-now"}
    assert jobs(world)[-1].sensitive_names == ["token"]
    assert b"hunter2-typed-now" not in database_files(world)


def test_a_secret_for_a_plain_variable_is_refused(world: World) -> None:
    add(world)
    with pytest.raises(UsageError, match="'word' is not a sensitive variable of plan 'Tick'"):
        service(world).run("greet", secrets={"word": "x"})
    assert jobs(world) == []


# --- triggers --------------------------------------------------------------------------------


def test_a_trigger_key_runs_the_template_as_its_owner(world: World) -> None:
    add(world, variables={"word": "hello"})
    token = service(world).issue_trigger_key("greet")
    script = TemplateService(world.rt.ctx.as_user("cron-box"), world.rt.plans)
    result = script.trigger("greet", token, {"word": "from a script"})
    job = jobs(world)[-1]
    assert job.id == result.job.id and job.requested_by == "alice"
    assert job.variables == {"word": "from a script"}
    assert ("template.trigger", "cron-box") in audit_actions(world)


def test_a_bad_key_is_refused_in_one_line_and_audited(world: World) -> None:
    add(world)
    service(world).issue_trigger_key("greet")
    with pytest.raises(PermissionDenied) as caught:
        service(world).trigger("greet", "not-the-key")
    assert str(caught.value) == "bad trigger key for template 'greet'"
    assert jobs(world) == []
    assert ("template.trigger_refused", "alice") in audit_actions(world)


def test_a_template_without_a_key_cannot_be_triggered(world: World) -> None:
    add(world)
    with pytest.raises(PermissionDenied, match="bad trigger key"):
        service(world).trigger("greet", "")


def test_a_new_key_or_a_revoke_voids_the_old_key(world: World) -> None:
    add(world)
    old = service(world).issue_trigger_key("greet")
    new = service(world).issue_trigger_key("greet")
    with pytest.raises(PermissionDenied):
        service(world).trigger("greet", old)
    service(world).trigger("greet", new)
    service(world).revoke_trigger_key("greet")
    with pytest.raises(PermissionDenied):
        service(world).trigger("greet", new)


def test_another_user_editing_takes_ownership_and_voids_the_key(world: World) -> None:
    add(world)
    token = service(world).issue_trigger_key("greet")
    world.rt.users.add("bob", admin=True)
    bob = TemplateService(world.rt.ctx.as_user("bob"), world.rt.plans)
    view = bob.edit("greet", TemplateFields(description="mine now"))
    assert view.owner == "bob" and not view.has_trigger_key
    with pytest.raises(PermissionDenied):
        service(world).trigger("greet", token)


def test_the_key_is_stored_only_as_a_hash(world: World) -> None:
    add(world)
    token = service(world).issue_trigger_key("greet")
    world.rt.close()
    assert token.encode() not in database_files(world)
    with world.rt.db.session() as s:
        stored = s.scalar(select(JobTemplate.trigger_key_hash))
    assert stored is not None and stored.startswith("sha256:") and token not in stored
