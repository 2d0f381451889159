"""Static Ansible YAML inventories (``all: {hosts, children, vars}``), read with line numbers.

The document is walked as YAML nodes rather than loaded, so every host and variable keeps the
line it came from for error messages. ``!vault`` values become :class:`VaultValue` (secrets),
``!unsafe`` ones plain strings.
"""

from __future__ import annotations

from typing import Any

import yaml

from otter_tui.inventory_import.ansible_tree import Tree, Var
from otter_tui.inventory_import.ranges import RangeError, expand_hosts
from otter_tui.inventory_import.secrets import VaultValue
from otter_tui.inventory_import.source import SourceError, located

GROUP_KEYS = ("hosts", "children", "vars")


class _Loader(yaml.SafeLoader):
    """Safe loading plus Ansible's two tags."""


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> VaultValue:
    return VaultValue(loader.construct_scalar(node))  # type: ignore[arg-type]


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)


def parse_yaml(text: str, label: str) -> Tree:
    """The tree ``text`` describes; malformed YAML or structure is one ``SourceError``."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = located(label, mark.line + 1 if mark else None)
        raise SourceError(where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    finally:
        loader.dispose()
    tree = Tree(label)
    tree.group("all", 1)
    if root is None:
        return tree
    walker = _Walker(loader, tree)
    for key, value in walker.mapping(root, "the document"):
        walker.group(_scalar(key, label), key, value, parent=None)
    return tree


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node, label: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise SourceError(located(label, _line(node)), "expected a name here")
    return str(node.value)


class _Walker:
    def __init__(self, loader: _Loader, tree: Tree) -> None:
        self.loader, self.tree = loader, tree

    def where(self, node: yaml.Node) -> str:
        return located(self.tree.label, _line(node))

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
        """The pairs of a mapping; an empty value (``web:``) is an empty mapping."""
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            return []
        if not isinstance(node, yaml.MappingNode):
            raise SourceError(self.where(node), f"{what} must be a mapping")
        return list(node.value)

    def group(self, name: str, key: yaml.Node, node: yaml.Node, parent: str | None) -> None:
        group = self.tree.group(name, _line(key))
        if parent is not None:
            self.tree.group(parent).children.setdefault(name, _line(key))
        for sub_key, value in self.mapping(node, f"group '{name}'"):
            kind = _scalar(sub_key, self.tree.label)
            if kind == "hosts":
                self.hosts(name, value)
            elif kind == "children":
                for child, child_node in self.mapping(value, f"children of '{name}'"):
                    self.group(_scalar(child, self.tree.label), child, child_node, name)
            elif kind == "vars":
                group.vars.update(self.variables(value, f"vars of '{name}'"))
            else:
                raise SourceError(
                    self.where(sub_key),
                    f"group '{name}' has unknown key '{kind}' (use hosts, children or vars)",
                )

    def hosts(self, group: str, node: yaml.Node) -> None:
        for key, value in self.mapping(node, f"hosts of '{group}'"):
            pattern = _scalar(key, self.tree.label)
            try:
                names = expand_hosts(pattern)
            except RangeError as exc:
                raise SourceError(self.where(key), str(exc)) from None
            variables = self.variables(value, f"vars of host '{pattern}'")
            for host in names:
                self.tree.add_host(group, host, _line(key), dict(variables))

    def variables(self, node: yaml.Node, what: str) -> dict[str, Var]:
        out: dict[str, Var] = {}
        for key, value in self.mapping(node, what):
            out[_scalar(key, self.tree.label)] = (self.value(value), _line(key))
        return out

    def value(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise SourceError(self.where(node), f"cannot read value: {exc}") from None
