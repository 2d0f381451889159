"""The SSE stream's events are built by hand for speed: byte for byte what encoding each line's
fields with ``json.dumps`` gives, for any text a command may print, so an ``EventSource`` or a
script parsing ``data`` with any JSON parser reads exactly the stored line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from otter_tui.api.stream import events
from otter_tui.services.jobs import LogView

AT = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
TEXTS = [
    "plain",
    "",
    'quotes " and \\ backslash',
    "tab\there, bell \x07, escape \x1b[31m",
    "ünïcödé ✓ 日本語 🦦",
    "line\u2028separator",
    "{not: json}",
]


def reference(line: LogView) -> bytes:
    """What the stream sent before: a dict per line through ``json.dumps``."""
    data = {
        "seq": line.seq,
        "at": line.at.isoformat(),
        "server": line.server,
        "level": line.level,
        "stream": line.stream,
        "text": line.text,
    }
    return f"id: {line.seq}\nevent: log\ndata: {json.dumps(data)}\n\n".encode()


def test_events_are_exactly_what_json_dumps_gives_for_any_text() -> None:
    lines = [
        LogView(seq, AT + timedelta(microseconds=seq // 3), server, level, stream, text, None)
        for seq, (text, server, level, stream) in enumerate(
            (
                (text, server, level, stream)
                for text in TEXTS
                for server in ("", "web-1", 'odd "name"')
                for level, stream in (("info", "stdout"), ("error", "stderr"), ("warning", ""))
            ),
            start=1,
        )
    ]
    assert events(lines) == b"".join(reference(line) for line in lines)


def test_each_event_parses_back_to_its_line() -> None:
    lines = [LogView(i + 1, AT, "web-1", "info", "stdout", t) for i, t in enumerate(TEXTS)]
    blocks = events(lines).decode().split("\n\n")[:-1]
    assert len(blocks) == len(TEXTS)
    for line, block in zip(lines, blocks, strict=True):
        head, kind, data = block.split("\n")
        assert head == f"id: {line.seq}" and kind == "event: log"
        assert json.loads(data.removeprefix("data: "))["text"] == line.text
