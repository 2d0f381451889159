"""Roles (a table) and environments (a tree, children under their parent), with add and delete."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.widgets import DataTable, Label, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.inventory import GroupView
from screens.background import route_result, run_blocking
from screens.messages import InventoryChanged
from screens.modals import ConfirmModal, FormField, FormModal
from screens.snapshot import InventorySnapshot
from screens.tables import Table

NO_PARENT = "(none)"


def group_label(group: GroupView) -> Text:
    """``name  3 servers  description``, built as plain text (names are never markup)."""
    count = len(group.servers)
    label = Text(group.name, style="bold")
    label.append(f"  {count} server{'s' if count != 1 else ''}", style="dim")
    if group.description:
        label.append(f"  {group.description}", style="italic dim")
    return label


def fill_tree(tree: Tree[str], environments: tuple[GroupView, ...]) -> None:
    """Environments nested under their parents; one whose parent is unknown sits at the top."""
    names = {env.name for env in environments}
    children: dict[str | None, list[GroupView]] = {}
    for env in environments:
        parent = env.parent if env.parent in names else None
        children.setdefault(parent, []).append(env)

    def add(node: TreeNode[str], parent: str | None) -> None:
        for env in children.get(parent, []):
            kids = children.get(env.name)
            child = node.add(group_label(env), data=env.name, expand=True, allow_expand=bool(kids))
            add(child, env.name)

    tree.clear()
    add(tree.root, None)


class GroupsPane(Horizontal):
    """Roles on the left, the environment tree on the right."""

    BINDINGS = [
        Binding("a", "add_role", "Add role"),
        Binding("n", "add_environment", "Add environment"),
        Binding("x", "delete", "Delete"),
    ]

    snapshot: var[InventorySnapshot] = var(InventorySnapshot, init=False)
    """The inventory on show, set by the screen after each load."""

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        """The services every action calls."""

    def compose(self) -> ComposeResult:
        with Vertical(id="roles-box"):
            yield Label("Roles", classes="section-title")
            yield Table(id="roles", cursor_type="row", zebra_stripes=True)
        with Vertical(id="environments-box"):
            yield Label("Environments", classes="section-title")
            tree: Tree[str] = Tree("environments", id="environments")
            tree.show_root = False
            yield tree

    def on_mount(self) -> None:
        self.query_one("#roles", DataTable).add_columns("role", "servers", "members", "description")

    def watch_snapshot(self, snapshot: InventorySnapshot) -> None:
        table: DataTable[Text] = self.query_one("#roles", DataTable)
        row = table.cursor_row
        table.clear()
        for role in snapshot.roles:
            cells = (role.name, str(len(role.servers)), ", ".join(role.servers), role.description)
            table.add_row(*(Text(cell) for cell in cells), key=role.name)
        table.move_cursor(row=min(row, max(table.row_count - 1, 0)))
        fill_tree(self.query_one("#environments", Tree), snapshot.environments)

    def _selected(self) -> tuple[str, GroupView] | None:
        """The role or environment under the cursor of whichever list has the focus."""
        if self.query_one("#environments", Tree).has_focus:
            node = self.query_one("#environments", Tree).cursor_node
            envs = {env.name: env for env in self.snapshot.environments}
            return ("environment", envs[node.data]) if node and node.data in envs else None
        table = self.query_one("#roles", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        roles = {role.name: role for role in self.snapshot.roles}
        return ("role", roles[str(key)]) if key in roles else None

    def action_add_role(self) -> None:
        fields = [
            FormField("name", "Name", placeholder="web"),
            FormField("description", "Description"),
        ]
        inventory = self.runtime.inventory

        def submit(values: Mapping[str, str]) -> GroupView:
            return inventory.add_role(values["name"], values["description"])

        modal = FormModal("Add role", fields, submit, submit_label="Add")
        self.app.push_screen(modal, partial(self._added, "role"))

    def action_add_environment(self) -> None:
        parents = (NO_PARENT, *self.snapshot.environment_names)
        fields = [
            FormField("name", "Name", placeholder="production"),
            FormField("parent", "Parent", NO_PARENT, choices=parents),
            FormField("description", "Description"),
        ]
        inventory = self.runtime.inventory

        def submit(values: Mapping[str, str]) -> GroupView:
            parent = None if values["parent"] == NO_PARENT else values["parent"]
            return inventory.add_environment(values["name"], values["description"], parent)

        modal = FormModal("Add environment", fields, submit, submit_label="Add")
        self.app.push_screen(modal, partial(self._added, "environment"))

    def _added(self, kind: str, group: GroupView | None) -> None:
        if group is not None:
            self.notify(f"{kind} '{group.name}' added", markup=False)
            self.post_message(InventoryChanged())

    def action_delete(self) -> None:
        selected = self._selected()
        if selected is None:
            self.notify("select a role or an environment first", severity="warning")
            return
        kind, group = selected
        effect = f"{len(group.servers)} server(s) leave it and its variables are deleted."
        if kind == "environment":
            effect += " Environments inside it move to the top level."
        question = f"Delete {kind} '{group.name}'?\n\n{effect}"

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, lambda: self._remove(kind, group.name), group="groups-write")

        self.app.push_screen(ConfirmModal(question), answered)

    def _remove(self, kind: str, name: str) -> str:
        inventory = self.runtime.inventory
        if kind == "role":
            inventory.remove_role(name)
        else:
            inventory.remove_environment(name)
        return f"{kind} '{name}' deleted"

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        route_result(event, {"groups-write": self._written}, self._failed)

    def _written(self, message: str) -> None:
        self.notify(message, markup=False)
        self.post_message(InventoryChanged())

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)
