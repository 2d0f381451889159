"""Typed plan variables: declared on the plan class, given as text, converted before a run.

A plan declares what it accepts, so a job can be checked before its row exists::

    variables = {
        "greeting": Text(default="hello", help="first word of the motd"),
        "replicas": Int(default=2, help="how many workers to start"),
        "colour": Choice(("blue", "green"), default="blue"),
        "token": Secret(help="deploy token; never stored"),
    }

Values arrive as text (CLI, TUI form, schedule, template) and :func:`validate_variables` turns them
into typed values or raises one :class:`UsageError` line naming the variable. A :class:`Secret` is
sensitive: its value lives only in the memory of the process running the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from otter_tui.errors import UsageError

T = TypeVar("T")

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off"})


@dataclass(frozen=True, kw_only=True)
class Variable(Generic[T]):
    """One declared variable: its type (the subclass), default, help and whether it is required."""

    default: T | None = None
    """The value used when the job gives none; ``None`` makes the variable required."""
    help: str = ""
    """One line shown next to the field in the job form and in ``plans show``."""
    required: bool | None = None
    """``None``: required exactly when there is no default. ``False`` makes it optional."""

    kind: ClassVar[str] = "text"
    """The type's name in the plan record's schema and in messages."""
    sensitive: ClassVar[bool] = False
    """Sensitive values are never written to the database, a log or config."""

    @property
    def is_required(self) -> bool:
        return self.default is None if self.required is None else self.required

    def convert(self, raw: object) -> T:
        """The typed value of ``raw`` (text, or an already typed value); ``ValueError`` if bad."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise ``ValueError`` when the declaration itself is wrong (a bad default)."""
        if self.default is not None:
            self.convert(self.default)

    def schema(self) -> dict[str, Any]:
        """A JSON-ready description for the plan record and the job form."""
        return {
            "kind": self.kind,
            "help": self.help,
            "required": self.is_required,
            "default": self.default,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, kw_only=True)
class Text(Variable[str]):
    """Free text."""

    kind: ClassVar[str] = "text"

    def convert(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {raw!r}")
        return raw


@dataclass(frozen=True, kw_only=True)
class Int(Variable[int]):
    """A whole number, written in decimal."""

    kind: ClassVar[str] = "int"

    def convert(self, raw: object) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        try:
            return int(str(raw).strip(), 10)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None


@dataclass(frozen=True, kw_only=True)
class Bool(Variable[bool]):
    """A yes/no switch: true/false, yes/no, on/off or 1/0 (any case)."""

    kind: ClassVar[str] = "bool"

    def convert(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"expected true or false, got {raw!r}")


@dataclass(frozen=True, kw_only=True)
class Choice(Variable[str]):
    """One of a fixed list of words: ``Choice(("blue", "green"), default="blue")``."""

    options: tuple[str, ...] = field(kw_only=False)
    """The accepted values, in the order the job form offers them."""

    kind: ClassVar[str] = "choice"

    def convert(self, raw: object) -> str:
        if raw not in self.options:
            raise ValueError(f"expected one of {', '.join(self.options)}, got {raw!r}")
        return str(raw)

    def check(self) -> None:
        if not self.options:
            raise ValueError("a Choice needs at least one option")
        super().check()

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "options": list(self.options)}


@dataclass(frozen=True, kw_only=True)
class Secret(Variable[str]):
    """Sensitive text (a password, a token): never stored, masked in every log line.

    A plan with a Secret can run now but cannot be scheduled, since the value cannot wait in the
    database. A Secret has no default: a default would be a secret written in the plan's source.
    """

    kind: ClassVar[str] = "secret"
    sensitive: ClassVar[bool] = True

    def convert(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise ValueError("expected text")
        return raw

    def check(self) -> None:
        if self.default is not None:
            raise ValueError("a Secret cannot have a default (it would sit in the plan's source)")


def declared(plan_cls: type) -> dict[str, Variable[Any]]:
    """The plan's declared variables, by name (``{}`` when it declares none)."""
    found = getattr(plan_cls, "variables", None) or {}
    return dict(found) if isinstance(found, Mapping) else {}


def sensitive_names(plan_cls: type) -> tuple[str, ...]:
    """Names of the plan's sensitive variables, sorted: the ones never to store or show."""
    found = declared(plan_cls).items()
    return tuple(sorted(n for n, v in found if getattr(v, "sensitive", False) is True))


def variables_schema(plan_cls: type) -> dict[str, dict[str, Any]]:
    """Every declared variable as JSON-ready data, for the plan record."""
    return {name: var.schema() for name, var in declared(plan_cls).items()}


def validate_variables(
    plan_cls: type, raw: Mapping[str, object], *, fill_defaults: bool = True
) -> dict[str, object]:
    """Typed values for a job: given ones converted, defaults filled in, unknowns refused.

    Raises one ``UsageError`` naming the variable: an unknown name, a missing required value, or
    a value that does not convert. Optional variables with no value and no default are left out.
    A job stores only what it was given (``fill_defaults=False``): the defaults are the lowest
    layer of the cascade at run time, beneath the inventory's values.
    """
    decls = declared(plan_cls)
    plan_name = getattr(plan_cls, "name", "") or plan_cls.__name__
    for name in raw:
        if name not in decls:
            raise UsageError(f"unknown variable '{name}' for plan {plan_name}")
    typed: dict[str, object] = {}
    for name, var in decls.items():
        if name in raw:
            typed[name] = _convert(name, var, raw[name])
        elif var.default is not None:
            if fill_defaults:
                typed[name] = var.default
        elif var.is_required:
            raise UsageError(f"missing required variable '{name}' for plan {plan_name}")
    return typed


def convert_inherited(
    decls: Mapping[str, Variable[Any]], values: Mapping[str, object], sources: Mapping[str, str]
) -> dict[str, object]:
    """Convert values the inventory gave to declared variables into their declared types.

    Job values and defaults are already typed; inventory values are text. A bad one is one
    ``UsageError`` naming the variable and the layer it came from.
    """
    out = dict(values)
    for name, var in decls.items():
        source = sources.get(name, "")
        if name in out and source not in ("job", "plan default"):
            try:
                out[name] = var.convert(out[name])
            except ValueError as exc:
                raise UsageError(f"variable '{name}' from {source}: {exc}") from None
    return out


def _convert(name: str, var: Variable[Any], value: object) -> object:
    try:
        return var.convert(value)
    except ValueError as exc:
        raise UsageError(f"variable '{name}': {exc}") from None
