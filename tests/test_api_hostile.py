"""Bad and hostile input against a real uvicorn: each is refused with the right status and one
line naming the problem, audited, with no stack trace and no secret in any answer or log line."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.jobs import JobService
from otter_tui.services.templates import TemplateFields
from otter_tui.store.models import AuditEvent, Job
from tests.api_support import api_runtime, serving
from tests.fixtures_core import db_file

CANARY = "canary-7f3c9a1e-do-not-leak"
LIMIT = 3


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    sections = {"api": {"max_body_bytes": 2048, "key_failures_per_minute": LIMIT}}
    runtime = api_runtime(tmp_path, sections=sections)
    runtime.templates.add("greet", TemplateFields(plan="api_plans.Greet"))
    runtime.templates.add("secret", TemplateFields(plan="api_plans.Secretive"))
    yield runtime
    runtime.close()


@pytest.fixture
def log(rt: Runtime) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging(stream, rt.ctx.clock)
    yield stream
    teardown_logging(handler)


@pytest.fixture
def http(rt: Runtime, log: io.StringIO) -> Iterator[httpx.Client]:
    with serving(rt) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


@pytest.fixture
def token(rt: Runtime) -> str:
    return ApiKeyService(rt.ctx.as_user("bob")).add("ci", "trigger")[1]


def refusals(rt: Runtime) -> list[dict[str, object]]:
    with rt.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "api.refused"))
        return [dict(e.detail, actor=e.actor) for e in rows]


def no_jobs(rt: Runtime) -> bool:
    with rt.db.session() as s:
        return s.scalar(select(Job.id)) is None


TRIGGER = "/api/jobs/trigger?template=greet"


@pytest.mark.parametrize(
    ("content", "kind", "status", "message"),
    [
        (b"x" * 4096, "application/json", 413, "request body is over 2048 bytes"),
        (b'{"who": "x",', "application/json", 400, "malformed JSON"),
        (b'["who"]', "application/json", 400, "the JSON body must be an object"),
        (b'{"who": "\xff\xfe"}', "application/json", 400, "request body is not UTF-8"),
        (b"who=%ff%fe", "application/x-www-form-urlencoded", 400, "form body is not UTF-8"),
        (b'{"who": {"a": 1}}', "application/json", 400, "field 'who' must be a string"),
        (b"<who/>", "application/xml", 415, "unsupported content type 'application/xml'"),
    ],
)
def test_bad_bodies_are_refused(
    rt: Runtime,
    http: httpx.Client,
    token: str,
    content: bytes,
    kind: str,
    status: int,
    message: str,
) -> None:
    headers = {"X-ApiKey": token, "Content-Type": kind}
    answer = http.post(TRIGGER, content=content, headers=headers)
    assert answer.status_code == status
    assert message in answer.text and answer.text.count("\n") == 1
    assert no_jobs(rt)
    assert [(r["status"], r["reason"]) for r in refusals(rt)] == [(status, answer.text.strip())]


def test_an_oversized_body_sent_in_chunks_is_cut_off(http: httpx.Client, token: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"w" * 1024

    answer = http.post(TRIGGER, content=chunks(), headers={"X-ApiKey": token})
    assert answer.status_code == 413


def test_a_non_utf8_query_is_refused(http: httpx.Client, token: str) -> None:
    answer = http.get(TRIGGER + "&who=%C3%28", headers={"X-ApiKey": token})
    assert (answer.status_code, answer.text) == (400, "the query string is not UTF-8\n")


def test_guessing_keys_is_slowed_to_429_and_audited_once(
    rt: Runtime, http: httpx.Client, token: str
) -> None:
    for attempt in range(LIMIT):
        assert http.get(TRIGGER, headers={"X-ApiKey": f"guess-{attempt}"}).status_code == 403
    for _ in range(3):
        limited = http.get(TRIGGER + "&who=x", headers={"X-ApiKey": token})
        assert limited.status_code == 429
        assert 0 < int(limited.headers["Retry-After"]) <= 61
    assert "too many bad API keys from 127.0.0.1" in limited.text
    assert [r["status"] for r in refusals(rt)] == [403] * LIMIT + [429]
    assert no_jobs(rt)


def test_a_secret_never_reaches_an_answer_the_store_or_the_log(
    rt: Runtime, http: httpx.Client, token: str, log: io.StringIO, tmp_path: Path
) -> None:
    answer = http.post(
        "/api/jobs/trigger", params={"template": "secret", "token": CANARY, "key": token}
    )
    assert answer.status_code == 400
    assert "variable 'token' is sensitive" in answer.text
    guessed = http.get(f"{TRIGGER}&key={CANARY}")
    assert guessed.text == "bad API key\n"
    status = http.get("/api/jobs/status", params={"token": "1", "key": token})
    assert status.status_code == 404
    for text in (answer.text, guessed.text, status.text, log.getvalue()):
        assert CANARY not in text and token not in text
    rt.close()
    stored = b"".join(p.read_bytes() for p in db_file(tmp_path).parent.glob("otter.db*"))
    assert CANARY.encode() not in stored and token.encode() not in stored
    assert "event=api.refused" in log.getvalue()


def test_an_unexpected_error_answers_500_without_a_trace(
    rt: Runtime, http: httpx.Client, token: str, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"the disk is on fire {CANARY}")

    monkeypatch.setattr(JobService, "show", broken)
    answer = http.get("/api/jobs/status?token=1", headers={"X-ApiKey": token})
    assert (answer.status_code, answer.text) == (500, "internal error\n")
    assert "Traceback" in log.getvalue()  # the operator gets it, the client does not
    assert "event=api.error" in log.getvalue()


def test_unknown_paths_and_methods_answer_plainly(http: httpx.Client) -> None:
    assert http.get("/nope").status_code == 404
    assert http.delete("/api/jobs/trigger").status_code == 405


def test_a_non_loopback_address_without_tls_warns_at_start(rt: Runtime, log: io.StringIO) -> None:
    with serving(rt, host="0.0.0.0") as url:
        port = url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
    lines = log.getvalue().splitlines()
    warning = next(x for x in lines if "event=api.insecure" in x)
    assert "level=warning" in warning and "bind=0.0.0.0:0" in warning


def test_a_malformed_request_is_one_line_in_the_log(rt: Runtime, log: io.StringIO) -> None:
    """uvicorn's own warning reaches the log once, as a logfmt line, not on bare stderr."""
    with serving(rt) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=20) as conn:
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.1 400")
    said = [x for x in log.getvalue().splitlines() if "Invalid HTTP request" in x]
    assert len(said) == 1 and "level=warning event=log logger=uvicorn.error" in said[0]
