"""The event forwarding (edge) property: Meta Conversions API, one rule per chosen event."""

from __future__ import annotations

from typing import Any

from quickstart import catalog
from quickstart.blueprint.common import DEVELOPMENT_ENVIRONMENT, component, data_element, extension, property_names
from quickstart.settings import TOKEN_ENV, TOKEN_SECRET_DATA_ELEMENT

CAPI_PACKAGE = "facebook_conversions_api_extension"
SEND_CAPI_DATA = f"{CAPI_PACKAGE}::actions::send_capi_data"
CAPI_CONFIG = f"{CAPI_PACKAGE}::extensionConfiguration::config"
EDGE_EVENT_DATA = "arc.event.data"  # where the Web SDK's `data` (the site's data layer) arrives on the edge

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


def token(name: str) -> str:
    """An event forwarding data element reference."""
    return "{{" + name + "}}"


def build_data_elements(answers) -> list[dict[str, Any]]:
    elements = [
        data_element(name, "core", "core::dataElements::path", {"path": f"{EDGE_EVENT_DATA}.conversionData.{field}"},
                     f"conversionData.{field}, written in the browser by Generate New Event ID.")
        for field, name, _ in CONVERSION_FIELDS
    ]
    elements.append(data_element(CLIENT_IP_DATA_ELEMENT, "core", "core::dataElements::ip", {},
                                 "The visitor's IP address as the Edge Network saw it."))
    elements.append(data_element(TOKEN_SECRET_DATA_ELEMENT, "core", "core::dataElements::secret", {"secrets": {}},
                                 "The CAPI access token secret; `quickstart apply` links the development secret."))
    for field in catalog.USER_FIELDS:
        elements.append(data_element(catalog.data_element_name(field), "core", "core::dataElements::path",
                                     {"path": f"{EDGE_EVENT_DATA}.user.{field}"},
                                     f"Customer information `{field}` (raw or SHA-256; the extension hashes raw values)."))
    used = [param for param in catalog.CUSTOM_DATA_SAMPLES if any(param in e.params for e in answers.chosen_events)]
    for param in used:
        elements.append(data_element(catalog.data_element_name(param), "core", "core::dataElements::path",
                                     {"path": f"{EDGE_EVENT_DATA}.{param}"}, f"Meta custom_data `{param}`."))
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
        settings["customData"] = {param: token(catalog.data_element_name(param)) for param in event.params}
    if answers.ldu:
        settings["lduEnabled"] = True
    if answers.test_event_code:
        settings["isTestEvent"] = True
        settings["testEventCode"] = answers.test_event_code
    return settings


def build_rule(answers, event: catalog.Event) -> dict[str, Any]:
    return {
        "name": event.rule_name,
        "components": [
            component(f"Event name is {event.name}", "core", "core::conditions::value-comparison",
                      {"leftOperand": token(EVENT_NAME_DATA_ELEMENT), "comparison": {"operator": "equals"},
                       "rightOperand": event.name}, 0),
            component(f"Send {event.name} to Meta CAPI", CAPI_PACKAGE, SEND_CAPI_DATA, capi_settings(answers, event), 0),
        ],
    }


def build_forwarding_property(answers) -> dict[str, Any]:
    names = property_names(answers.domain)
    return {
        "property": {"name": names["edge"], "platform": "edge"},
        "environments": [dict(DEVELOPMENT_ENVIRONMENT)],
        "secrets": [{"name": names["token_secret"], "type_of": "token", "environment": "development", "env": TOKEN_ENV}],
        "extensions": [
            extension("core"),
            extension(CAPI_PACKAGE, CAPI_CONFIG,
                      {"pixelId": answers.pixel_id, "accessToken": token(TOKEN_SECRET_DATA_ELEMENT)}),
        ],
        "data_elements": build_data_elements(answers),
        "rules": [build_rule(answers, event) for event in answers.chosen_events],
    }
