"""Adobe's real rule engines, to run a generated folder in: Turbine (web, in Chromium) and
turbine-edge (event forwarding, in Node) from the npm registry, installed into
``tests/engines/node_modules`` by ``.ci/run`` (``npm ci --prefix tests/engines``).

- ``web_library(tags)`` turns a tags.yaml document into a Tags library (container + the real
  ``@adobe/reactor-turbine`` engine.js), as Adobe's build would, with the emulations of Core web,
  the Meta Pixel and the Web SDK from ``web_extensions.js``.
- ``run_edge(forwarding, requests)`` runs event-forwarding.yaml in the real
  ``@adobe/reactor-turbine-edge`` with the real Core edge modules and the Meta CAPI emulation
  (``edge_run.js``) and returns what the extension fetched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from quickstart import catalog

ENGINES = Path(__file__).resolve().parent
NODE_MODULES = ENGINES / "node_modules"
TURBINE_JS = NODE_MODULES / "@adobe" / "reactor-turbine" / "dist" / "engine.js"
EDGE_URL = "https://edge.adobedc.net/ee/v1/interact"
SECRET_ID = "SEquickstart0000000000000000000001"

_WEB_MODULES = {
    "core::events::direct-call": "core/src/lib/events/directCall.js",
    "core::events::library-loaded": "core/src/lib/events/libraryLoaded.js",
    "core::actions::custom-code": "core/src/lib/actions/customCode.js",
    "core::dataElements::custom-code": "core/src/lib/dataElements/customCode.js",
    "core::dataElements::javascript-variable": "core/src/lib/dataElements/javascriptVariable.js",
    "adobe-alloy::actions::send-event": "adobe-alloy/dist/lib/actions/sendEvent/index.js",
}


def engines_missing() -> str | None:
    """Why the engine tests cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not TURBINE_JS.is_file() or not (NODE_MODULES / "@adobe" / "reactor-turbine-edge").is_dir():
        return "Adobe's engines are not installed (npm ci --prefix tests/engines)"
    return None


def _web_module(descriptor: str) -> str:
    if descriptor in _WEB_MODULES:
        return _WEB_MODULES[descriptor]
    package, kind, name = descriptor.split("::")
    if package == catalog.PIXEL_PACKAGE and kind == "actions":
        return f"{package}/src/lib/actions/{name}.js"
    raise KeyError(f"no web module for {descriptor}")


