"""Retry timing shared by the HTTP clients (Graph API, Reactor, IMS): one place for both rules."""

from __future__ import annotations

import email.utils
import random
import time


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry_number: int, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries never bunch up or hit zero.

    ``retry_number`` counts from 0 for the first retry.
    """
    ceiling = min(cap, base * (2 ** retry_number))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
