"""Sensitive values never need the command line: `run` refuses one in argv (unless told), and
takes it from stdin (`--var NAME=@-`), a file (`--var-file`) or a hidden prompt."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.runtime import Runtime
from tests.engine_support import add_local, engine_runtime, log_text

PLAN = '''
from otter_tui.plan import OrchestrationPlan, RunContext, Secret, Text


class Deploy(OrchestrationPlan):
    """Uses a token."""

    name = "Deploy"
    variables = {"token": Secret(), "note": Text(default="-")}

    async def run(self, ctx: RunContext) -> None:
        ctx.log(f"token of {len(ctx.vars['token'])} chars, note {ctx.vars['note']}")
'''
KEY = "secretive.Deploy"
REFUSED = (
    "otter-tui: error: variable 'token' is sensitive: a value on the command line shows in ps and "
    "the shell history; use --var token=@- (stdin), --var-file or the prompt, or pass "
    "--allow-argv-secrets\n"
)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = engine_runtime(tmp_path)
    (tmp_path / "plans" / "secretive.py").write_text(PLAN)
    runtime.plans.sync()
    runtime.plans.set_enabled(KEY, True)
    add_local(runtime, "here")
    yield runtime
    runtime.close()


def otter(rt: Runtime, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    argv = ["--config", str(rt.settings.source), "run", KEY, "--servers", "here", *args]
    code = run(argv, actor="alice")
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sensitive_value_in_argv_is_refused_and_nothing_is_created(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert otter(rt, capsys, "--var", "token=s3cr3t") == (2, "", REFUSED)
    assert rt.jobs.recent() == []
    code, out, _ = otter(rt, capsys, "--var", "token=s3cr3t", "--allow-argv-secrets")
    assert code == 0 and "[here] token of 6 chars, note -" in out


def test_a_sensitive_value_from_stdin(
    rt: Runtime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-value\n"))
    code, out, _ = otter(rt, capsys, "--var", "token=@-", "--var", "note=hi")
    assert code == 0 and "[here] token of 16 chars, note hi" in out
    job = rt.jobs.recent(limit=1)[0]
    assert job.variables == {"note": "hi"} and job.sensitive_names == ("token",)
    assert not any("from-stdin-value" in line for line in log_text(rt, job.id))


def test_a_var_file(rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    var_file = tmp_path / "vars"
    var_file.write_text("# deploy secrets\n\ntoken=abc=def\nnote=from file\n")
    code, out, _ = otter(rt, capsys, "--var-file", str(var_file), "--var", "note=argv wins")
    assert code == 0 and "[here] token of 7 chars, note argv wins" in out
    var_file.write_text("token=x\nno equals sign\n")
    assert otter(rt, capsys, "--var-file", str(var_file))[1:] == (
        "",
        f"otter-tui: error: --var-file {var_file}, line 2: expected NAME=VALUE\n",
    )


def test_only_one_value_from_stdin(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    assert otter(rt, capsys, "--var", "token=@-", "--var", "note=@-")[2] == (
        "otter-tui: error: only one variable can be read from stdin, got token, note\n"
    )
