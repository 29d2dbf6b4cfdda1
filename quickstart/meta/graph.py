"""The Graph API client for the Conversions API: one session, retries, errors a person can act on.

``POST {graph_url}/{version}/{pixel_id}/events`` with a JSON body ``{data, test_event_code?,
partner_agent?, access_token}``. The token travels in the body only (never the URL, where
proxies and server logs keep it), and is scrubbed from every message this module builds,
including text the server echoes back.

Only transient failures are retried (reference/meta-capi.md §1.4): connection errors and
timeouts, HTTP 429/5xx, and Graph errors that are ``is_transient`` or carry codes 1, 2, 4, 17,
341, 613 or 80000-80014. Backoff is exponential with jitter, and a ``Retry-After`` header is
obeyed. Errors are classified by (code, subcode), never by their localised text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from quickstart import settings
from quickstart.backoff import backoff_delay, parse_retry_after
from quickstart.http import RetryPolicy, json_or
from quickstart.redaction import redact
from quickstart.errors import ChecksFailedError, RemoteError, UnreachableError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_MAX_ATTEMPTS = 4  # the first try plus three retries
DEFAULT_BACKOFF_BASE = 0.5  # seconds; doubled each retry
DEFAULT_BACKOFF_CAP = 8.0


# How a GraphClient retries what Meta calls transient: the one policy type of every client
# (quickstart/http.py). Read when a client is made, so a test of a whole command can swap in a
# fast one.
DEFAULT_RETRY = RetryPolicy(attempts=DEFAULT_MAX_ATTEMPTS, base_delay=DEFAULT_BACKOFF_BASE, max_delay=DEFAULT_BACKOFF_CAP)
MAX_RETRY_AFTER = 60.0  # a longer wait than this is reported instead of slept through
# A whole answer must arrive within this, however slowly it trickles (the read timeout only
# bounds the gap between two bytes); and all attempts together within DEFAULT_DEADLINE.
DEFAULT_REQUEST_DEADLINE = 60.0
DEFAULT_DEADLINE = 180.0

TRANSIENT_CODES = frozenset({1, 2, 4, 17, 341, 613})
THROTTLING_CODES = frozenset({4, 17, 341, 613}) | frozenset(range(80000, 80015))
TOKEN_ERROR_CODE = 190
TOKEN_HINT = "generate a new one in Events Manager > your pixel > Settings > Generate access token"


# ---------------------------------------------------------------------------------------------
# Results and errors


@dataclass(frozen=True)
class EventsResponse:
    """Meta's success body for one request (reference §1.3)."""

    events_received: int
    messages: list[str]
    fbtrace_id: str | None
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"events_received": self.events_received, "messages": list(self.messages),
                "fbtrace_id": self.fbtrace_id, "attempts": self.attempts}


@dataclass(frozen=True)
class GraphError:
    """The parts of a Graph error envelope we act on; text fields are already redacted."""

    http_status: int
    code: int | None = None
    subcode: int | None = None
    type: str | None = None
    is_transient: bool = False
    fbtrace_id: str | None = None
    user_title: str | None = None
    user_msg: str | None = None
    server_message: str | None = None
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        if self.code is not None:
            return self.is_transient or self.code in TRANSIENT_CODES or self.code in THROTTLING_CODES
        return self.http_status == 429 or self.http_status >= 500

    def to_dict(self) -> dict[str, Any]:
        return {"http_status": self.http_status, "code": self.code, "subcode": self.subcode, "type": self.type,
                "is_transient": self.is_transient, "fbtrace_id": self.fbtrace_id,
                "error_user_title": self.user_title, "error_user_msg": self.user_msg}


class GraphRejectedError(ChecksFailedError):
    """Meta answered and rejected the request (the whole batch): exit 3."""

    def __init__(self, message: str, error: GraphError):
        super().__init__(message)
        self.error = error


