"""Remote text made safe to show: a server must never drive the operator's terminal.

A server's output (and anything a plan logs) is stored byte for byte, but before it reaches a
terminal or a console widget every control character is shown escaped: ESC as ``\\x1b`` (so no
colour, clear-screen, cursor move or title change), BEL as ``\\x07``, CR as ``\\r``, and the C1
controls and DEL alike. Tab stays a tab. One function, used by the CLI and the console.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NAMED = {"\r": "\\r", "\n": "\\n"}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    return _NAMED.get(char, f"\\x{ord(char):02x}")


def visible(text: str) -> str:
    """``text`` with every control character but tab written as an escape."""
    return _CONTROL.sub(_escape, text)
