"""New job, re-run, edit and cancel: the same keys on the jobs list and on a job's detail.

:class:`JobActions` is owned by a screen; the screen calls it from its actions and merges
:attr:`JobActions.handlers` into its worker routing, so results land back on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.notifications import SeverityLevel
from textual.screen import Screen

from otter_tui.services.jobs import ALL_CONFIGURATION, JobView
from otter_tui.services.plans import PlanView
from screens.background import run_blocking
from screens.context import ConsoleContext
from screens.job_edit import edit_form
from screens.job_form import PlanPickerModal, SubmittedJob, job_form
from screens.messages import JobsChanged, ShowJobInList
from screens.modals import ConfirmModal

WAITING_WORDS = {
    "queued": "queued",
    "pending_approval": "waits for approval",
    "scheduled": "scheduled",
}


class JobActions:
    """Starts the flows; their results come back through :attr:`handlers`."""

    def __init__(self, screen: Screen[Any], ctx: ConsoleContext) -> None:
        self.screen = screen
        """Where modals are pushed, workers run and messages are posted."""
        self.ctx = ctx
        """The services and the runner."""
        self._prefill: JobView | None = None
        self._editing: JobView | None = None
        self.handlers: dict[str, Callable[[Any], None]] = {
            "job-plans": self._plans_loaded,
            "job-edit-plans": self._edit_plans_loaded,
            "job-cancel": self._cancelled,
            "job-create": self._created,
        }
        """Worker group -> result handler, for the screen's ``route_result``."""

    # new job and re-run ---------------------------------------------------------------------

    def new_job(self, prefill: JobView | None = None) -> None:
        """Pick a plan (or take ``prefill``'s) and open the job form."""
        self._prefill = prefill
        runtime = self.ctx.runtime

        def allowed_plans() -> list[PlanView]:
            runtime.ctx.check("jobs.run")  # refused before the form is filled, not after
            return runtime.plans.list()

        run_blocking(self.screen, allowed_plans, group="job-plans", exclusive=True)

    def new_job_for(self, plan: PlanView) -> None:
        """The job form for ``plan`` straight away (from the Plans section)."""
        self._prefill = None
        self._open_form(plan)

    def rerun(self, view: JobView) -> None:
        """The job form filled from ``view``; a drift job is created again as it was."""
        if view.plan_key != ALL_CONFIGURATION:
            self.new_job(prefill=view)
            return
        jobs = self.ctx.runtime.jobs
        remediate = view.plan_name == "drift remediation"

        def again() -> SubmittedJob:
            created = jobs.create_drift(
                view.targets, remediate=remediate, simulation=view.simulation
            )
            return SubmittedJob(created)

        run_blocking(self.screen, again, group="job-create")

    def edit(self, view: JobView) -> None:
        """The edit form of a waiting job (``jobs.run`` asked first)."""
        self._editing = view
        runtime = self.ctx.runtime

        def allowed_plans() -> list[PlanView]:
            runtime.ctx.check("jobs.run")
            return runtime.plans.list()

        run_blocking(self.screen, allowed_plans, group="job-edit-plans", exclusive=True)

    def _edit_plans_loaded(self, plans: list[PlanView]) -> None:
        view = self._editing
        plan = next((p for p in plans if view and p.key == view.plan_key), None)
        if view is None or plan is None:
            self._say("this job's plan is gone or it is a drift job: nothing to edit", "error")
            return
        self.screen.app.push_screen(edit_form(self.ctx.runtime, plan, view), self._edited)

    def _edited(self, view: JobView | None) -> None:
        if view is not None:
            self._say(f"job {view.id} edited: {WAITING_WORDS.get(view.state, view.state)}")
            self.screen.post_message(JobsChanged(select=view.id))

    def _plans_loaded(self, plans: list[PlanView]) -> None:
        prefill = self._prefill
        if prefill is None:
            self.screen.app.push_screen(PlanPickerModal(plans), self._open_form)
            return
        plan = next((p for p in plans if p.key == prefill.plan_key), None)
        if plan is None:
            self._say(f"plan '{prefill.plan_name}' no longer exists", "error")
        else:
            self._open_form(plan)

    def _open_form(self, plan: PlanView | None) -> None:
        if plan is not None:
            form = job_form(self.ctx, plan, self._prefill)
            self.screen.app.push_screen(form, self._submitted)

    def _submitted(self, result: SubmittedJob | None) -> None:
        if result is not None:
            self._created(result)

    def _created(self, result: SubmittedJob) -> None:
        view, runner = result.view, self.ctx.runner
        if runner is not None and result.claimed:
            runner.launch(view.id, result.secrets)
        elif runner is not None:
            runner.notify()
        state = WAITING_WORDS.get(view.state, view.state)
        self._say(f"job {view.id} ({view.plan_name}) {state}")
        self.screen.post_message(JobsChanged(select=view.id))
        self.screen.app.post_message(ShowJobInList(view.id))

    # cancel -----------------------------------------------------------------------------------

    def cancel(self, view: JobView) -> None:
        """Ask, then cancel ``view`` (a running one is asked to stop)."""
        if view.state not in {"pending_approval", "scheduled", "queued", "running"}:
            self._say(f"job {view.id} has already finished ({view.state})", "warning")
            return
        what = "Its running server runs are asked to stop." if view.state == "running" else ""
        state = view.state.replace("_", " ")
        question = f"Cancel job {view.id} ({view.plan_name}, {state})?\n\n{what}".rstrip()
        modal = ConfirmModal(question, confirm_label="Cancel job", deny_label="Keep it")
        jobs, job_id = self.ctx.runtime.jobs, view.id

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self.screen, lambda: jobs.cancel(job_id), group="job-cancel")

        self.screen.app.push_screen(modal, answered)

    def _cancelled(self, view: JobView) -> None:
        stopped_here = self.ctx.runner is not None and self.ctx.runner.cancel(view.id)
        if view.state == "running":
            where = "" if stopped_here else " (its worker stops it at its next heartbeat)"
            self._say(f"job {view.id}: cancel requested{where}")
        else:
            self._say(f"job {view.id} cancelled")
        self.screen.post_message(JobsChanged(select=view.id))

    def _say(self, line: str, severity: SeverityLevel = "information") -> None:
        self.screen.notify(line, severity=severity, markup=False)
