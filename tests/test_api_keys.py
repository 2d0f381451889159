"""API keys: shown once and stored only as a hash, owned by who issued them, limited to their
templates and environments, revocable, and the owner's permissions still apply at call time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.api_jobs import KeyedJobs
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.jobs import JobRequest
from otter_tui.services.templates import TemplateFields
from otter_tui.store.api_models import ApiKey
from otter_tui.store.models import AuditEvent
from otter_tui.targeting import TargetSpec
from tests.api_support import api_runtime
from tests.fixtures_core import ACTOR, FixedClock, db_file


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def rt(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, clock=clock)
    yield runtime
    runtime.close()


PROD1 = TargetSpec(servers=("prod1",))


def keys_as(rt: Runtime, user: str) -> ApiKeyService:
    return ApiKeyService(rt.ctx.as_user(user))


def test_a_key_is_shown_once_and_only_its_hash_is_stored(rt: Runtime, tmp_path: Path) -> None:
    view, token = rt.api_keys.add("ci", "trigger")
    assert (view.owner, view.scope, view.last_used_at) == (ACTOR, "trigger", None)
    assert len(token) >= 40
    rt.close()
    stored = b"".join(p.read_bytes() for p in db_file(tmp_path).parent.glob("otter.db*"))
    assert token.encode() not in stored
    assert b"sha256:" in stored


def test_authenticate_finds_the_key_and_notes_its_use(rt: Runtime, clock: FixedClock) -> None:
    _, token = rt.api_keys.add("ci", "view")
    assert rt.api_keys.authenticate(token).name == "ci"
    assert rt.api_keys.list_keys()[0].last_used_at == clock.now
    with pytest.raises(PermissionDenied, match="bad API key"):
        rt.api_keys.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_last_use_is_written_at_most_once_a_minute(rt: Runtime, clock: FixedClock) -> None:
    _, token = rt.api_keys.add("ci", "view")
    first = clock.now
    rt.api_keys.authenticate(token)
    clock.advance(30)
    rt.api_keys.authenticate(token)
    assert rt.api_keys.list_keys()[0].last_used_at == first
    clock.advance(31)
    rt.api_keys.authenticate(token)
    assert rt.api_keys.list_keys()[0].last_used_at == clock.now


def test_a_revoked_key_stops_working_and_stays_listed(rt: Runtime) -> None:
    _, token = rt.api_keys.add("ci", "view")
    rt.api_keys.revoke("ci")
    with pytest.raises(PermissionDenied):
        rt.api_keys.authenticate(token)
    assert rt.api_keys.list_keys()[0].revoked_at is not None
    with pytest.raises(ConflictError, match="already revoked"):
        rt.api_keys.revoke("ci")


def test_only_the_owner_or_a_user_manager_revokes(rt: Runtime) -> None:
    keys_as(rt, "bob").add("bobs", "trigger")
    with pytest.raises(PermissionDenied, match=r"users\.manage"):
        keys_as(rt, "carol").revoke("bobs")
    assert rt.api_keys.revoke("bobs").revoked_at is not None  # alice is an admin


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("ci", "admin"), UsageError, "unknown scope 'admin'"),
        (("bad name", "view"), UsageError, "invalid API key name"),
        (("ci", "view", ("nope",)), NotFoundError, "unknown template 'nope'"),
        (("ci", "view", (), ("staging",)), NotFoundError, "unknown environment 'staging'"),
    ],
)
def test_bad_keys_are_refused_naming_the_problem(
    rt: Runtime, args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        rt.api_keys.add(*args)  # type: ignore[arg-type]
    assert rt.api_keys.list_keys() == []


def test_an_unknown_user_cannot_issue_keys(rt: Runtime) -> None:
    with pytest.raises(PermissionDenied, match="'mallory' is not known"):
        keys_as(rt, "mallory").add("m", "trigger")


def test_a_key_bound_to_dev_reaches_dev_servers_only(rt: Runtime) -> None:
    view, _ = rt.api_keys.add("dev-only", "remediate", environments=("dev",))
    rt.api_keys.require_within(view, TargetSpec(environments=("dev",)))
    with pytest.raises(PermissionDenied, match="may not reach server 'prod1'"):
        rt.api_keys.require_within(view, TargetSpec(environments=("prod",)))
    with pytest.raises(PermissionDenied, match="a job with no server"):
        rt.api_keys.require_within(view, TargetSpec())


def test_a_key_bound_to_dev_triggers_a_template_on_dev_only(rt: Runtime) -> None:
    """The template is read in the job's transaction, and the key's limit checked there: a
    refused trigger writes no job."""
    view, _ = rt.api_keys.add("dev-only", "trigger", environments=("dev",))
    keyed = KeyedJobs(rt.ctx, rt.plans, view)
    rt.templates.add("on-prod", TemplateFields(plan="api_plans.Greet", targets=PROD1))
    dev = TargetSpec(environments=("dev",))
    rt.templates.add("on-dev", TemplateFields(plan="api_plans.Greet", targets=dev))
    with pytest.raises(PermissionDenied, match="may not reach server 'prod1'"):
        keyed.trigger("on-prod", {"who": "x"})
    assert rt.jobs.recent() == []
    job = keyed.trigger("on-dev", {"who": "x"})
    assert [j.id for j in rt.jobs.recent()] == [job.id]


def test_adding_and_revoking_are_audited(rt: Runtime) -> None:
    rt.api_keys.add("ci", "view")
    rt.api_keys.revoke("ci")
    with rt.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "api_key"))
        assert [(e.action, e.object_name) for e in rows] == [
            ("api_key.add", "ci"),
            ("api_key.revoke", "ci"),
        ]


def test_a_job_from_a_key_has_its_door_event_right_after_its_creation(rt: Runtime) -> None:
    view, _ = rt.api_keys.add("ci", "remediate")
    keyed = KeyedJobs(rt.ctx, rt.plans, view)
    rt.templates.add("greet", TemplateFields(plan="api_plans.Greet", targets=PROD1))
    jobs = [
        keyed.trigger("greet", {"who": "ci"}),
        keyed.create(JobRequest("api_plans.Greet", PROD1, {"who": "ci"})),
        keyed.remediate(PROD1, simulation=True),
    ]
    with rt.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "job"))
        events = [(e.id, e.action, e.object_name, e.detail) for e in rows]
    doors = ["api.trigger", "api.create", "api.remediate"]
    for job, door in zip(jobs, doors, strict=True):
        mine = [(i, action, detail) for i, action, name, detail in events if name == str(job.id)]
        assert [action for _, action, _ in mine] == ["job.create", door]
        assert mine[1][0] == mine[0][0] + 1  # written with the job: nothing in between
        assert mine[1][2]["key"] == "ci"
    assert rt.audit.verify().intact


# the command line ------------------------------------------------------------------------------


def test_keys_on_the_command_line(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(rt.settings.source)
    args = ["--config", config, "api", "keys"]
    code = run([*args, "add", "deploys", "--scope", "trigger", "--environment", "dev"], actor="bob")
    out, err = capsys.readouterr()
    token = out.strip()
    assert code == 0 and len(token) >= 40
    assert err == "API key deploys issued: scope trigger, owner bob\n"
    assert run([*args, "list", "--json"], actor="bob") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["owner"], k["environments"]) for k in listed] == [
        ("deploys", "bob", ["dev"])
    ]
    assert token not in json.dumps(listed)
    assert run([*args, "add", "deploys", "--scope", "view"], actor="bob") == 2
    assert capsys.readouterr().err == "otter-tui: error: API key 'deploys' already exists\n"
    assert run([*args, "revoke", "deploys"], actor="bob") == 0
    assert capsys.readouterr().out == "API key deploys revoked\n"
    with rt.db.session() as s:
        assert s.scalar(select(ApiKey.revoked_at)) is not None
