"""Checks a plan class must pass to be loaded: each problem names the attribute at fault.

The loader turns a problem into a ``LoadError`` pointing at the line that sets the attribute,
so a plan author sees ``plans/deploy.py:14: time_limit (30s) must exceed soft_time_limit
(60s)`` in the Plans screen instead of a job failing later.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otter_tui.plan.base import ConfigurationPlan, OrchestrationPlan, Plan
from otter_tui.plan.variables import Variable

TEXT_FIELDS = ("grouping", "description")
BOOL_FIELDS = (
    "dryrun_default",
    "has_sensitive_variables",
    "hidden",
    "is_singleton",
    "approval_required",
    "exclusive",
)
LIMIT_FIELDS = ("soft_time_limit", "time_limit")


@dataclass(frozen=True)
class Problem:
    """What is wrong with a plan class, and which class attribute says so."""

    attribute: str
    message: str


def check_plan_class(cls: type[Plan]) -> list[Problem]:
    """Every problem with the class's metadata, variables and methods (empty when it is fine)."""
    problems = _metadata_problems(cls) + _limit_problems(cls) + _variable_problems(cls)
    if issubclass(cls, ConfigurationPlan):
        problems += _configuration_problems(cls)
    if issubclass(cls, OrchestrationPlan):
        problems += _orchestration_problems(cls)
    return problems


def _metadata_problems(cls: type[Plan]) -> list[Problem]:
    problems = []
    if not isinstance(cls.name, str) or not cls.name.strip():
        problems.append(Problem("name", "missing name: set name = '...' on the plan class"))
    for attr in TEXT_FIELDS:
        if not isinstance(getattr(cls, attr), str):
            problems.append(_wrong_type(cls, attr, "text"))
    for attr in BOOL_FIELDS:
        if not isinstance(getattr(cls, attr), bool):
            problems.append(_wrong_type(cls, attr, "True or False"))
    if not isinstance(cls.default_queue, str) or not cls.default_queue:
        problems.append(_wrong_type(cls, "default_queue", "a queue name"))
    if not _names(cls.eligible_queues):
        problems.append(_wrong_type(cls, "eligible_queues", "a tuple of queue names"))
    return problems


def _limit_problems(cls: type[Plan]) -> list[Problem]:
    bad = [a for a in LIMIT_FIELDS if not _is_limit(getattr(cls, a))]
    problems = [_wrong_type(cls, a, "seconds (a number above 0) or None") for a in bad]
    soft, hard = cls.soft_time_limit, cls.time_limit
    if not bad and soft is not None and hard is not None and hard <= soft:
        message = f"time_limit ({hard:g}s) must exceed soft_time_limit ({soft:g}s)"
        problems.append(Problem("time_limit", message))
    return problems


def _variable_problems(cls: type[Plan]) -> list[Problem]:
    declared = cls.variables
    if not isinstance(declared, Mapping):
        return [_wrong_type(cls, "variables", "a dict of name: Text(...) / Int(...) / ...")]
    problems = []
    for name, var in declared.items():
        if not isinstance(name, str) or not name.isidentifier():
            problems.append(Problem("variables", f"variable name {name!r} is not an identifier"))
        elif not isinstance(var, Variable):
            problems.append(Problem("variables", f"variable '{name}' is not a Text/Int/Bool/..."))
        else:
            problems += _declaration_problem(name, var)
    return problems


def _declaration_problem(name: str, var: Variable[Any]) -> list[Problem]:
    try:
        var.check()
    except ValueError as exc:
        return [Problem("variables", f"variable '{name}': {exc}")]
    return []


def _configuration_problems(cls: type[ConfigurationPlan]) -> list[Problem]:
    problems = [
        _wrong_type(cls, attr, "a tuple of names")
        for attr in ("roles", "servers")
        if not _names(getattr(cls, attr))
    ]
    if cls.operations is ConfigurationPlan.operations:
        problems.append(Problem("operations", "define operations(self, server)"))
    return problems


def _orchestration_problems(cls: type[OrchestrationPlan]) -> list[Problem]:
    if cls.run is OrchestrationPlan.run:
        return [Problem("run", "define async def run(self, ctx)")]
    if not inspect.iscoroutinefunction(cls.run):
        return [Problem("run", "run must be a coroutine: write async def run(self, ctx)")]
    return []


def _is_limit(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _names(value: object) -> bool:
    return isinstance(value, tuple | list) and all(isinstance(v, str) and v for v in value)


def _wrong_type(cls: type, attr: str, expected: str) -> Problem:
    return Problem(attr, f"{attr}: expected {expected}, got {getattr(cls, attr)!r}")
