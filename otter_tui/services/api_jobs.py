"""Jobs asked for with an API key: created as the key's owner, within the key's limits.

The key's scope was checked by the HTTP layer; here are the rules about *what* it may start:
only its templates (when it lists some), only servers in its environments (when it lists some),
and never a sensitive value, which would have to be stored for the worker that runs the job and
so is refused (run such a plan from the console or ``otter-tui run``). Everything else (the
owner's permissions, approvals, the singleton rule) is the job service's, as for any door.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from otter_tui.errors import PermissionDenied, UsageError
from otter_tui.plan import sensitive_names
from otter_tui.services.api_keys import ApiKeyService, ApiKeyView
from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import DoorAudit, JobRequest, JobService, JobView
from otter_tui.services.plans import PlanService
from otter_tui.services.templates import Overrides, get_template, request_for, template_view
from otter_tui.targeting import TargetSpec


class KeyedJobs:
    """What one API key may start, acting as its owner."""

    def __init__(self, ctx: ServiceContext, plans: PlanService, key: ApiKeyView) -> None:
        self.key = key
        self.ctx = ctx.as_user(key.owner)
        self.plans = plans
        self.keys = ApiKeyService(self.ctx)

    def trigger(self, template: str, variables: Mapping[str, str]) -> JobView:
        """The template's job, with ``variables`` over its own."""
        if self.key.templates and template not in self.key.templates:
            raise PermissionDenied(
                f"template '{template}' is not open to API key '{self.key.name}'"
            )

        def request_in(s: Session) -> JobRequest:
            view = template_view(get_template(s, template))
            self._refuse_sensitive(view.plan_key, variables)
            self.keys.require_within(self.key, view.targets, s)
            return request_for(view, Overrides(variables=variables))

        return self._jobs().create(request_in, door=self._door("api.trigger", template))

    def create(self, request: JobRequest) -> JobView:
        self._refuse_sensitive(request.plan, request.variables)
        self.keys.require_within(self.key, request.targets)
        return self._jobs().create(request, door=self._door("api.create", request.plan))

    def remediate(self, targets: TargetSpec, *, simulation: bool, label: str = "") -> JobView:
        """A drift remediation of ``targets`` (Otter's remediate endpoint)."""
        self.keys.require_within(self.key, targets)
        door = self._door("api.remediate", targets.describe(), label=label)
        return self._jobs().create_drift(targets, remediate=True, simulation=simulation, door=door)

    def _refuse_sensitive(self, plan: str, variables: Mapping[str, str]) -> None:
        hidden = sorted(set(sensitive_names(self.plans.plan_class(plan).cls)) & set(variables))
        if hidden:
            raise UsageError(
                f"variable '{hidden[0]}' is sensitive: its value cannot be sent over the API "
                "(the worker would need it stored); run this plan from the console or the CLI"
            )

    def _jobs(self) -> JobService:
        return JobService(self.ctx, self.plans)

    def _door(self, action: str, name: str, **detail: str) -> DoorAudit:
        """The API's audit event for a job, written in the job's own transaction."""
        return action, {"key": self.key.name, "what": name, **detail}


__all__ = ["KeyedJobs"]
