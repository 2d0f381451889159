"""Ansible's inventory model (groups, children, vars, hostvars) shared by the INI, YAML and JSON
readers, and its mapping onto ours.

Mapping: ``all`` vars -> global variables; a group named by ``--environments`` (or starting with
the environment prefix) -> an environment, nested under an environment group it is a child of;
every other group except ``ungrouped`` -> a role; host vars -> server variables. A host belongs to
a role when it is in the group or any group below it, and to an environment when it is in the
group or a non-environment group below it (nested environments carry their own hosts).
Connection variables (``ansible_host``...) become server fields, resolved like Ansible does:
host over child group over parent group over ``all``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from otter_tui.inventory_import.secrets import PASSWORD_KEYS, looks_secret
from otter_tui.inventory_import.source import (
    SecretValue,
    Source,
    SourceError,
    SourceGroup,
    SourceServer,
    located,
)

ENVIRONMENT_MARK = ("otter_tui_kind", "environment")
"""A group variable our export writes on environments, so a re-import needs no options."""

Var = tuple[object, int | None]
"""A variable's value and the line it came from (None when the format has no lines)."""

CONNECTION_KEYS = {
    "ansible_host": "host",
    "ansible_ssh_host": "host",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "user",
    "ansible_ssh_user": "user",
    "ansible_connection": "transport",
    "ansible_ssh_private_key_file": "key",
    "ansible_private_key_file": "key",
    **{key: "password" for key in PASSWORD_KEYS},
}
"""Variables that become server fields (or a warning, or a keyring secret), not variables."""

TRANSPORTS = {
    "ssh": "ssh",
    "smart": "ssh",
    "paramiko": "ssh",
    "paramiko_ssh": "ssh",
    "ansible.builtin.ssh": "ssh",
    "ansible.builtin.paramiko_ssh": "ssh",
    "local": "local",
    "ansible.builtin.local": "local",
}


@dataclass
class Group:
    name: str
    line: int | None = None
    hosts: dict[str, int | None] = field(default_factory=dict)
    children: dict[str, int | None] = field(default_factory=dict)
    vars: dict[str, Var] = field(default_factory=dict)


@dataclass
class Tree:
    """An Ansible inventory as read, before mapping; readers fill it in file order."""

    label: str
    groups: dict[str, Group] = field(default_factory=dict)
    hostvars: dict[str, dict[str, Var]] = field(default_factory=dict)
    host_lines: dict[str, int | None] = field(default_factory=dict)

    def group(self, name: str, line: int | None = None) -> Group:
        if name not in self.groups:
            self.groups[name] = Group(name, line)
        return self.groups[name]

    def add_host(self, group: str, host: str, line: int | None, variables: dict[str, Var]) -> None:
        self.group(group).hosts.setdefault(host, line)
        self.host_lines.setdefault(host, line)
        self.hostvars.setdefault(host, {}).update(variables)


@dataclass(frozen=True)
class AnsibleOptions:
    """How groups map: which are environments, and what to do with secret-looking variables."""

    environments: frozenset[str] = frozenset()
    environment_prefix: str = ""

    def is_environment(self, name: str) -> bool:
        prefix = self.environment_prefix
        return name in self.environments or bool(prefix and name.startswith(prefix))


