"""The plan loader: good files load, every kind of bad file becomes a LoadError with its line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from otter_tui.plan import load_plans
from otter_tui.plan.base import METADATA_FIELDS

HEADER = """\
from __future__ import annotations
from otter_tui.plan import ConfigurationPlan, OrchestrationPlan, RunContext, ServerInfo, Text
from otter_tui.plan import operations as ops
"""

GOOD = (
    HEADER
    + '''
class Hello(OrchestrationPlan):
    """Say hello.

    Longer text that is not part of the description.
    """

    name = "Hello"
    grouping = "Examples"
    soft_time_limit = 10
    time_limit = 20.5
    eligible_queues = ("slow",)
    variables = {"who": Text(default="world")}

    async def run(self, ctx: RunContext) -> None:
        ctx.log("hello " + str(ctx.vars["who"]))


class Motd(ConfigurationPlan):
    name = "Motd"
    roles = ("web",)
    servers = ("db1",)

    def operations(self, server: ServerInfo):
        yield ops.file("/etc/motd", "hi")
'''
)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def plan_file(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def test_a_good_file_gives_its_plans_with_keys_kinds_and_metadata(tmp_path: Path) -> None:
    path = plan_file(tmp_path, "greet.py", GOOD)
    result = load_plans(tmp_path)
    assert result.errors == []
    by_key = {info.key: info for info in result.plans}
    assert set(by_key) == {"greet.Hello", "greet.Motd"}
    hello, motd = by_key["greet.Hello"], by_key["greet.Motd"]
    assert (hello.kind, motd.kind) == ("orchestration", "configuration")
    assert hello.file == path and hello.line == line_of(GOOD, "class Hello")
    meta = hello.metadata()
    assert tuple(meta) == METADATA_FIELDS
    assert meta["description"] == "Say hello.", "the docstring's first paragraph"
    assert (meta["soft_time_limit"], meta["time_limit"]) == (10, 20.5)
    assert meta["eligible_queues"] == ("slow",) and meta["default_queue"] == "default"
    assert hello.variables_schema()["who"]["default"] == "world"
    assert (motd.roles, motd.servers) == (("web",), ("db1",))


def test_a_syntax_error_reports_its_line(tmp_path: Path) -> None:
    plan_file(tmp_path, "broken.py", HEADER + "\n\nclass X(OrchestrationPlan)\n    name = 'x'\n")
    plan_file(tmp_path, "greet.py", GOOD)
    result = load_plans(tmp_path)
    [error] = result.errors
    assert error.file == tmp_path / "broken.py" and error.line == 6
    assert error.message.startswith("SyntaxError: ")
    assert len(result.plans) == 2, "one broken file does not hide the others"


def test_an_import_error_reports_the_import_line(tmp_path: Path) -> None:
    plan_file(tmp_path, "needs.py", HEADER + "import no_such_module_here\n")
    [error] = load_plans(tmp_path).errors
    assert error.line == 4
    assert error.message == "ModuleNotFoundError: No module named 'no_such_module_here'"
    assert str(error) == f"{tmp_path / 'needs.py'}:4: {error.message}"


def test_an_exception_while_importing_reports_the_line_in_the_plan_file(tmp_path: Path) -> None:
    body = HEADER + "\ndef helper():\n    return 1 / 0\n\nVALUE = helper()\n"
    plan_file(tmp_path, "boom.py", body)
    [error] = load_plans(tmp_path).errors
    assert (error.line, error.message) == (6, "ZeroDivisionError: division by zero")


def test_sys_exit_in_a_plan_file_is_an_error_not_an_exit(tmp_path: Path) -> None:
    plan_file(tmp_path, "bye.py", "import sys\nsys.exit(3)\n")
    [error] = load_plans(tmp_path).errors
    assert error.line == 2 and error.message == "SystemExit: 3"


def test_two_plans_with_one_name_keep_the_first(tmp_path: Path) -> None:
    plan_file(tmp_path, "a.py", GOOD)
    plan_file(tmp_path, "b.py", GOOD.replace('name = "Motd"', 'name = "Motd two"'))
    result = load_plans(tmp_path)
    assert [p.key for p in result.plans] == ["a.Hello", "a.Motd", "b.Motd"]
    [error] = result.errors
    assert error.file == tmp_path / "b.py" and error.line == line_of(GOOD, 'name = "Hello"')
    assert error.message == "Hello: plan name 'Hello' is already used by a.Hello"


def test_bad_time_limits_point_at_the_time_limit_line(tmp_path: Path) -> None:
    body = GOOD.replace("    time_limit = 20.5", "    time_limit = 5")
    plan_file(tmp_path, "slow.py", body)
    result = load_plans(tmp_path)
    [error] = result.errors
    assert error.line == line_of(body, "    time_limit = 5")
    assert error.message == "Hello: time_limit (5s) must exceed soft_time_limit (10s)"
    assert [p.key for p in result.plans] == ["slow.Motd"]


def test_missing_name_and_wrong_types_are_reported(tmp_path: Path) -> None:
    body = GOOD.replace('name = "Motd"\n', 'hidden = "yes"\n').replace(
        "soft_time_limit = 10", 'soft_time_limit = "ten"'
    )
    plan_file(tmp_path, "bad.py", body)
    messages = sorted(e.message for e in load_plans(tmp_path).errors)
    assert messages == [
        "Hello: soft_time_limit: expected seconds (a number above 0) or None, got 'ten'",
        "Motd: hidden: expected True or False, got 'yes'",
        "Motd: missing name: set name = '...' on the plan class",
    ]


def test_a_sync_run_and_a_missing_operations_are_reported(tmp_path: Path) -> None:
    body = HEADER + (
        "\nclass A(OrchestrationPlan):\n    name = 'A'\n    def run(self, ctx):\n        pass\n"
        "\nclass B(ConfigurationPlan):\n    name = 'B'\n    roles = 'web'\n"
    )
    plan_file(tmp_path, "x.py", body)
    errors = {e.message: e.line for e in load_plans(tmp_path).errors}
    assert errors == {
        "A: run must be a coroutine: write async def run(self, ctx)": 7,
        "B: roles: expected a tuple of names, got 'web'": 12,
        "B: define operations(self, server)": 10,
    }


def test_reload_sees_edits_deletions_and_never_uses_bare_module_names(tmp_path: Path) -> None:
    path = plan_file(tmp_path, "greet.py", GOOD)
    plan_file(tmp_path, "other.py", GOOD.replace('"Hello"', '"Hi"').replace('"Motd"', '"M2"'))
    first = {p.key: p for p in load_plans(tmp_path).plans}
    assert first["greet.Hello"].cls.name == "Hello"
    path.write_text(GOOD.replace('name = "Hello"', 'name = "Hello again"'))
    (tmp_path / "other.py").unlink()
    second = {p.key: p for p in load_plans(tmp_path).plans}
    assert second["greet.Hello"].cls.name == "Hello again", "same size, same second: still seen"
    assert not any(k.startswith("other.") for k in second)
    assert "greet" not in sys.modules and "other" not in sys.modules
    assert not (tmp_path / "__pycache__").exists(), "no bytecode is written beside plans"


def test_helper_files_are_skipped_but_importable(tmp_path: Path) -> None:
    plan_file(tmp_path, "_common.py", "GREETING = 'hi'\n")
    plan_file(
        tmp_path,
        "uses.py",
        HEADER + "from ._common import GREETING\n" + GOOD.replace(HEADER, ""),
    )
    result = load_plans(tmp_path)
    assert result.errors == [] and [p.key for p in result.plans] == ["uses.Hello", "uses.Motd"]
    assert vars(sys.modules[result.plans[0].cls.__module__])["GREETING"] == "hi"


def test_an_imported_plan_class_belongs_to_its_own_file(tmp_path: Path) -> None:
    plan_file(tmp_path, "_base.py", GOOD.replace("class Motd", "class _Unused"))
    plan_file(tmp_path, "reuse.py", "from ._base import Hello\n")
    assert load_plans(tmp_path).plans == []


def test_a_missing_folder_holds_no_plans(tmp_path: Path) -> None:
    result = load_plans(tmp_path / "nope")
    assert (result.plans, result.errors) == ([], [])
