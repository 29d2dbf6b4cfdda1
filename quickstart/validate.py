"""`quickstart validate`: prove a generated folder works before anyone touches Adobe.

Three steps, each plain data in, plain data out:

1. ``check_folder`` — static checks, no network: the files are there; every chosen event has
   its rule on both sides; the setup rule and the property settings the rules rely on; the
   Pixel ``event_id`` is the event's own ``%event.detail.conversionData.eventId%`` and the CAPI
   ``eventId`` reads ``conversionData.eventId`` (deduplication); Generate New Event ID is
   awaited; event names agree; every ``settings`` object passes its extension's schema; every
   data element reference resolves. Each finding names the file and the rule.
2. ``build_test_events`` — one CAPI event per chosen event, exactly as production sends it: the
   browser's snapshot of the sample payload (``sample_snapshot``: what the runtime of
   snippets/runtime.js.j2 makes, hashes included) is resolved through the rule's
   ``{{data elements}}`` by Core edge's rules, and turned into the body Adobe's CAPI extension
   builds (quickstart.adobe.capi_extension). What the extension would mangle (a hash by its own
   weak rules, 0 turned into null, a list it throws on, a test code outside development) is a
   finding; then preflight (quickstart.meta).
3. ``send_test_events`` — all events in one request (split past Meta's 1,000), with the test
   event code at the top level; Meta's answer goes into the report.

``run`` strings them together; ``quickstart/output.py`` renders the report for a terminal.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from quickstart import catalog
from quickstart.blueprint.forwarding import (
    CAPI_CONFIG,
    CUSTOM_CODE_ELEMENT,
    EDGE_EVENT_DATA,
    HASHED_USER,
    PATH_ELEMENT,
    SEND_CAPI_DATA,
)
from quickstart.blueprint.tags import (
    CUSTOM_CODE_ACTION,
    DIRECT_CALL,
    EVENT_DETAIL,
    EVENT_ID_TOKEN,
    GENERATE_EVENT_ID,
    LIBRARY_LOADED,
    PIXEL_CONFIG,
    RUNTIME_MARKER,
    WEB_SDK_SEND_EVENT,
    detail_token,
    prepare_call,
    token,
)
from quickstart.errors import InputError
from quickstart.settings import (
    ENV_FILE,
    FORWARDING_FILE,
    GRAPH_API_VERSION,
    SETUP_RULE,
    TAGS_FILE,
    TEST_EVENT_CODE_ENV,
    TOKEN_ENV,
)



# What the test events pretend the browser was; clearly a test, still a real browser shape.
SAMPLE_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/126.0.0.0 Safari/537.36 quickstart-validate")

Mode = Literal["static", "dry-run", "send"]
Severity = Literal["error", "warning"]

_WEB_TOKEN = re.compile(r"%([^%\s]+)%")
TURBINE_EVENT_HOSTS = ("event", "this", "target")  # %event.x%: Turbine's own references
_EDGE_TOKEN = re.compile(r"{{([^}]+)}}")


class NoTestEventCodeError(InputError):
    """Refusing to send events that would count as real ones."""


class MissingTokenError(InputError):
    """No access token to send with."""


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Finding:
    """One problem found in the folder, with where it is."""

    file: str
    rule: str | None
    message: str
    severity: Severity = "error"
    subject: str | None = None  # the component, data element or extension, when not the rule itself

    def __str__(self) -> str:
        where = self.file + (f": rule {self.rule}" if self.rule else "") + (f": {self.subject}" if self.subject else "")
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rule": self.rule, "subject": self.subject, "severity": self.severity,
                "message": self.message}


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


# ---------------------------------------------------------------------------------------------
# 1. Static checks


def check_folder(folder_path: str | Path) -> StaticResult:
    """Every static check; never touches the network. The folder comes from quickstart/folder.py;
    the problems it met loading are findings like any other."""
    from quickstart.folder import load_folder

    folder = load_folder(folder_path)
    findings = [Finding(problem.file, None, problem.message) for problem in folder.problems]
    dedup: dict[str, DedupStatus] = {}
    if not folder.complete:
        return StaticResult(None, findings, dedup)
    checker = _Checker(folder, findings)
    checker.check_extensions()
    checker.check_setup()
    for event in folder.answers.chosen_events:
        status = DedupStatus()
        checker.check_web_rule(event, status)
        checker.check_edge_rule(event, status)
        dedup[event.name] = status
    checker.check_unchosen_rules()
    checker.check_schemas_and_references()
    from quickstart.schemas import save_valid_cache

    save_valid_cache()
    return StaticResult(folder, findings, dedup)


def _data_elements(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {de["name"]: de for de in document.get("data_elements") or [] if isinstance(de, dict) and "name" in de}


def _rules(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in document.get("rules") or [] if isinstance(rule, dict) and "name" in rule}


def _components(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rule's components in execution order (order, then position)."""
    components = [c for c in rule.get("components") or [] if isinstance(c, dict)]
    return [c for _, c in sorted(enumerate(components), key=lambda ic: (_order(ic[1]), ic[0]))]


