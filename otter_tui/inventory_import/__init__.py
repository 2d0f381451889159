"""Bringing an existing fleet in: Ansible inventories and ssh_config, read into one :class:`Source`.

Parsers only read files and return a :class:`Source` (what the source says the inventory is);
they never touch the database. Syncing a source into the store, with dry-run and prune, is
:mod:`otter_tui.services.inventory_sync`, so the CLI and the console share it.
"""

from __future__ import annotations

from otter_tui.inventory_import.ansible import read_ansible
from otter_tui.inventory_import.ansible_tree import AnsibleOptions
from otter_tui.inventory_import.source import Source, SourceGroup, SourceServer
from otter_tui.inventory_import.ssh_config import read_ssh_config

__all__ = [
    "AnsibleOptions",
    "Source",
    "SourceGroup",
    "SourceServer",
    "read_ansible",
    "read_ssh_config",
]
