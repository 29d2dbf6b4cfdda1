"""Conversions API server events: build them, check them before sending, batch them.

Meta rejects a whole request when one event in it is invalid (reference/meta-capi.md §1.2), so
`preflight` looks for every problem we can see locally (§2, §3.3, §5.1, §11) and says how to
fix it. `estimate_match_quality` is a local guess at Event Match Quality — Meta computes the
real score and does not publish its weights (§7.1).

Over 400 lines on purpose: the preflight is one checklist of Meta's rules, kept in one place.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import pycountry

from quickstart.meta.normalize import NEVER_HASHED, USER_DATA_KEYS, is_sha256_hex

MAX_EVENTS_PER_REQUEST = 1000

# Meta rejects events older than 7 days (subcode 2804003) and every other event with them.
MAX_EVENT_AGE_S = 7 * 24 * 3600
# Clocks drift; an event a minute "in the future" is still this moment.
MAX_FUTURE_SKEW_S = 60

ACTION_SOURCES: tuple[str, ...] = (
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
)

# Meta's "too broad" customer information: an event whose keys are only one of these sets, or
# a subset of one, is invalid (§3.3; probably 100/2804050).
TOO_BROAD_USER_DATA: tuple[frozenset[str], ...] = (
    frozenset({"ct", "country", "st", "zp", "ge", "client_user_agent"}),
    frozenset({"db", "client_user_agent"}),
    frozenset({"fn", "ge"}),
    frozenset({"ln", "ge"}),
)

# Hashing external_id is recommended, not required (§3.1): plain ids are accepted.
_MUST_BE_HASHED = tuple(key for key in USER_DATA_KEYS if key != "external_id")
_NEVER_HASHED_STRINGS = ("client_ip_address", "client_user_agent", "fbc", "fbp")

# fb.{subdomain_index}.{creation_time_ms}.{fbclid or random}[.{appendix}] (§3.2, §7.2).
# The appendix of Meta's parameter builder is a 2-char legacy token or 8 base64url chars.
_APPENDIX = r"(?:\.(?:AQ|Ag|Aw|BA|BQ|Bg|[A-Za-z0-9_-]{8}))?"
_FBC = re.compile(r"fb\.\d{1,2}\.(\d{13})\.[A-Za-z0-9_-]+" + _APPENDIX)
_FBP = re.compile(r"fb\.\d{1,2}\.(\d{13})\.\d+" + _APPENDIX)
_MD5_HEX = re.compile(r"[0-9a-fA-F]{32}")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
_MAX_EVENT_NAME_LENGTH = 50  # custom event names (Pixel Conversion Tracking page)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class PreflightProblem:
    """Something in event `event_index` that Meta would reject (error) or that hurts it (warning)."""

    event_index: int
    event_name: str
    field: str  # dotted path in the event, e.g. "user_data.fbc" or "custom_data.currency"
    message: str  # says what to fix
    severity: Severity = "error"  # only errors make Meta reject the request

    def __str__(self) -> str:
        return f"event {self.event_index} ({self.event_name or '?'}) {self.field}: {self.message}"


def build_server_event(
    event_name: str,
    *,
    event_id: str,
    event_time: int,
    event_source_url: str,
    user_data: dict,
    custom_data: dict | None = None,
    action_source: str = "website",
    ldu: bool = False,
) -> dict:
    """One element of the request's `data` array (§2).

    With `ldu`, Limited Data Use is on and Meta geolocates the user (country 0, state 0).
    """
    event: dict[str, Any] = {
        "event_name": event_name,
        "event_time": event_time,
        "event_id": event_id,
        "action_source": action_source,
        "event_source_url": event_source_url,
        "user_data": user_data,
    }
    if custom_data is not None:
        event["custom_data"] = custom_data
    if ldu:
        event["data_processing_options"] = ["LDU"]
        event["data_processing_options_country"] = 0
        event["data_processing_options_state"] = 0
    return event


def preflight(events: list[dict], *, now: int | None = None) -> list[PreflightProblem]:
    """Every problem in `events` we can see before Meta does, in event order.

    Problems with severity "error" make Meta reject the whole request; "warning"s are sent
    but cost matching or deduplication.
    """
    now = int(time.time()) if now is None else now
    problems: list[PreflightProblem] = []
    first_index_of_id: dict[tuple[str, str], int] = {}
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            problems.append(PreflightProblem(index, "", "", "each event must be a JSON object"))
            continue
        name = event.get("event_name")
        report = _Reporter(index, name if isinstance(name, str) else "", problems)
        _check_event_name(event, report)
        _check_event_time(event, now, report)
        _check_action_source(event, report)
        _check_event_id(event, report, first_index_of_id)
        _check_user_data(event, now, report)
        _check_custom_data(event, report)
        _check_data_processing_options(event, report)
    return problems


def batches(events: list[dict], size: int = MAX_EVENTS_PER_REQUEST) -> list[list[dict]]:
    """`events` in requests of at most `size` (Meta takes at most 1,000 per request)."""
    if not 1 <= size <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"batch size must be between 1 and {MAX_EVENTS_PER_REQUEST}, not {size}")
    return [events[start : start + size] for start in range(0, len(events), size)]


# --- local Event Match Quality estimate -----------------------------------------------------

MATCH_QUALITY_NOTE = (
    "local estimate from the customer-information keys present; Meta computes the real Event "
    "Match Quality from its own unpublished weights and the share of events it matches"
)

# Our own weights, not Meta's (they are unpublished, §7.1). Ordered by what Meta says matters:
# em, client_ip_address, fn/ln and ph are its "high-quality" keys; external_id and fbc/fbp
# should always be sent when available; the location and demographic keys only narrow a match.
MATCH_KEY_WEIGHTS: dict[str, float] = {
    "em": 3.0,
    "ph": 2.0,
    "client_ip_address": 1.5,
    "external_id": 1.5,
    "fbc": 1.5,
    "fbp": 1.0,
    "client_user_agent": 1.0,
    "fn": 0.75,
    "ln": 0.75,
    "db": 0.5,
    "zp": 0.5,
    "ct": 0.25,
    "st": 0.25,
    "country": 0.25,
    "ge": 0.25,
}
# Score (out of 10) -> rating; Meta advises aiming for at least 6 (§7.1).
MATCH_QUALITY_RATINGS: tuple[tuple[float, str], ...] = ((8.0, "great"), (6.0, "good"), (4.0, "ok"), (0.0, "poor"))


def match_quality_score(user_data: Mapping[str, Any]) -> float:
    """Our 0–10 score for the match keys present in `user_data` (see MATCH_QUALITY_NOTE)."""
    present = _present_keys(user_data)
    return min(10.0, sum(weight for key, weight in MATCH_KEY_WEIGHTS.items() if key in present))


def estimate_match_quality(user_data: dict) -> tuple[str, list[str]]:
    """A LOCAL estimate of Event Match Quality: (rating, keys to add, most valuable first).

    The rating is "poor", "ok", "good" or "great". Meta's own score may differ; say so wherever
    this is shown (MATCH_QUALITY_NOTE).
    """
    score = match_quality_score(user_data)
    rating = next(word for threshold, word in MATCH_QUALITY_RATINGS if score >= threshold)
    present = _present_keys(user_data)
    missing = [key for key in MATCH_KEY_WEIGHTS if key not in present]  # already by weight
    return rating, missing


# --- the checks -----------------------------------------------------------------------------


@dataclass
class _Reporter:
    index: int
    event_name: str
    problems: list[PreflightProblem]

    def error(self, field: str, message: str) -> None:
        self.problems.append(PreflightProblem(self.index, self.event_name, field, message, "error"))

    def warning(self, field: str, message: str) -> None:
        self.problems.append(PreflightProblem(self.index, self.event_name, field, message, "warning"))


def _check_event_name(event: Mapping[str, Any], report: _Reporter) -> None:
    name = event.get("event_name")
    if not isinstance(name, str) or not name.strip():
        report.error("event_name", "set event_name to the event's name, e.g. Purchase")
    elif len(name) > _MAX_EVENT_NAME_LENGTH:
        report.warning("event_name", f"shorten event_name to at most {_MAX_EVENT_NAME_LENGTH} characters")


def _check_event_time(event: Mapping[str, Any], now: int, report: _Reporter) -> None:
    event_time = event.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        report.error("event_time", "set event_time to the Unix time in whole seconds (an integer)")
        return
    if event_time > now + MAX_FUTURE_SKEW_S:
        if event_time > 10**12:
            report.error("event_time", "event_time looks like milliseconds; send seconds (divide by 1000)")
        else:
            report.error(
                "event_time",
                f"event_time is {event_time - now} s in the future; stamp it with the server's clock",
            )
    elif event_time < now - MAX_EVENT_AGE_S:
        days = (now - event_time) / 86400
        report.error(
            "event_time",
            f"event_time is {days:.1f} days old; Meta rejects events older than 7 days "
            "(and the whole request with them): drop it or send a recent one",
        )


def _check_action_source(event: Mapping[str, Any], report: _Reporter) -> None:
    action_source = event.get("action_source")
    if action_source not in ACTION_SOURCES:
        report.error(
            "action_source",
            f"set action_source to one of {', '.join(ACTION_SOURCES)} (got {action_source!r})",
        )
        return
    if action_source != "website":
        return
    url = event.get("event_source_url")
    if not url or not isinstance(url, str):
        report.error("event_source_url", "website events need event_source_url: the page's full http(s) URL")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            report.error(
                "event_source_url",
                f"event_source_url must be an absolute http(s) URL like https://example.com/page, not {url!r}",
            )
    user_data = event.get("user_data")
    if isinstance(user_data, Mapping) and not _filled(user_data.get("client_user_agent")):
        # Graph has been seen to accept it missing (§2), but Meta's docs require it.
        report.warning(
            "user_data.client_user_agent",
            "website events need client_user_agent: send the browser's User-Agent header",
        )


def _check_event_id(
    event: Mapping[str, Any], report: _Reporter, first_index_of_id: dict[tuple[str, str], int]
) -> None:
    event_id = event.get("event_id")
    if not _filled(event_id):
        report.warning(
            "event_id",
            "set event_id to the id the Pixel sent as eventID, or Meta cannot deduplicate the two copies",
        )
        return
    key = (str(event.get("event_name")), str(event_id))
    if key in first_index_of_id:
        report.warning(
            "event_id",
            f"event_id {event_id!r} is already used by event {first_index_of_id[key]}; "
            "give every event its own id",
        )
    else:
        first_index_of_id[key] = report.index


def _check_user_data(event: Mapping[str, Any], now: int, report: _Reporter) -> None:
    user_data = event.get("user_data")
    if not isinstance(user_data, Mapping):
        report.error("user_data", "add user_data with the customer information (hashed) and client fields")
        return
    present = _present_keys(user_data)
    if not present:
        report.error(
            "user_data",
            "user_data is empty: Meta needs at least one customer-information parameter, "
            "e.g. em, ph, external_id, client_ip_address with client_user_agent, fbp or fbc",
        )
    elif any(present <= broad for broad in TOO_BROAD_USER_DATA):
        report.error(
            "user_data",
            f"user_data has only {', '.join(sorted(present))}, too broad for Meta to match; "
            "add em, ph, external_id, fbp/fbc or client_ip_address",
        )
    for key in _MUST_BE_HASHED:
        for value in _values(user_data.get(key)):
            _check_hashed(key, value, report)
    for key in NEVER_HASHED:
        value = user_data.get(key)
        if not _filled(value):
            continue
        if key in _NEVER_HASHED_STRINGS and not isinstance(value, str):
            report.error(f"user_data.{key}", f"send {key} as one string")
        elif is_sha256_hex(value):
            report.error(f"user_data.{key}", f"{key} must be sent as it is, not hashed")
    _check_click_id(user_data.get("fbc"), "fbc", _FBC, now, report, "error")
    _check_click_id(user_data.get("fbp"), "fbp", _FBP, now, report, "warning")
    ip = user_data.get("client_ip_address")
    if isinstance(ip, str) and ip and not is_sha256_hex(ip) and not _is_ip_address(ip):
        report.warning(
            "user_data.client_ip_address",
            f"client_ip_address {ip!r} is not an IPv4 or IPv6 address; send the client's real IP",
        )


def _check_hashed(key: str, value: Any, report: _Reporter) -> None:
    field = f"user_data.{key}"
    if not isinstance(value, str):
        report.error(field, f"{key} must be a SHA-256 hex string or a list of them")
    elif is_sha256_hex(value):
        if value != value.lower():
            report.error(field, f"{key} must be lowercase hex; lowercase the SHA-256 digest")
    elif _MD5_HEX.fullmatch(value):
        report.error(field, f"{key} looks like an MD5 digest; Meta wants SHA-256 of the normalised value")
    else:
        # Meta answers 100/2804016 "User Parameter Not Hashed" and rejects the request.
        report.error(field, f"{key} is not hashed: normalise it and send its SHA-256 hex digest")


def _check_click_id(
    value: Any, key: str, pattern: re.Pattern[str], now: int, report: _Reporter, severity: Severity
) -> None:
    if not isinstance(value, str) or not value:
        return
    example = "fb.1.1554763741205.AbCdEf123" if key == "fbc" else "fb.1.1596403881668.1116446470"
    match = pattern.fullmatch(value)
    if match is None:
        message = (
            f"{key} {value!r} is not fb.<subdomain index>.<creation time in ms>."
            f"{'<fbclid>' if key == 'fbc' else '<random number>'} (optionally one more segment), "
            f"e.g. {example}; send the _{key} cookie unchanged"
        )
    elif int(match.group(1)) > (now + MAX_FUTURE_SKEW_S) * 1000:
        message = f"{key} has a creation time in the future; send the _{key} cookie unchanged"
    else:
        return
    getattr(report, severity)(f"user_data.{key}", message)


REQUIRED_HINTS = {"currency": "a 3-letter ISO 4217 code like USD", "value": "the order's amount as a number, e.g. 42.5"}


def _required(event_name: Any) -> tuple[str, ...]:
    """The custom_data keys Meta requires for this event, from the catalog (Purchase: currency, value)."""
    from quickstart import catalog

    try:
        return catalog.get(str(event_name)).required
    except (KeyError, ValueError):
        return ()  # a custom event: nothing is required


def _check_custom_data(event: Mapping[str, Any], report: _Reporter) -> None:
    custom_data = event.get("custom_data")
    required = _required(event.get("event_name"))
    if custom_data is None:
        custom_data = {}
    elif not isinstance(custom_data, Mapping):
        report.error("custom_data", "custom_data must be a JSON object")
        return
    for key in required:
        if custom_data.get(key) is None or custom_data.get(key) == "":
            hint = REQUIRED_HINTS.get(key, "see Meta's standard events")
            report.error(f"custom_data.{key}", f"{event.get('event_name')} needs {key}: {hint}")
    currency = custom_data.get("currency")
    if currency is not None and currency != "" and not _is_currency(currency):
        report.error(
            "custom_data.currency", f"currency {currency!r} is not an ISO 4217 code; use one like USD or EUR"
        )
    value = custom_data.get("value")
    if value is not None and value != "" and not _is_amount(value):
        report.error("custom_data.value", f"value must be a number like 42.5, not {value!r}")


def _check_data_processing_options(event: Mapping[str, Any], report: _Reporter) -> None:
    options = event.get("data_processing_options")
    if options is None:
        return
    if not isinstance(options, list) or any(option != "LDU" for option in options):
        report.error("data_processing_options", 'data_processing_options must be [] or ["LDU"]')
        return
    if "LDU" not in options:
        return
    if event.get("data_processing_options_country") not in (0, 1):
        report.error(
            "data_processing_options_country",
            "with LDU set data_processing_options_country to 0 (let Meta geolocate) or 1 (USA)",
        )
    if event.get("data_processing_options_state") not in (0, 1000):
        report.error(
            "data_processing_options_state",
            "with LDU set data_processing_options_state to 0 (let Meta geolocate) or 1000 (California)",
        )


# --- helpers ------------------------------------------------------------------------------


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _present_keys(user_data: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(key for key, value in user_data.items() if _filled(value))


def _values(value: Any) -> list[Any]:
    if not _filled(value):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@functools.lru_cache(maxsize=256)
def _is_iso_currency(code: str) -> bool:
    # XXX ("no currency") and XTS ("testing") are ISO codes but no amount is in them.
    return code not in ("XXX", "XTS") and pycountry.currencies.get(alpha_3=code) is not None


def _is_currency(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isalpha() and _is_iso_currency(value.upper())


def _is_amount(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    # Meta's own examples send "142.52" as a string.
    return isinstance(value, str) and _DECIMAL.fullmatch(value.strip()) is not None


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
