"""JSON answers: dataclass views and times rendered the same way on every endpoint."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from starlette.responses import Response

from otter_tui.targeting import TargetSpec


def plain(value: Any) -> Any:
    """Something ``json.dumps`` accepts: times in ISO 8601 (UTC), views as objects."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, TargetSpec):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot render {type(value).__name__}")


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=plain, separators=(",", ":")).encode()


__all__ = ["Json", "plain"]
