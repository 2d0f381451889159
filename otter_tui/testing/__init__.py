"""Helpers for tests and benchmarks that need real servers (never imported by the app itself)."""

from otter_tui.testing.sshd import FleetServer, SshdFleet, SshdUnavailable

__all__ = ["FleetServer", "SshdFleet", "SshdUnavailable"]
