"""What ``ansible-inventory --list`` prints: groups with ``hosts``/``children``/``vars`` and
``_meta.hostvars``.

With ``--export`` group variables stay on their groups (and become role or environment
variables); without it Ansible has already merged them into every host's vars, so they become
server variables. Vaulted values (``{"__ansible_vault": ...}``) are secrets.
"""

from __future__ import annotations

import json
import re
from typing import Any

from otter_tui.inventory_import.ansible_tree import Tree, Var
from otter_tui.inventory_import.secrets import VaultValue
from otter_tui.inventory_import.source import SourceError

KEY = re.compile(r'^(\s*)"((?:[^"\\]|\\.)*)"\s*:\s*(\{)?')
Lines = dict[tuple[str, ...], int]


def key_lines(text: str) -> Lines:
    """The line of each object key by its path (``("_meta", "hostvars", "web1")``).

    ansible-inventory pretty-prints one key per line, so a scan of indentation is enough; in
    compact JSON only the first key has a line and errors name the file alone.
    """
    lines: Lines = {}
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = KEY.match(line)
        if match is None:
            continue
        indent, key = len(match.group(1)), json.loads(f'"{match.group(2)}"')
        while stack and stack[-1][0] >= indent:
            stack.pop()
        lines.setdefault((*(k for _, k in stack), key), number)
        if match.group(3):
            stack.append((indent, key))
    return lines


def parse_json(text: str, label: str) -> Tree:
    """The tree of ``ansible-inventory --list`` output; anything else is one ``SourceError``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{label}:{exc.lineno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise SourceError(label, "expected the JSON object that ansible-inventory --list prints")
    tree, lines = Tree(label), key_lines(text)
    tree.group("all")
    hostvars = _object(data.get("_meta", {}), label, "_meta").get("hostvars", {})
    for name, body in data.items():
        if name != "_meta":
            _group(tree, name, _object(body, label, f"group '{name}'"), lines)
    for host, variables in _object(hostvars, label, "_meta.hostvars").items():
        path = ("_meta", "hostvars", host)
        tree.host_lines[host] = lines.get(path)
        found = _vars(variables, label, f"host '{host}'", lines, path)
        tree.hostvars.setdefault(host, {}).update(found)
    return tree


def _group(tree: Tree, name: str, body: dict[str, Any], lines: Lines) -> None:
    group = tree.group(name, lines.get((name,)))
    for child in _list(body.get("children", []), tree.label, f"children of '{name}'"):
        group.children.setdefault(child, None)
        tree.group(child)
    for host in _list(body.get("hosts", []), tree.label, f"hosts of '{name}'"):
        tree.add_host(name, host, lines.get((name,)), {})
    found = _vars(body.get("vars", {}), tree.label, f"vars of '{name}'", lines, (name, "vars"))
    group.vars.update(found)


def _vars(
    value: object, label: str, what: str, lines: Lines, path: tuple[str, ...]
) -> dict[str, Var]:
    items = _object(value, label, what).items()
    return {k: (_plain(v), lines.get((*path, k))) for k, v in items}


def _plain(value: object) -> object:
    if isinstance(value, dict) and "__ansible_vault" in value:
        return VaultValue(str(value["__ansible_vault"]))
    if isinstance(value, dict) and "__ansible_unsafe" in value:
        return str(value["__ansible_unsafe"])
    return value


def _object(value: object, label: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceError(label, f"{what} must be a JSON object")
    return value


def _list(value: object, label: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(label, f"{what} must be a list of names")
    return value
