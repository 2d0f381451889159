"""Serving the app with uvicorn, inside the daemon's event loop or alone (``otter-tui api``).

The listening socket is opened here, before uvicorn starts, so an address in use is one line
naming it (not a log line and an exit from inside uvicorn), and port 0 picks a free port that the
``api.started`` line reports. uvicorn's own signal handling is turned off: the daemon (or the
``api`` command) owns SIGTERM, and stops the server itself. Its access log is off too: query
strings may carry a key (``?key=``), and a log line must never hold one. Its warnings and errors
reach the daemon's log through the root logger (:func:`otter_tui.logfmt.setup_logging`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from otter_tui.api.app import build_app
from otter_tui.api_settings import Bind
from otter_tui.errors import UsageError
from otter_tui.logfmt import emit
from otter_tui.runtime import Runtime

GRACEFUL_SECONDS = 5


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: whoever runs the loop decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """One HTTP API listener; ``await start()`` returns once it accepts connections."""

    def __init__(self, runtime: Runtime, bind: Bind) -> None:
        self.runtime = runtime
        self.bind = bind
        self.app = build_app(runtime)
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = bind.port

    @property
    def tls(self) -> bool:
        return bool(self.runtime.settings.api.tls_cert)

    async def start(self) -> None:
        sock = listen(self.bind)
        self.port = sock.getsockname()[1]
        self._server = _Uvicorn(self._config())
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="api")
        while not self._server.started:
            if self._task.done():
                sock.close()
                raise self._refusal(self._task.exception()) from None
            await asyncio.sleep(0.01)
        emit("api.started", bind=f"{self.bind.host}:{self.port}", tls=self.tls)
        if not self.bind.loopback and not self.tls:
            emit(
                "api.insecure",
                logging.WARNING,
                bind=str(self.bind),
                note="non-loopback address without TLS: keys travel in clear text",
            )

    def _refusal(self, error: BaseException | None) -> UsageError:
        """Why uvicorn did not start, as one line: a certificate or key it cannot read (an
        ``OSError``, ``ssl.SSLError`` included) is the operator's to fix, not a traceback;
        anything else is a fault and is raised as it is."""
        if error is not None and not isinstance(error, OSError):
            raise error
        where = f"the API could not start on {self.bind}"
        if error is None:
            return UsageError(where)
        reason = error.strerror or str(error)
        if self.tls:
            api = self.runtime.settings.api
            return UsageError(f"{where}: tls_cert {api.tls_cert} / tls_key {api.tls_key}: {reason}")
        return UsageError(f"{where}: {reason}")

    def _config(self) -> uvicorn.Config:
        api = self.runtime.settings.api
        return uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=api.trusted_proxy_headers,
            forwarded_allow_ips="*" if api.trusted_proxy_headers else "",
            ssl_certfile=api.tls_cert or None,
            ssl_keyfile=api.tls_key or None,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self.app.state.api.closing.set()
        self._server.should_exit = True
        await self._task
        self.app.state.api.workers.shutdown()  # idle by now: uvicorn waited for every request
        emit("api.stopped", bind=f"{self.bind.host}:{self.port}")


def listen(bind: Bind) -> socket.socket:
    """The bound, listening socket; an address that cannot be used is a one-line error."""
    family = socket.AF_INET6 if ":" in bind.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind.host, bind.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {bind}: {exc.strerror}") from None
    # Inherited by every accepted connection. Without it a keep-alive client waits ~40 ms per
    # request: uvicorn writes the head and the body separately, Nagle holds the body until the
    # head is acknowledged, and the client delays that acknowledgement (measured: 48 -> 0.7 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


__all__ = ["ApiServer", "listen"]
