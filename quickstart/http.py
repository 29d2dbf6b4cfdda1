"""What every HTTP client here shares (Graph API, IMS, Reactor, the datastream endpoint).

For now: one request whose whole answer must arrive within a deadline. A read timeout only
bounds the gap between two bytes, so a server that trickles one byte every few seconds could
hold a command for minutes; a timer shuts that response's connection down when the deadline
runs out (only that one: the session may be serving other threads). Redirects are never
followed: requests would re-send the body, with its secrets, to wherever they point.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


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