def _order(component: Mapping[str, Any]) -> int:
    try:
        return int(component.get("order") or 0)
    except (TypeError, ValueError):
        return 0


def _settings(item: Mapping[str, Any]) -> dict[str, Any]:
    settings = item.get("settings")
    return settings if isinstance(settings, dict) else {}


def _kind(descriptor: str | None) -> str:
    """``core::actions::custom-code`` -> ``actions``."""
    parts = (descriptor or "").split("::")
    return parts[1] if len(parts) == 3 else ""


def web_reference(value: Any) -> str | None:
    """The data element a web setting is, when it is exactly ``%Name%``."""
    match = _WEB_TOKEN.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def edge_reference(value: Any) -> str | None:
    """The data element an edge setting is, when it is exactly ``{{Name}}``."""
    match = _EDGE_TOKEN.fullmatch(value) if isinstance(value, str) else None
    return match.group(1).strip() if match else None


class _Checker:
    def __init__(self, folder: Any, findings: list[Finding]):
        self.folder = folder
        self.answers = folder.answers
        self.findings = findings
        self.web_elements = _data_elements(folder.tags)
        self.edge_elements = _data_elements(folder.forwarding)
        self.web_rules = _rules(folder.tags)
        self.edge_rules = _rules(folder.forwarding)

    def error(self, file: str, rule: str | None, message: str, subject: str | None = None) -> None:
        self.findings.append(Finding(file, rule, message, "error", subject))

    def warning(self, file: str, rule: str | None, message: str, subject: str | None = None) -> None:
        self.findings.append(Finding(file, rule, message, "warning", subject))

    # -- what a web or edge setting reads ----------------------------------------------------

    def edge_path_of(self, value: Any) -> str | None:
        """The ``arc.event...`` path an edge setting reads (through a path data element)."""
        element = self.edge_elements.get(edge_reference(value) or "")
        if element and element.get("delegate_descriptor_id") == PATH_ELEMENT:
            path = _settings(element).get("path")
            return path if isinstance(path, str) else None
        return None

    # -- checks ------------------------------------------------------------------------------

    def check_extensions(self) -> None:
        pixel_id = self.answers.pixel_id
        for file, document, descriptor in ((TAGS_FILE, self.folder.tags, PIXEL_CONFIG),
                                           (FORWARDING_FILE, self.folder.forwarding, CAPI_CONFIG)):
            configs = [e for e in document.get("extensions") or [] if isinstance(e, dict)
                       and e.get("delegate_descriptor_id") == descriptor]
            if not configs:
                self.error(file, None, f"the {descriptor.split('::')[0]} extension is not installed", descriptor)
                continue
            settings = _settings(configs[0])
            if str(settings.get("pixelId")) != pixel_id:
                self.error(file, None, f"pixelId is {settings.get('pixelId')!r} but quickstart.yaml says {pixel_id!r}; "
                                       "the Pixel and CAPI must use the same pixel or Meta cannot deduplicate",
                           f"extension {configs[0].get('package')}")
            if descriptor == CAPI_CONFIG:
                token_setting = settings.get("accessToken")
                element = self.edge_elements.get(edge_reference(token_setting) or "")
                if element is None or element.get("delegate_descriptor_id") != "core::dataElements::secret":
                    self.error(file, None, "accessToken must be {{<secret data element>}}, never a token written in the file",
                               f"extension {configs[0].get('package')}")

    def check_setup(self) -> None:
        """The property settings and the setup rule every event rule relies on (adobe-runtime.md §1)."""
        prop = self.folder.tags.get("property") or {}
        if prop.get("rule_component_sequencing_enabled") is not True:
            self.error(TAGS_FILE, None, "rule_component_sequencing_enabled must be true: without Turbine's ordered "
                                        "queue the Pixel and Web SDK actions run before Generate New Event ID", "property")
        if prop.get("undefined_vars_return_empty") is not False:
            self.warning(TAGS_FILE, None, "undefined_vars_return_empty should be false: with it every parameter an event "
                                          "lacks reaches the Pixel as \"\"", "property")
        rule = self.web_rules.get(SETUP_RULE)
        components = _components(rule or {})
        loads = any(c.get("delegate_descriptor_id") == LIBRARY_LOADED for c in components)
        installs = any(c.get("delegate_descriptor_id") == CUSTOM_CODE_ACTION and RUNTIME_MARKER in str(_settings(c).get("source"))
                       for c in components)
        if not (loads and installs):
            self.error(TAGS_FILE, SETUP_RULE, "the Library Loaded rule that installs the quickstart runtime is missing or "
                                              "changed; every event rule calls it, and calls made before the library "
                                              "loaded are delivered by it; run `quickstart update <folder>`")

    def check_web_rule(self, event: catalog.Event, status: DedupStatus) -> None:
        rule = self.web_rules.get(event.rule_name)
        if rule is None:
            self.error(TAGS_FILE, event.rule_name, f"rule is missing for the chosen event {event.name}; "
                                                    "run `quickstart update <folder>`")
            return
        components = _components(rule)

        def by_descriptor(descriptor: str) -> list[dict[str, Any]]:
            return [c for c in components if c.get("delegate_descriptor_id") == descriptor]

        if event.fires_on_load and not by_descriptor(LIBRARY_LOADED):
            self.warning(TAGS_FILE, event.rule_name, "PageView should fire on core::events::library-loaded")
        if not any(_settings(c).get("identifier") == event.direct_call for c in by_descriptor(DIRECT_CALL)):
            self.error(TAGS_FILE, event.rule_name, f"no direct-call event with identifier {event.direct_call!r}; "
                                                    f"metaConversion.track({event.name!r}, ...) fires it")

        pixel_actions = [c for c in components if str(c.get("delegate_descriptor_id", "")).startswith(catalog.PIXEL_PACKAGE + "::actions::")]
        pixel = next((c for c in pixel_actions if c.get("delegate_descriptor_id") == event.pixel_descriptor), None)
        if pixel is None:
            sent = ", ".join(str(c.get("delegate_descriptor_id")) for c in pixel_actions) or "none"
            self.error(TAGS_FILE, event.rule_name, f"no Meta Pixel action {event.pixel_descriptor} (found: {sent}); "
                                                    f"the browser copy would not be a {event.name}")
        else:
            status.names_match = True
            settings = _settings(pixel)
            subject = f"action {pixel.get('name')}"
            if settings.get("event_id") == EVENT_ID_TOKEN:
                status.pixel_event_id = True
            else:
                self.error(TAGS_FILE, event.rule_name,
                           f"event_id is {settings.get('event_id')!r}, not {EVENT_ID_TOKEN!r}; Meta cannot deduplicate "
                           "the Pixel and CAPI copies without the same id", subject)
            for key in event.required:
                if settings.get(key) != detail_token(key):
                    self.error(TAGS_FILE, event.rule_name, f"{event.name} must send {key} ({detail_token(key)}); "
                                                            f"it is {settings.get(key)!r}", subject)
            for key, value in settings.items():
                if key != "event_id" and web_reference(value) and not str(web_reference(value)).startswith(EVENT_DETAIL + "."):
                    self.warning(TAGS_FILE, event.rule_name, f"{key} reads {value}, a value shared by every rule at the "
                                                              "time the action runs: two events fired together mix their "
                                                              f"data; read {detail_token(key)}", subject)

        generators = [c for c in by_descriptor(CUSTOM_CODE_ACTION)
                      if prepare_call(event) in str(_settings(c).get("source", ""))]
        generator = generators[0] if generators else None
        if generator is None:
            self.error(TAGS_FILE, event.rule_name, f"no {GENERATE_EVENT_ID} action preparing {event.name} "
                                                    "(metaConversion.runtime.prepare); the Pixel and CAPI would share no event id")
            status.pixel_event_id = False
        else:
            if pixel is not None and components.index(generator) > components.index(pixel):
                self.error(TAGS_FILE, event.rule_name, f"{GENERATE_EVENT_ID} runs after the Pixel action; "
                                                        "it must run first (lower order)", f"action {generator.get('name')}")
                status.pixel_event_id = False
            if generator.get("delay_next") is not True or not isinstance(generator.get("timeout"), int) \
                    or generator.get("timeout") <= 0:
                self.error(TAGS_FILE, event.rule_name, f"{GENERATE_EVENT_ID} must be awaited (delay_next: true and a "
                                                        "timeout in ms): its code loads as a separate script, so without "
                                                        "it the Pixel and Web SDK run before the event id exists",
                           f"action {generator.get('name')}")
                status.pixel_event_id = False

        sends = by_descriptor(WEB_SDK_SEND_EVENT)
        if not sends:
            self.error(TAGS_FILE, event.rule_name, "no Web SDK send-event action: the server copy would never leave the browser")
        elif not any(_settings(c).get("data") == token(EVENT_DETAIL) for c in sends):
            self.error(TAGS_FILE, event.rule_name, f"the Web SDK action must send data {token(EVENT_DETAIL)} (this "
                                                    "event's snapshot), or the edge sees no conversionData or another "
                                                    "event's", f"action {sends[0].get('name')}")
        elif pixel is not None and components.index(sends[0]) < components.index(pixel):
            self.warning(TAGS_FILE, event.rule_name, "the Web SDK action runs before the Pixel action", f"action {sends[0].get('name')}")

    def check_edge_rule(self, event: catalog.Event, status: DedupStatus) -> None:
        rule = self.edge_rules.get(event.rule_name)
        if rule is None:
            self.error(FORWARDING_FILE, event.rule_name, f"rule is missing for the chosen event {event.name}; "
                                                          "run `quickstart update <folder>`")
            status.names_match = False
            return
        components = _components(rule)
        conditions = [c for c in components if c.get("delegate_descriptor_id") == "core::conditions::value-comparison"]
        routed = False
        for condition in conditions:
            settings = _settings(condition)
            if self.edge_path_of(settings.get("leftOperand")) == f"{EDGE_EVENT_DATA}.conversionData.eventName":
                operator = (settings.get("comparison") or {}).get("operator")
                if operator == "equals" and settings.get("rightOperand") == event.name:
                    routed = True
                else:
                    self.error(FORWARDING_FILE, event.rule_name,
                               f"the condition must be conversionData.eventName equals {event.name!r}, not "
                               f"{operator} {settings.get('rightOperand')!r}", f"condition {condition.get('name')}")
        if not routed:
            status.names_match = False
            if not any(f.rule == event.rule_name and f.file == FORWARDING_FILE for f in self.findings):
                self.error(FORWARDING_FILE, event.rule_name, "no condition on conversionData.eventName: the rule would "
                                                              "send every event as " + event.name)

        actions = [c for c in components if c.get("delegate_descriptor_id") == SEND_CAPI_DATA]
        if not actions:
            self.error(FORWARDING_FILE, event.rule_name, f"no {SEND_CAPI_DATA} action: nothing goes to Meta")
            status.names_match = False
            return
        action = actions[0]
        subject = f"action {action.get('name')}"
        settings = _settings(action)
        if settings.get("eventName") != event.name:
            status.names_match = False
            self.error(FORWARDING_FILE, event.rule_name, f"eventName is {settings.get('eventName')!r} but the rule is for "
                                                          f"{event.name}; the Pixel and CAPI names must match", subject)
        expected = f"{EDGE_EVENT_DATA}.conversionData.eventId"
        if self.edge_path_of(settings.get("eventId")) == expected:
            status.capi_event_id = True
        else:
            self.error(FORWARDING_FILE, event.rule_name, f"eventId is {settings.get('eventId')!r}, which does not read "
                                                          f"{expected}; Meta cannot deduplicate without the Pixel's id", subject)
        if settings.get("actionSource") != "website":
            self.error(FORWARDING_FILE, event.rule_name, f"actionSource must be website, not {settings.get('actionSource')!r}", subject)
        for key, field_name in (("eventTime", "eventTime"), ("eventSourceUrl", "eventSourceUrl"),
                                ("clientUserAgent", "userAgent")):
            want = f"{EDGE_EVENT_DATA}.conversionData.{field_name}"
            if self.edge_path_of(settings.get(key)) != want:
                self.error(FORWARDING_FILE, event.rule_name, f"{key} must read {want} (website events need it); "
                                                              f"it is {settings.get(key)!r}", subject)
        if event.params and not settings.get("customData"):
            self.error(FORWARDING_FILE, event.rule_name, f"no customData: {event.name}'s parameters would not reach Meta",
                       subject)

    def check_unchosen_rules(self) -> None:
        chosen = {event.rule_name for event in self.answers.chosen_events}
        known = {event.rule_name for event in catalog.EVENTS}
        for file, rules in ((TAGS_FILE, self.web_rules), (FORWARDING_FILE, self.edge_rules)):
            for name in rules:
                if name in known and name not in chosen:
                    self.warning(file, name, "rule for an event not chosen in quickstart.yaml; `quickstart update` removes it")

    def check_schemas_and_references(self) -> None:
        from quickstart.schemas import validate_settings

        for file, document, platform, elements, pattern in (
            (TAGS_FILE, self.folder.tags, "web", self.web_elements, _WEB_TOKEN),
            (FORWARDING_FILE, self.folder.forwarding, "edge", self.edge_elements, _EDGE_TOKEN),
        ):
            items: list[tuple[str | None, str, dict[str, Any]]] = []
            for extension in document.get("extensions") or []:
                if isinstance(extension, dict) and extension.get("delegate_descriptor_id"):
                    items.append((None, f"extension {extension.get('package')}", extension))
            for element in elements.values():
                items.append((None, f"data element {element.get('name')}", element))
            for rule in document.get("rules") or []:
                for component in (rule.get("components") or []) if isinstance(rule, dict) else []:
                    if isinstance(component, dict):
                        items.append((rule.get("name"), f"{_kind(component.get('delegate_descriptor_id'))[:-1] or 'component'} "
                                                        f"{component.get('name')}", component))
            for rule_name, subject, item in items:
                descriptor = item.get("delegate_descriptor_id")
                if not isinstance(descriptor, str):
                    self.error(file, rule_name, "has no delegate_descriptor_id", subject)
                    continue
                for problem in validate_settings(descriptor, item.get("settings", {}), platform):
                    self.error(file, rule_name, f"settings do not match the {descriptor} schema: {problem}", subject)
                for name in sorted(_references(item.get("settings"), pattern, descriptor)):
                    if platform == "web" and name.split(".")[0] in TURBINE_EVENT_HOSTS:
                        continue  # %event.x% reads the rule's own event, not a data element
                    if name not in elements:
                        self.error(file, rule_name, f"refers to data element {name!r}, which {file} does not define", subject)