class GraphAnswerError(RemoteError):
    """The Graph API answered in a way quickstart will not act on (a redirect, a success it cannot read)."""


class GraphUnreachableError(UnreachableError):
    """Meta could not be reached, or kept failing transiently after every retry: exit 4."""

    def __init__(self, message: str, error: GraphError | None = None, attempts: int = 0):
        super().__init__(message)
        self.error = error
        self.attempts = attempts


def events_body(events: list[dict[str, Any]], *, test_event_code: str | None, partner_agent: str | None,
                token: str) -> dict[str, Any]:
    """The JSON body of one events request, in the Meta CAPI extension's key order. The token goes
    in the body (never in a URL, unlike the extension); send and --dry-run both use this."""
    body: dict[str, Any] = {}
    if test_event_code:
        body["test_event_code"] = test_event_code
    body["data"] = events
    if partner_agent:
        body["partner_agent"] = partner_agent
    body["access_token"] = token
    return body


def explain(error: GraphError, *, pixel_id: str | None = None) -> str:
    """One line a person can act on, chosen by (code, subcode) alone; localised text is never parsed."""
    code, subcode = error.code, error.subcode
    pixel = f" {pixel_id}" if pixel_id else ""
    if code == TOKEN_ERROR_CODE:
        why = {463: "expired", 460: "invalidated by a password change", 467: "invalid"}.get(subcode or 0, "invalid or expired")
        text = f"the access token is {why} — {TOKEN_HINT}"
    elif code == 100 and subcode == 33:
        text = (f"pixel id{pixel} not found or the token has no access to it — check pixel_id in quickstart.yaml "
                "and generate the token from that pixel's Settings in Events Manager")
    elif code == 100 and subcode == 2804003:
        text = ("an event_time is more than 7 days old, so Meta rejected the whole batch — "
                "send events with a current event_time (unix seconds)")
    elif code == 100 and subcode == 2804016:
        text = ("customer information was sent unhashed — hash every user_data value except "
                "client_ip_address, client_user_agent, fbc and fbp with SHA-256 after normalizing it")
    elif code == 100 and subcode == 2804050:
        text = ("too little customer information to match the event — add email, phone or external_id "
                "(gender, city, state, zip, country or date of birth alone are too broad)")
    elif code == 100 and subcode == 2804001:
        text = ("the fbc (click ID) is badly formatted — it must be fb.<subdomain_index>.<creation_time_ms>.<fbclid>, "
                "read from the _fbc cookie or the fbclid URL parameter without changing its case")
    elif code is not None and code in THROTTLING_CODES:
        text = f"Meta is throttling requests (code {code}) — wait a few minutes and run again"
    elif code in (1, 2):
        text = f"Meta had a temporary error (code {code}) — run again in a minute"
    elif code == 368:
        text = "the account is temporarily blocked for policy violations — check Business Support Home"
    elif code is not None and 200 <= code <= 299:
        text = (f"the token has no permission for pixel{pixel} (code {code}) — "
                "generate the token from that pixel's Settings in Events Manager")
    elif code == 100:
        detail = error.user_title or error.user_msg or error.server_message
        text = "Meta rejected a parameter of the events" + (f": {detail}" if detail else "")
    elif code is not None:
        detail = error.user_msg or error.server_message
        text = f"Meta rejected the request (code {code})" + (f": {detail}" if detail else "")
    elif error.http_status == 429 or error.http_status >= 500:
        text = f"the Graph API answered HTTP {error.http_status} — run again in a few minutes"
    else:
        text = f"the Graph API answered HTTP {error.http_status} without an error body — check QUICKSTART_GRAPH_URL and --graph-version"
    ids = f"code {code}" + (f"/{subcode}" if subcode else "") if code is not None else f"HTTP {error.http_status}"
    trace = f", fbtrace_id {error.fbtrace_id}" if error.fbtrace_id else ""
    return f"{text} ({ids}{trace})"


