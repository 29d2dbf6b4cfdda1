"""The Tags (web) property: Web SDK + Meta Pixel, one rule per chosen event (DESIGN §3, §5)."""

from __future__ import annotations

from typing import Any

from quickstart import catalog
from quickstart.blueprint.common import DEVELOPMENT_ENVIRONMENT, component, data_element, extension, property_names
from quickstart.resources import render
from quickstart.settings import ALLOY_INSTANCE, ARRAY_DATA_LAYERS, DATA_LAYER_DATA_ELEMENT, PENDING_DATASTREAM_ID

EVENT_ID_DATA_ELEMENT = "MetaConversion_EventId"
PIXEL_CONFIG = f"{catalog.PIXEL_PACKAGE}::extensionConfiguration::config"
ALLOY_CONFIG = "adobe-alloy::extensionConfiguration::config"
WEB_SDK_SEND_EVENT = "adobe-alloy::actions::send-event"
GENERATE_EVENT_ID = "Generate New Event ID"


def token(name: str) -> str:
    """A web data element reference: the value keeps its type when the field is just the token."""
    return f"%{name}%"


def generate_event_id_source(answers, event: catalog.Event) -> str:
    return render("generate-event-id.js.j2", path_segments=answers.path_segments,
                  event_name=event.name, data_layer_path=answers.data_layer_path,
                  array_layers=list(ARRAY_DATA_LAYERS))


def data_layer_source(answers) -> str:
    return render("data-layer-element.js.j2", path_segments=answers.path_segments,
                  data_layer_path=answers.data_layer_path)


def pixel_settings(event: catalog.Event) -> dict[str, str]:
    settings = {param: token(catalog.data_element_name(param)) for param in event.params}
    settings["event_id"] = token(EVENT_ID_DATA_ELEMENT)
    return settings


def build_rule(answers, event: catalog.Event) -> dict[str, Any]:
    if event.fires_on_load:
        trigger = component("Library Loaded (Page Top)", "core", "core::events::library-loaded", {}, 0)
    else:
        trigger = component(f"Direct call {event.direct_call}", "core", "core::events::direct-call",
                            {"identifier": event.direct_call}, 0)
    return {
        "name": event.rule_name,
        "components": [
            trigger,
            component(GENERATE_EVENT_ID, "core", "core::actions::custom-code",
                      {"language": "javascript", "source": generate_event_id_source(answers, event)}, 0),
            component(f"Meta Pixel: {event.name}", catalog.PIXEL_PACKAGE, event.pixel_descriptor, pixel_settings(event), 1),
            component("Web SDK: send event", "adobe-alloy", WEB_SDK_SEND_EVENT,
                      {"instanceName": ALLOY_INSTANCE, "data": token(DATA_LAYER_DATA_ELEMENT)}, 2),
        ],
    }


def build_data_elements(answers) -> list[dict[str, Any]]:
    path = answers.data_layer_path
    elements = [
        data_element(DATA_LAYER_DATA_ELEMENT, "core", "core::dataElements::custom-code",
                     {"source": data_layer_source(answers)},
                     f"The object at {path} ({{}} when missing); the Web SDK sends it as `data`."),
        data_element(EVENT_ID_DATA_ELEMENT, "core", "core::dataElements::javascript-variable",
                     {"path": f"{path}.conversionData.eventId"},
                     "Written by each rule's Generate New Event ID action; the Pixel's eventID."),
    ]
    used = [param for param in catalog.CUSTOM_DATA_SAMPLES if any(param in e.params for e in answers.chosen_events)]
    for param in used:
        elements.append(data_element(catalog.data_element_name(param), "core", "core::dataElements::javascript-variable",
                                     {"path": f"{path}.{param}"}, f"Meta custom_data `{param}` from the data layer."))
    return elements


def build_tags_property(answers) -> dict[str, Any]:
    names = property_names(answers.domain)
    return {
        "property": {
            "name": names["web"],
            "platform": "web",
            "domains": [answers.domain],
            # Ordered, awaited actions: Generate New Event ID must finish before the sends.
            "rule_component_sequencing_enabled": True,
            "undefined_vars_return_empty": True,
        },
        "environments": [dict(DEVELOPMENT_ENVIRONMENT)],
        "extensions": [
            extension("core"),
            extension("adobe-alloy", ALLOY_CONFIG,
                      {"instances": [{"name": ALLOY_INSTANCE, "edgeConfigId": answers.datastream_id or PENDING_DATASTREAM_ID}]}),
            extension(catalog.PIXEL_PACKAGE, PIXEL_CONFIG,
                      {"pixelId": answers.pixel_id}),
        ],
        "data_elements": build_data_elements(answers),
        "rules": [build_rule(answers, event) for event in answers.chosen_events],
    }