def _references(value: Any, pattern: re.Pattern[str], descriptor: str) -> set[str]:
    """Data element names referenced anywhere in a settings value (code is not scanned: `%` is an operator there)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "source" and descriptor.endswith("custom-code"):
                continue
            found |= _references(item, pattern, descriptor)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item, pattern, descriptor)
    elif isinstance(value, str):
        found |= {match.strip() for match in pattern.findall(value)}
    return found


# ---------------------------------------------------------------------------------------------
# 2. Test events


def sample_snapshot(event: catalog.Event, *, domain: str, event_id: str, now: int,
                    default_country: str | None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the Web SDK sends for `event` (``arc.event.data`` on the edge): the snapshot the
    browser runtime prepares from the sample payload of snippets/data-layer.js (its parameters
    with a value, conversionData with the customer information hashed by Meta's rules)."""
    from quickstart.meta.normalize import browser_user_data
    from quickstart.render import sample_payload

    payload = sample_payload(event)
    if params is not None:
        payload.update(params)
    snapshot: dict[str, Any] = {key: payload[key] for key in event.params if payload.get(key) not in (None, "")}
    snapshot["conversionData"] = {
        "eventId": event_id,
        "eventName": event.name,
        "eventTime": now,
        "eventSourceUrl": f"https://{domain}/",
        "userAgent": SAMPLE_USER_AGENT,
        "user": browser_user_data(payload["user"], default_country=default_country),
        # _fbp as the Pixel writes it: fb.<subdomain index>.<creation ms>.<random>; no _fbc: no ad click
        "fbp": f"fb.1.{now * 1000}.{uuid.uuid4().int % 10**10:010d}",
    }
    return snapshot


