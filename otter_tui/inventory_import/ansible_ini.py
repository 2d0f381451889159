"""Static Ansible INI inventories, the common subset, read without Ansible installed.

Sections are ``[group]`` (hosts, each with optional ``key=value`` vars), ``[group:vars]`` and
``[group:children]``; hosts before any section are ungrouped. Values inline with a host are
Python literals when they parse as one (as Ansible reads them), ``:vars`` values are strings.
"""

from __future__ import annotations

import ast
import re
import shlex

from otter_tui.inventory_import.ansible_tree import Tree, Var
from otter_tui.inventory_import.ranges import RANGE, RangeError, expand_hosts
from otter_tui.inventory_import.source import SourceError, located

SECTION = re.compile(r"^\[([^\]:\s]+)(?::(\w+))?\]$")
KINDS = ("hosts", "vars", "children")


def parse_ini(text: str, label: str) -> Tree:
    """The tree ``text`` describes; a line that is not INI inventory is one ``SourceError``."""
    tree = Tree(label)
    tree.group("all", 1)
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = located(label, number)
        if line.startswith("["):
            group, kind = _section(line, where)
            tree.group(group, number)
            continue
        if kind == "hosts":
            _host_line(tree, group, line, number, where)
        elif kind == "vars":
            name, value = _pair(line, where)
            tree.group(group).vars[name] = (value.strip(), number)
        else:
            _child_line(tree, group, line, number, where)
    _top_level_under_all(tree)
    return tree


def _section(line: str, where: str) -> tuple[str, str]:
    match = SECTION.match(line)
    if match is None:
        raise SourceError(where, f"malformed section header {line!r} (use [group] or [group:vars])")
    kind = match.group(2) or "hosts"
    if kind not in KINDS:
        raise SourceError(where, f"unknown section kind ':{kind}' (use :vars or :children)")
    return match.group(1), kind


def _host_line(tree: Tree, group: str, line: str, number: int, where: str) -> None:
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise SourceError(where, f"cannot read host line: {exc}") from None
    pattern, assignments = words[0], words[1:]
    variables: dict[str, Var] = {}
    for word in assignments:
        name, value = _pair(word, where)
        variables[name] = (_literal(value), number)
    pattern, port = _split_port(pattern, where)
    if port is not None:
        variables.setdefault("ansible_port", (port, number))
    try:
        hosts = expand_hosts(pattern)
    except RangeError as exc:
        raise SourceError(where, str(exc)) from None
    for host in hosts:
        tree.add_host(group, host, number, dict(variables))


def _split_port(pattern: str, where: str) -> tuple[str, int | None]:
    """``host:2222`` is the host with its port (one colon only: an IPv6 address has more)."""
    if RANGE.sub("", pattern).count(":") != 1:
        return pattern, None
    host, port = pattern.rsplit(":", 1)
    if not port.isdigit():
        raise SourceError(where, f"port {port!r} of host {host!r} is not a number")
    return host, int(port)


def _child_line(tree: Tree, group: str, line: str, number: int, where: str) -> None:
    if len(line.split()) != 1:
        raise SourceError(where, f"a :children section lists one group a line, got {line!r}")
    tree.group(group).children.setdefault(line, number)
    tree.group(line, number)


def _pair(word: str, where: str) -> tuple[str, str]:
    name, sep, value = word.partition("=")
    if not sep or not name.strip():
        raise SourceError(where, f"expected name=value, got {word!r}")
    return name.strip(), value


def _literal(value: str) -> object:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _top_level_under_all(tree: Tree) -> None:
    """Ansible makes every group that is nobody's child a child of ``all``."""
    children = {c for g in tree.groups.values() for c in g.children}
    for name in list(tree.groups):
        if name != "all" and name not in children:
            tree.groups["all"].children.setdefault(name, tree.groups[name].line)
