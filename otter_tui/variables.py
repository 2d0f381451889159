"""Variables cascade, closest wins: job > server > environment (child over parent) > role > global.

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


def cascade(layers: Sequence[Layer]) -> dict[str, str]:
    """Merge layers given lowest precedence first; a later layer's value wins."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def environment_chain(name: str, parents: Mapping[str, str | None]) -> list[str]:
    """``name`` and its ancestors, root first; a cycle stops at the first repeat."""
    chain: list[str] = []
    current: str | None = name
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return list(reversed(chain))


def server_layers(
    *,
    global_vars: Layer,
    role_vars: Mapping[str, Layer],
    environment_vars: Mapping[str, Layer],
    environment_parents: Mapping[str, str | None],
    server_roles: Sequence[str],
    server_environments: Sequence[str],
    server_vars: Layer,
    role_in_context: str | None = None,
) -> list[Layer]:
    """The layers for one server, lowest precedence first (the job's own layer goes last)."""
    roles = sorted(r for r in server_roles if r != role_in_context)
    if role_in_context is not None:
        roles.append(role_in_context)
    layers: list[Layer] = [global_vars, *(role_vars.get(r, {}) for r in roles)]
    layers += [
        environment_vars.get(e, {})
        for e in environment_order(server_environments, environment_parents)
    ]
    layers.append(server_vars)
    return layers


def environment_order(names: Sequence[str], parents: Mapping[str, str | None]) -> list[str]:
    """The server's environments and their ancestors, each once, every parent before its child.

    Chains are taken in name order and an environment already applied is not applied again, so
    a server in both ``a-rack`` and its parent ``zone`` still gets the rack's value.
    """
    order: dict[str, None] = {}
    for env in sorted(names):
        order.update(dict.fromkeys(e for e in environment_chain(env, parents) if e not in order))
    return list(order)
