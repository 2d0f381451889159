"""Shared fixtures. Fixture modules live beside this file and are registered here."""

pytest_plugins = ["tests.fixtures_ssh", "tests.fixtures_core", "tests.fixtures_postgres"]
