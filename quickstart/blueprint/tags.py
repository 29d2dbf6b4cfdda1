"""The Tags (web) property: Web SDK + Meta Pixel, one rule per chosen event (DESIGN §3, §5).

How each piece runs in Turbine and the extensions (reference/adobe-runtime.md §1-4):
- ``MetaConversion_Setup`` (Library Loaded, first) installs the one copy of the shared runtime
  and delivers the site queue, in order: calls made before the library loaded are not lost.
- each ``MetaConversion_<Event>`` rule fires on ``_satellite.track(rule name, snapshot)``;
  "Generate New Event ID" runs first and is awaited (``delay_next``, a timeout), because custom
  code of a non-Library-Loaded rule is loaded as a separate script; it turns the event's own
  snapshot (``event.detail``) into what leaves the page: its parameters and conversionData,
  customer information already hashed. The Pixel and Web SDK actions read only
  ``%event.detail...%``, never a shared global, so two events in one tick stay apart.
- ``undefined_vars_return_empty`` is off: a parameter the event lacks is ``undefined`` (which
  the fbq stub of the <head> snippet leaves out), never ``""``.
"""

from __future__ import annotations

import json
from typing import Any

from quickstart import catalog
from quickstart.blueprint.common import ENVIRONMENTS, component, data_element, extension, property_names
from quickstart.blueprint.descriptors import (  # noqa: F401  (re-exported: validate reads them from here)
    ALLOY,
    ALLOY_CONFIG,
    CORE,
    CUSTOM_CODE_ACTION,
    CUSTOM_CODE_ELEMENT,
    DIRECT_CALL,
    LIBRARY_LOADED,
    PIXEL_CONFIG,
    WEB_SDK_SEND_EVENT,
)
from quickstart.resources import render
from quickstart.settings import (
    ALLOY_INSTANCE,
    ARRAY_DATA_LAYERS,
    DATA_LAYER_DATA_ELEMENT,
    EDGE_CONFIG_KEYS,
    PENDING_DATASTREAM_ID,
    RULE_PREFIX,
    SETUP_RULE,
)

GENERATE_EVENT_ID = "Generate New Event ID"
INSTALL_RUNTIME = "Install the quickstart runtime and deliver the site queue"
# Where a rule's actions read their event: the snapshot Generate New Event ID prepared.
EVENT_DETAIL = "event.detail"
EVENT_ID_TOKEN = f"%{EVENT_DETAIL}.conversionData.eventId%"
# The awaited actions may take this long (ms) before Turbine gives up on the rest of the rule.
GENERATE_TIMEOUT_MS = 5000
SETUP_RULE_ORDER = 1.0  # before every other Library Loaded rule (Reactor's default is 50)


RUNTIME_MARKER = "mc.runtime = "  # in the runtime's source: how validate recognises the setup action
PREPARE_CALL = "window.metaConversion.runtime.prepare(event, "


def prepare_call(event: catalog.Event) -> str:
    """How each rule's Generate New Event ID calls the runtime (validate looks for it)."""
    return PREPARE_CALL + json.dumps(event.name)


def token(name: str) -> str:
    """A web data element or event reference: the value keeps its type when the field is just the token."""
    return f"%{name}%"


def detail_token(key: str) -> str:
    return token(f"{EVENT_DETAIL}.{key}")


def runtime_source(answers) -> str:
    from quickstart.meta.browser_tables import browser_tables

    return render("runtime.js.j2", domain=answers.domain, tables=browser_tables(),
                  default_country=answers.default_country or "", user_fields=catalog.USER_FIELDS,
                  user_data_keys=list(catalog.USER_FIELDS.values()), data_layer_element=DATA_LAYER_DATA_ELEMENT,
                  rule_prefix=RULE_PREFIX, **site_queue_context(answers))


def site_queue_context(answers) -> dict[str, Any]:
    """What site-queue.js.j2 needs (the <head> snippet and the runtime include it)."""
    return {"path_segments": answers.path_segments, "data_layer_path": answers.data_layer_path,
            "array_layers": list(ARRAY_DATA_LAYERS)}


def generate_event_id_source(event: catalog.Event) -> str:
    return render("generate-event-id.js.j2", event_name=event.name, params=list(event.params))


def data_layer_source(answers) -> str:
    return render("data-layer-element.js.j2", path_segments=answers.path_segments,
                  data_layer_path=answers.data_layer_path)


