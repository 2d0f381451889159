"""Typed plan variables: text in, typed values out, one named error line for bad input."""

from __future__ import annotations

from typing import Any

import pytest

from otter_tui.errors import UsageError
from otter_tui.plan import (
    Bool,
    Choice,
    Int,
    OrchestrationPlan,
    RunContext,
    Secret,
    Text,
    sensitive_names,
    validate_variables,
)
from otter_tui.plan.base import plan_metadata
from otter_tui.plan.variables import variables_schema


class Deploy(OrchestrationPlan):
    name = "Deploy"
    variables = {
        "version": Text(help="release to deploy"),
        "count": Int(default=2),
        "force": Bool(default=False),
        "colour": Choice(("blue", "green"), default="blue"),
        "note": Text(required=False),
        "token": Secret(help="API token"),
    }

    async def run(self, ctx: RunContext) -> None:
        """Not run in these tests."""


def test_text_is_converted_and_defaults_filled_in() -> None:
    typed = validate_variables(
        Deploy, {"version": "1.2", "count": " 5 ", "force": "YES", "token": "t0k"}
    )
    assert typed == {
        "version": "1.2",
        "count": 5,
        "force": True,
        "colour": "blue",
        "token": "t0k",
    }, "an optional variable with no value and no default is left out"


def test_typed_values_are_accepted_as_they_are() -> None:
    typed = validate_variables(Deploy, {"version": "1", "count": 3, "force": False, "token": "x"})
    assert typed["count"] == 3 and typed["force"] is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"count": "x"}, "variable 'count': expected an integer, got 'x'"),
        ({"count": "1.5"}, "variable 'count': expected an integer, got '1.5'"),
        ({"force": "maybe"}, "variable 'force': expected true or false, got 'maybe'"),
        ({"colour": "red"}, "variable 'colour': expected one of blue, green, got 'red'"),
        ({"foo": "1"}, "unknown variable 'foo' for plan Deploy"),
        ({}, "missing required variable 'version' for plan Deploy"),
    ],
)
def test_bad_values_name_the_variable(raw: dict[str, str], message: str) -> None:
    given: dict[str, Any] = {"version": "1", "token": "t"} if raw else {}
    given.update(raw)
    with pytest.raises(UsageError) as caught:
        validate_variables(Deploy, given)
    assert str(caught.value) == message


def test_a_missing_secret_is_required_and_its_value_never_in_a_message() -> None:
    with pytest.raises(UsageError, match="missing required variable 'token'"):
        validate_variables(Deploy, {"version": "1"})


def test_secrets_make_the_plan_sensitive() -> None:
    assert sensitive_names(Deploy) == ("token",)
    assert Deploy.has_sensitive_variables is True
    assert plan_metadata(Deploy)["has_sensitive_variables"] is True


def test_schema_is_json_ready_and_says_what_the_form_needs() -> None:
    schema = variables_schema(Deploy)
    assert schema["colour"] == {
        "kind": "choice",
        "help": "",
        "required": False,
        "default": "blue",
        "sensitive": False,
        "options": ["blue", "green"],
    }
    assert schema["version"]["required"] is True
    assert schema["token"]["sensitive"] is True and schema["token"]["default"] is None


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (Secret(default="hunter2"), "a Secret cannot have a default"),
        (Choice((), default=None), "a Choice needs at least one option"),
        (Choice(("a",), default="b"), "expected one of a, got 'b'"),
        (Int(default="ten"), "expected an integer"),  # type: ignore[arg-type]
    ],
)
def test_bad_declarations_are_caught_by_check(variable: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        variable.check()
