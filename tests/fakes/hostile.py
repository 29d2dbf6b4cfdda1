"""A hostile HTTP server on 127.0.0.1 for the clients' hardening tests: it answers each request
with the next scripted trick (a redirect elsewhere, a success that echoes the secret in every
encoding, a 200 that is not JSON, ...) and records every request it got, bodies included."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, quote_plus

from tests.fakes.server import LocalServer


@dataclass
class Trick:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    byte_every: float = 0.0  # > 0: the body trickles, one byte per this many seconds


@dataclass
class Received:
    method: str
    path: str
    body: bytes


def every_form(secret: str) -> list[str]:
    """A secret the ways a server might echo it: raw, upper case, percent-encoded in either case,
    base64 and url-safe base64 (padded or not)."""
    raw = secret.encode()
    forms = [secret, secret.upper(), quote(secret, safe=""), quote(secret, safe="").lower(), quote_plus(secret),
             base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    return list(dict.fromkeys(forms))


class HostileServer(LocalServer):
    def __init__(self) -> None:
        self.tricks: list[Trick] = []
        self.received: list[Received] = []

    def then(self, status: int, body: Any = b"", headers: dict[str, str] | None = None,
             byte_every: float = 0.0) -> "HostileServer":
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.tricks.append(Trick(status, data, headers or {}, byte_every))
        return self

    def handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.received.append(Received(self.command, self.path, self.rfile.read(length) if length else b""))
                trick = server.tricks.pop(0) if server.tricks else Trick(500, b"{}")
                self.send_response(trick.status)
                for name, value in trick.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(trick.body)))
                self.end_headers()
                if not trick.byte_every:
                    self.wfile.write(trick.body)
                    return
                for index in range(len(trick.body)):  # bounded by the body: the server stops by itself
                    try:
                        self.wfile.write(trick.body[index:index + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(trick.byte_every)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args):
                pass

        return Handler