def pixel_settings(event: catalog.Event) -> dict[str, str]:
    settings = {param: detail_token(param) for param in event.params}
    settings["event_id"] = EVENT_ID_TOKEN
    return settings


def awaited(item: dict[str, Any], timeout_ms: int = GENERATE_TIMEOUT_MS) -> dict[str, Any]:
    """A rule component the next action waits for (Turbine: delay_next + timeout, always both)."""
    item["delay_next"] = True
    item["timeout"] = timeout_ms
    return item


def not_awaited(item: dict[str, Any]) -> dict[str, Any]:
    item["delay_next"] = False
    item["timeout"] = 0
    return item


def build_setup_rule(answers) -> dict[str, Any]:
    trigger = component("Library Loaded (Page Top)", CORE, LIBRARY_LOADED, {}, 0)
    trigger["rule_order"] = SETUP_RULE_ORDER
    return {
        "name": SETUP_RULE,
        "components": [
            trigger,
            awaited(component(INSTALL_RUNTIME, CORE, CUSTOM_CODE_ACTION,
                              {"language": "javascript", "source": runtime_source(answers)}, 0)),
        ],
    }


def build_rule(answers, event: catalog.Event) -> dict[str, Any]:
    triggers = [component(f"Direct call {event.direct_call}", CORE, DIRECT_CALL, {"identifier": event.direct_call}, 0)]
    if event.fires_on_load:  # PageView: once when the library loads, and on each SPA navigation
        triggers.insert(0, component("Library Loaded (Page Top)", CORE, LIBRARY_LOADED, {}, 0))
    return {
        "name": event.rule_name,
        "components": [
            *triggers,
            awaited(component(GENERATE_EVENT_ID, CORE, CUSTOM_CODE_ACTION,
                              {"language": "javascript", "source": generate_event_id_source(event)}, 0)),
            not_awaited(component(f"Meta Pixel: {event.name}", catalog.PIXEL_PACKAGE, event.pixel_descriptor,
                                  pixel_settings(event), 1)),
            not_awaited(component("Web SDK: send event", ALLOY, WEB_SDK_SEND_EVENT,
                                  {"instanceName": ALLOY_INSTANCE, "data": token(EVENT_DETAIL)}, 2)),
        ],
    }


def build_data_elements(answers) -> list[dict[str, Any]]:
    return [
        data_element(DATA_LAYER_DATA_ELEMENT, CORE, CUSTOM_CODE_ELEMENT,
                     {"source": data_layer_source(answers)},
                     f"The object at {answers.data_layer_path} ({{}} when missing): what PageView and a "
                     "_satellite.track() call without a payload read."),
    ]


def alloy_datastream_ids(answers) -> dict[str, str]:
    """The datastream of each stage (the Web SDK's edgeConfigId keys): the stage's own answer, else
    the one for all (`datastream_id`), else the PENDING marker until `apply` knows it."""
    ids = {"development": answers.datastream_id, "staging": answers.staging_datastream_id or answers.datastream_id,
           "production": answers.production_datastream_id or answers.datastream_id}
    return {EDGE_CONFIG_KEYS[stage]: ids[stage] or PENDING_DATASTREAM_ID for stage in ("production", "staging", "development")}


def build_tags_property(answers) -> dict[str, Any]:
    names = property_names(answers.domain)
    return {
        "property": {
            "name": names["web"],
            "platform": "web",
            "domains": [answers.domain],
            # One ordered queue of rules and awaited actions: Generate New Event ID must finish
            # before the sends.
            "rule_component_sequencing_enabled": True,
            # A parameter the event lacks stays undefined instead of becoming "".
            "undefined_vars_return_empty": False,
        },
        "environments": [dict(env) for env in ENVIRONMENTS],
        "extensions": [
            extension(CORE),
            extension(ALLOY, ALLOY_CONFIG,
                      {"instances": [{"name": ALLOY_INSTANCE, **alloy_datastream_ids(answers)}]}),
            extension(catalog.PIXEL_PACKAGE, PIXEL_CONFIG,
                      {"pixelId": answers.pixel_id}),
        ],
        "data_elements": build_data_elements(answers),
        "rules": [build_setup_rule(answers), *(build_rule(answers, event) for event in answers.chosen_events)],
    }
