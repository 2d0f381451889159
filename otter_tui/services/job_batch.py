"""What stays the same for every job created in one open transaction, read once (the scheduler).

Split from :mod:`otter_tui.services.jobs` (which re-exports :class:`JobBatch`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from otter_tui.errors import OtterError
from otter_tui.plan.loader import PlanClassInfo
from otter_tui.services.context import ServiceContext
from otter_tui.services.grants import Grant, grants_of
from otter_tui.services.plans import PlanService, get_record
from otter_tui.store.models import PlanRecord
from otter_tui.targeting import Inventory


class JobBatch:
    """What stays the same for every job created in one open transaction (the scheduler's batch).

    Read once, then reused: the inventory, whether an actor holds a permission, plan records by
    key, plan classes, and which queues exist. Valid only inside the transaction it was filled
    in (the write lock keeps all of it unchanged meanwhile); build a new one per transaction.
    Nothing written is cached: a queue this batch created in a SAVEPOINT that rolled back is
    looked up again.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._allowed: dict[tuple[str, str], OtterError | None] = {}
        self._records: dict[str, PlanRecord] = {}
        self._classes: dict[str, PlanClassInfo] = {}
        self.queues: set[str] = set()
        """Queues found to exist in this transaction."""
        self._grants: dict[str, tuple[bool, list[Grant]] | OtterError] = {}

    def grants(self, s: Session, actor: str) -> tuple[bool, list[Grant]]:
        """``grants_of`` once per actor and transaction (a query per job was most of a round)."""
        known = self._grants.get(actor)
        if known is None:
            try:
                known = self._grants[actor] = grants_of(s, actor)
            except OtterError as exc:
                known = self._grants[actor] = exc
        if isinstance(known, OtterError):
            raise type(known)(*known.args)
        return known

    def require(self, ctx: ServiceContext, s: Session, permission: str) -> None:
        key = (ctx.actor, permission)
        if key not in self._allowed:
            try:
                ctx.require(s, permission)
                self._allowed[key] = None
            except OtterError as exc:
                self._allowed[key] = exc
        refused = self._allowed[key]
        if refused is not None:
            raise type(refused)(*refused.args)

    def record(self, s: Session, key: str) -> PlanRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = get_record(s, key)
        return record

    def plan_class(self, plans: PlanService, key: str) -> PlanClassInfo:
        info = self._classes.get(key)
        if info is None:
            info = self._classes[key] = plans.plan_class(key)
        return info