class _Functions:
    """Custom code becomes functions in the container (Adobe's `function` transforms)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    def add(self, parameters: str, body: str) -> str:
        self.bodies.append((parameters, body))
        return f"__quickstart_function_{len(self.bodies) - 1}__"

    def inline(self, text: str) -> str:
        for index, (parameters, body) in enumerate(self.bodies):
            text = text.replace(json.dumps(f"__quickstart_function_{index}__"), f"function ({parameters}) {{\n{body}\n}}")
        return text


def web_library(tags: dict[str, Any], *, environment: str = "development", delay_next: bool | None = None,
                external_delay_ms: int = 30) -> str:
    """The Tags library for a tags.yaml document. ``delay_next`` overrides every action's flag
    (to show what happens without it); custom code of rules that are not Library Loaded only is
    "external": it runs ``external_delay_ms`` later, as a script file would."""
    functions = _Functions()
    data_elements = {}
    for element in tags.get("data_elements") or []:
        settings = dict(element.get("settings") or {})
        if element["delegate_descriptor_id"].endswith("custom-code"):
            settings["source"] = functions.add("event", settings["source"])
        data_elements[element["name"]] = {"modulePath": _web_module(element["delegate_descriptor_id"]),
                                          "settings": settings}
    rules = []
    for index, rule in enumerate(tags.get("rules") or []):
        components = sorted(enumerate(rule["components"]), key=lambda item: (item[1].get("order") or 0, item[0]))
        events = [c for _, c in components if "::events::" in c["delegate_descriptor_id"]]
        external = any(c["delegate_descriptor_id"] != "core::events::library-loaded" for c in events)
        actions = []
        for _, c in components:
            if "::actions::" not in c["delegate_descriptor_id"]:
                continue
            settings = dict(c.get("settings") or {})
            if c["delegate_descriptor_id"] == "core::actions::custom-code":
                settings["source"] = functions.add("event, target, Promise", settings["source"])
                settings["isExternal"] = external
            waits = c.get("delay_next", False) if delay_next is None else delay_next
            actions.append({"modulePath": _web_module(c["delegate_descriptor_id"]), "settings": settings,
                            "delayNext": bool(waits), "timeout": int(c.get("timeout") or 0)})
        rules.append({
            "id": f"RL{index}", "name": rule["name"],
            "events": [{"modulePath": _web_module(c["delegate_descriptor_id"]), "settings": c.get("settings") or {},
                        "ruleOrder": float(c.get("rule_order", 50))} for c in events],
            "conditions": [], "actions": actions,
        })
    extensions = {ext["package"]: ext.get("settings") or {} for ext in tags.get("extensions") or []}
    config = {
        "pixelId": extensions[catalog.PIXEL_PACKAGE]["pixelId"],
        "alloy": extensions["adobe-alloy"],
        "pixelEvents": {event.pixel_action: event.name for event in catalog.EVENTS},
        "edgeUrl": EDGE_URL,
        "externalDelayMs": external_delay_ms,
    }
    prop = tags["property"]
    container = {
        "buildInfo": {"turbineVersion": "28.1.0", "buildDate": "2026-12-01T00:00:00Z", "minified": False},
        "environment": {"id": "ENquickstart", "stage": environment},
        "company": {"orgId": "quickstart@AdobeOrg", "dynamicCdnEnabled": False, "cdnAllowList": []},
        "property": {"name": prop["name"], "id": "PRquickstart", "settings": {
            "domains": prop.get("domains", []),
            "undefinedVarsReturnEmpty": bool(prop.get("undefined_vars_return_empty")),
            "ruleComponentSequencingEnabled": bool(prop.get("rule_component_sequencing_enabled")),
        }},
        "dataElements": data_elements,
        "extensions": "__quickstart_extensions__",
        "rules": rules,
    }
    text = json.dumps(container, indent=1)
    text = functions.inline(text).replace('"__quickstart_extensions__"', f"quickstartWebExtensions({json.dumps(config)})")
    return "\n".join([
        (ENGINES / "web_extensions.js").read_text(encoding="utf-8"),
        "window._satellite = window._satellite || {};",
        f"window._satellite.container = {text};",
        TURBINE_JS.read_text(encoding="utf-8"),
    ])


def linked_forwarding(forwarding: dict[str, Any], environments: tuple[str, ...] = ("development", "staging", "production")) -> dict[str, Any]:
    """The edge property as `apply` leaves it: the token secret linked on each environment."""
    from quickstart.settings import TOKEN_SECRET_DATA_ELEMENT

    linked = json.loads(json.dumps(forwarding))
    for element in linked["data_elements"]:
        if element["name"] == TOKEN_SECRET_DATA_ELEMENT:
            element["settings"] = {"secrets": {env: {"id": SECRET_ID, "name": "token"} for env in environments}}
    return linked


def run_edge(forwarding: dict[str, Any], requests: list[dict[str, Any]], *, environment: str = "development",
             token: str = "EDGE-TEST-TOKEN") -> list[dict[str, Any]]:
    """Each request through every rule of the edge property; per request: rules and fetches."""
    payload = {"property": linked_forwarding(forwarding), "environment": environment,
               "secrets": {SECRET_ID: token}, "requests": requests}
    proc = subprocess.run(["node", str(ENGINES / "edge_run.js")], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=120, cwd=ENGINES)
    if proc.returncode != 0:
        raise RuntimeError(f"edge_run.js failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)["runs"]


def edge_request(data: Any, *, ip: str | None = "203.0.113.7") -> dict[str, Any]:
    """The arc request data the Edge Network gives event forwarding for one Web SDK event."""
    xdm = {"environment": {"ipV4": ip}} if ip else {}
    return {"event": {"xdm": xdm, "data": data}, "request": {"path": "/ee/v1/interact"}}