def text(value: object) -> str:
    """A variable's value as we store it: strings as-is, YAML scalars as YAML writes them,
    lists and mappings as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def to_source(tree: Tree, options: AnsibleOptions) -> Source:
    """Map ``tree`` onto our inventory; a structural problem is one ``SourceError``."""
    mapper = _Mapper(tree, options)
    return mapper.source()


class _Mapper:
    def __init__(self, tree: Tree, options: AnsibleOptions) -> None:
        self.tree, self.options = tree, options
        self.out = Source(tree.label)
        for name in sorted(options.environments - set(tree.groups)):
            raise SourceError(tree.label, f"--environments names group '{name}', which it lacks")
        for group in list(tree.groups.values()):
            for child, line in group.children.items():
                tree.group(child, line)
        self.depth = self._depths()
        self.members: dict[str, set[str]] = {}

    def source(self) -> Source:
        names = [g for g in self.tree.groups if g not in ("all", "ungrouped")]
        envs = [g for g in names if self._is_environment(g)]
        roles = [g for g in names if g not in envs]
        self.out.global_vars = self._vars("global", "", self.tree.group("all").vars)
        self.out.roles = [self._group("role", g, None) for g in roles]
        self.out.environments = [self._group("environment", g, self._parent(g)) for g in envs]
        role_of = _invert({g: self._hosts_under(g, stop_at_envs=False) for g in roles})
        env_of = _invert({g: self._hosts_under(g, stop_at_envs=True) for g in envs})
        for host in self.tree.host_lines:
            roles_, envs_ = role_of.get(host, []), env_of.get(host, [])
            self.out.servers.append(self._server(host, roles_, envs_))
        return self.out

    def _is_environment(self, name: str) -> bool:
        """Named by the options, or marked by our own export (``otter_tui_kind``)."""
        mark = self.tree.groups[name].vars.get(ENVIRONMENT_MARK[0], (None, None))[0]
        return self.options.is_environment(name) or mark == ENVIRONMENT_MARK[1]

    def _depths(self) -> dict[str, int]:
        """Each group's distance from ``all`` (Ansible merges group vars in this order)."""
        depth = {"all": 0}
        frontier = ["all"]
        while frontier:
            name = frontier.pop(0)
            for child in self.tree.group(name).children:
                if child not in depth:
                    depth[child] = depth[name] + 1
                    frontier.append(child)
        return {g: depth.get(g, 1) for g in self.tree.groups}

    def _hosts_under(
        self, name: str, *, stop_at_envs: bool, seen: frozenset[str] = frozenset()
    ) -> set[str]:
        if name in seen:
            where = located(self.tree.label, self.tree.groups[name].line)
            raise SourceError(where, f"group '{name}' is its own descendant (children cycle)")
        group = self.tree.groups[name]
        hosts = set(group.hosts)
        for child in group.children:
            if stop_at_envs and self._is_environment(child):
                continue
            hosts |= self._hosts_under(child, stop_at_envs=stop_at_envs, seen=seen | {name})
        return hosts

    def _parent(self, name: str) -> str | None:
        parents = sorted(
            g.name
            for g in self.tree.groups.values()
            if name in g.children and self._is_environment(g.name)
        )
        if len(parents) > 1:
            self.out.warnings.append(
                f"environment '{name}' is a child of {', '.join(parents)}; nested under "
                f"'{parents[0]}' only (an environment has one parent)"
            )
        return parents[0] if parents else None

    def _group(self, scope: str, name: str, parent: str | None) -> SourceGroup:
        group = self.tree.groups[name]
        where = located(self.tree.label, group.line)
        return SourceGroup(name, self._vars(scope, name, group.vars), parent, where)

    def _vars(self, scope: str, owner: str, variables: dict[str, Var]) -> dict[str, str]:
        """Plain variables of one level; connection keys and secrets are taken out."""
        kept: dict[str, str] = {}
        for name, (value, line) in variables.items():
            if name in CONNECTION_KEYS or name == ENVIRONMENT_MARK[0]:
                continue
            if looks_secret(name, value):
                where = located(self.tree.label, line)
                self.out.secrets.append(SecretValue(scope, owner, name, text(value), where))
                continue
            kept[name] = text(value)
        return kept

    def _server(self, host: str, roles: list[str], envs: list[str]) -> SourceServer:
        where = located(self.tree.label, self.tree.host_lines[host])
        own = self.tree.hostvars.get(host, {})
        conn = self._connection(host, roles + envs, own)
        for key, (value, line) in conn.items():
            if key == "key":
                self.out.warnings.append(
                    f"{host}: private key file {text(value)} not imported (a server has no key "
                    "field; list it in ssh.client_keys or in ~/.ssh/config)"
                )
            if key == "password":
                at = located(self.tree.label, line)
                self.out.secrets.append(
                    SecretValue("server", host, "ansible_password", text(value), at)
                )
        return SourceServer(
            name=host,
            host=text(conn.get("host", (host, None))[0]),
            port=self._port(conn.get("port"), host),
            user=text(conn.get("user", ("", None))[0]),
            transport=self._transport(conn.get("transport"), host),
            roles=tuple(sorted(roles)),
            environments=tuple(sorted(envs)),
            variables=self._vars("server", host, own),
            where=where,
        )

    def _connection(self, host: str, groups: Iterable[str], own: dict[str, Var]) -> dict[str, Var]:
        """Connection fields, host over deeper group over shallower group over ``all``."""
        merged: dict[str, Var] = {}
        containing = [g for g in self.tree.groups if host in self._direct_or_below(g)]
        ordered = sorted(containing, key=lambda g: (self.depth[g], g))
        for name in ["all", *ordered]:
            merged.update(_connection_vars(self.tree.groups[name].vars))
        merged.update(_connection_vars(own))
        return merged

    def _direct_or_below(self, name: str) -> set[str]:
        if name not in self.members:
            self.members[name] = self._hosts_under(name, stop_at_envs=False)
        return self.members[name]

    def _port(self, var: Var | None, host: str) -> int:
        if var is None:
            return 22
        value, line = var
        try:
            return int(text(value))
        except ValueError:
            where = located(self.tree.label, line)
            message = f"host '{host}': ansible_port {value!r} is not a number"
            raise SourceError(where, message) from None

    def _transport(self, var: Var | None, host: str) -> str:
        if var is None:
            return "ssh"
        value, line = var
        kind = TRANSPORTS.get(text(value))
        if kind is None:
            where = located(self.tree.label, line)
            raise SourceError(
                where, f"host '{host}': unknown ansible_connection {value!r} (use ssh or local)"
            )
        return kind


def _connection_vars(variables: dict[str, Var]) -> dict[str, Var]:
    return {CONNECTION_KEYS[k]: v for k, v in variables.items() if k in CONNECTION_KEYS}


def _invert(groups: dict[str, set[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group, hosts in groups.items():
        for host in hosts:
            out.setdefault(host, []).append(group)
    return out
