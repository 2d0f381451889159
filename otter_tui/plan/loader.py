"""Load the plan classes from the files in ``plans/``, turning every failure into a LoadError.

Each ``*.py`` file (not ``_*.py``: those are helpers a plan may import with ``from . import
_helpers``) is compiled from its source and executed as ``otter_plans_<hash>.<stem>``, a private
package whose ``__path__`` is the plans folder. Nothing is imported under a bare name, no
bytecode is cached (so an edit is always seen, even within the same second), and each load
starts from a clean namespace, so a second load sees edited and deleted files.

A file that does not compile or raises while importing, and a class that fails its checks,
becomes a ``LoadError(file, line, message)``; the Plans screen lists them, nothing crashes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
import threading
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otter_tui.plan.base import ConfigurationPlan, OrchestrationPlan, Plan, plan_kind, plan_metadata
from otter_tui.plan.checks import Problem, check_plan_class
from otter_tui.plan.variables import variables_schema

BASES = (Plan, ConfigurationPlan, OrchestrationPlan)


@dataclass(frozen=True)
class LoadError:
    """Why a plan file (or one class in it) could not be loaded."""

    file: Path
    line: int | None
    """1-based line of the fault, when known."""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class PlanClassInfo:
    """A loaded plan class and what the plan record and the engine need to know about it."""

    key: str
    """``"<file stem>.<ClassName>"``: the plan's identity."""
    kind: str
    """``"configuration"`` or ``"orchestration"``."""
    file: Path
    cls: type[Plan]
    line: int = 0
    """Where the class statement is, for "open in editor"."""

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def roles(self) -> tuple[str, ...]:
        """For a configuration plan, the roles it applies to (else empty)."""
        return tuple(getattr(self.cls, "roles", ()))

    @property
    def servers(self) -> tuple[str, ...]:
        """For a configuration plan, the servers assigned directly (else empty)."""
        return tuple(getattr(self.cls, "servers", ()))

    def metadata(self) -> dict[str, Any]:
        """The class values of the overridable fields (grouping, name, ..., approval_required)."""
        return plan_metadata(self.cls)

    def variables_schema(self) -> dict[str, dict[str, Any]]:
        """The declared variables as JSON-ready data."""
        return variables_schema(self.cls)


@dataclass
class LoadResult:
    """Every plan that loaded, and every error, in file order."""

    plans: list[PlanClassInfo] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)


_LOADING = threading.RLock()
"""One load at a time per process: a load replaces the plan package in ``sys.modules``, so two
threads loading at once (twenty job requests on a cold service) would drop each other's modules
mid-import ("dictionary changed size during iteration", tests/test_jobs_claims.py)."""


def load_plans(plans_dir: Path) -> LoadResult:
    """Load every plan file in ``plans_dir`` (a missing folder holds no plans)."""
    result = LoadResult()
    if not plans_dir.is_dir():
        return result
    with _LOADING:
        package = _fresh_package(plans_dir)
        for path in sorted(plans_dir.glob("*.py")):
            if not path.name.startswith("_"):
                _load_file(path, package, result)
    return result


def load_plan_file(plans_dir: Path, stem: str) -> LoadResult | None:
    """Load only ``plans_dir/<stem>.py`` (None when there is no such plan file).

    For a start that runs one plan by key (``otter-tui run file.Class``): the other files are
    neither executed nor checked, so a name clash with another file is found by the next full
    load (``plans sync``, the console, the daemon), not here.
    """
    path = plans_dir / f"{stem}.py"
    if stem.startswith("_") or "/" in stem or not path.is_file():
        return None
    result = LoadResult()
    with _LOADING:
        _load_file(path, _fresh_package(plans_dir), result)
    return result


