"""Job variables from the command line without putting secrets in ``ps`` or shell history.

A sensitive (``Secret``) variable's value on the command line (``--var token=X``) is visible to
every local user in the process list and stays in the shell's history, so ``run`` refuses it
unless ``--allow-argv-secrets`` says the caller knows. The other ways in:

- ``--var NAME=@-``: the value is read from standard input (one line; one such variable);
- ``--var-file FILE``: ``NAME=VALUE`` lines (``#`` comments, blank lines skipped), for any
  variable; keep the file private;
- a hidden prompt, on a terminal, for each sensitive variable still missing (blank: left out).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from otter_tui.errors import UsageError

STDIN = "@-"


def read_var_file(path: Path) -> dict[str, str]:
    """``NAME=VALUE`` lines; a malformed one is one error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise UsageError(f"cannot read --var-file {path}: {reason}") from None
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var-file {path}, line {number}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def from_stdin(given: dict[str, str]) -> dict[str, str]:
    """Replace the one ``NAME=@-`` value by a line read from standard input."""
    wanted = [name for name, value in given.items() if value == STDIN]
    if len(wanted) > 1:
        raise UsageError(f"only one variable can be read from stdin, got {', '.join(wanted)}")
    if not wanted:
        return given
    if sys.stdin.isatty():  # typed by a person: do not echo it
        value = click.prompt(wanted[0], hide_input=True, show_default=False)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    return {**given, wanted[0]: value}


def refuse_argv_secrets(argv_vars: dict[str, str], sensitive: Iterable[str]) -> None:
    """A sensitive value typed on the command line is refused, naming the safe ways in."""
    for name in sensitive:
        if name in argv_vars and argv_vars[name] != STDIN:
            raise UsageError(
                f"variable '{name}' is sensitive: a value on the command line shows in ps and "
                f"the shell history; use --var {name}=@- (stdin), --var-file or the prompt, "
                "or pass --allow-argv-secrets"
            )


def ask_secrets(sensitive: Iterable[str], given: dict[str, str]) -> dict[str, str]:
    """Hidden prompts for the sensitive variables not given; blank leaves one out.

    A script (stdin not a terminal) is never asked: it would hang. The job service then refuses
    a required one with a line naming it.
    """
    if not sys.stdin.isatty():
        return {}
    out: dict[str, str] = {}
    for secret in sensitive:
        if secret not in given:
            value = click.prompt(secret, default="", hide_input=True, show_default=False)
            if value:
                out[secret] = value
    return out
