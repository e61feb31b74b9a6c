"""HTTP plumbing of the sandbox servers: parsed requests, responses, threads, sockets.

One thread per connection, HTTP/1.1 keep-alive, each response written in one ``send``
(no Nagle delays), optional TLS with the handshake done in the connection's thread, and
a way to drop a connection with a TCP reset (the ``reset`` fault).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class Request:
    """One parsed HTTP request."""

    __slots__ = ("body", "headers", "method", "path", "query", "raw_path")

    def __init__(self, method: str, raw_path: str, headers: Any, body: bytes) -> None:
        parts = urlsplit(raw_path)
        self.method, self.raw_path, self.headers, self.body = method, raw_path, headers, body
        self.path = unquote(parts.path)
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        """All values of a query parameter, repeated keys and comma-joined lists alike."""
        return [v for raw in self.query.get(name, []) for v in raw.split(",") if v]

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter, case-insensitive (the HubSpot SDK sends ``False``)."""
        value = self.param(name)
        return default if value is None else value.strip().lower() in ("true", "1", "yes")

    def json(self) -> Any:
        """The body parsed as JSON (None when empty); raises ValueError when malformed."""
        return json.loads(self.body) if self.body else None


class Response:
    """Status, headers and body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ):
        self.status, self.body, self.headers = status, body, headers or []

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self


def json_response(status: int, payload: Any, content_type: str = "application/json") -> Response:
    """A JSON response (compact separators: pages of 200 records stay small)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, [("Content-Type", content_type)])


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode(), [("Content-Type", "text/html; charset=utf-8")])


_REASONS = BaseHTTPRequestHandler.responses
MAX_BODY = 64 * 1024 * 1024
"""Largest request body the sandbox reads; a bigger one is answered 413 unread."""


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that tracks its connections so ``stop()`` can close them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    sandbox: Any = None

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = self.sandbox.ssl_context if self.sandbox is not None else None
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._conns_lock:
            self._conns.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-request are normal here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "milestones-sandbox"
    sys_version = ""
    timeout = 120
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the sandbox counts requests instead of logging them."""

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        req = Request(self.command, self.path, self.headers, body)
        resp = self.server.sandbox.handle(req)
        if resp is None:
            self._reset()
            return
        self._answer(resp)

    def _read_body(self) -> bytes | None:
        """The request's body, or None once a length it cannot read is answered with an error.

        A Content-Length that is no length (``-5``, ``ten``) or is over ``MAX_BODY`` gets a 400
        or 413 and the connection is closed: its unread bytes cannot be told from a next request.
        """
        text = (self.headers.get("Content-Length") or "0").strip()
        length = int(text) if text.isascii() and text.isdigit() else -1
        if 0 <= length <= MAX_BODY:
            return self.rfile.read(length) if length else b""
        self.close_connection = True
        status, problem = (413, "is too large") if length > MAX_BODY else (400, "is not a length")
        message = f"Content-Length {text[:40]!r} {problem}"
        self._answer(json_response(status, {"status": "error", "message": message}))
        return None

    def _answer(self, resp: Response) -> None:
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, ('',))[0]}"]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        lines.append(f"Content-Length: {len(resp.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + resp.body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the client gets a TCP reset instead of an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch
