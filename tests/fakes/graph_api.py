"""A fake Graph API (Conversions API edge) on 127.0.0.1, behaving as Meta documents it.

reference/meta-capi.md §1-§3: ``POST /{version}/{pixel_id}/events`` with ``data`` (a JSON
array of events or of JSON-encoded events), ``test_event_code`` and ``access_token`` (JSON
body, form body, or query string: all accepted, and recorded, so tests can prove where the
token travelled). Success is ``{events_received, messages, fbtrace_id}``; failures use the
Graph error envelope with HTTP 400 (401 for code 190), and one invalid event rejects the whole
batch. Transient failures can be scripted ahead of the normal behaviour.

Use the ``graph_api`` fixture (import it into the test module): it starts a server, points
QUICKSTART_GRAPH_URL at it, and stops it afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.server import LocalServer

GOOD_TOKEN = "EAABfakeGraphToken0123456789abcdefXYZ"
GOOD_PIXEL = "1234567890"

ACTION_SOURCES = {"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
                  "business_messaging", "other"}
HASHED_KEYS = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")
MATCH_KEYS = HASHED_KEYS + ("external_id", "client_ip_address", "client_user_agent", "fbc", "fbp",
                            "subscription_id", "fb_login_id", "lead_id", "anon_id", "madid")
TOO_BROAD = ({"ct", "country", "st", "zp", "ge", "client_user_agent"}, {"db", "client_user_agent"},
             {"fn", "ge"}, {"ln", "ge"})
SHA256 = re.compile(r"^[a-f0-9]{64}$")
CLICK_OR_BROWSER_ID = re.compile(r"^fb\.\d\.\d+\.[^.]+(\.[^.]+)?$")
MAX_EVENTS = 1000
SEVEN_DAYS = 7 * 24 * 3600


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes
    body: dict[str, Any]  # parsed JSON or form body (form values as strings)

    @property
    def url(self) -> str:
        return self.path + (("?" + "&".join(f"{k}={v}" for k, vs in self.query.items() for v in vs)) if self.query else "")

    @property
    def events(self) -> list[dict[str, Any]]:
        return _events_of(self.body.get("data"))


@dataclass
class ScriptedResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(code: int, message: str, *, subcode: int | None = None, type_: str = "OAuthException",
                transient: bool = False, user_title: str | None = None, user_msg: str | None = None) -> dict:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code, "is_transient": transient,
                             "fbtrace_id": "A" + secrets.token_hex(8)}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    return {"error": error}


def _events_of(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return []
    if not isinstance(data, list):
        return []
    events = []
    for item in data:
        if isinstance(item, str):  # list<JSON-encoded string> is accepted too
            try:
                item = json.loads(item)
            except ValueError:
                item = None
        events.append(item)
    return events


class FakeGraphAPI(LocalServer):
    """The server's state: who is valid, what is scripted, what was received."""

    def __init__(self) -> None:
        self.tokens: set[str] = {GOOD_TOKEN}
        self.pixels: set[str] = {GOOD_PIXEL}
        self.script: list[ScriptedResponse] = []
        self.requests: list[RecordedRequest] = []
        self.request_times: list[float] = []
        self.echo_token_in_errors = False  # to prove the client scrubs what a server sends back
        self._lock = threading.Lock()

    # -- scripting ---------------------------------------------------------------------------

    def fail_transient(self, times: int, *, kind: str = "http503", retry_after: str | None = None) -> None:
        """The next ``times`` requests fail: ``http503``, ``http429``, or ``code2`` (Graph is_transient error)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            if kind == "http503":
                self.script.append(ScriptedResponse(503, "Service Unavailable", headers))  # no envelope, as proxies answer
            elif kind == "http429":
                self.script.append(ScriptedResponse(429, graph_error(17, "(#17) User request limit reached",
                                                                     subcode=2446079, transient=True), headers))
            elif kind == "code2":
                self.script.append(ScriptedResponse(500, graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                                                                     transient=True), headers))
            else:
                raise ValueError(kind)

    # -- lifecycle ---------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

        return Handler

    # -- behaviour ---------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = self._parse_body(handler.headers.get("Content-Type", ""), raw)
        record = RecordedRequest(method, parts.path, parse_qs(parts.query), dict(handler.headers.items()), raw, body)
        with self._lock:
            self.requests.append(record)
            self.request_times.append(time.monotonic())
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return self._send(handler, scripted.status, scripted.body, scripted.headers)
        status, payload = self._respond(method, parts.path, record)
        self._send(handler, status, payload)

    @staticmethod
    def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        if "application/json" in content_type:
            try:
                parsed = json.loads(raw)
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        form = parse_qs(raw.decode("utf-8", "replace"))
        return {key: values[-1] for key, values in form.items()}

    def _respond(self, method: str, path: str, record: RecordedRequest) -> tuple[int, dict]:
        match = re.fullmatch(r"/(v\d+\.\d+)/([^/]+)/events/?", path)
        if method != "POST" or not match:
            return 400, graph_error(2500, "Unknown path components: " + path, type_="OAuthException")
        pixel_id = match.group(2)
        token = (record.body.get("access_token") or (record.query.get("access_token") or [None])[0]
                 or _bearer(record.headers.get("Authorization")))
        if not token:
            return 400, graph_error(2500, "An active access token must be used to query information about the current user.")
        if token not in self.tokens:
            message = "Invalid OAuth access token - Cannot parse access token"
            if self.echo_token_in_errors:
                message += f": {token}"
            return 401, graph_error(190, message, user_msg=message if self.echo_token_in_errors else None)
        if pixel_id not in self.pixels:
            return 400, graph_error(100, f"Unsupported post request. Object with ID '{pixel_id}' does not exist, cannot be "
                                         "loaded due to missing permissions, or does not support this operation.",
                                    subcode=33, type_="GraphMethodException")
        if "data" not in record.body:
            return 400, graph_error(100, "(#100) The parameter data is required")
        events = _events_of(record.body.get("data"))
        if not events:
            return 400, graph_error(100, "(#100) param data must be an array.")
        if len(events) > MAX_EVENTS:
            return 400, graph_error(100, f"(#100) param data must be an array of at most {MAX_EVENTS} elements.")
        for index, event in enumerate(events):
            problem = _event_problem(event, index)
            if problem is not None:
                return 400, problem  # one bad event rejects the whole batch
        return 200, {"events_received": len(events), "messages": [], "fbtrace_id": "A" + secrets.token_hex(8)}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _invalid(message: str, subcode: int | None = None, title: str | None = None) -> dict:
    return graph_error(100, message, subcode=subcode, user_title=title, user_msg=title)


def _event_problem(event: Any, index: int) -> dict | None:
    """The error Meta would answer for this event, or None when it is valid."""
    if not isinstance(event, dict):
        return _invalid(f"(#100) data[{index}] must be an object")
    if not event.get("event_name"):
        return _invalid(f"(#100) The parameter event_name is required in data[{index}]")
    event_time = event.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        return _invalid(f"(#100) event_time must be an integer in data[{index}]")
    now = int(time.time())
    if event_time < now - SEVEN_DAYS:
        return _invalid("Invalid parameter", 2804003, "Event Timestamp Too Old")
    if event_time > now + 3600:
        return _invalid("Invalid parameter", None, "Event Timestamp In The Future")
    action_source = event.get("action_source")
    if action_source not in ACTION_SOURCES:
        return _invalid(f"(#100) action_source must be one of {sorted(ACTION_SOURCES)} in data[{index}]")
    if action_source == "website" and not event.get("event_source_url"):
        return _invalid(f"(#100) event_source_url is required for website events in data[{index}]")
    user_data = event.get("user_data")
    if not isinstance(user_data, dict) or not user_data:
        return _invalid("Invalid parameter", 2804050, "Customer Information Parameters Missing")
    for key in HASHED_KEYS:
        values = user_data.get(key)
        for value in values if isinstance(values, list) else [values]:
            if value is not None and not (isinstance(value, str) and SHA256.match(value)):
                return _invalid(f"The {key} parameter isn't hashed.", 2804016, "User Parameter Not Hashed")
    for key in ("fbc", "fbp"):
        value = user_data.get(key)
        if value is not None and not (isinstance(value, str) and CLICK_OR_BROWSER_ID.match(value)):
            return _invalid(f"The {key} parameter is not formatted correctly.", 2804001 if key == "fbc" else None,
                            "Click ID Incorrectly Formatted" if key == "fbc" else "Browser ID Incorrectly Formatted")
    present = {key for key in MATCH_KEYS if user_data.get(key) not in (None, "", [])}
    if not present or any(present <= broad for broad in TOO_BROAD):
        return _invalid("Invalid parameter", 2804050, "Insufficient Customer Information")
    custom_data = event.get("custom_data") or {}
    if event.get("event_name") == "Purchase":
        value = custom_data.get("value")
        currency = custom_data.get("currency")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(value, str):
            try:
                float(value)
                number = True
            except ValueError:
                number = False
        if not number or not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency)):
            return _invalid("(#100) Purchase events need custom_data.currency (ISO 4217) and a numeric custom_data.value")
    return None


@pytest.fixture
def graph_api(monkeypatch):
    """A running fake Graph API; QUICKSTART_GRAPH_URL points at it for the test's duration."""
    fake = FakeGraphAPI().start()
    monkeypatch.setenv("QUICKSTART_GRAPH_URL", fake.url)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def closed_port_url(monkeypatch):
    """A URL on 127.0.0.1 where nothing listens (a port bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("QUICKSTART_GRAPH_URL", url)
    return url