def parse_error(http_status: int, body: Any, headers: dict[str, str], secrets: tuple[str, ...]) -> GraphError:
    envelope = body.get("error") if isinstance(body, dict) else None
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    if not isinstance(envelope, dict):
        return GraphError(http_status=http_status, retry_after=retry_after)

    def text(key: str) -> str | None:
        value = envelope.get(key)
        return redact(str(value), secrets) if value not in (None, "") else None

    def integer(key: str) -> int | None:
        try:
            return int(envelope[key]) if envelope.get(key) is not None else None
        except (TypeError, ValueError):
            return None

    return GraphError(
        http_status=http_status, code=integer("code"), subcode=integer("error_subcode"), type=text("type"),
        is_transient=envelope.get("is_transient") is True, fbtrace_id=text("fbtrace_id"),
        user_title=text("error_user_title"), user_msg=text("error_user_msg"), server_message=text("message"),
        retry_after=retry_after,
    )


# ---------------------------------------------------------------------------------------------
# The client


@dataclass
class GraphClient:
    """Sends Conversions API requests for one access token. Use as a context manager or call close()."""

    token: str = field(repr=False)
    base_url: str | None = None  # default: settings.graph_url() (QUICKSTART_GRAPH_URL)
    version: str = settings.GRAPH_API_VERSION
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    max_attempts: int | None = None  # None: DEFAULT_RETRY's
    backoff_base: float | None = None
    backoff_cap: float | None = None
    max_retry_after: float = MAX_RETRY_AFTER
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    deadline: float = DEFAULT_DEADLINE
    partner_agent: str | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    _session: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("an access token is required")
        self.base_url = (self.base_url or settings.graph_url()).rstrip("/")
        for name, policy_name in (("max_attempts", "attempts"), ("backoff_base", "base_delay"), ("backoff_cap", "max_delay")):
            if getattr(self, name) is None:
                setattr(self, name, getattr(DEFAULT_RETRY, policy_name))
        self.version = normalize_version(self.version)

    def __repr__(self) -> str:  # never the token, not even masked in reprs that end up in tracebacks
        return f"GraphClient(base_url={self.base_url!r}, version={self.version!r})"

    def __enter__(self) -> "GraphClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @property
    def session(self):
        if self._session is None:
            from quickstart.http import new_session

            self._session = new_session(user_agent=f"quickstart/{_version()}", accept="application/json")
        return self._session

    def events_url(self, pixel_id: str) -> str:
        return f"{self.base_url}/{self.version}/{pixel_id}/events"

    def send_events(self, pixel_id: str, events: list[dict[str, Any]], *, test_event_code: str | None = None) -> EventsResponse:
        """POST one batch; return Meta's answer or raise GraphRejectedError / GraphUnreachableError."""
        if not events:
            raise ValueError("no events to send")
        from quickstart.meta.events import MAX_EVENTS_PER_REQUEST  # events.py owns the cap and the batching

        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"{len(events)} events in one request; Meta takes at most {MAX_EVENTS_PER_REQUEST}")
        body = events_body(events, test_event_code=test_event_code, partner_agent=self.partner_agent, token=self.token)
        return self._post_with_retries(self.events_url(str(pixel_id)), body, pixel_id=str(pixel_id))

    # -- internals ---------------------------------------------------------------------------

    def _post_with_retries(self, url: str, body: dict[str, Any], *, pixel_id: str) -> EventsResponse:
        import requests

        secrets = (self.token,)
        last_error: GraphError | None = None
        last_problem = ""
        started = time.monotonic()
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1 and time.monotonic() - started > self.deadline:
                raise GraphUnreachableError(
                    f"the Graph API at {self.base_url} gave no usable answer within {self.deadline:.0f} s "
                    f"({attempt - 1} attempts; {last_problem or 'transient errors'})", last_error, attempts=attempt - 1)
            from quickstart.http import DeadlineExceeded

            try:
                response = self._post_within_deadline(url, body)
            except DeadlineExceeded:
                raise GraphUnreachableError(
                    f"the Graph API at {self.base_url} did not finish its answer within {self.request_deadline:.0f} s "
                    "(it is sending too slowly); check the network or QUICKSTART_GRAPH_URL", attempts=attempt) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                # The exception holds the prepared request (token in its body): keep only its kind.
                last_error = None
                last_problem = _connection_problem(exc)
                log.debug("attempt %d: %s", attempt, last_problem)
                if attempt < self.max_attempts:
                    self.sleep(self._backoff(attempt))
                    continue
                raise GraphUnreachableError(
                    f"could not reach the Graph API at {self.base_url} after {attempt} attempts ({last_problem}) — "
                    "check the network, a proxy, or QUICKSTART_GRAPH_URL", attempts=attempt) from None
            except requests.RequestException as exc:
                raise GraphUnreachableError(
                    f"the request to the Graph API failed ({type(exc).__name__})", attempts=attempt) from None

            if 300 <= response.status_code < 400:
                location = redact(str(response.headers.get("Location") or "(no Location)"), secrets)[:200]
                response.close()
                raise GraphAnswerError(
                    f"the Graph API at {self.base_url} answered {response.status_code}, a redirect to {location}; "
                    "quickstart never follows redirects (the token would go along): check QUICKSTART_GRAPH_URL")
            payload = json_or(response)
            if 200 <= response.status_code < 300 and not isinstance(payload, dict):
                response.close()
                raise GraphAnswerError(
                    f"the Graph API answered {response.status_code} with a body that is not JSON; the events may "
                    "have been recorded: look in Events Manager > Test Events before sending them again")
            if 200 <= response.status_code < 300 and "error" not in payload:
                messages = payload.get("messages") or []
                return EventsResponse(
                    events_received=_count(payload.get("events_received")),
                    messages=[redact(str(m), secrets)[:500] for m in (messages if isinstance(messages, list) else [messages])],
                    fbtrace_id=redact(str(payload["fbtrace_id"]), secrets)[:200] if payload.get("fbtrace_id") else None,
                    attempts=attempt,
                )
            error = parse_error(response.status_code if response.status_code >= 300 else 502, payload,
                                dict(response.headers), secrets)
            response.close()
            last_error = error
            if not error.transient:
                raise GraphRejectedError(explain(error, pixel_id=pixel_id), error)
            if error.retry_after is not None and error.retry_after > self.max_retry_after:
                raise GraphUnreachableError(
                    explain(error, pixel_id=pixel_id) + f"; Meta asks to wait {error.retry_after:.0f} s before retrying",
                    error, attempts=attempt)
            log.debug("attempt %d: transient %s", attempt, error.to_dict())
            if attempt < self.max_attempts:
                self.sleep(error.retry_after if error.retry_after is not None else self._backoff(attempt))
        assert last_error is not None
        raise GraphUnreachableError(
            explain(last_error, pixel_id=pixel_id) + f"; gave up after {self.max_attempts} attempts",
            last_error, attempts=self.max_attempts)

    def _post_within_deadline(self, url: str, body: dict[str, Any]) -> Any:
        from quickstart.http import request_within_deadline

        return request_within_deadline(self.session, "POST", url, deadline=self.request_deadline, json=body,
                                       timeout=self.timeout)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt - 1, self.backoff_base, self.backoff_cap)


def normalize_version(version: str) -> str:
    """``25``, ``25.0`` or ``v25.0`` -> ``v25.0``; anything else is an error."""
    import re

    raw = str(version).strip()
    match = re.fullmatch(r"v?(\d{1,3})(?:\.(\d{1,2}))?", raw)
    if not match:
        raise ValueError(f"Graph API version {raw!r} must look like v25.0")
    return f"v{match.group(1)}.{match.group(2) or '0'}"


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _connection_problem(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    return "connection failed"


def _version() -> str:
    from quickstart import __version__

    return __version__
