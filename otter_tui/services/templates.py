"""Job templates: saved job fields (plan, targets, variables, simulation, queue) that pre-fill a
job, and a trigger key that lets a script create that job without a login of its own.

A template is checked when it is saved, with the checks a job gets (plan enabled and installed,
targets known, variables declared and well-formed, queue allowed), so a bad template is refused
at the keyboard, not when a script triggers it. A required variable may be left out: the person
or script that runs the template gives it then.

Sensitive variables are never stored: a template refuses a value for one, and ``run`` takes
their values (typed at run time) only to hand them to the process that runs the job.

The template's owner is the user who last saved it or issued its key; triggered jobs are
requested as the owner, with the owner's permissions at trigger time. When the owner changes,
the old key is revoked, so nobody can run jobs under another user's name with a key they hold.
The key itself is shown once; only its SHA-256 hash is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from otter_tui.plan import sensitive_names
from otter_tui.plan.variables import declared
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.jobs import JobRequest, JobService, JobView
from otter_tui.services.plans import PlanService, get_record
from otter_tui.services.queues import check_queue
from otter_tui.services.tokens import key_hash, new_token, token_matches
from otter_tui.store.models import JobTemplate, PlanKind, PlanRecord
from otter_tui.targeting import TargetSpec, resolve_targets


@dataclass(frozen=True)
class TemplateFields:
    """What a person sets on a template. On add, None takes the default; on edit, None keeps."""

    plan: str | None = None
    targets: TargetSpec | None = None
    variables: Mapping[str, str] | None = None
    """Non-sensitive values only; replaces the stored set when given."""
    simulation: bool | None = None
    """None on add: the plan's ``dryrun_default``."""
    queue: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Overrides:
    """What a run changes from the template: variables merge over its own, targets replace."""

    variables: Mapping[str, str] = field(default_factory=dict)
    targets: TargetSpec | None = None
    simulation: bool | None = None


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    plan_key: str
    plan_name: str
    targets: TargetSpec
    variables: dict[str, Any]
    simulation: bool
    queue: str
    description: str
    owner: str
    has_trigger_key: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["targets"] = self.targets.as_dict()
        return out


@dataclass(frozen=True)
class TemplateRun:
    """The job a template created, and sensitive values only the caller's process may hold."""

    job: JobView
    secrets: dict[str, Any] = field(default_factory=dict)


def template_view(row: JobTemplate) -> TemplateView:
    return TemplateView(
        id=row.id,
        name=row.name,
        plan_key=row.plan_key,
        plan_name=row.plan_name,
        targets=TargetSpec.from_dict(row.targets),
        variables=dict(row.variables),
        simulation=row.simulation,
        queue=row.queue_name,
        description=row.description,
        owner=row.created_by,
        has_trigger_key=bool(row.trigger_key_hash),
        created_at=row.created_at,
    )


def get_template(s: Session, name: str) -> JobTemplate:
    row = s.scalar(select(JobTemplate).where(JobTemplate.name == name))
    if row is None:
        raise NotFoundError(f"unknown template '{name}'")
    return row


def request_for(
    view: TemplateView, overrides: Overrides | None = None, secrets: Mapping[str, str] | None = None
) -> JobRequest:
    """The job a template asks for: its fields, with ``overrides`` and ``secrets`` over them."""
    given = overrides or Overrides()
    variables = {k: str(v) for k, v in view.variables.items()}
    variables.update(given.variables)
    variables.update(secrets or {})
    simulation = view.simulation if given.simulation is None else given.simulation
    return JobRequest(
        plan=view.plan_key,
        targets=given.targets if given.targets is not None else view.targets,
        variables=variables,
        simulation=simulation,
        queue=view.queue,
        template_id=view.id,
    )


