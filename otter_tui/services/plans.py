"""Plan records: the database side of the plan classes under ``plans/``.

The rules (Nautobot's, ARCHITECTURE.md section 3):

- a class found on disk gets a record with ``enabled = False``;
- a refresh updates the record from the class, but never a field whose ``*_override`` is set;
  clearing an override restores the class value on the next refresh;
- a record whose class is gone is ``installed = False``: it cannot run or be scheduled, its history
  stays;
- deleting a record keeps its jobs, schedules and templates with the plan reference set to NULL
  (the plan name stays as text) and disables those schedules; a reinstalled plan gets a new record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.plan.loader import (
    LoadError,
    LoadResult,
    PlanClassInfo,
    load_plan_file,
    load_plans,
)
from otter_tui.services.context import ServiceContext
from otter_tui.store.models import OVERRIDABLE, PlanKind, PlanRecord, Schedule

BOOL_FIELDS = {
    "dryrun_default",
    "has_sensitive_variables",
    "hidden",
    "is_singleton",
    "approval_required",
    "exclusive",
}
LIMIT_FIELDS = {"soft_time_limit", "time_limit"}


@dataclass(frozen=True)
class PlanView:
    """A plan as its record and its class describe it."""

    key: str
    kind: str
    name: str
    grouping: str
    description: str
    enabled: bool
    installed: bool
    overridden: tuple[str, ...]
    file: str
    metadata: dict[str, Any]
    variables: dict[str, Any]
    roles: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "grouping": self.grouping,
            "description": self.description,
            "enabled": self.enabled,
            "installed": self.installed,
            "overridden": list(self.overridden),
            "file": self.file,
            "metadata": self.metadata,
            "variables": self.variables,
            "roles": list(self.roles),
        }


@dataclass
class SyncReport:
    """What a plan sync changed in the records, and the files it could not load."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    uninstalled: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    def merged(self, later: SyncReport) -> SyncReport:
        """This report followed by ``later``: every key once, the later load errors."""

        def both(a: list[str], b: list[str]) -> list[str]:
            return list(dict.fromkeys([*a, *b]))

        back = set(later.created) | set(later.updated)
        gone = set(later.uninstalled)
        created = [k for k in both(self.created, later.created) if k not in gone]
        skip = gone | set(created)
        return SyncReport(
            created=created,
            updated=[k for k in both(self.updated, later.updated) if k not in skip],
            uninstalled=[k for k in both(self.uninstalled, later.uninstalled) if k not in back],
            errors=list(later.errors),
        )


def plan_view(record: PlanRecord) -> PlanView:
    return PlanView(
        key=record.key,
        kind=record.kind.value,
        name=record.name,
        grouping=record.grouping,
        description=record.description,
        enabled=record.enabled,
        installed=record.installed,
        overridden=tuple(record.overridden()),
        file=record.file,
        metadata={f: getattr(record, f) for f in OVERRIDABLE},
        variables=dict(record.variables),
        roles=tuple(record.roles),
    )


def get_record(session: Session, key_or_name: str) -> PlanRecord:
    """Find a record by key (``file.Class``) or by its display name."""
    record = session.scalar(select(PlanRecord).where(PlanRecord.key == key_or_name))
    if record is None:
        matches = list(session.scalars(select(PlanRecord).where(PlanRecord.name == key_or_name)))
        if len(matches) > 1:
            keys = ", ".join(m.key for m in matches)
            raise UsageError(f"plan name '{key_or_name}' is ambiguous: use a key ({keys})")
        record = matches[0] if matches else None
    if record is None:
        raise NotFoundError(f"unknown plan '{key_or_name}'")
    return record


