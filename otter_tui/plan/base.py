"""Plan classes: a plan is a Python class in a file under ``plans/``.

Metadata is plain class attributes (Nautobot's Job ``Meta``, flattened): the plan record takes
each value from the class on every refresh, unless an operator has overridden it. Two kinds:

- :class:`ConfigurationPlan` declares desired state: ``operations(server)`` returns operations
  for one server; the engine collects them (drift) and remediates what drifted.
- :class:`OrchestrationPlan` is a series of steps: ``async run(ctx)``.

A plan's identity is ``"<file stem>.<ClassName>"`` (its key); ``name`` is what people see.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from otter_tui.errors import UsageError
from otter_tui.plan.variables import Variable, sensitive_names

if TYPE_CHECKING:
    from otter_tui.plan.context import RunContext
    from otter_tui.plan.operations.base import Operation
    from otter_tui.plan.server import ServerInfo

METADATA_FIELDS = (
    "grouping",
    "name",
    "description",
    "dryrun_default",
    "has_sensitive_variables",
    "hidden",
    "soft_time_limit",
    "time_limit",
    "default_queue",
    "eligible_queues",
    "is_singleton",
    "approval_required",
    "exclusive",
)
"""The overridable fields, in the order the plan record lists them."""


class Plan:
    """Base of every plan. Set ``name``; the other fields have sensible defaults."""

    name: ClassVar[str] = ""
    """What people see in lists and logs. Required."""
    grouping: ClassVar[str] = ""
    """A heading plans are listed under (Nautobot's grouping)."""
    description: ClassVar[str] = ""
    """One paragraph; the class docstring is used when this is empty."""
    dryrun_default: ClassVar[bool] = False
    """Jobs of this plan are simulations unless the requester says otherwise."""
    has_sensitive_variables: ClassVar[bool] = False
    """Set automatically when a variable is a ``Secret``: such plans cannot be scheduled."""
    hidden: ClassVar[bool] = False
    soft_time_limit: ClassVar[float | None] = None
    """Seconds after which the run is asked to stop and clean up."""
    time_limit: ClassVar[float | None] = None
    """Seconds after which the run is killed and marked failed; must exceed the soft limit."""
    is_singleton: ClassVar[bool] = False
    """A second job of this plan is refused while one is active."""
    approval_required: ClassVar[bool] = False
    exclusive: ClassVar[bool] = False
    """Per server: a job of this plan waits while another job of it runs on the same server
    (in any process), so two deploys never overlap on one machine."""
    default_queue: ClassVar[str] = "default"
    eligible_queues: ClassVar[tuple[str, ...]] = ()
    """Queues a job may pick besides ``default_queue``."""
    variables: ClassVar[dict[str, Variable[Any]]] = {}
    """Typed variables, by name: ``{"greeting": Text(default="hello")}``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if sensitive_names(cls):
            cls.has_sensitive_variables = True


class ConfigurationPlan(Plan):
    """Desired state for the servers of ``roles`` and the ``servers`` named directly."""

    roles: ClassVar[tuple[str, ...]] = ()
    """Roles whose servers get this desired state."""
    servers: ClassVar[tuple[str, ...]] = ()
    """Servers assigned directly, whatever their roles."""

    def operations(self, server: ServerInfo) -> Iterable[Operation]:
        """The operations that describe ``server``'s desired state (with its role in context)."""
        raise NotImplementedError(f"{type(self).__name__} must define operations(server)")


class OrchestrationPlan(Plan):
    """A series of steps run on each targeted server (or once, with no targets)."""

    async def run(self, ctx: RunContext) -> None:
        """The steps. Use ``ctx.shell``, ``ctx.probe``, ``ctx.ensure``, ``ctx.in_role``."""
        raise NotImplementedError(f"{type(self).__name__} must define async run(ctx)")


def plan_kind(cls: type) -> str:
    """``"configuration"`` or ``"orchestration"``; anything else is a ``UsageError``."""
    if issubclass(cls, ConfigurationPlan):
        return "configuration"
    if issubclass(cls, OrchestrationPlan):
        return "orchestration"
    raise UsageError(f"{cls.__name__} is neither a ConfigurationPlan nor an OrchestrationPlan")


def plan_metadata(cls: type[Plan]) -> dict[str, Any]:
    """The class values of the overridable fields, as the plan record stores them."""
    meta = {name: getattr(cls, name) for name in METADATA_FIELDS}
    meta["description"] = meta["description"] or first_paragraph(cls.__doc__ or "")
    meta["eligible_queues"] = tuple(meta["eligible_queues"])
    meta["has_sensitive_variables"] = bool(meta["has_sensitive_variables"] or sensitive_names(cls))
    return meta


def first_paragraph(doc: str) -> str:
    """A docstring's first paragraph on one line: the default description of a plan."""
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return " ".join(paragraph.split())
