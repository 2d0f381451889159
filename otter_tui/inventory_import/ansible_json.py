"""What ``ansible-inventory --list`` prints: groups with ``hosts``/``children``/``vars`` and
``_meta.hostvars``.

With ``--export`` group variables stay on their groups (and become role or environment
variables); without it Ansible has already merged them into every host's vars, so they become
server variables. Vaulted values (``{"__ansible_vault": ...}``) are secrets.
"""

from __future__ import annotations

import json
from typing import Any

from otter_tui.inventory_import.ansible_tree import Tree, Var
from otter_tui.inventory_import.secrets import VaultValue
from otter_tui.inventory_import.source import SourceError


def parse_json(text: str, label: str) -> Tree:
    """The tree of ``ansible-inventory --list`` output; anything else is one ``SourceError``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{label}:{exc.lineno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise SourceError(label, "expected the JSON object that ansible-inventory --list prints")
    tree = Tree(label)
    tree.group("all")
    hostvars = _object(data.get("_meta", {}), label, "_meta").get("hostvars", {})
    for name, body in data.items():
        if name != "_meta":
            _group(tree, name, _object(body, label, f"group '{name}'"))
    for host, variables in _object(hostvars, label, "_meta.hostvars").items():
        tree.host_lines.setdefault(host, None)
        tree.hostvars.setdefault(host, {}).update(_vars(variables, label, f"host '{host}'"))
    return tree


def _group(tree: Tree, name: str, body: dict[str, Any]) -> None:
    group = tree.group(name)
    for child in _list(body.get("children", []), tree.label, f"children of '{name}'"):
        group.children.setdefault(child, None)
        tree.group(child)
    for host in _list(body.get("hosts", []), tree.label, f"hosts of '{name}'"):
        tree.add_host(name, host, None, {})
    group.vars.update(_vars(body.get("vars", {}), tree.label, f"vars of '{name}'"))


def _vars(value: object, label: str, what: str) -> dict[str, Var]:
    return {k: (_plain(v), None) for k, v in _object(value, label, what).items()}


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