def _path_value(path: str, root: Mapping[str, Any]) -> Any:
    """Core edge's path data element: a dot path (``a[0]`` allowed); null when missing or falsy."""
    from quickstart.adobe.capi_extension import truthy

    value: Any = root
    for part in path.split("."):
        index = None
        bracket = re.fullmatch(r"(.+)\[(\d+)\]", part)
        if bracket:
            part, index = bracket.group(1), int(bracket.group(2))
        if not truthy(value):
            break
        value = value.get(part) if isinstance(value, Mapping) else None
        if index is not None and isinstance(value, list):
            value = value[index] if index < len(value) else None
    return value if truthy(value) else None


@dataclass
class _Resolver:
    """Evaluates ``{{data element}}`` settings the way a build of `environment` would, on a sample arc.

    Core edge's path, IP and secret elements by their rules; custom code only when it is
    quickstart's own (the blueprint's source for this folder), which Python evaluates the same
    way; anything else cannot be evaluated here and is reported."""

    elements: dict[str, dict[str, Any]]
    context: dict[str, Any]  # {"arc": {"event": {"data": <snapshot>}}}
    known_code: dict[str, Callable[[dict[str, Any], str], Any]]
    environment: str = "development"
    unresolved: list[str] = field(default_factory=list)

    def element_value(self, name: str) -> Any:
        from quickstart.adobe.capi_extension import UNDEFINED

        element = self.elements.get(name)
        descriptor = (element or {}).get("delegate_descriptor_id")
        if descriptor == PATH_ELEMENT:
            return _path_value(str(_settings(element).get("path", "")), self.context)
        if descriptor in ("core::dataElements::ip", "core::dataElements::secret"):
            return UNDEFINED  # the visitor's IP and the token exist only on the edge
        if descriptor == CUSTOM_CODE_ELEMENT and _settings(element).get("source") in self.known_code:
            return self.known_code[_settings(element)["source"]](self.context["arc"], self.environment)
        self.unresolved.append(name)
        return UNDEFINED

    def resolve(self, value: Any) -> Any:
        from quickstart.adobe.capi_extension import js_string

        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, str):
            return value
        whole = edge_reference(value)
        if whole is not None:
            return self.element_value(whole)  # a lone token keeps its value's type
        return _EDGE_TOKEN.sub(lambda m: js_string(self.element_value(m.group(1).strip())), value)


