"""Shared fixtures. Fixture modules live beside this file and are registered here.

Tests whose outcome could depend on the calendar (schedules, one-shots, retention, approval
windows, leases, job listings, the daemon) are marked ``calendar``: ``./dev test`` runs them a
second and a third time with the process clock shifted by libfaketime (see docs/testing.md).
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures_ssh", "tests.fixtures_core", "tests.fixtures_postgres"]

CALENDAR_MODULES = (
    "test_schedul",
    "test_retention",
    "test_approvals",
    "test_audit",
    "test_engine_leases",
    "test_engine_crash",
    "test_engine_limits",
    "test_jobs_",
    "test_daemon_",
    "test_queues",
    "test_templates_",
    "test_claims",
    "test_screens_jobs",
    "test_screens_approvals",
    "test_screens_daemon",
    "test_screens_schedules",
    "test_store",
    "test_postgres",
    "test_api",
)
"""Module name prefixes whose tests run again with the clock shifted."""


@pytest.fixture(autouse=True)
def _notices_outlive_a_slow_step(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console notice vanishes 5 s after it is raised. On a loaded machine, or in a shifted-clock
    run, one Pilot step can take longer, and a test would miss a notice the user did see."""
    if request.module.__name__.rsplit(".", 1)[-1].startswith("test_screens"):
        from textual.app import App

        monkeypatch.setattr(App, "NOTIFICATION_TIMEOUT", 300.0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module.startswith(CALENDAR_MODULES):
            item.add_marker(pytest.mark.calendar)
