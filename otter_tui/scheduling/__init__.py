"""Pure scheduling logic: cron lines in a time zone with defined DST rules, misfire and overlap
policies. No database, no event loop: the scheduler loop calls these and records the answers.
"""

from __future__ import annotations

from otter_tui.scheduling.cron import (
    CronSpec,
    fires_between,
    iter_fires,
    last_fire,
    next_fire,
    next_n,
    parse_cron,
)
from otter_tui.scheduling.describe import describe
from otter_tui.scheduling.policies import (
    CONFIGURATION_DEFAULTS,
    DEFAULTS_BY_KIND,
    MISSED_RECORD_LIMIT,
    ON_TIME,
    ORCHESTRATION_DEFAULTS,
    Decision,
    MisfirePlan,
    MisfirePolicy,
    OverlapPolicy,
    PolicyDefaults,
    decide_overlap,
    plan_misfires,
)
from otter_tui.scheduling.syntax import (
    CronSyntaxError,
    UnknownTimeZoneError,
    load_zone,
    parse_time,
)
from otter_tui.scheduling.timing import DuePlan, Misfire, Timing
from otter_tui.scheduling.zones import offset_changes_on, resolve_wall

__all__ = [
    "CONFIGURATION_DEFAULTS",
    "DEFAULTS_BY_KIND",
    "MISSED_RECORD_LIMIT",
    "ON_TIME",
    "ORCHESTRATION_DEFAULTS",
    "CronSpec",
    "CronSyntaxError",
    "Decision",
    "DuePlan",
    "Misfire",
    "MisfirePlan",
    "MisfirePolicy",
    "OverlapPolicy",
    "PolicyDefaults",
    "Timing",
    "UnknownTimeZoneError",
    "decide_overlap",
    "describe",
    "fires_between",
    "iter_fires",
    "last_fire",
    "load_zone",
    "next_fire",
    "next_n",
    "offset_changes_on",
    "parse_cron",
    "parse_time",
    "plan_misfires",
    "resolve_wall",
]