def _fresh_package(plans_dir: Path) -> str:
    """Make ``otter_plans_<hash>`` a clean package over ``plans_dir``, dropping an older load."""
    digest = hashlib.sha256(str(plans_dir.resolve()).encode()).hexdigest()[:12]
    name = f"otter_plans_{digest}"
    for loaded in [m for m in list(sys.modules) if m == name or m.startswith(f"{name}.")]:
        del sys.modules[loaded]
    package = types.ModuleType(name, f"plan files in {plans_dir}")
    package.__path__ = [str(plans_dir.resolve())]
    sys.modules[name] = package
    return name


def _load_file(path: Path, package: str, result: LoadResult) -> None:
    try:
        module = _exec_file(path, package)
    except SyntaxError as exc:
        result.errors.append(LoadError(path, exc.lineno, f"SyntaxError: {exc.msg}"))
        return
    except (Exception, SystemExit) as exc:  # a plan file may raise anything; never stop the rest
        line = _line_in(path, exc)
        result.errors.append(LoadError(path, line, f"{type(exc).__name__}: {exc}"))
        return
    for cls in _plan_classes(module):
        _add_class(path, cls, result)


def _exec_file(path: Path, package: str) -> types.ModuleType:
    """Compile from source and run as ``<package>.<stem>``, registered while it runs."""
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None, "a .py path always gives a spec"
    module = importlib.util.module_from_spec(spec)
    code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _plan_classes(module: types.ModuleType) -> list[type[Plan]]:
    """Plan subclasses defined in this module (imported ones belong to their own file)."""
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Plan) and value not in BASES
    ]
    return [c for c in found if c.__module__ == module.__name__]


def _add_class(path: Path, cls: type[Plan], result: LoadResult) -> None:
    key = f"{path.stem}.{cls.__name__}"
    problems = check_plan_class(cls)
    if not problems:
        problems = _duplicate_problems(key, cls, result)
    if problems:
        result.errors += [_problem_error(path, cls, p) for p in problems]
        return
    info = PlanClassInfo(key, plan_kind(cls), path, cls, _class_line(path, cls.__name__))
    result.plans.append(info)


def _duplicate_problems(key: str, cls: type[Plan], result: LoadResult) -> list[Problem]:
    for other in result.plans:
        if other.key == key:
            return [Problem("name", f"plan key '{key}' is already defined in {other.file}")]
        if other.cls.name == cls.name:
            message = f"plan name '{cls.name}' is already used by {other.key}"
            return [Problem("name", message)]
    return []


def _problem_error(path: Path, cls: type[Plan], problem: Problem) -> LoadError:
    line = _attribute_line(path, cls.__name__, problem.attribute)
    return LoadError(path, line, f"{cls.__name__}: {problem.message}")


_PARSING = threading.Lock()
"""CPython 3.11's parser is not safe in threads: two services loading plans at once failed with
"AST constructor recursion depth mismatch" (20 threads creating jobs, tests/test_jobs_claims.py)."""


def _class_node(path: Path, class_name: str) -> ast.ClassDef | None:
    try:
        info = path.stat()
        tree = _parsed(str(path), info.st_mtime_ns, info.st_size)
    except (SyntaxError, OSError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return node
    return None


@functools.lru_cache(maxsize=64)
def _parsed(path: str, _mtime_ns: int, _size: int) -> ast.Module:
    """A plan file's syntax tree, parsed once per version of the file (not once per class)."""
    source = Path(path).read_bytes()
    with _PARSING:
        return ast.parse(source, path)


def _class_line(path: Path, class_name: str) -> int:
    node = _class_node(path, class_name)
    return node.lineno if node else 0


def _attribute_line(path: Path, class_name: str, attribute: str) -> int | None:
    """The line that sets ``attribute`` in the class body, else the ``class`` line."""
    node = _class_node(path, class_name)
    if node is None:
        return None
    for stmt in node.body:
        if attribute in _assigned_names(stmt):
            return stmt.lineno
    return node.lineno


def _assigned_names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return {stmt.target.id}
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return {stmt.name}
    return set()


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The deepest traceback line inside ``path`` (where the plan file itself failed)."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f.lineno for f in frames if Path(f.filename) == path]
    return lines[-1] if lines else None
