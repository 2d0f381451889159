"""Build everything from config: settings, database, and the services every door shares.

The TUI, the CLI and the daemon all start here, so they see the same checks and the same data.
Nothing happens at import time; tests pass their own settings and clock.

Each service module is imported by the property that builds it, on first use: a start (the
console's first frame, one CLI command) pays only for the services it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from otter_tui.config import Settings, load_settings
from otter_tui.services.context import Clock, ServiceContext, current_user, system_clock
from otter_tui.store.db import Database, open_database, sqlite_path
from otter_tui.store.dsn import connect_url
from otter_tui.store.files import make_data_dir, world_readable_warning

if TYPE_CHECKING:
    from otter_tui.services.api_keys import ApiKeyService
    from otter_tui.services.approvals import ApprovalService
    from otter_tui.services.audit import AuditService
    from otter_tui.services.drift import DriftService
    from otter_tui.services.inventory import InventoryService
    from otter_tui.services.job_search import JobSearch
    from otter_tui.services.jobs import JobService
    from otter_tui.services.plans import PlanService
    from otter_tui.services.schedules import ScheduleService
    from otter_tui.services.templates import TemplateService
    from otter_tui.services.users import UserService
    from otter_tui.services.variables import VariableService


@dataclass
class Runtime:
    """The opened database and the services built on it."""

    settings: Settings
    db: Database
    ctx: ServiceContext

    @property
    def inventory(self) -> InventoryService:
        from otter_tui.services.inventory import InventoryService

        return InventoryService(self.ctx)

    @property
    def variables(self) -> VariableService:
        from otter_tui.services.variables import VariableService

        return VariableService(self.ctx, self.plans)

    @property
    def users(self) -> UserService:
        from otter_tui.services.users import UserService

        return UserService(self.ctx)

    @cached_property
    def plans(self) -> PlanService:
        """One per runtime: it caches the plan classes loaded from the plans dir."""
        from otter_tui.services.plans import PlanService

        return PlanService(self.ctx)

    @property
    def jobs(self) -> JobService:
        from otter_tui.services.jobs import JobService

        return JobService(self.ctx, self.plans)

    @property
    def schedules(self) -> ScheduleService:
        from otter_tui.services.schedules import ScheduleService

        return ScheduleService(self.ctx, self.plans)

    @property
    def templates(self) -> TemplateService:
        from otter_tui.services.templates import TemplateService

        return TemplateService(self.ctx, self.plans)

    @property
    def approvals(self) -> ApprovalService:
        from otter_tui.services.approvals import ApprovalService

        return ApprovalService(self.ctx, self.plans)

    @property
    def audit(self) -> AuditService:
        from otter_tui.services.audit import AuditService

        return AuditService(self.ctx)

    @property
    def drift(self) -> DriftService:
        from otter_tui.services.drift import DriftService

        return DriftService(self.ctx)

    @property
    def api_keys(self) -> ApiKeyService:
        from otter_tui.services.api_keys import ApiKeyService

        return ApiKeyService(self.ctx)

    def startup_warnings(self) -> list[str]:
        """What the console shows once at start: a database file every local user can read."""
        warning = world_readable_warning(sqlite_path(self.settings.database_url))
        return [warning] if warning else []

    @cached_property
    def search(self) -> JobSearch:
        """Filtered job lists and text search in logs, a page at a time."""
        from otter_tui.services.job_search import JobSearch

        return JobSearch(self.ctx)

    def close(self) -> None:
        self.db.dispose()


def open_runtime(
    config: str | Path | None = None,
    *,
    settings: Settings | None = None,
    actor: str | None = None,
    clock: Clock = system_clock,
    seed: bool = True,
    sync_plans: bool = True,
) -> Runtime:
    """Open the configured database (migrating it), seed the demo on first start, sync plans.

    Plan records are refreshed from the plan files at every start, as ``plans sync`` does; a plan
    file that fails to import is reported by ``plans list``, it never stops the start.
    """
    settings = settings or load_settings(config)
    make_data_dir(settings.data_dir, settings.database.group)
    url = connect_url(settings.database_url, settings.database)
    db = open_database(url, settings.database.busy_timeout_ms, group=settings.database.group)
    ctx = ServiceContext(db, settings, actor or current_user(), clock)
    runtime = Runtime(settings, db, ctx)
    if db.created:
        runtime.users.bootstrap()
        if seed:
            from otter_tui.services.demo import seed_demo

            seed_demo(ctx)
    if sync_plans:
        runtime.plans.sync(audit=False)
    return runtime
