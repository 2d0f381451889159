"""TLS: with ``tls_cert``/``tls_key`` in ``[api]`` uvicorn serves HTTPS, and a non-loopback
address with TLS starts without the clear-text warning."""

from __future__ import annotations

import asyncio
import io
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otter_tui.api import ApiServer
from otter_tui.api_settings import Bind
from otter_tui.errors import UsageError
from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from tests.api_support import serving
from tests.fixtures_core import make_runtime


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A self-signed certificate for 127.0.0.1, made with openssl, and a runtime using it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    runtime = make_runtime(
        tmp_path, sections={"api": {"tls_cert": "cert.pem", "tls_key": "key.pem"}}
    )
    yield runtime
    runtime.close()


def test_the_api_serves_https_and_does_not_warn(rt: Runtime, tmp_path: Path) -> None:
    log = io.StringIO()
    handler = setup_logging(log, rt.ctx.clock)
    try:
        with serving(rt, host="0.0.0.0") as url:
            port = url.rsplit(":", 1)[1]
            answer = httpx.get(
                f"https://127.0.0.1:{port}/healthz",
                verify=ssl.create_default_context(cafile=str(tmp_path / "cert.pem")),
            )
            assert answer.json() == {"status": "ok"}
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        teardown_logging(handler)
    assert "event=api.started bind=0.0.0.0:" in log.getvalue()
    assert "tls=true" in log.getvalue()
    assert "api.insecure" not in log.getvalue()


def test_a_certificate_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("not a key\n")
    runtime = make_runtime(
        tmp_path, sections={"api": {"tls_cert": "missing.pem", "tls_key": "key.pem"}}
    )
    try:
        server = ApiServer(runtime, Bind("127.0.0.1", 0))
        with pytest.raises(UsageError) as refused:
            asyncio.run(server.start())
    finally:
        runtime.close()
    message = str(refused.value)
    assert message.startswith("the API could not start on 127.0.0.1:0: tls_cert ")
    assert "missing.pem" in message and message.endswith("No such file or directory")
