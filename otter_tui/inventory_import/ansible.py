"""Read any Ansible inventory we support: the JSON of ``ansible-inventory --list`` (so every
inventory source Ansible knows works through Ansible's own tool), or a static INI or YAML file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from otter_tui.inventory_import.ansible_ini import parse_ini
from otter_tui.inventory_import.ansible_json import parse_json
from otter_tui.inventory_import.ansible_tree import AnsibleOptions, Tree, to_source
from otter_tui.inventory_import.ansible_yaml import parse_yaml
from otter_tui.inventory_import.source import Source, SourceError

STDIN = "-"


def read_ansible(path: str, options: AnsibleOptions) -> Source:
    """The inventory at ``path`` (``-``: standard input) mapped onto ours."""
    label, text = _read(path)
    source = to_source(_parse(label, text), options)
    if path != STDIN:
        source.warnings.extend(_unread_dirs(Path(path)))
    return source


def _read(path: str) -> tuple[str, str]:
    if path == STDIN:
        return "<stdin>", sys.stdin.read()
    file = Path(path).expanduser()
    if file.is_dir():
        raise SourceError(
            path,
            "is a directory; run `ansible-inventory -i DIR --list --export` and import "
            "its output (PATH -)",
        )
    try:
        return path, file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _parse(label: str, text: str) -> Tree:
    kind = detect_format(label, text)
    if kind == "json":
        return parse_json(text, label)
    if kind == "ini":
        return parse_ini(text, label)
    return parse_yaml(text, label)


def detect_format(label: str, text: str) -> str:
    """``json``, ``ini`` or ``yaml``: by suffix, else by the first significant line."""
    suffix = Path(label).suffix.lower()
    if suffix in (".yml", ".yaml"):
        return "yaml"
    if suffix in (".json", ".ini"):
        return suffix[1:]
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("{"):
            return "json"
        if stripped.startswith("[") or ":" not in stripped or "=" in stripped.split(":")[0]:
            return "ini"
        return "yaml"
    return "yaml"


def _unread_dirs(path: Path) -> list[str]:
    """group_vars/ and host_vars/ next to a static file are Ansible's, not read here."""
    return [
        f"{path.parent / name}/ is not read; to include it, import the output of "
        f"`ansible-inventory -i {path} --list --export`"
        for name in ("group_vars", "host_vars")
        if (path.parent / name).is_dir()
    ]
