"""``Host`` blocks of an OpenSSH client config as servers.

Every alias that is a plain name (no ``*``, ``?`` or ``!``) is a server. Its settings come from
every block that matches it, first value wins, as ``ssh`` reads them: so ``Host *`` defaults
apply, though the wildcard block itself is not a server. ``Include`` is honoured (globs;
relative paths from the including file's folder); ``Match`` blocks are left out with a warning.
``IdentityFile`` and ``ProxyJump`` have no field on a server: they are reported, not stored.
"""

from __future__ import annotations

import fnmatch
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from otter_tui.inventory_import.source import Source, SourceError, SourceServer, located

KEYS = {"hostname", "port", "user", "identityfile", "proxyjump"}
DEFAULT_PATH = "~/.ssh/config"
MAX_DEPTH = 16
LINE = re.compile(r"^\s*(\w+)\s*(?:=\s*|\s+)(.*?)\s*$")


@dataclass
class _Block:
    patterns: tuple[str, ...]
    options: dict[str, tuple[str, str]] = field(default_factory=dict)
    """lower-case key -> (value, file:line); first value wins."""
    where: str = ""


@dataclass
class _Reader:
    blocks: list[_Block] = field(default_factory=lambda: [_Block(("*",))])
    warnings: list[str] = field(default_factory=list)
    skipping: bool = False

    def read(self, path: Path, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise SourceError(str(path), f"Include nested deeper than {MAX_DEPTH} files")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(str(path), f"cannot read: {getattr(exc, 'strerror', exc)}") from None
        for number, raw in enumerate(text.splitlines(), start=1):
            self.line(path, number, raw, depth)

    def line(self, path: Path, number: int, raw: str, depth: int) -> None:
        if not raw.strip() or raw.strip().startswith("#"):
            return
        where = located(str(path), number)
        match = LINE.match(raw)
        if match is None or not match.group(2):
            raise SourceError(where, f"expected 'Keyword value', got {raw.strip()!r}")
        key, value = match.group(1).lower(), _unquote(match.group(2))
        if key == "include":
            for included in _includes(path, value):
                self.read(included, depth + 1)
        elif key == "host":
            self.skipping = False
            self.blocks.append(_Block(tuple(value.split()), where=where))
        elif key == "match":
            self.skipping = True
            self.warnings.append(f"{where}: Match block left out (only Host blocks are read)")
        elif key in KEYS and not self.skipping:
            self.blocks[-1].options.setdefault(key, (value, where))


def read_ssh_config(path: str | None = None) -> Source:
    """Servers from the ssh_config at ``path`` (default ``~/.ssh/config``) and what it includes."""
    file = Path(path or DEFAULT_PATH).expanduser()
    reader = _Reader()
    reader.read(file)
    source = Source(str(file), warnings=reader.warnings, describes_groups=False)
    for alias, where in _aliases(reader.blocks):
        source.servers.append(_server(alias, where, reader.blocks, source.warnings))
    return source


def _aliases(blocks: list[_Block]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for block in blocks[1:]:
        for pattern in block.patterns:
            if not any(c in pattern for c in "*?!"):
                seen.setdefault(pattern, block.where)
    return list(seen.items())


def _server(alias: str, where: str, blocks: list[_Block], warnings: list[str]) -> SourceServer:
    options: dict[str, tuple[str, str]] = {}
    for block in blocks:
        if _matches(alias, block.patterns):
            for key, value in block.options.items():
                options.setdefault(key, value)
    for key, label in (("identityfile", "IdentityFile"), ("proxyjump", "ProxyJump")):
        if key in options:
            warnings.append(
                f"{options[key][1]}: {alias}: {label} {options[key][0]} not stored (a server "
                "has no such field); the SSH transport applies it from ssh.ssh_config when a "
                "Host block there matches the server's host"
            )
    host = options.get("hostname", (alias, where))[0].replace("%h", alias)
    return SourceServer(
        name=alias,
        host=host,
        port=_port(options.get("port")),
        user=options.get("user", ("", where))[0],
        where=where,
    )


def _matches(alias: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH matching: any positive pattern matches and no negated one does."""
    if any(p.startswith("!") and fnmatch.fnmatchcase(alias, p[1:]) for p in patterns):
        return False
    return any(not p.startswith("!") and fnmatch.fnmatchcase(alias, p) for p in patterns)


def _port(option: tuple[str, str] | None) -> int:
    if option is None:
        return 22
    value, where = option
    if not value.isdigit():
        raise SourceError(where, f"Port {value!r} is not a number")
    return int(value)


def _includes(path: Path, value: str) -> list[Path]:
    found: list[Path] = []
    for word in value.split():
        pattern = Path(word).expanduser()
        if not pattern.is_absolute():
            pattern = path.parent / pattern
        found.extend(Path(p) for p in sorted(glob.glob(str(pattern))))
    return found


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