def _quickstart_code(answers: Any) -> dict[str, Callable[[dict[str, Any], str], Any]]:
    """The custom-code data elements the blueprint writes for this folder, as Python."""
    from quickstart.blueprint.forwarding import used_params

    return _quickstart_code_for(tuple(used_params(answers)), answers.test_event_code)


@functools.lru_cache(maxsize=8)
def _quickstart_code_for(params: tuple[str, ...], test_code: str | None) -> dict[str, Callable[[dict[str, Any], str], Any]]:
    """Rendered once per folder, not once per test event and build environment."""
    from quickstart.adobe.capi_extension import UNDEFINED
    from quickstart.blueprint.forwarding import TEST_ENVIRONMENT, custom_data_source, test_event_code_source

    def custom_data(arc: dict[str, Any], environment: str) -> Any:
        data = arc.get("event", {}).get("data") or {}
        kept = {key: data[key] for key in params if key in data and data[key] is not None and data[key] != ""}
        return kept or UNDEFINED

    code = {custom_data_source(list(params)): custom_data}
    if test_code:
        code[test_event_code_source(test_code)] = lambda arc, environment: (
            test_code if environment == TEST_ENVIRONMENT else UNDEFINED)
    return code


def extension_request(folder: Any, action: dict[str, Any], snapshot: dict[str, Any], *,
                      environment: str = "development") -> tuple[dict[str, Any], list[str]]:
    """The body the CAPI extension sends for this snapshot in a build of `environment`, and the
    data elements that could not be evaluated. Raises ExtensionThrows."""
    from quickstart.adobe.capi_extension import build_body

    resolver = _Resolver(_data_elements(folder.forwarding), {"arc": {"event": {"data": snapshot}}},
                         _quickstart_code(folder.answers), environment)
    settings = resolver.resolve(_settings(action))
    return build_body(settings), resolver.unresolved


