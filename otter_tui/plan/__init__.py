"""The plan-authoring API: what a file under ``plans/`` imports, and what the engine calls.

A plan author needs::

    from otter_tui.plan import ConfigurationPlan, OrchestrationPlan, RunContext, ServerInfo
    from otter_tui.plan import Bool, Choice, Int, Secret, Text
    from otter_tui.plan import Command, StepFailed
    from otter_tui.plan import operations as ops

The engine and the store use :func:`load_plans`, :func:`validate_variables`,
:func:`sensitive_names`, :class:`RunContext`, :func:`collect_all` and :func:`remediate`.
"""

from otter_tui.plan import operations
from otter_tui.plan.base import ConfigurationPlan, OrchestrationPlan, Plan, plan_kind
from otter_tui.plan.context import RunContext, ShellResult, Tally
from otter_tui.plan.drift import collect_all, remediate
from otter_tui.plan.loader import LoadError, LoadResult, PlanClassInfo, load_plans
from otter_tui.plan.operations import Operation
from otter_tui.plan.results import Applied, Collected, ItemResult, Status, StepFailed
from otter_tui.plan.server import ServerInfo
from otter_tui.plan.variables import (
    Bool,
    Choice,
    Int,
    Secret,
    Text,
    Variable,
    sensitive_names,
    validate_variables,
)
from otter_tui.transport.base import Command

__all__ = [
    "Applied",
    "Bool",
    "Choice",
    "Collected",
    "Command",
    "ConfigurationPlan",
    "Int",
    "ItemResult",
    "LoadError",
    "LoadResult",
    "Operation",
    "OrchestrationPlan",
    "Plan",
    "PlanClassInfo",
    "RunContext",
    "Secret",
    "ServerInfo",
    "ShellResult",
    "Status",
    "StepFailed",
    "Tally",
    "Text",
    "Variable",
    "collect_all",
    "load_plans",
    "operations",
    "plan_kind",
    "remediate",
    "sensitive_names",
    "validate_variables",
]