class TemplateService:
    """Add, edit, remove, read, run and trigger job templates; the same checks for every door."""

    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans or PlanService(ctx)

    # reading ---------------------------------------------------------------------------------

    def list_templates(self) -> list[TemplateView]:
        with self.ctx.db.session() as s:
            query = select(JobTemplate).order_by(JobTemplate.name)
            return [template_view(r) for r in s.scalars(query)]

    def show(self, name: str) -> TemplateView:
        with self.ctx.db.session() as s:
            return template_view(get_template(s, name))

    # changing --------------------------------------------------------------------------------

    def add(self, name: str, fields: TemplateFields) -> TemplateView:
        check_name("template", name)
        if not fields.plan:
            raise UsageError("a template needs a plan")
        with self.ctx.db.transaction() as s:
            self._require(s)
            if s.scalar(select(JobTemplate.id).where(JobTemplate.name == name)) is not None:
                raise ConflictError(f"template '{name}' already exists")
            row = JobTemplate(name=name, created_by=self.ctx.actor, created_at=self.ctx.now())
            self._apply(s, row, fields, new=True)
            s.add(row)
            s.flush()
            self.ctx.audit(s, "template.add", "template", name, plan=row.plan_key)
            return template_view(row)

    def edit(self, name: str, fields: TemplateFields) -> TemplateView:
        with self.ctx.db.transaction() as s:
            self._require(s)
            row = get_template(s, name)
            self._apply(s, row, fields, new=False)
            self._take_ownership(row)
            self.ctx.audit(s, "template.edit", "template", name, plan=row.plan_key)
            return template_view(row)

    def remove(self, name: str) -> None:
        """Delete it; the jobs it created stay (their template link is cleared)."""
        with self.ctx.db.transaction() as s:
            self._require(s)
            s.delete(get_template(s, name))
            self.ctx.audit(s, "template.remove", "template", name)

    def issue_trigger_key(self, name: str) -> str:
        """A new key for scripts, returned this once; it replaces any earlier key."""
        token = new_token()
        with self.ctx.db.transaction() as s:
            self._require(s)
            row = get_template(s, name)
            row.created_by = self.ctx.actor
            row.trigger_key_hash = key_hash(token)
            self.ctx.audit(s, "template.key_issued", "template", name)
        return token

    def revoke_trigger_key(self, name: str) -> None:
        with self.ctx.db.transaction() as s:
            self._require(s)
            get_template(s, name).trigger_key_hash = ""
            self.ctx.audit(s, "template.key_revoked", "template", name)

    # running ---------------------------------------------------------------------------------

    def run(
        self,
        name: str,
        overrides: Overrides | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> TemplateRun:
        """Create the template's job as the acting user, with ``overrides`` and ``secrets``."""
        view = self.show(name)
        self._check_secret_names(view, secrets or {})
        return self._create(JobService(self.ctx, self.plans), view, overrides, secrets)

    def trigger(
        self, name: str, token: str, variables: Mapping[str, str] | None = None
    ) -> TemplateRun:
        """Create the template's job as its owner, if ``token`` is its trigger key."""
        with self.ctx.db.session() as s:
            row = get_template(s, name)
            stored, view = row.trigger_key_hash, template_view(row)
        if not token_matches(stored, token):
            self._audit_alone("template.trigger_refused", name)
            raise PermissionDenied(f"bad trigger key for template '{name}'")
        jobs = JobService(self.ctx.as_user(view.owner), self.plans)
        result = self._create(jobs, view, Overrides(variables=variables or {}), None)
        self._audit_alone("template.trigger", name, job=result.job.id, owner=view.owner)
        return result

    # checks ----------------------------------------------------------------------------------

    def _create(
        self,
        jobs: JobService,
        view: TemplateView,
        overrides: Overrides | None,
        secrets: Mapping[str, str] | None,
    ) -> TemplateRun:
        out: dict[str, Any] = {}
        job = jobs.create(request_for(view, overrides, secrets), secrets_out=out)
        return TemplateRun(job, out)

    def _require(self, s: Session) -> None:
        """Saving a template means asking for jobs later: it takes both permissions."""
        self.ctx.require(s, "templates.edit")
        self.ctx.require(s, "jobs.run")

    def _take_ownership(self, row: JobTemplate) -> None:
        """A new owner voids the old key: it would otherwise create jobs in the new name."""
        if row.created_by != self.ctx.actor:
            row.created_by, row.trigger_key_hash = self.ctx.actor, ""

    def _apply(self, s: Session, row: JobTemplate, fields: TemplateFields, *, new: bool) -> None:
        record = get_record(s, fields.plan) if fields.plan else self._record_of(s, row)
        if fields.plan or new:
            row.plan_id, row.plan_key, row.plan_name = record.id, record.key, record.name
        if fields.targets is not None or new:
            row.targets = (fields.targets or TargetSpec()).as_dict()
        if fields.variables is not None or new:
            row.variables = dict(fields.variables or {})
        if fields.simulation is not None or new:
            sim = fields.simulation
            row.simulation = record.dryrun_default if sim is None else sim
        if fields.queue is not None or new:
            row.queue_name = fields.queue or record.default_queue or "default"
        if fields.description is not None or new:
            row.description = fields.description or ""
        self._check(s, row, record)

    def _record_of(self, s: Session, row: JobTemplate) -> PlanRecord:
        record = s.get(PlanRecord, row.plan_id) if row.plan_id is not None else None
        if record is None:
            raise ConflictError(
                f"the plan of template '{row.name}' ({row.plan_name}) was deleted: "
                "set another plan with --plan"
            )
        return record

    def _check(self, s: Session, row: JobTemplate, record: PlanRecord) -> None:
        """The checks job creation makes, now, so a run or trigger does not fail on them."""
        if not record.installed:
            raise ConflictError(f"plan '{record.name}' is not installed (its file is gone)")
        if not record.enabled:
            raise ConflictError(f"plan '{record.name}' is disabled: enable it first")
        targets = TargetSpec.from_dict(row.targets)
        resolve_targets(targets, load_inventory(s))
        if record.kind is PlanKind.CONFIGURATION and targets.empty:
            raise UsageError(f"configuration plan '{record.name}' needs targets")
        check_queue(s, record, row.queue_name)
        self._check_variables(record, row.variables)

    def _check_variables(self, record: PlanRecord, given: Mapping[str, Any]) -> None:
        cls = self.plans.plan_class(record.key).cls
        decls = declared(cls)
        hidden = sorted(set(sensitive_names(cls)) & set(given))
        if hidden:
            raise UsageError(
                f"variable '{hidden[0]}' of plan '{record.name}' is sensitive: a template never "
                "stores it; give it when the template runs"
            )
        for name, value in given.items():
            if name not in decls:
                raise UsageError(f"unknown variable '{name}' for plan {record.name}")
            try:
                decls[name].convert(value)
            except ValueError as exc:
                raise UsageError(f"variable '{name}': {exc}") from None

    def _check_secret_names(self, view: TemplateView, secrets: Mapping[str, str]) -> None:
        """A value typed as secret must be for a sensitive variable, or it would be stored."""
        if not secrets:
            return
        hidden = set(sensitive_names(self.plans.plan_class(view.plan_key).cls))
        for name in secrets:
            if name not in hidden:
                raise UsageError(
                    f"'{name}' is not a sensitive variable of plan '{view.plan_name}': "
                    "give it as a variable"
                )

    def _audit_alone(self, action: str, name: str, **detail: Any) -> None:
        """Audit in a transaction of its own (a refusal must be recorded though it raises)."""
        with self.ctx.db.transaction() as s:
            self.ctx.audit(s, action, "template", name, **detail)


__all__ = [
    "Overrides",
    "TemplateFields",
    "TemplateRun",
    "TemplateService",
    "TemplateView",
    "key_hash",
]
