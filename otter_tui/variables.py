"""Variables cascade, closest wins: job > server > environment (child over parent) > role > global
> the plan's declared default (a default never hides a value the inventory gives).

Where a server has several roles, the role in context wins over its other roles, which are taken
in name order. Where it is in several environments, each environment's chain (root first, child
last) is applied in name order, each environment once, so a child always wins over its parent
and unrelated environments apply in name order (the last name wins); Otter leaves this case
undefined, so we keep it deterministic and document it. Values are stored as text; plans
convert them through their typed declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Layer = Mapping[str, str]
NamedLayer = tuple[str, Mapping[str, object]]
"""A layer and where it comes from: ``global``, ``role web``, ``environment prod``, ``server
db1``, ``job`` or ``plan default``; shown by ``vars resolve --plan`` and in the job's log."""
PLAN_DEFAULT, JOB = "plan default", "job"


def cascade(layers: Sequence[Layer]) -> dict[str, str]:
    """Merge layers given lowest precedence first; a later layer's value wins."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def sourced_cascade(layers: Sequence[NamedLayer]) -> dict[str, tuple[object, str]]:
    """Like :func:`cascade`, keeping for each value the name of the layer that gave it."""
    merged: dict[str, tuple[object, str]] = {}
    for source, layer in layers:
        merged.update((name, (value, source)) for name, value in layer.items())
    return merged


def environment_chain(name: str, parents: Mapping[str, str | None]) -> list[str]:
    """``name`` and its ancestors, root first; a cycle stops at the first repeat."""
    chain: list[str] = []
    current: str | None = name
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return list(reversed(chain))


def named_server_layers(
    *,
    global_vars: Layer,
    role_vars: Mapping[str, Layer],
    environment_vars: Mapping[str, Layer],
    environment_parents: Mapping[str, str | None],
    server_roles: Sequence[str],
    server_environments: Sequence[str],
    server_vars: Layer,
    role_in_context: str | None = None,
    server_name: str = "",
) -> list[tuple[str, Layer]]:
    """The named layers for one server, lowest precedence first (the job's own layer goes last)."""
    roles = sorted(r for r in server_roles if r != role_in_context)
    if role_in_context is not None:
        roles.append(role_in_context)
    layers: list[tuple[str, Layer]] = [("global", global_vars)]
    layers += [(f"role {r}", role_vars.get(r, {})) for r in roles]
    layers += [
        (f"environment {e}", environment_vars.get(e, {}))
        for e in environment_order(server_environments, environment_parents)
    ]
    layers.append((f"server {server_name}".rstrip(), server_vars))
    return layers


def server_layers(**facts: object) -> list[Layer]:
    """:func:`named_server_layers` without the names."""
    return [layer for _name, layer in named_server_layers(**facts)]  # type: ignore[arg-type]


def environment_order(names: Sequence[str], parents: Mapping[str, str | None]) -> list[str]:
    """The server's environments and their ancestors, each once, every parent before its child.

    Chains are taken in name order and an environment already applied is not applied again, so
    a server in both ``a-rack`` and its parent ``zone`` still gets the rack's value.
    """
    order: dict[str, None] = {}
    for env in sorted(names):
        order.update(dict.fromkeys(e for e in environment_chain(env, parents) if e not in order))
    return list(order)
