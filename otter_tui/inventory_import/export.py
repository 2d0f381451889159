"""Our inventory as an Ansible inventory (YAML, or the JSON ``ansible-inventory --list --export``
prints), so it can be used by Ansible and imported back unchanged.

Every host and its fields and variables sit under ``all.hosts``; groups list their hosts by name.
Environments carry the group variable ``otter_tui_kind: environment`` so a re-import knows them
without ``--environments``; nested environments are ``children`` of their parent.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from otter_tui.inventory_import.ansible_tree import ENVIRONMENT_MARK
from otter_tui.inventory_import.source import Source, SourceServer

FORMATS = ("ansible-yaml", "json")


def host_vars(server: SourceServer) -> dict[str, str | int]:
    out: dict[str, str | int] = {}
    if server.transport == "local":
        out["ansible_connection"] = "local"
    if server.host != server.name:
        out["ansible_host"] = server.host
    if server.port != 22:
        out["ansible_port"] = server.port
    if server.user:
        out["ansible_user"] = server.user
    return {**out, **server.variables}


def to_yaml_tree(source: Source) -> dict[str, Any]:
    """The ``all:`` document of a YAML inventory."""
    children: dict[str, Any] = {}
    for role in source.roles:
        children[role.name] = _group(
            [s.name for s in source.servers if role.name in s.roles], role.variables
        )
    envs = {e.name: e for e in source.environments}
    bodies = {
        e.name: _group(
            [s.name for s in source.servers if e.name in s.environments],
            {**dict([ENVIRONMENT_MARK]), **e.variables},
        )
        for e in source.environments
    }
    for env in source.environments:
        if env.parent in envs:
            bodies[env.parent].setdefault("children", {})[env.name] = bodies[env.name]
        else:
            children[env.name] = bodies[env.name]
    body: dict[str, Any] = {"hosts": {s.name: host_vars(s) or None for s in source.servers}}
    if children:
        body["children"] = children
    if source.global_vars:
        body["vars"] = dict(source.global_vars)
    return {"all": body}


def _group(hosts: list[str], variables: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if hosts:
        body["hosts"] = dict.fromkeys(hosts)
    if variables:
        body["vars"] = dict(variables)
    return body


def to_list_json(source: Source) -> dict[str, Any]:
    """What ``ansible-inventory --list --export`` prints for the same inventory."""
    out: dict[str, Any] = {"_meta": {"hostvars": {s.name: host_vars(s) for s in source.servers}}}
    top = [g.name for g in source.roles] + [e.name for e in source.environments if e.parent is None]
    out["all"] = {"children": ["ungrouped", *top]}
    if source.global_vars:
        out["all"]["vars"] = dict(source.global_vars)
    grouped = {s.name for s in source.servers if s.roles or s.environments}
    out["ungrouped"] = {"hosts": [s.name for s in source.servers if s.name not in grouped]}
    for role in source.roles:
        out[role.name] = _json_group(source, role.name, "roles", role.variables, [])
    for env in source.environments:
        kids = [e.name for e in source.environments if e.parent == env.name]
        variables = {**dict([ENVIRONMENT_MARK]), **env.variables}
        out[env.name] = _json_group(source, env.name, "environments", variables, kids)
    return out


def _json_group(
    source: Source, name: str, field: str, variables: dict[str, str], children: list[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {"hosts": [s.name for s in source.servers if name in getattr(s, field)]}
    if children:
        body["children"] = children
    if variables:
        body["vars"] = dict(variables)
    return body


def render(source: Source, fmt: str) -> str:
    """``source`` as text in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(to_list_json(source), indent=2) + "\n"
    return yaml.safe_dump(to_yaml_tree(source), sort_keys=False, default_flow_style=False)
