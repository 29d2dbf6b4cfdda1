"""The generated property files against the real extension schemas and each other (DESIGN §3)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from quickstart import catalog
from quickstart.answers import Answers
from quickstart.blueprint import build_all
from quickstart.schemas import MANIFEST_DIR, validate_settings

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "adobe-extensions"

VARIANTS = [
    {"domain": "example.com", "pixel_id": "1234567890"},
    {"domain": "shop.example.co.uk", "pixel_id": "1", "events": "Purchase", "ldu": True, "test_event_code": "TEST1",
     "datastream_id": "7f3c1a2b-0000-4000-8000-1234567890ab", "data_layer_path": "window.digitalData.meta"},
    {"domain": "bücher.example", "pixel_id": "42", "events": "PageView,Lead,Search,Contact", "data_layer_path": "window.x"},
]
WEB_TOKEN = re.compile(r"%([^%]+)%")
EDGE_TOKEN = re.compile(r"\{\{([^}]+)\}\}")


def documents(values):
    return build_all(Answers.from_values(values))


def settings_of(doc):
    for ext in doc["extensions"]:
        if "delegate_descriptor_id" in ext:
            yield "extension " + ext["package"], ext["delegate_descriptor_id"], ext["settings"]
    for element in doc["data_elements"]:
        yield "data element " + element["name"], element["delegate_descriptor_id"], element["settings"]
    for rule in doc["rules"]:
        for comp in rule["components"]:
            yield f"rule {rule['name']} / {comp['name']}", comp["delegate_descriptor_id"], comp["settings"]


def strings_in(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("values", VARIANTS, ids=["defaults", "purchase-ldu-test", "idn-few"])
@pytest.mark.parametrize("name, platform", [("tags.yaml", "web"), ("event-forwarding.yaml", "edge")])
def test_every_settings_object_passes_its_schema(values, name, platform):
    doc = documents(values)[name]
    checked = 0
    for where, descriptor, settings in settings_of(doc):
        assert validate_settings(descriptor, settings, platform) == [], where
        checked += 1
    assert checked >= 3 + len(doc["rules"]) * 2


def test_schema_check_catches_bad_settings():
    """The conformance check has teeth: the same validator rejects what Reactor would."""
    assert validate_settings("core::actions::custom-code", {"source": "x"}, "web")  # language missing
    assert validate_settings("adobe-alloy::actions::send-event", {"instanceName": "alloy", "data": "not a token"}, "web")
    assert validate_settings("facebook-pixel::actions::send-purchase-event", {"eventId": "x"}, "web")
    assert validate_settings("core::dataElements::custom-code", {"source": "x", "language": "javascript"}, "web")
    assert validate_settings("facebook_conversions_api_extension::actions::send_capi_data", {"eventName": "X"}, "edge")
    assert validate_settings("facebook-pixel::actions::no-such-action", {}, "web")


@pytest.mark.parametrize("values", VARIANTS, ids=["defaults", "purchase-ldu-test", "idn-few"])
def test_every_reference_resolves_and_names_are_unique(values):
    docs = documents(values)
    for name, pattern, other in (("tags.yaml", WEB_TOKEN, EDGE_TOKEN), ("event-forwarding.yaml", EDGE_TOKEN, WEB_TOKEN)):
        doc = docs[name]
        element_names = [e["name"] for e in doc["data_elements"]]
        rule_names = [r["name"] for r in doc["rules"]]
        assert len(set(element_names)) == len(element_names)
        assert len(set(rule_names)) == len(rule_names)
        for rule in doc["rules"]:
            component_names = [c["name"] for c in rule["components"]]
            assert len(set(component_names)) == len(component_names)
        used = set()
        for _, _, settings in settings_of(doc):
            for text in strings_in(settings):
                if "source" in settings and text == settings.get("source"):
                    continue  # custom code is JavaScript, not a reference
                used.update(pattern.findall(text))
                assert not other.findall(text), f"{name} uses the other platform's token syntax: {text}"
        assert used, name
        assert used <= set(element_names), f"{name}: unresolved {sorted(used - set(element_names))}"


def test_rules_follow_the_data_flow():
    doc = documents(VARIANTS[1])
    web = {r["name"]: r for r in doc["tags.yaml"]["rules"]}
    edge = {r["name"]: r for r in doc["event-forwarding.yaml"]["rules"]}
    assert set(web) == set(edge) == {"MetaConversion_Purchase"}
    kinds = [c["delegate_descriptor_id"] for c in web["MetaConversion_Purchase"]["components"]]
    assert kinds == ["core::events::direct-call", "core::actions::custom-code",
                     "facebook-pixel::actions::send-purchase-event", "adobe-alloy::actions::send-event"]
    assert [c["order"] for c in web["MetaConversion_Purchase"]["components"][1:]] == [0, 1, 2]
    pixel = web["MetaConversion_Purchase"]["components"][2]["settings"]
    assert pixel["event_id"] == "%MetaConversion_EventId%"
    assert web["MetaConversion_Purchase"]["components"][3]["settings"]["data"] == "%MetaConversion_DataLayer%"
    capi = edge["MetaConversion_Purchase"]["components"][1]["settings"]
    assert capi["eventId"] == "{{MetaConversion_EventId}}" and capi["actionSource"] == "website"
    assert capi["customData"]["currency"] == "{{MetaConversion_Currency}}"
    assert capi["customData"]["value"] == "{{MetaConversion_Value}}"
    assert capi["lduEnabled"] is True and capi["isTestEvent"] is True and capi["testEventCode"] == "TEST1"
    condition = edge["MetaConversion_Purchase"]["components"][0]["settings"]
    assert condition["rightOperand"] == "Purchase" and condition["leftOperand"] == "{{MetaConversion_EventName}}"
    web_des = {e["name"]: e["settings"] for e in doc["tags.yaml"]["data_elements"]}
    edge_des = {e["name"]: e["settings"] for e in doc["event-forwarding.yaml"]["data_elements"]}
    # Deduplication: both ids come from the same conversionData.eventId.
    assert web_des["MetaConversion_EventId"] == {"path": "window.digitalData.meta.conversionData.eventId"}
    assert edge_des["MetaConversion_EventId"] == {"path": "arc.event.data.conversionData.eventId"}
    alloy = doc["tags.yaml"]["extensions"][1]["settings"]["instances"][0]
    assert alloy == {"name": "alloy", "edgeConfigId": "7f3c1a2b-0000-4000-8000-1234567890ab"}


def test_pageview_fires_on_library_loaded_and_others_on_direct_call():
    doc = documents(VARIANTS[0])["tags.yaml"]
    for rule in doc["rules"]:
        trigger = rule["components"][0]
        if rule["name"] == "MetaConversion_PageView":
            assert trigger["delegate_descriptor_id"] == "core::events::library-loaded"
        else:
            assert trigger["settings"] == {"identifier": rule["name"]}


def test_no_test_event_code_no_ldu_means_no_flags():
    capi = documents(VARIANTS[0])["event-forwarding.yaml"]["rules"][0]["components"][1]["settings"]
    assert not {"isTestEvent", "testEventCode", "lduEnabled"} & set(capi)


def test_catalog_params_are_accepted_by_each_pixel_action():
    manifest = json.loads((MANIFEST_DIR / "facebook-pixel.extension.json").read_text())
    actions = {a["name"]: (a.get("schema") or {}).get("properties", {}) for a in manifest["actions"]}
    assert len(catalog.EVENTS) == 18
    for event in catalog.EVENTS:
        assert event.pixel_action in actions, event.name
        if event.params:
            assert set(event.params) <= set(actions[event.pixel_action]), event.name
    assert catalog.get("Purchase").required == ("currency", "value")


def test_files_on_disk_match_the_blueprint(generated):
    yaml = YAML(typ="safe")
    tags = yaml.load((generated / "tags.yaml").read_text())
    from quickstart.answers import load_answers_file

    expected = build_all(Answers.from_values(load_answers_file(generated / "quickstart.yaml")))
    assert tags == expected["tags.yaml"]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference folder not present")
def test_vendored_manifests_are_the_reference_ones():
    for path in REFERENCE.glob("*.extension.json"):
        assert (MANIFEST_DIR / path.name).read_bytes() == path.read_bytes()