class PlanService:
    """Sync, enable, override and delete plan records; hand the engine a plan's class."""

    def __init__(self, ctx: ServiceContext, loaded: LoadResult | None = None) -> None:
        self.ctx = ctx
        self._loaded = loaded
        self._partial = False
        """True when only one plan file is loaded (:meth:`sync_plan`)."""
        self._unreported = SyncReport()

    @property
    def loaded(self) -> LoadResult:
        """The plan classes on disk, loaded once per service (``sync`` reloads)."""
        if self._loaded is None or self._partial:
            self._loaded, self._partial = load_plans(self.ctx.settings.plans_dir), False
        return self._loaded

    def plan_class(self, key: str) -> PlanClassInfo:
        partial = self._loaded if self._partial else None
        for info in (partial or self.loaded).plans:
            if info.key == key:
                return info
        if partial is not None:  # only one file was loaded: look at all of them before saying no
            return self.plan_class_loaded(key)
        raise NotFoundError(f"plan '{key}' is not installed (its file is gone or fails to load)")

    def plan_class_loaded(self, key: str) -> PlanClassInfo:
        """:meth:`plan_class` after loading every plan file."""
        self._loaded, self._partial = load_plans(self.ctx.settings.plans_dir), False
        return self.plan_class(key)

    def sync_plan(self, key_or_name: str) -> None:
        """Refresh only the record(s) of the file that defines ``key_or_name`` (``file.Class``),
        loading that file alone: what a start that runs one plan needs. A display name, or a
        key whose file is not there, falls back to a full (unaudited) sync."""
        stem = key_or_name.partition(".")[0] if "." in key_or_name else ""
        loaded = load_plan_file(self.ctx.settings.plans_dir, stem) if stem else None
        if loaded is None or not any(p.key == key_or_name for p in loaded.plans):
            self.sync(audit=False)
            return
        self._loaded, self._partial = loaded, True
        with self.ctx.db.transaction() as s:
            report = self._apply(s, loaded, file=loaded.plans[0].file)
        self._unreported = self._unreported.merged(report)

    def sync(self, *, audit: bool = True) -> SyncReport:
        """Reload plan files and bring every record in line with the classes.

        A sync without ``audit`` (the one at start-up, or before ``plans list``) keeps what it
        changed, so the next audited sync in this process reports and audits it: an operator
        who runs ``plans sync`` sees what changed since the last one, not "0 new".
        """
        self._loaded, self._partial = load_plans(self.ctx.settings.plans_dir), False
        with self.ctx.db.transaction() as s:
            report = self._apply(s, self._loaded)
            if not audit:
                self._unreported = self._unreported.merged(report)
                return report
            report = self._unreported.merged(report)
            self._unreported = SyncReport()
            if report.created or report.uninstalled:
                self.ctx.audit(
                    s,
                    "plans.sync",
                    "plan",
                    "*",
                    created=report.created,
                    uninstalled=report.uninstalled,
                )
        return report

    def _apply(self, s: Session, loaded: LoadResult, file: Path | None = None) -> SyncReport:
        """Bring the records in line with ``loaded``; ``file``: only that file was loaded, so
        only its records may be found gone."""
        report = SyncReport(errors=list(loaded.errors))
        found = {info.key: info for info in loaded.plans}
        query = select(PlanRecord)
        if file is not None:
            query = query.where(PlanRecord.file == str(file))
        records = {r.key: r for r in s.scalars(query)}
        for key, info in found.items():
            record = records.get(key)
            if record is None:
                s.add(self._new_record(info))
                report.created.append(key)
            elif _refresh(record, info, self.ctx):
                report.updated.append(key)
        for key, record in records.items():
            if key not in found and record.installed:
                record.installed = False
                report.uninstalled.append(key)
        return report

    def _new_record(self, info: PlanClassInfo) -> PlanRecord:
        record = PlanRecord(key=info.key, kind=PlanKind(info.kind), enabled=False, installed=True)
        record.created_at = self.ctx.now()
        _refresh(record, info, self.ctx)
        return record

    def list(self, *, include_hidden: bool = True) -> list[PlanView]:
        with self.ctx.db.session() as s:
            query = select(PlanRecord).order_by(PlanRecord.grouping, PlanRecord.name)
            views = [plan_view(r) for r in s.scalars(query)]
        return [v for v in views if include_hidden or not v.metadata["hidden"]]

    def show(self, key: str) -> PlanView:
        with self.ctx.db.session() as s:
            return plan_view(get_record(s, key))

    def set_enabled(self, key: str, enabled: bool) -> PlanView:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "plans.manage")
            record = get_record(s, key)
            if enabled and not record.installed:
                raise ConflictError(f"plan '{record.key}' is not installed: its file is gone")
            record.enabled = enabled
            self.ctx.audit(s, "plan.enable" if enabled else "plan.disable", "plan", record.key)
            return plan_view(record)

    def override(self, key: str, field_name: str, raw: str) -> PlanView:
        """Set a metadata field on the record and pin it against refreshes."""
        value = parse_override(field_name, raw)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "plans.manage")
            record = get_record(s, key)
            before = {field_name: getattr(record, field_name)}
            setattr(record, field_name, value)
            setattr(record, f"{field_name}_override", True)
            check_limits(record.soft_time_limit, record.time_limit, record.key)
            self.ctx.audit(
                s, "plan.override", "plan", record.key,
                before=before, after={field_name: value}, field=field_name, value=raw,
            )  # fmt: skip
            return plan_view(record)

    def clear_override(self, key: str, field_name: str) -> PlanView:
        """Unpin a field; the class value comes back now if the class is loaded, else at sync."""
        _check_field(field_name)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "plans.manage")
            record = get_record(s, key)
            setattr(record, f"{field_name}_override", False)
            info = next((p for p in self.loaded.plans if p.key == record.key), None)
            if info is not None:
                _refresh(record, info, self.ctx)
            self.ctx.audit(s, "plan.clear_override", "plan", record.key, field=field_name)
            return plan_view(record)

    def delete(self, key: str) -> None:
        """Delete the record; history stays with a NULL plan, its schedules are disabled."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "plans.manage")
            record = get_record(s, key)
            s.execute(
                update(Schedule)
                .where(Schedule.plan_id == record.id)
                .values(enabled=False, next_due_at=None, updated_at=self.ctx.now())
            )
            s.delete(record)
            self.ctx.audit(s, "plan.delete", "plan", record.key)


def _refresh(record: PlanRecord, info: PlanClassInfo, ctx: ServiceContext) -> bool:
    """Copy class values into the record except overridden fields; True if anything changed."""
    meta = info.metadata()
    changed = False
    for name in OVERRIDABLE:
        if getattr(record, f"{name}_override", False):
            continue
        value = list(meta[name]) if name == "eligible_queues" else meta[name]
        if getattr(record, name, None) != value:
            setattr(record, name, value)
            changed = True
    extra = {
        "file": str(info.file),
        "kind": PlanKind(info.kind),
        "installed": True,
        "roles": list(getattr(info.cls, "roles", ()) or ()),
        "variables": info.variables_schema(),
    }
    for name, value in extra.items():
        if getattr(record, name, None) != value:
            setattr(record, name, value)
            changed = True
    record.synced_at = ctx.now()
    return changed


def _check_field(name: str) -> None:
    if name not in OVERRIDABLE:
        raise UsageError(f"'{name}' cannot be overridden (fields: {', '.join(OVERRIDABLE)})")


def parse_override(name: str, raw: str) -> Any:
    """Turn the text given for an override into the field's type."""
    _check_field(name)
    if name in BOOL_FIELDS:
        if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise UsageError(f"'{name}' takes true or false, got {raw!r}")
        return raw.lower() in ("true", "yes", "1")
    if name in LIMIT_FIELDS:
        if raw.lower() in ("", "none"):
            return None
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"'{name}' takes a number of seconds or 'none', got {raw!r}") from None
        if value <= 0:
            raise UsageError(f"'{name}' must be more than 0 seconds, got {raw!r}")
        return value
    if name == "eligible_queues":
        return [q.strip() for q in raw.split(",") if q.strip()]
    return raw


def check_limits(soft: float | None, hard: float | None, key: str) -> None:
    if soft is not None and hard is not None and hard <= soft:
        raise UsageError(
            f"plan '{key}': time_limit ({hard:g}s) must exceed soft_time_limit ({soft:g}s)"
        )
