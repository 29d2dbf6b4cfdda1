"""What every HTTP client here shares (Graph API, IMS, Reactor, the datastream endpoint).

- ``new_session``: one way to make a ``requests`` session (pool size, User-Agent);
- ``request_within_deadline``: the whole answer must arrive within a deadline. A read timeout
  only bounds the gap between two bytes, so a server that trickles one byte every few seconds
  could hold a command for minutes; a timer shuts that response's connection down when the
  deadline runs out (only that one: the session may be serving other threads). Redirects are
  never followed: requests would re-send the body, with its secrets, to wherever they point;
- ``send_with_retries`` with a ``RetryPolicy``: the Adobe clients' one retry loop (429 and 503
  always, other 5xx and connection errors only when the request is safe to repeat), counting
  into ``CallStats``. The Graph client keeps its own loop: what is transient there is decided by
  Meta's error codes in the body (quickstart/meta/graph.py), not by the HTTP status;
- ``json_or``: a body as JSON, or a default when it is not.

Each client keeps its own error classification and messages.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from quickstart.backoff import backoff_delay, parse_retry_after
from quickstart.errors import RemoteError, UnreachableError

MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def _requests() -> Any:
    import requests  # loaded by the commands that talk to a service, never by --help

    return requests


def new_session(*, pool: int = 10, user_agent: str | None = None, accept: str | None = None) -> Any:
    """A ``requests`` session whose connection pool holds ``pool`` connections per host."""
    requests = _requests()
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if user_agent:
        session.headers["User-Agent"] = user_agent
    if accept:
        session.headers["Accept"] = accept
    return session


def json_or(response: Any, default: Any = None, kind: type | None = None) -> Any:
    """The body as JSON; ``default`` when it is not JSON (or not a ``kind``, when given)."""
    try:
        body = response.json()
    except ValueError:
        return default
    if kind is not None and not isinstance(body, kind):
        return default
    return body


class DeadlineExceeded(Exception):
    """The whole answer did not arrive within the request's deadline."""


def _shut_down(response: Any) -> None:
    with contextlib.suppress(OSError, AttributeError, ValueError):
        descriptor = response.raw._fp.fp.raw._sock.fileno()  # urllib3 -> http.client -> the socket
        handle = socket.fromfd(descriptor, socket.AF_INET, socket.SOCK_STREAM)
        handle.shutdown(socket.SHUT_RDWR)  # acts on the connection, not only this handle
        handle.close()


def request_within_deadline(session: Any, method: str, url: str, *, deadline: float, **kwargs: Any) -> Any:
    """``session.request(...)`` with its body read completely within ``deadline`` seconds;
    raises DeadlineExceeded when it did not. Never follows a redirect."""
    expired = threading.Event()
    pending: list[Any] = []

    def expire() -> None:
        expired.set()
        for response in pending:
            _shut_down(response)

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()
    try:
        response = session.request(method, url, allow_redirects=False, stream=True, **kwargs)
        pending.append(response)
        if not expired.is_set():
            response.content  # noqa: B018 - the whole body, while the timer runs
        if expired.is_set():
            response.close()
            raise DeadlineExceeded()
        return response
    except DeadlineExceeded:
        raise
    except Exception:
        if expired.is_set():
            raise DeadlineExceeded() from None
        raise
    finally:
        timer.cancel()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first one included
    base_delay: float = 0.5  # seconds; doubles each retry, with jitter
    max_delay: float = 20.0
    max_retry_after: float = 120.0  # we honour Retry-After, up to this
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read (the gap between two bytes)
    request_deadline: float = 120.0  # the whole answer, however slowly it comes
    command_deadline: float = 3600.0  # a whole command's calls (apply resumes where it stopped)

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return backoff_delay(retry_number, self.base_delay, self.max_delay)


DEFAULT_RETRY = RetryPolicy()


@dataclass
class CallStats:
    """HTTP requests sent (retries included), for the summary and the benchmark."""

    calls: int = 0
    mutating: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, method: str, retry: bool, read_only: bool = False) -> None:
        with self._lock:
            self.calls += 1
            if method in MUTATING_METHODS and not read_only:
                self.mutating += 1
            if retry:
                self.retries += 1


def _never_reached_server(exc: Exception) -> bool:
    """True when the request cannot have been processed: no connection was ever made."""
    if isinstance(exc, _requests().exceptions.ConnectTimeout):
        return True
    import urllib3

    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's MaxRetryError
    return isinstance(reason, urllib3.exceptions.NewConnectionError)  # refused, DNS (a subclass), unroutable


def send_with_retries(session: Any, method: str, url: str, *, idempotent: bool, what: str,
                      policy: RetryPolicy = DEFAULT_RETRY, stats: CallStats | None = None,
                      read_only: bool = False, **kwargs: Any) -> Any:
    """Send one request, retrying what is safe to retry; return the last response.

    ``read_only`` marks a POST that changes nothing (a search): counted as a read.
    Raises UnreachableError when the service cannot be reached after the retries.
    """
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        if stats is not None:
            stats.count(method, retry=attempt > 0, read_only=read_only)
        try:
            # Never follows a redirect (requests would re-send the body, credentials, a secret, to it).
            response = request_within_deadline(session, method, url, deadline=policy.request_deadline,
                                               timeout=policy.timeout, **kwargs)
        except DeadlineExceeded:
            raise UnreachableError(f"{what} did not finish its answer to {method} within {policy.request_deadline:.0f} s "
                                   "(it is sending too slowly); try again later") from None
        except _requests().exceptions.RequestException as exc:
            safe = idempotent or _never_reached_server(exc)
            if last or not safe:
                hint = "" if safe else "; it may or may not have been done: rerun, quickstart finds it by name"
                raise UnreachableError(f"{what} did not answer {method} ({type(exc).__name__}){hint}") from None
            time.sleep(policy.delay(attempt, None))
            continue
        status = response.status_code
        if 300 <= status < 400:
            location = str(response.headers.get("Location") or "(no Location)").split("?", 1)[0][:200]
            response.close()
            raise RemoteError(f"{what} answered {status}, a redirect to {location}; quickstart never follows "
                              "redirects (credentials would go along): check the service URL")
        retryable = status in (429, 503) or (idempotent and status >= 500)
        if not retryable or last:
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > policy.max_retry_after:
            response.close()
            raise UnreachableError(f"{what} answered {status} and asks to wait {retry_after:,.0f} s before the next "
                                   f"request; quickstart waits at most {policy.max_retry_after:.0f} s: try again later")
        time.sleep(policy.delay(attempt, retry_after))
    raise AssertionError("unreachable")  # pragma: no cover
