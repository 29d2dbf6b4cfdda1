"""Stand-ins for the external scripts and endpoints a Tags page talks to, for Playwright routes.

They behave like the real ones for everything `validate --site` looks at:

- the Tags library (``tags_library_js``): the folder's tags.yaml built into a library for the
  real Turbine engine (tests/engines.web_library), whose Web SDK POSTs ``{events: [{xdm, data}]}``
  to the Edge Network (``/ee/v1/interact?configId=...``).
- fbevents.js (``FBEVENTS_JS``): hooks into the base-code stub (``callMethod``), replays the
  queue, and on ``track`` requests ``https://www.facebook.com/tr/?id=..&ev=..&eid=..&cd[..]=..``
  with an image, as the real Pixel does for small events.
- the Pixel and Edge endpoints: a 1x1 GIF and a 200 JSON answer.

``standin_routes(folder)`` gives the ``routes`` mapping for ``quickstart.site.check_site``.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML


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

def tags_library_js(folder: Path) -> str:
    """The Tags library for the property in ``folder``/tags.yaml: the real Turbine engine with the
    emulated Core web, Meta Pixel and Web SDK extensions (tests/engines)."""
    from tests.engines import web_library

    return web_library(YAML(typ="safe").load((Path(folder) / "tags.yaml").read_text(encoding="utf-8")))


def standin_routes(folder: Path, library_url: str = TAGS_LIBRARY_URL) -> dict[str, Callable[[Any], None]]:
    """Playwright routes answering the Tags library, fbevents.js, the Pixel and the Edge."""
    library = tags_library_js(folder)

    def tags_library(route) -> None:
        time.sleep(0.05)  # a CDN's latency: the page's own inline scripts run first, as on a real site
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
