"""Plain data of a validation: findings, the dedup status, test events, Meta's answers, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from quickstart.errors import InputError
from quickstart.settings import GRAPH_API_VERSION


Mode = Literal["static", "dry-run", "send"]
Severity = Literal["error", "warning"]


class NoTestEventCodeError(InputError):
    """Refusing to send events that would count as real ones."""


class MissingTokenError(InputError):
    """No access token to send with."""


@dataclass(frozen=True)
class Finding:
    """One problem found in the folder, with where it is."""

    file: str
    rule: str | None
    message: str
    severity: Severity = "error"
    subject: str | None = None  # the component, data element or extension, when not the rule itself
    breaks: tuple[str, ...] = ()  # the parts of the Pixel/CAPI pair this finding breaks (DedupStatus)

    def __str__(self) -> str:
        where = self.file + (f": rule {self.rule}" if self.rule else "") + (f": {self.subject}" if self.subject else "")
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rule": self.rule, "subject": self.subject, "severity": self.severity,
                "message": self.message, "breaks": list(self.breaks)}


PIXEL_ID, CAPI_ID, NAMES = "pixel_event_id", "capi_event_id", "names_match"  # the parts of the pair


@dataclass
class DedupStatus:
    """Whether Meta can pair the Pixel and CAPI copies of an event (same name, same id)."""

    pixel_event_id: bool = False  # the Pixel action's event_id reads <path>.conversionData.eventId
    capi_event_id: bool = False  # the CAPI action's eventId reads arc.event.data.conversionData.eventId
    names_match: bool = False  # Pixel action, edge condition and CAPI eventName are all this event

    @property
    def ok(self) -> bool:
        return self.pixel_event_id and self.capi_event_id and self.names_match

    def to_dict(self) -> dict[str, bool]:
        return {"pixel_event_id": self.pixel_event_id, "capi_event_id": self.capi_event_id,
                "names_match": self.names_match, "ok": self.ok}


@dataclass
class StaticResult:
    folder: Any  # quickstart.folder.Folder, complete; None when it is not
    findings: list[Finding]
    dedup: dict[str, DedupStatus]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


@dataclass
class TestEvent:
    """One test event: the CAPI payload and what we know about it."""

    name: str
    rule: str
    event_id: str
    payload: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    match_quality: str = ""
    keys_to_add: list[str] = field(default_factory=list)  # match keys the forwarding rule does not map
    runtime_keys: list[str] = field(default_factory=list)  # mapped, but only real visits fill them (IP, fbc)
    sent: bool = False
    accepted: bool | None = None  # None until Meta answered
    test_event_code: str | None = None  # what the extension sends on a development build


@dataclass
class RequestResult:
    """Meta's answer to one request."""

    events: int
    accepted: bool
    events_received: int = 0
    fbtrace_id: str | None = None
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    error_code: int | None = None
    error_subcode: int | None = None
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "accepted": self.accepted, "events_received": self.events_received,
                "fbtrace_id": self.fbtrace_id, "messages": list(self.messages), "error": self.error,
                "error_code": self.error_code, "error_subcode": self.error_subcode, "attempts": self.attempts}


@dataclass
class Report:
    folder: str
    mode: Mode
    findings: list[Finding] = field(default_factory=list)
    events: list[TestEvent] = field(default_factory=list)
    dedup: dict[str, DedupStatus] = field(default_factory=dict)
    requests: list[RequestResult] = field(default_factory=list)
    pixel_id: str | None = None
    graph_version: str = GRAPH_API_VERSION
    test_event_code: str | None = None
    dry_run_requests: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if any(f.severity == "error" for f in self.findings):
            return False
        if self.mode == "send":
            return bool(self.requests) and all(r.accepted for r in self.requests)
        return True

    @property
    def events_received(self) -> int:
        return sum(r.events_received for r in self.requests)

    def match_quality(self) -> dict[str, Any] | None:
        """The weakest event's local estimate: what every event would need."""
        rated = [e for e in self.events if e.match_quality]
        if not rated:
            return None
        from quickstart.meta.events import MATCH_QUALITY_NOTE, MATCH_QUALITY_RATINGS

        order = [word for _, word in MATCH_QUALITY_RATINGS]
        weakest = max(rated, key=lambda e: order.index(e.match_quality))
        return {"rating": weakest.match_quality, "add": list(weakest.keys_to_add),
                "filled_by_real_visits": list(weakest.runtime_keys),
                "keys_present": sorted(weakest.payload.get("user_data", {})), "note": MATCH_QUALITY_NOTE}

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "folder": self.folder,
            "mode": self.mode,
            "ok": self.ok,
            "pixel_id": self.pixel_id,
            "graph_version": self.graph_version,
            "test_event_code": self.test_event_code,
            "findings": [f.to_dict() for f in self.findings],
            "events": [
                {"event_name": e.name, "rule": e.rule, "event_id": e.event_id, "sent": e.sent, "accepted": e.accepted,
                 "dedup": self.dedup[e.name].to_dict() if e.name in self.dedup else None,
                 "warnings": list(e.warnings), "match_quality": e.match_quality, "keys_to_add": list(e.keys_to_add),
                 "filled_by_real_visits": list(e.runtime_keys)}
                for e in self.events
            ],
            "dedup": {name: status.to_dict() for name, status in self.dedup.items()},
            "requests": [r.to_dict() for r in self.requests],
            "events_received": self.events_received,
            "fbtrace_ids": [r.fbtrace_id for r in self.requests if r.fbtrace_id],
            "messages": [m for r in self.requests for m in r.messages],
            "match_quality": self.match_quality(),
            "notes": list(self.notes),
        }
        if self.mode == "dry-run":
            result["dry_run_requests"] = self.dry_run_requests
        return result
