"""The event forwarding (edge) property: Meta Conversions API, one rule per chosen event.

How it runs in turbine-edge, Core edge and the Meta CAPI extension (reference/adobe-runtime.md
§5-6): the Web SDK's ``data`` (the event's snapshot) arrives as ``arc.event.data``; each rule's
condition picks its event by ``conversionData.eventName``; the send_capi_data action gets
- customer information already normalised and SHA-256 hashed in the browser, which the
  extension passes through (its own normalisation is weaker than Meta's, and throws on lists);
- ``customData`` from one custom-code element that drops empty keys and keeps ``0`` (Core's
  path element turns 0, false and "" into null);
- the test event code only on a development build (a custom-code element that reads the
  build's environment), so staging and production never send test events.
"""

from __future__ import annotations

from typing import Any

from quickstart import catalog
from quickstart.blueprint.common import ENVIRONMENTS, component, data_element, extension, property_names, token_secret_name
from quickstart.blueprint.descriptors import (  # noqa: F401  (CAPI_CONFIG and SEND_CAPI_DATA: read by validate)
    CAPI as CAPI_PACKAGE,
    CORE,
    CAPI_CONFIG,
    CUSTOM_CODE_ELEMENT,
    IP_ELEMENT,
    PATH_ELEMENT,
    SECRET_ELEMENT,
    SEND_CAPI_DATA,
    VALUE_COMPARISON,
)
from quickstart.resources import render
from quickstart.settings import TOKEN_ENV, TOKEN_SECRET_DATA_ELEMENT

EDGE_EVENT_DATA = "arc.event.data"  # where the Web SDK's `data` (the event's snapshot) arrives on the edge

# conversionData fields the web rule writes -> (edge data element, CAPI action setting)
CONVERSION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("eventId", "MetaConversion_EventId", "eventId"),
    ("eventName", "MetaConversion_EventName", "eventName"),
    ("eventTime", "MetaConversion_EventTime", "eventTime"),
    ("eventSourceUrl", "MetaConversion_EventSourceUrl", "eventSourceUrl"),
    ("userAgent", "MetaConversion_UserAgent", "clientUserAgent"),
    ("fbp", "MetaConversion_Fbp", "fbp"),
    ("fbc", "MetaConversion_Fbc", "fbc"),
)
EVENT_NAME_DATA_ELEMENT = "MetaConversion_EventName"
CLIENT_IP_DATA_ELEMENT = "MetaConversion_ClientIp"
CUSTOM_DATA_ELEMENT = "MetaConversion_CustomData"
TEST_EVENT_CODE_ELEMENT = "MetaConversion_TestEventCode"
HASHED_USER = f"{EDGE_EVENT_DATA}.conversionData.user"  # {em, ph, ...}: SHA-256 digests from the browser
# The environment whose builds send the test event code (staging and production never do).
TEST_ENVIRONMENT = "development"


def token(name: str) -> str:
    """An event forwarding data element reference."""
    return "{{" + name + "}}"


def custom_data_source(params: list[str]) -> str:
    return render("edge-custom-data.js.j2", params=params)


def test_event_code_source(code: str) -> str:
    return render("edge-test-event-code.js.j2", code=code, environment=TEST_ENVIRONMENT)


def build_data_elements(answers) -> list[dict[str, Any]]:
    elements = [
        data_element(name, CORE, PATH_ELEMENT, {"path": f"{EDGE_EVENT_DATA}.conversionData.{field}"},
                     f"conversionData.{field}, written in the browser by Generate New Event ID.")
        for field, name, _ in CONVERSION_FIELDS
    ]
    elements.append(data_element(CLIENT_IP_DATA_ELEMENT, CORE, IP_ELEMENT, {},
                                 "The visitor's IP address as the Edge Network saw it."))
    elements.append(data_element(TOKEN_SECRET_DATA_ELEMENT, CORE, SECRET_ELEMENT, {"secrets": {}},
                                 "The CAPI access token secret; `quickstart apply` links the development secret."))
    for field, key in catalog.USER_FIELDS.items():
        elements.append(data_element(catalog.data_element_name(field), CORE, PATH_ELEMENT,
                                     {"path": f"{HASHED_USER}.{key}"},
                                     f"Customer information `{key}`: a SHA-256 digest made in the browser."))
    params = catalog.params_used(answers.chosen_events)
    if params:
        elements.append(data_element(CUSTOM_DATA_ELEMENT, CORE, CUSTOM_CODE_ELEMENT,
                                     {"source": custom_data_source(params)},
                                     "Meta custom_data: the event's parameters that have a value, 0 included."))
    if answers.test_event_code:
        elements.append(data_element(TEST_EVENT_CODE_ELEMENT, CORE, CUSTOM_CODE_ELEMENT,
                                     {"source": test_event_code_source(answers.test_event_code)},
                                     "The test event code on development builds; nothing elsewhere."))
    return elements


def capi_settings(answers, event: catalog.Event) -> dict[str, Any]:
    settings: dict[str, Any] = {"eventName": event.name, "actionSource": "website"}
    for _, name, setting in CONVERSION_FIELDS:
        if setting != "eventName":
            settings[setting] = token(name)
    settings["clientIpAddress"] = token(CLIENT_IP_DATA_ELEMENT)
    for field in catalog.USER_FIELDS:
        settings[field] = token(catalog.data_element_name(field))
    if event.params:
        settings["customData"] = token(CUSTOM_DATA_ELEMENT)
    if answers.ldu:
        settings["lduEnabled"] = True
    if answers.test_event_code:
        settings["isTestEvent"] = True
        settings["testEventCode"] = token(TEST_EVENT_CODE_ELEMENT)
    return settings


def build_rule(answers, event: catalog.Event) -> dict[str, Any]:
    return {
        "name": event.rule_name,
        "components": [
            component(f"Event name is {event.name}", CORE, VALUE_COMPARISON,
                      {"leftOperand": token(EVENT_NAME_DATA_ELEMENT), "comparison": {"operator": "equals"},
                       "rightOperand": event.name}, 0),
            component(f"Send {event.name} to Meta CAPI", CAPI_PACKAGE, SEND_CAPI_DATA, capi_settings(answers, event), 0),
        ],
    }


def build_forwarding_property(answers) -> dict[str, Any]:
    names = property_names(answers.domain)
    return {
        "property": {"name": names["edge"], "platform": "edge"},
        "environments": [dict(env) for env in ENVIRONMENTS],
        # A token secret per environment (a library with the secret data element builds only where
        # its stage has one). The same variable by default; point one at another to use another token.
        "secrets": [{"name": token_secret_name(answers.domain, env["stage"]), "type_of": "token",
                     "environment": env["stage"], "env": TOKEN_ENV} for env in ENVIRONMENTS],
        "extensions": [
            extension(CORE),
            extension(CAPI_PACKAGE, CAPI_CONFIG,
                      {"pixelId": answers.pixel_id, "accessToken": token(TOKEN_SECRET_DATA_ELEMENT)}),
        ],
        "data_elements": build_data_elements(answers),
        "rules": [build_rule(answers, event) for event in answers.chosen_events],
    }