def build_test_events(folder: Any, *, default_country: str | None = None, now: int | None = None,
                      events: list[str] | None = None) -> tuple[list[TestEvent], list[Finding]]:
    """One CAPI event per chosen event, exactly as the forwarding rule's CAPI extension would send
    it from the browser's snapshot of the sample data; and findings for what the folder makes the
    extension mangle or drop (hashes Meta cannot match, nulls, 0 lost, test code outside
    development)."""
    from quickstart.adobe.capi_extension import ExtensionThrows
    from quickstart.meta.events import estimate_match_quality

    now = int(time.time()) if now is None else now
    rules = _rules(folder.forwarding)
    test_events: list[TestEvent] = []
    findings: list[Finding] = []
    chosen = [e for e in folder.answers.chosen_events if events is None or e.name in events]
    for event in chosen:
        rule = rules.get(event.rule_name)
        action = next((c for c in _components(rule or {}) if c.get("delegate_descriptor_id") == SEND_CAPI_DATA), None)
        if action is None:
            continue  # a static finding already says so
        subject = f"action {action.get('name')}"

        def finding(message: str) -> None:
            findings.append(Finding(FORWARDING_FILE, event.rule_name, message, "error", subject))

        event_id = str(uuid.uuid4())
        snapshot = sample_snapshot(event, domain=folder.answers.domain, event_id=event_id, now=now,
                                   default_country=default_country)
        try:
            body, unresolved = extension_request(folder, action, snapshot)
        except ExtensionThrows as exc:
            finding(f"the CAPI extension would throw ({exc}): the event would never reach Meta")
            continue
        payload = body["data"][0]
        for problem in _mangled(event, snapshot, payload):
            finding(problem)
        if "value" in event.params:
            zero = sample_snapshot(event, domain=folder.answers.domain, event_id=event_id, now=now,
                                   default_country=default_country, params={"value": 0})
            try:
                zero_data = extension_request(folder, action, zero)[0]["data"][0].get("custom_data") or {}
            except ExtensionThrows:
                zero_data = {}
            if zero_data.get("value") != 0:
                finding(f"value 0 would reach Meta as {json.dumps(zero_data.get('value'))}: Core's path element "
                        "returns null for 0; map customData to the quickstart custom data element")
        for environment in ("staging", "production"):
            try:
                other = extension_request(folder, action, snapshot, environment=environment)[0]
            except ExtensionThrows:
                continue
            if "test_event_code" in other:
                finding(f"a {environment} build would send test_event_code {other['test_event_code']!r}: every real "
                        "event would be a test event; the code must come from a data element that gives it only on "
                        "development builds")
                break
        user_data = payload.get("user_data") or {}
        rating, missing = estimate_match_quality({k: v for k, v in user_data.items() if v is not None})
        mapped = {catalog.USER_FIELDS.get(key, key) for key, value in _settings(action).items() if value not in (None, "")}
        mapped |= {"client_ip_address"} if _settings(action).get("clientIpAddress") else set()
        mapped |= {"fbc"} if _settings(action).get("fbc") else set()
        test_event = TestEvent(event.name, event.rule_name, event_id, payload, match_quality=rating,
                               keys_to_add=[key for key in missing if key not in mapped],
                               runtime_keys=[key for key in missing if key in mapped],
                               test_event_code=body.get("test_event_code"))
        for name in sorted(set(unresolved)):
            test_event.warnings.append(f"data element {name} cannot be evaluated here; it was left out")
        test_events.append(test_event)
    return test_events, findings


