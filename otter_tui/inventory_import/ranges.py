"""Ansible host ranges: ``web[01:20]``, ``db-[a:c]``, ``node[0:10:2]`` -> the host names.

Numeric bounds of equal width keep their zero padding (``[01:20]`` gives ``01``..``20``), as
Ansible does; a pattern may hold several ranges and expands to their product.
"""

from __future__ import annotations

import re
import string

RANGE = re.compile(r"\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]")
MAX_HOSTS = 100_000


class RangeError(ValueError):
    """A range that cannot be expanded; the message names the bad part."""


def expand_hosts(pattern: str) -> list[str]:
    """Every host name ``pattern`` stands for, in order; a pattern without a range is itself."""
    match = RANGE.search(pattern)
    if match is None:
        if "[" in pattern or "]" in pattern:
            raise RangeError(f"malformed host range in {pattern!r} (use name[01:20])")
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    rest = expand_hosts(tail)
    names = [head + part + end for part in _parts(match, pattern) for end in rest]
    if len(names) > MAX_HOSTS:
        raise RangeError(f"host range {pattern!r} expands to more than {MAX_HOSTS} hosts")
    return names


def _parts(match: re.Match[str], pattern: str) -> list[str]:
    start, end, step_text = match.group(1), match.group(2), match.group(3)
    step = _int(step_text, pattern) if step_text else 1
    if step < 1:
        raise RangeError(f"host range step in {pattern!r} must be at least 1")
    if start.isdigit() and end.isdigit():
        width = len(start) if len(start) == len(end) else 0
        values = range(int(start), int(end) + 1, step)
        return [str(v).zfill(width) for v in values] or _empty(pattern)
    letters = string.ascii_letters
    if len(start) == 1 and len(end) == 1 and start in letters and end in letters:
        chars = letters[letters.index(start) : letters.index(end) + 1 : step]
        return list(chars) or _empty(pattern)
    raise RangeError(f"host range [{start}:{end}] in {pattern!r} is neither numbers nor letters")


def _int(text: str, pattern: str) -> int:
    if not text.isdigit():
        raise RangeError(f"host range step {text!r} in {pattern!r} is not a number")
    return int(text)


def _empty(pattern: str) -> list[str]:
    raise RangeError(f"host range in {pattern!r} is empty (start after end)")
