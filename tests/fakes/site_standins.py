"""Stand-ins for the external scripts and endpoints a Tags page talks to, for Playwright routes.

They behave like the real ones for everything `validate --site` looks at:

- the Tags library (``tags_library_js``): defines ``_satellite.track``, loads the Meta Pixel
  the way the Pixel extension does (base-code queue + fbevents.js + ``fbq('init', id)``), and
  runs the rules of the folder's tags.yaml — their own components in ``order``: the
  "Generate New Event ID" custom code as a function body, the Meta Pixel action as
  ``fbq('track', Event, params, {eventID})`` with ``%data element%`` values resolved, and the
  Web SDK send-event as a POST of ``{events: [{xdm, data}]}`` to the Edge Network
  (``/ee/v1/interact?configId=...``). Library Loaded rules run at once; direct-call rules on
  ``_satellite.track(identifier)``.
- fbevents.js (``FBEVENTS_JS``): hooks into the base-code stub (``callMethod``), replays the
  queue, and on ``track`` requests ``https://www.facebook.com/tr/?id=..&ev=..&eid=..&cd[..]=..``
  with an image, as the real Pixel does for small events.
- the Pixel and Edge endpoints: a 1x1 GIF and a 200 JSON answer.

``standin_routes(folder)`` gives the ``routes`` mapping for ``quickstart.site.check_site``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML

from quickstart import catalog

TAGS_LIBRARY_URL = "https://assets.adobedtm.com/4f2a9c1d0b3e/7e5d2c8a9f10/launch-0a1b2c3d4e5f-development.min.js"
EDGE_URL = "https://edge.adobedc.net/ee/v1/interact"
GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

FBEVENTS_JS = r"""
(function () {
  var stub = window.fbq;
  var pixels = [];
  function enc(v) { return encodeURIComponent(v); }
  function send(pixelId, eventName, params, options) {
    var query = ["id=" + enc(pixelId), "ev=" + enc(eventName), "dl=" + enc(location.href), "ts=" + Date.now()];
    if (options && options.eventID) { query.push("eid=" + enc(options.eventID)); }
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (value === undefined || value === null || value === "") { return; }
      query.push("cd[" + enc(key) + "]=" + enc(typeof value === "object" ? JSON.stringify(value) : value));
    });
    new Image().src = "https://www.facebook.com/tr/?" + query.join("&");
  }
  function callMethod(command) {
    var args = Array.prototype.slice.call(arguments, 1);
    if (command === "init") { pixels.push(String(args[0])); }
    else if (command === "track") { pixels.forEach(function (id) { send(id, args[0], args[1], args[2]); }); }
  }
  if (!stub) { stub = window.fbq = function () { stub.callMethod.apply(stub, arguments); }; stub.queue = []; }
  var queued = stub.queue || [];
  stub.callMethod = callMethod;
  stub.loaded = true;
  stub.version = "2.0";
  stub.queue = [];
  queued.forEach(function (args) { callMethod.apply(null, args); });
})();
"""

_TAGS_LIBRARY_TEMPLATE = r"""
(function () {
  var model = __MODEL__;

  function readPath(path) {
    var value = window;
    var parts = path.split(".").slice(1);
    for (var i = 0; i < parts.length; i++) {
      if (value === null || value === undefined) { return undefined; }
      value = value[parts[i]];
    }
    return value;
  }
  function getVar(name) {
    var element = model.dataElements[name];
    if (!element) { return undefined; }
    if (element.descriptor === "core::dataElements::custom-code") {
      return new Function("event", element.settings.source)({$type: "core.data-element"});
    }
    if (element.descriptor === "core::dataElements::javascript-variable") { return readPath(element.settings.path); }
    return undefined;
  }
  function resolve(value) {
    if (typeof value === "string") {
      var whole = /^%([^%]+)%$/.exec(value);
      if (whole) { var v = getVar(whole[1]); return v === undefined ? "" : v; }  // undefined_vars_return_empty
      return value.replace(/%([^%]+)%/g, function (_, name) { var v = getVar(name); return v == null ? "" : String(v); });
    }
    if (Array.isArray(value)) { return value.map(resolve); }
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (key) { out[key] = resolve(value[key]); });
      return out;
    }
    return value;
  }

  // The Meta Pixel extension: Meta's base code, then init with the extension's Pixel ID.
  !function (f, b, e, v, n, t, s) {
    if (f.fbq) return; n = f.fbq = function () { n.callMethod ? n.callMethod.apply(n, arguments) : n.queue.push(arguments); };
    if (!f._fbq) f._fbq = n; n.push = n; n.loaded = !0; n.version = "2.0"; n.queue = [];
    t = b.createElement(e); t.async = !0; t.src = v; s = b.getElementsByTagName(e)[0]; s.parentNode.insertBefore(t, s);
  }(window, document, "script", "https://connect.facebook.net/en_US/fbevents.js");
  fbq("init", model.pixelId, {}, {agent: "adobe_launch"});

  var edgeRequests = 0;
  var actions = {
    "core::actions::custom-code": function (settings, event) {
      new Function("event", "target", "Promise", settings.source).call(document.body, event, document.body, Promise);
    },
    "adobe-alloy::actions::send-event": function (settings) {
      var data = settings.data ? resolve(settings.data) : {};
      var body = {events: [{xdm: {eventType: "web.webpagedetails.pageViews", timestamp: new Date().toISOString(),
                                  web: {webPageDetails: {URL: location.href}}},
                            data: data}],
                  meta: {state: {domain: location.hostname}}};
      edgeRequests += 1;
      fetch(model.edgeUrl + "?configId=" + encodeURIComponent(model.edgeConfigId) + "&requestId=" + edgeRequests,
            {method: "POST", body: JSON.stringify(body), keepalive: true});
    }
  };
  function runAction(component, event) {
    if (actions[component.descriptor]) { return actions[component.descriptor](component.settings, event); }
    var pixelEvent = model.pixelEvents[component.descriptor];
    if (pixelEvent) {  // the Pixel extension's sendEvent: event_id leaves the params for {eventID}
      var params = resolve(component.settings || {});
      var eventID = params.event_id;
      delete params.event_id;
      fbq("track", pixelEvent, params, eventID ? {eventID: eventID} : undefined);
    }
  }
  function runRule(rule, event) {
    rule.actions.forEach(function (component) { runAction(component, event); });
  }

  window._satellite = {
    buildInfo: {environment: "development", turbineVersion: "stand-in"},
    track: function (identifier, detail) {
      model.rules.forEach(function (rule) {
        if (rule.trigger.descriptor === "core::events::direct-call" && rule.trigger.settings.identifier === identifier) {
          runRule(rule, {$type: "core.direct-call", identifier: identifier, detail: detail || {}});
        }
      });
    },
    getVar: getVar
  };
  model.rules.forEach(function (rule) {
    if (rule.trigger.descriptor === "core::events::library-loaded") { runRule(rule, {$type: "core.library-loaded"}); }
  });
})();
"""


def _load_tags(folder: Path) -> dict[str, Any]:
    return YAML(typ="safe").load((Path(folder) / "tags.yaml").read_text(encoding="utf-8"))


def tags_library_js(folder: Path) -> str:
    """The stand-in library for the Tags property in ``folder``/tags.yaml."""
    tags = _load_tags(folder)
    extensions = {ext["package"]: ext for ext in tags["extensions"]}
    rules = []
    for rule in tags["rules"]:
        components = [{"descriptor": c["delegate_descriptor_id"], "settings": c.get("settings") or {}, "order": c.get("order", 0)}
                      for c in rule["components"]]
        trigger = next(c for c in components if "::events::" in c["descriptor"])
        ordered = sorted((c for c in components if "::actions::" in c["descriptor"]), key=lambda c: c["order"])  # stable
        rules.append({"name": rule["name"], "trigger": trigger, "actions": ordered})
    model = {
        "pixelId": extensions[catalog.PIXEL_PACKAGE]["settings"]["pixelId"],
        "edgeConfigId": extensions["adobe-alloy"]["settings"]["instances"][0]["edgeConfigId"],
        "edgeUrl": EDGE_URL,
        "pixelEvents": {event.pixel_descriptor: event.name for event in catalog.EVENTS},
        "dataElements": {d["name"]: {"descriptor": d["delegate_descriptor_id"], "settings": d.get("settings") or {}}
                         for d in tags["data_elements"]},
        "rules": rules,
    }
    # json.dumps escapes nothing HTML-ish, but this is served as a script file, not inline.
    return _TAGS_LIBRARY_TEMPLATE.replace("__MODEL__", json.dumps(model))


def standin_routes(folder: Path, library_url: str = TAGS_LIBRARY_URL) -> dict[str, Callable[[Any], None]]:
    """Playwright routes answering the Tags library, fbevents.js, the Pixel and the Edge."""
    library = tags_library_js(folder)

    def tags_library(route) -> None:
        route.fulfill(status=200, content_type="application/javascript", body=library)

    def fbevents(route) -> None:
        route.fulfill(status=200, content_type="application/javascript", body=FBEVENTS_JS)

    def pixel_endpoint(route) -> None:
        route.fulfill(status=200, content_type="image/gif", body=GIF_1X1)

    def edge_endpoint(route) -> None:
        route.fulfill(status=200, content_type="application/json",
                      headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"requestId": "stand-in", "handle": []}))

    return {
        library_url: tags_library,
        "https://connect.facebook.net/**/fbevents.js": fbevents,
        "https://www.facebook.com/tr**": pixel_endpoint,
        "https://edge.adobedc.net/ee/**": edge_endpoint,
    }
