"""What the page sends, parsed (pure; no browser needed to test it): Pixel hits, Edge events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

_FBEVENTS = re.compile(r"^https?://connect\.facebook\.net/[^?#]*fbevents\.js", re.IGNORECASE)
_EDGE_PATH = re.compile(r"/v\d+/(interact|collect)$")
NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")


@dataclass
class PixelHit:
    url: str
    params: dict[str, str]

    @property
    def event_name(self) -> str | None:
        return self.params.get("ev")

    @property
    def event_id(self) -> str | None:
        return self.params.get("eid") or None


@dataclass
class EdgeEvent:
    """One `conversionData` found in an Edge request body, with the object that holds it."""

    event_name: Any
    event_id: Any
    data: dict[str, Any]


@dataclass
class EdgeHit:
    url: str
    events: list[EdgeEvent]
    body: str = ""


@dataclass
class Traffic:
    """The requests the page made, in order, sorted into what the checks look at."""

    pixel: list[PixelHit] = field(default_factory=list)
    edge: list[EdgeHit] = field(default_factory=list)
    fbevents: list[str] = field(default_factory=list)

    def record(self, request) -> None:
        url = request.url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if (host == "facebook.com" or host.endswith(".facebook.com")) and parts.path.rstrip("/") == "/tr":
            self.pixel.append(PixelHit(url, pixel_params(parts.query, _post_data(request))))
        elif _EDGE_PATH.search(parts.path) and request.method == "POST":
            body = _post_data(request)
            self.edge.append(EdgeHit(url, edge_events_in(body), body or ""))
        elif _FBEVENTS.match(url):
            self.fbevents.append(url)

    def edge_events(self, since: int = 0) -> list[EdgeEvent]:
        return [event for hit in self.edge[since:] for event in hit.events]


def _post_data(request) -> str | None:
    try:
        return request.post_data
    except Exception:  # binary bodies cannot be decoded; neither request we read has one
        return None


def pixel_params(query: str, body: str | None) -> dict[str, str]:
    # The Pixel sends GET with the query, or POST with the same fields form-encoded.
    params: dict[str, str] = {}
    for source in (query, body or ""):
        for key, values in parse_qs(source, keep_blank_values=True).items():
            params.setdefault(key, values[0])
    return params


def edge_events_in(body: str | None) -> list[EdgeEvent]:
    try:
        payload = json.loads(body or "")
    except ValueError:
        return []
    events = payload.get("events") if isinstance(payload, dict) else None
    found: list[EdgeEvent] = []
    for event in events if isinstance(events, list) else []:
        # `data` is where the Web SDK action puts %MetaConversion_DataLayer%; search the whole
        # event so a site that maps it elsewhere (e.g. into xdm) is still understood.
        for holder, conversion in _find_conversion_data(event):
            found.append(EdgeEvent(conversion.get("eventName"), conversion.get("eventId"), holder))
    return found


def _find_conversion_data(node: Any) -> Iterator[tuple[dict, dict]]:
    if isinstance(node, dict):
        conversion = node.get("conversionData")
        if isinstance(conversion, dict):
            yield node, conversion
        for value in node.values():
            yield from _find_conversion_data(value)
    elif isinstance(node, list):
        for value in node:
            yield from _find_conversion_data(value)
