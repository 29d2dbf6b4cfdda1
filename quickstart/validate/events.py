"""The test events, built as production sends them: the browser's snapshot of the sample
payload, resolved through the forwarding rule's data elements, turned into the body Adobe's
CAPI extension builds; what it would mangle, and Meta's preflight, as findings."""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quickstart.blueprint.descriptors import IP_ELEMENT, SECRET_ELEMENT
from quickstart import catalog
from quickstart.blueprint.forwarding import (
    CUSTOM_CODE_ELEMENT,
    HASHED_USER,
    PATH_ELEMENT,
    SEND_CAPI_DATA,
)
from quickstart.layout import FORWARDING_FILE
from quickstart.validate.documents import (
    EDGE_TOKEN,
    components_of,
    data_elements,
    edge_reference,
    rules_of,
    settings_of,
)
from quickstart.validate.model import Finding, TestEvent


# What the test events pretend the browser was; clearly a test, still a real browser shape.
SAMPLE_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/126.0.0.0 Safari/537.36 quickstart-validate")


def sample_snapshot(event: catalog.Event, *, domain: str, event_id: str, now: int,
                    default_country: str | None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the Web SDK sends for `event` (``arc.event.data`` on the edge): the snapshot the
    browser runtime prepares from the sample payload of snippets/data-layer.js (its parameters
    with a value, conversionData with the customer information hashed by Meta's rules)."""
    from quickstart.meta.normalize import browser_user_data

    payload = catalog.sample_payload(event)
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
            return _path_value(str(settings_of(element).get("path", "")), self.context)
        if descriptor in (IP_ELEMENT, SECRET_ELEMENT):
            return UNDEFINED  # the visitor's IP and the token exist only on the edge
        if descriptor == CUSTOM_CODE_ELEMENT and settings_of(element).get("source") in self.known_code:
            return self.known_code[settings_of(element)["source"]](self.context["arc"], self.environment)
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
        return EDGE_TOKEN.sub(lambda m: js_string(self.element_value(m.group(1).strip())), value)


def _quickstart_code(answers: Any) -> dict[str, Callable[[dict[str, Any], str], Any]]:
    """The custom-code data elements the blueprint writes for this folder, as Python."""

    return _quickstart_code_for(tuple(catalog.params_used(answers.chosen_events)), answers.test_event_code)


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

    resolver = _Resolver(data_elements(folder.forwarding), {"arc": {"event": {"data": snapshot}}},
                         _quickstart_code(folder.answers), environment)
    settings = resolver.resolve(settings_of(action))
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
    rules = rules_of(folder.forwarding)
    test_events: list[TestEvent] = []
    findings: list[Finding] = []
    chosen = [e for e in folder.answers.chosen_events if events is None or e.name in events]
    for event in chosen:
        rule = rules.get(event.rule_name)
        action = next((c for c in components_of(rule or {}) if c.get("delegate_descriptor_id") == SEND_CAPI_DATA), None)
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
        mapped = {catalog.USER_FIELDS.get(key, key) for key, value in settings_of(action).items() if value not in (None, "")}
        mapped |= {"client_ip_address"} if settings_of(action).get("clientIpAddress") else set()
        mapped |= {"fbc"} if settings_of(action).get("fbc") else set()
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
