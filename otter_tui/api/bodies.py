"""Reading what a client sent: the query string and a form or JSON body, strictly.

A body over ``api.max_body_bytes`` is refused with 413 as soon as its declared length (or the
bytes read so far) pass the limit, so an oversized upload is never held whole. Text must be
UTF-8, JSON must be an object, and a field nobody declared is named in the 400.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from otter_tui.api.refusals import Refused
from otter_tui.api.state import api_state

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return _pairs(request.scope.get("query_string", b""), "query string")


async def read_body(request: Request) -> bytes:
    limit = api_state(request).settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"request body is over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def body_fields(request: Request) -> dict[str, Any]:
    """A form or JSON object body as a dict; no body: empty."""
    body = await read_body(request)
    if not body.strip():
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FORM:
        return dict(_unique(_pairs(body, "form body")))
    if kind == JSON_TYPE or kind.endswith("+json") or not kind:
        return _json_object(body)
    raise Refused(415, f"unsupported content type '{kind}' (send {JSON_TYPE} or {FORM})")


async def json_fields(request: Request, allowed: Collection[str]) -> dict[str, Any]:
    """A JSON object body whose every field is one of ``allowed`` (the key aside)."""
    found = await body_fields(request)
    unknown = sorted(set(found) - set(allowed) - {"API_Key"})
    if unknown:
        names = ", ".join(f"'{n}'" for n in unknown)
        raise Refused(400, f"unknown field(s) {names} (known: {', '.join(sorted(allowed))})")
    return found


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise Refused(400, f"malformed JSON: {exc.msg} at {where}") from None
    if not isinstance(value, dict):
        raise Refused(400, "the JSON body must be an object")
    return value


def _pairs(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except UnicodeError:
        raise Refused(400, f"the {what} is not UTF-8") from None


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise Refused(400, f"field '{name}' is given twice")
        seen.add(name)
    return pairs


def unique_query(request: Request) -> dict[str, str]:
    return dict(_unique(query_pairs(request)))


def text_value(name: str, value: Any) -> str:
    """A variable's value as the text a person would type; nested values are refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Refused(400, f"field '{name}' must be a string, number or boolean")


def number(fields: dict[str, str], name: str, default: int | None) -> int | None:
    value = fields.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise Refused(400, f"'{name}' must be a whole number, got {value!r}")
    return int(value)


def known_query(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    fields = unique_query(request)
    unknown = sorted(set(fields) - set(allowed) - {"key"})
    if unknown:
        raise Refused(400, f"unknown parameter(s) {', '.join(unknown)}")
    return fields


def job_id(request: Request) -> int:
    raw = request.path_params["job_id"]
    if not raw.isdigit():
        raise Refused(404, f"unknown job {raw!r}")
    return int(raw)


__all__ = [
    "body_fields",
    "job_id",
    "json_fields",
    "known_query",
    "number",
    "query_pairs",
    "read_body",
    "text_value",
    "unique_query",
]