def _mangled(event: catalog.Event, snapshot: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """What differs between the event Meta should get and what the extension would send."""
    problems = []
    want_user = snapshot["conversionData"]["user"]
    got_user = payload.get("user_data") or {}
    for key, digest in want_user.items():
        # A key the rule does not map is a choice (the match quality estimate names it); a key it
        # maps to anything but the browser's digest reaches Meta as a hash that matches no one.
        if key in got_user and got_user[key] != digest:
            problems.append(f"customer information {key} is not the browser's Meta-normalised digest: map it to "
                            f"{HASHED_USER}.{key} (the CAPI extension's own normalisation gives hashes Meta cannot match)")
    want_custom = {key: snapshot[key] for key in event.params if key in snapshot}
    got_custom = payload.get("custom_data")
    if want_custom and got_custom != want_custom:
        got = got_custom or {}
        differing = sorted(k for k in set(want_custom) | set(got) if got.get(k) != want_custom.get(k))
        problems.append(f"custom_data would be {json.dumps(got, sort_keys=True)[:200]}, not the event's parameters "
                        f"(differs in: {', '.join(differing)})")
    for key in event.required:
        if key not in (got_custom or {}):
            problems.append(f"{event.name} must send custom_data.{key}; Meta rejects it without")
    return problems


def preflight_findings(test_events: list[TestEvent], *, now: int | None = None) -> list[Finding]:
    """Preflight errors as findings (they stop the send); warnings go onto their events."""
    from quickstart.meta.events import preflight

    findings = []
    for problem in preflight([e.payload for e in test_events], now=now):
        test_event = test_events[problem.event_index]
        text = f"{problem.field}: {problem.message}" if problem.field else problem.message
        if problem.severity == "error":
            findings.append(Finding(FORWARDING_FILE, test_event.rule, f"test event would be rejected: {text}",
                                    subject=f"action Send {test_event.name} to Meta CAPI"))
        else:
            test_event.warnings.append(text)
    return findings


# ---------------------------------------------------------------------------------------------
# 3. Sending


def send_test_events(test_events: list[TestEvent], *, pixel_id: str, token: str, test_event_code: str | None,
                     graph_version: str = GRAPH_API_VERSION, client_options: Mapping[str, Any] | None = None) -> list[RequestResult]:
    """All events in as few requests as Meta allows; marks each event sent/accepted.

    Raises GraphUnreachableError (exit 4) when Meta cannot be reached; a rejection is a result.
    """
    from quickstart.meta.events import MAX_EVENTS_PER_REQUEST, batches
    from quickstart.meta.graph import GraphClient, GraphRejectedError

    results: list[RequestResult] = []
    from quickstart.adobe.capi_extension import PARTNER_AGENT

    options = {"partner_agent": PARTNER_AGENT, **dict(client_options or {})}
    with GraphClient(token, version=graph_version, **options) as client:
        position = 0
        for batch in batches([e.payload for e in test_events], MAX_EVENTS_PER_REQUEST):
            members = test_events[position:position + len(batch)]
            position += len(batch)
            for member in members:
                member.sent = True
            try:
                response = client.send_events(pixel_id, batch, test_event_code=test_event_code)
            except GraphRejectedError as exc:
                for member in members:
                    member.accepted = False
                results.append(RequestResult(len(batch), False, error=exc.message, error_code=exc.error.code,
                                             error_subcode=exc.error.subcode, fbtrace_id=exc.error.fbtrace_id))
                continue
            accepted = response.events_received == len(batch)
            for member in members:
                member.accepted = accepted
            result = RequestResult(len(batch), accepted, response.events_received, response.fbtrace_id,
                                   list(response.messages), attempts=response.attempts)
            if not accepted:
                result.error = f"Meta received {response.events_received} of {len(batch)} events"
            results.append(result)
    return results


def dry_run_request(test_events: list[TestEvent], *, pixel_id: str, token: str | None, test_event_code: str | None,
                    graph_version: str = GRAPH_API_VERSION, base_url: str | None = None) -> list[dict[str, Any]]:
    """The exact requests a send would make, with the token masked."""
    from quickstart import settings
    from quickstart.adobe.capi_extension import PARTNER_AGENT
    from quickstart.meta.events import MAX_EVENTS_PER_REQUEST, batches
    from quickstart.meta.graph import events_body, normalize_version
    from quickstart.redaction import mask_token

    url = f"{(base_url or settings.graph_url()).rstrip('/')}/{normalize_version(graph_version)}/{pixel_id}/events"
    shown_token = mask_token(token) if token else f"<{TOKEN_ENV}>"
    return [{"method": "POST", "url": url,
             "json": events_body(batch, test_event_code=test_event_code, partner_agent=PARTNER_AGENT, token=shown_token)}
            for batch in batches([e.payload for e in test_events], MAX_EVENTS_PER_REQUEST)]


# ---------------------------------------------------------------------------------------------
# Token and test event code


def resolve_test_event_code(answers: Any, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return answers.test_event_code or (environ.get(TEST_EVENT_CODE_ENV) or "").strip() or None


NO_TEST_CODE_MESSAGE = (
    "no test event code: Meta does not sandbox test events, and without a code these would be real events in "
    "your pixel's data (counted for targeting and measurement). Copy the code from Events Manager > your pixel > "
    "Test Events into quickstart.yaml (test_event_code) or META_TEST_EVENT_CODE, or pass --allow-live to send "
    "live events on purpose"
)


# ---------------------------------------------------------------------------------------------
# The whole run


def run(folder_path: str | Path, *, mode: Mode = "send", token: str | None = None,
        ask_token: Callable[[], str | None] | None = None, allow_live: bool = False,
        graph_version: str = GRAPH_API_VERSION, default_country: str | None = None, now: int | None = None,
        environ: Mapping[str, str] | None = None, client_options: Mapping[str, Any] | None = None,
        events: list[str] | None = None) -> Report:
    """Static checks, then (unless ``mode == "static"``) test events: built, preflighted, and sent
    (``"send"``) or shown (``"dry-run"``). ``events`` limits the test events to those names;
    ``default_country`` overrides the folder's. ``ask_token`` is called only when a send needs a
    token that ``token`` does not give. Raises NoTestEventCodeError, MissingTokenError, GraphUnreachableError."""
    if mode != "static":  # nothing is sent offline: no HTTP client to load
        from quickstart.meta.graph import normalize_version

        try:
            graph_version = normalize_version(graph_version)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    static = check_folder(folder_path)
    report = Report(str(folder_path), mode, findings=list(static.findings), dedup=static.dedup, graph_version=graph_version)
    if static.folder is None or static.errors or mode == "static":
        return report
    folder = static.folder
    report.pixel_id = folder.answers.pixel_id
    now = int(time.time()) if now is None else now
    country = default_country or folder.answers.default_country
    report.events, mangled = build_test_events(folder, default_country=country, now=now, events=events)
    report.findings.extend(mangled)
    # The code the development build sends; a folder without one may take it from the environment.
    built = {e.test_event_code for e in report.events if e.test_event_code}
    report.test_event_code = next(iter(built), None) or resolve_test_event_code(folder.answers, environ)
    report.findings.extend(preflight_findings(report.events, now=now))
    if any(f.severity == "error" for f in report.findings):
        return report

    if not report.test_event_code and not allow_live:
        if mode == "send":
            raise NoTestEventCodeError(NO_TEST_CODE_MESSAGE)
        report.notes.append("no test event code: a real send would be refused without --allow-live")
    if mode == "dry-run":
        report.dry_run_requests = dry_run_request(report.events, pixel_id=report.pixel_id, token=token,
                                                  test_event_code=report.test_event_code, graph_version=graph_version)
        return report

    if not token and ask_token is not None:
        token = ask_token()
    if not token:
        raise MissingTokenError(f"no access token: set {TOKEN_ENV}, or store it in {Path(folder_path) / ENV_FILE} "
                                f"(`quickstart update {folder_path} --store-token --token-stdin`); get one in Events Manager > your pixel > Settings")
    report.requests = send_test_events(report.events, pixel_id=report.pixel_id, token=token,
                                       test_event_code=report.test_event_code, graph_version=graph_version,
                                       client_options=client_options)
    return report
