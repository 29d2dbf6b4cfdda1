"""Static checks of a loaded folder (quickstart/folder.py): every finding names the file and the rule.

No network. See the package docstring for what is checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from quickstart.blueprint.descriptors import PIXEL_ACTIONS, SECRET_ELEMENT, VALUE_COMPARISON
from quickstart import catalog
from quickstart.blueprint.forwarding import (
    CAPI_CONFIG,
    EDGE_EVENT_DATA,
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
from quickstart.layout import FORWARDING_FILE, TAGS_FILE
from quickstart.settings import SETUP_RULE
from quickstart.validate.documents import (
    EDGE_TOKEN,
    TURBINE_EVENT_HOSTS,
    WEB_TOKEN,
    components_of,
    data_elements,
    edge_reference,
    kind_of,
    rules_of,
    settings_of,
    web_reference,
)
from quickstart.validate.model import CAPI_ID, NAMES, PIXEL_ID, DedupStatus, Finding, StaticResult




def check_folder(folder_path: str | Path) -> StaticResult:
    """Every static check; never touches the network. The folder comes from quickstart/folder.py;
    the problems it met loading are findings like any other."""
    from quickstart.folder import load_folder

    return check_loaded(load_folder(folder_path))


def check_loaded(folder: Any) -> StaticResult:
    """``check_folder`` for a folder already loaded (apply loads it once for both)."""
    findings = [Finding(problem.file, None, problem.message) for problem in folder.problems]
    dedup: dict[str, DedupStatus] = {}
    if not folder.complete:
        return StaticResult(None, findings, dedup)
    checker = _Checker(folder, findings)
    checker.check_extensions()
    checker.check_setup()
    for event in folder.answers.chosen_events:
        checker.check_web_rule(event)
        checker.check_edge_rule(event)
        dedup[event.name] = dedup_status(event, findings)
    checker.check_unchosen_rules()
    checker.check_schemas_and_references()
    from quickstart.schemas import save_valid_cache

    save_valid_cache()
    return StaticResult(folder, findings, dedup)


def dedup_status(event: catalog.Event, findings: list[Finding]) -> DedupStatus:
    """Whether Meta can pair the event's two copies, derived from the findings: each finding says
    which part of the pair it breaks (``Finding.breaks``)."""
    broken = {part for finding in findings if finding.rule == event.rule_name for part in finding.breaks}
    return DedupStatus(pixel_event_id=PIXEL_ID not in broken, capi_event_id=CAPI_ID not in broken,
                       names_match=NAMES not in broken)


class _Checker:
    def __init__(self, folder: Any, findings: list[Finding]):
        self.folder = folder
        self.answers = folder.answers
        self.findings = findings
        self.web_elements = data_elements(folder.tags)
        self.edge_elements = data_elements(folder.forwarding)
        self.web_rules = rules_of(folder.tags)
        self.edge_rules = rules_of(folder.forwarding)

    def error(self, file: str, rule: str | None, message: str, subject: str | None = None,
              breaks: tuple[str, ...] = ()) -> None:
        self.findings.append(Finding(file, rule, message, "error", subject, breaks))

    def warning(self, file: str, rule: str | None, message: str, subject: str | None = None) -> None:
        self.findings.append(Finding(file, rule, message, "warning", subject))

    # -- what a web or edge setting reads ----------------------------------------------------

    def edge_path_of(self, value: Any) -> str | None:
        """The ``arc.event...`` path an edge setting reads (through a path data element)."""
        element = self.edge_elements.get(edge_reference(value) or "")
        if element and element.get("delegate_descriptor_id") == PATH_ELEMENT:
            path = settings_of(element).get("path")
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
            settings = settings_of(configs[0])
            if str(settings.get("pixelId")) != pixel_id:
                self.error(file, None, f"pixelId is {settings.get('pixelId')!r} but quickstart.yaml says {pixel_id!r}; "
                                       "the Pixel and CAPI must use the same pixel or Meta cannot deduplicate",
                           f"extension {configs[0].get('package')}")
            if descriptor == CAPI_CONFIG:
                token_setting = settings.get("accessToken")
                element = self.edge_elements.get(edge_reference(token_setting) or "")
                if element is None or element.get("delegate_descriptor_id") != SECRET_ELEMENT:
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
        components = components_of(rule or {})
        loads = any(c.get("delegate_descriptor_id") == LIBRARY_LOADED for c in components)
        installs = any(c.get("delegate_descriptor_id") == CUSTOM_CODE_ACTION and RUNTIME_MARKER in str(settings_of(c).get("source"))
                       for c in components)
        if not (loads and installs):
            self.error(TAGS_FILE, SETUP_RULE, "the Library Loaded rule that installs the quickstart runtime is missing or "
                                              "changed; every event rule calls it, and calls made before the library "
                                              "loaded are delivered by it; run `quickstart update <folder>`")

    def components_of_rule(self, file: str, rules: dict[str, Any], event: catalog.Event,
                           breaks: tuple[str, ...]) -> list[dict[str, Any]] | None:
        """The components of the event's rule in ``file``; None (and a finding) when it is missing."""
        rule = rules.get(event.rule_name)
        if rule is None:
            self.error(file, event.rule_name, f"rule is missing for the chosen event {event.name}; "
                                              "run `quickstart update <folder>`", breaks=breaks)
            return None
        return components_of(rule)

    def check_web_rule(self, event: catalog.Event) -> None:
        components = self.components_of_rule(TAGS_FILE, self.web_rules, event, (PIXEL_ID, NAMES))
        if components is None:
            return

        def by_descriptor(descriptor: str) -> list[dict[str, Any]]:
            return [c for c in components if c.get("delegate_descriptor_id") == descriptor]

        if event.fires_on_load and not by_descriptor(LIBRARY_LOADED):
            self.warning(TAGS_FILE, event.rule_name, "PageView should fire on core::events::library-loaded")
        if not any(settings_of(c).get("identifier") == event.direct_call for c in by_descriptor(DIRECT_CALL)):
            self.error(TAGS_FILE, event.rule_name, f"no direct-call event with identifier {event.direct_call!r}; "
                                                    f"metaConversion.track({event.name!r}, ...) fires it")

        pixel_actions = [c for c in components if str(c.get("delegate_descriptor_id", "")).startswith(PIXEL_ACTIONS)]
        pixel = next((c for c in pixel_actions if c.get("delegate_descriptor_id") == event.pixel_descriptor), None)
        if pixel is None:
            sent = ", ".join(str(c.get("delegate_descriptor_id")) for c in pixel_actions) or "none"
            self.error(TAGS_FILE, event.rule_name, f"no Meta Pixel action {event.pixel_descriptor} (found: {sent}); "
                                                    f"the browser copy would not be a {event.name}", breaks=(PIXEL_ID, NAMES))
        else:
            settings = settings_of(pixel)
            subject = f"action {pixel.get('name')}"
            if settings.get("event_id") != EVENT_ID_TOKEN:
                self.error(TAGS_FILE, event.rule_name,
                           f"event_id is {settings.get('event_id')!r}, not {EVENT_ID_TOKEN!r}; Meta cannot deduplicate "
                           "the Pixel and CAPI copies without the same id", subject, breaks=(PIXEL_ID,))
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
                      if prepare_call(event) in str(settings_of(c).get("source", ""))]
        generator = generators[0] if generators else None
        if generator is None:
            self.error(TAGS_FILE, event.rule_name, f"no {GENERATE_EVENT_ID} action preparing {event.name} "
                                                    "(metaConversion.runtime.prepare); the Pixel and CAPI would share no event id",
                       breaks=(PIXEL_ID,))
        else:
            if pixel is not None and components.index(generator) > components.index(pixel):
                self.error(TAGS_FILE, event.rule_name, f"{GENERATE_EVENT_ID} runs after the Pixel action; "
                                                        "it must run first (lower order)", f"action {generator.get('name')}",
                           breaks=(PIXEL_ID,))
            if generator.get("delay_next") is not True or not isinstance(generator.get("timeout"), int) \
                    or generator.get("timeout") <= 0:
                self.error(TAGS_FILE, event.rule_name, f"{GENERATE_EVENT_ID} must be awaited (delay_next: true and a "
                                                        "timeout in ms): its code loads as a separate script, so without "
                                                        "it the Pixel and Web SDK run before the event id exists",
                           f"action {generator.get('name')}", breaks=(PIXEL_ID,))

        sends = by_descriptor(WEB_SDK_SEND_EVENT)
        if not sends:
            self.error(TAGS_FILE, event.rule_name, "no Web SDK send-event action: the server copy would never leave the browser")
        elif not any(settings_of(c).get("data") == token(EVENT_DETAIL) for c in sends):
            self.error(TAGS_FILE, event.rule_name, f"the Web SDK action must send data {token(EVENT_DETAIL)} (this "
                                                    "event's snapshot), or the edge sees no conversionData or another "
                                                    "event's", f"action {sends[0].get('name')}")
        elif pixel is not None and components.index(sends[0]) < components.index(pixel):
            self.warning(TAGS_FILE, event.rule_name, "the Web SDK action runs before the Pixel action", f"action {sends[0].get('name')}")

    def check_edge_rule(self, event: catalog.Event) -> None:
        components = self.components_of_rule(FORWARDING_FILE, self.edge_rules, event, (CAPI_ID, NAMES))
        if components is None:
            return
        conditions = [c for c in components if c.get("delegate_descriptor_id") == VALUE_COMPARISON]
        routed = False
        for condition in conditions:
            settings = settings_of(condition)
            if self.edge_path_of(settings.get("leftOperand")) == f"{EDGE_EVENT_DATA}.conversionData.eventName":
                operator = (settings.get("comparison") or {}).get("operator")
                if operator == "equals" and settings.get("rightOperand") == event.name:
                    routed = True
                else:
                    self.error(FORWARDING_FILE, event.rule_name,
                               f"the condition must be conversionData.eventName equals {event.name!r}, not "
                               f"{operator} {settings.get('rightOperand')!r}", f"condition {condition.get('name')}",
                               breaks=(NAMES,))
        if not routed and not any(f.rule == event.rule_name and f.file == FORWARDING_FILE for f in self.findings):
            self.error(FORWARDING_FILE, event.rule_name, "no condition on conversionData.eventName: the rule would "
                                                          "send every event as " + event.name, breaks=(NAMES,))

        actions = [c for c in components if c.get("delegate_descriptor_id") == SEND_CAPI_DATA]
        if not actions:
            self.error(FORWARDING_FILE, event.rule_name, f"no {SEND_CAPI_DATA} action: nothing goes to Meta",
                       breaks=(CAPI_ID, NAMES))
            return
        action = actions[0]
        subject = f"action {action.get('name')}"
        settings = settings_of(action)
        if settings.get("eventName") != event.name:
            self.error(FORWARDING_FILE, event.rule_name, f"eventName is {settings.get('eventName')!r} but the rule is for "
                                                          f"{event.name}; the Pixel and CAPI names must match", subject,
                       breaks=(NAMES,))
        expected = f"{EDGE_EVENT_DATA}.conversionData.eventId"
        if self.edge_path_of(settings.get("eventId")) != expected:
            self.error(FORWARDING_FILE, event.rule_name, f"eventId is {settings.get('eventId')!r}, which does not read "
                                                          f"{expected}; Meta cannot deduplicate without the Pixel's id", subject,
                       breaks=(CAPI_ID,))
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
            (TAGS_FILE, self.folder.tags, "web", self.web_elements, WEB_TOKEN),
            (FORWARDING_FILE, self.folder.forwarding, "edge", self.edge_elements, EDGE_TOKEN),
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
                        items.append((rule.get("name"), f"{kind_of(component.get('delegate_descriptor_id'))[:-1] or 'component'} "
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
