"""The generated folder, run in Adobe's real engines: Turbine in Chromium, turbine-edge in Node.

The whole pipeline of DESIGN §5: the page (the <head> snippet, the site's calls) -> the Tags
library (the real @adobe/reactor-turbine with emulated Core web, Meta Pixel and Web SDK) -> the
Pixel's calls and the Edge requests -> the event forwarding property (the real
@adobe/reactor-turbine-edge and Core edge modules, the Meta CAPI emulation) -> the request the
CAPI extension sends to Meta. Every event must arrive exactly once on each side, with the
Pixel's eventID equal to the CAPI event_id, Meta-correct hashes and no empty parameters.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from quickstart import catalog
from quickstart.meta.normalize import browser_user_data, sha256_hex
from tests.browser_helpers import generate_folder, load_yaml
from tests.engines import edge_request, run_edge, web_library

pytestmark = [pytest.mark.browser, pytest.mark.engines]

RAW_VALUES = ("jane.doe@example.com", "Menlo Park", "6505551212", "Jane", "94025")

# fbevents.js stand-in: records exactly what the Pixel's fbq hands it (undefined kept visible),
# and requests /tr as the real one does.
FBEVENTS = r"""
(function () {
  var fbq = window.fbq;
  window.__fbq = [];
  function record(args) {
    var copy = Array.prototype.slice.call(args).map(function (a) {
      if (a === null || typeof a !== "object" || Array.isArray(a)) { return a === undefined ? "<undefined>" : a; }
      var o = {};
      Object.keys(a).forEach(function (k) { o[k] = a[k] === undefined ? "<undefined>" : a[k]; });
      return o;
    });
    window.__fbq.push(copy);
    if (copy[0] === "track") {
      var q = "ev=" + encodeURIComponent(copy[1]) + "&eid=" + encodeURIComponent((copy[3] || {}).eventID || "");
      Object.keys(copy[2] || {}).forEach(function (k) { q += "&cd[" + k + "]=" + encodeURIComponent(JSON.stringify(copy[2][k])); });
      new Image().src = "https://www.facebook.com/tr/?" + q;
    }
  }
  var queued = fbq.queue.slice();
  fbq.callMethod = function () { record(arguments); };
  fbq.queue = [];
  queued.forEach(record);
})();
"""

LIBRARY_PATH = "/launch-quickstart-development.min.js"


@pytest.fixture(scope="module")
def server(site_server):
    return site_server


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return generate_folder(tmp_path_factory.mktemp("engines") / "example.com", "--test-event-code", "TEST12345",
                           "--default-country", "US")


def head_snippet(folder: Path, library_url: str) -> str:
    """The folder's <head> snippet, its embed pointing at the library the test serves."""
    head = (folder / "snippets" / "head.development.html").read_text(encoding="utf-8")
    return re.sub(r'src="[^"]+"', f'src="{library_url}"', head)


class Page:
    """One page load: what the Pixel got, what went to the Edge, and what CAPI sent."""

    def __init__(self, browser, server, folder: Path, body: str, *, delay_s: float = 0.0,
                 library: str | None = None, head: str | None = None, wait_for: int = 1) -> None:
        tags = load_yaml(folder / "tags.yaml")
        server.pages[LIBRARY_PATH] = library or web_library(tags)
        server.delays[LIBRARY_PATH] = delay_s
        page_url = server.serve("/page.html", "<!doctype html><html><head>"
                                + (head if head is not None else head_snippet(folder, server.origin + LIBRARY_PATH))
                                + "</head><body><h1>Thanks</h1>" + body + "</body></html>")
        self.edge_bodies: list[dict] = []
        self.beacons: list[str] = []
        context = browser.new_context()
        page = context.new_page()
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

        def edge(route):
            self.edge_bodies.append(json.loads(route.request.post_data))
            route.fulfill(status=200, content_type="application/json", body="{}",
                          headers={"Access-Control-Allow-Origin": "*"})

        def tr(route):
            self.beacons.append(route.request.url)
            route.fulfill(status=200, content_type="image/gif", body=b"GIF89a")

        page.route("https://connect.facebook.net/**", lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=FBEVENTS))
        page.route("https://www.facebook.com/tr**", tr)
        page.route("https://edge.adobedc.net/**", edge)
        page.goto(page_url)
        self.page = page
        self.context = context
        self.wait_for_edge(wait_for)

    def wait_for_edge(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.edge_bodies) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        self.page.wait_for_timeout(200)  # anything extra that would arrive

    def pixel_tracks(self) -> list[list]:
        return [call for call in self.page.evaluate("window.__fbq || []") if call[0] == "track"]

    def fbq_calls(self) -> list[list]:
        return self.page.evaluate("window.__fbq || []")

    def close(self) -> None:
        self.context.close()


def capi_events(folder: Path, edge_bodies: list[dict], environment: str = "development") -> list[tuple[dict, dict]]:
    """Each Edge request through the event forwarding property: (request body, event) per CAPI call."""
    forwarding = load_yaml(folder / "event-forwarding.yaml")
    runs = run_edge(forwarding, [edge_request(body["events"][0]["data"]) for body in edge_bodies],
                    environment=environment)
    sent = []
    for run in runs:
        failed = [r for r in run["rules"] if r["status"] == "failed"]
        assert not failed, failed
        for fetch in run["fetches"]:
            body = json.loads(fetch["body"])
            assert len(body["data"]) == 1
            sent.append((body, body["data"][0]))
    return sent


BODY = """
<script>
  // Inline on the page, before the async library has loaded: two events in the same tick.
  metaConversion.track("AddToCart", {value: 19.99, currency: "EUR", content_ids: ["A-1"], content_name: "Shoe",
                                      user: {email: ["  Jane.Doe@Example.com ", "second@example.com"], city: "Menlo Park",
                                             phone: "(650) 555-1212", dob: "05/26/1990", firstName: "Jane"}});
  metaConversion.track("InitiateCheckout", {value: 42, currency: "USD", num_items: 3});
</script>
<button id="buy" onclick='metaConversion.track("Purchase", {value: 0, currency: "USD", user: {zip: "94025-1234", country: "United States"}})'>buy</button>
"""


def test_events_fired_early_and_back_to_back_each_arrive_once_with_their_own_data(browser, server, folder):
    page = Page(browser, server, folder, BODY, delay_s=0.4, wait_for=3)
    try:
        page.page.click("#buy")
        page.wait_for_edge(4)
        tracks = page.pixel_tracks()
        edge = page.edge_bodies
        errors = page.console_errors
    finally:
        page.close()
    assert not errors, errors
    names = [t[1] for t in tracks]
    assert names == ["PageView", "AddToCart", "InitiateCheckout", "Purchase"], names
    assert [b["events"][0]["data"]["conversionData"]["eventName"] for b in edge] == names

    by_name = {t[1]: t for t in tracks}
    # Each rule read its own event: AddToCart did not get InitiateCheckout's data.
    assert by_name["AddToCart"][2] == {"value": 19.99, "currency": "EUR", "content_ids": ["A-1"], "content_name": "Shoe"}
    assert by_name["InitiateCheckout"][2] == {"value": 42, "currency": "USD", "num_items": 3}
    # value 0 stays 0; nothing the event lacks reaches the Pixel (no "", no undefined).
    assert by_name["Purchase"][2] == {"value": 0, "currency": "USD"}
    assert by_name["PageView"][2] == {}
    for track in tracks:
        assert "<undefined>" not in json.dumps(track) and '""' not in json.dumps(track[2])

    sent = capi_events(folder, edge)
    assert [event["event_name"] for _, event in sent] == names  # exactly once each
    for track, (body, event) in zip(tracks, sent):
        assert re.fullmatch(r"[0-9a-f-]{36}", track[3]["eventID"])
        assert event["event_id"] == track[3]["eventID"]  # the deduplication pair
        assert body["partner_agent"] == "adobe_launch"
        assert body["test_event_code"] == "TEST12345"  # a development build
        assert None not in (event.get("custom_data") or {}).values()
    capi = {event["event_name"]: event for _, event in sent}
    assert capi["Purchase"]["custom_data"] == {"value": 0, "currency": "USD"}
    assert capi["AddToCart"]["custom_data"] == {"value": 19.99, "currency": "EUR", "content_ids": ["A-1"], "content_name": "Shoe"}
    assert "custom_data" not in capi["PageView"]

    # Customer information: Meta's rules, hashed in the browser, the first usable value of a list.
    want = browser_user_data({"email": ["  Jane.Doe@Example.com ", "second@example.com"], "city": "Menlo Park",
                              "phone": "(650) 555-1212", "dob": "05/26/1990", "firstName": "Jane"}, default_country="US")
    user = capi["AddToCart"]["user_data"]
    for key in ("em", "ct", "ph", "db", "fn"):
        assert user[key] == want[key]
    assert user["em"] == sha256_hex("jane.doe@example.com")
    assert user["ct"] == sha256_hex("menlopark") and user["db"] == sha256_hex("19900526")
    assert user["ph"] == sha256_hex("16505551212")
    assert capi["Purchase"]["user_data"]["zp"] == sha256_hex("94025")
    assert capi["Purchase"]["user_data"]["country"] == sha256_hex("us")
    assert capi["AddToCart"]["user_data"]["client_user_agent"]
    # No raw customer information left the page.
    leaving = json.dumps(edge) + json.dumps(page.beacons)
    for raw in RAW_VALUES:
        assert raw.lower() not in leaving.lower(), raw


def test_all_18_events_in_one_tick_each_arrive_once_as_a_deduplication_pair(browser, server, folder):
    from quickstart.catalog import sample_payload

    calls = "".join(f"metaConversion.track({json.dumps(e.name)}, {json.dumps(sample_payload(e))});" for e in catalog.EVENTS)
    page = Page(browser, server, folder, f"<script>{calls}</script>", delay_s=0.2, wait_for=len(catalog.EVENTS) + 1)
    try:
        tracks = page.pixel_tracks()
        edge = page.edge_bodies
    finally:
        page.close()
    names = [t[1] for t in tracks]
    assert names == ["PageView", *catalog.EVENT_NAMES]  # the library's PageView, then the queue in order
    sent = capi_events(folder, edge)
    assert [event["event_name"] for _, event in sent] == names
    assert len({t[3]["eventID"] for t in tracks}) == len(tracks)
    for track, (_, event) in zip(tracks, sent):
        assert event["event_id"] == track[3]["eventID"]
        want = {k: v for k, v in sample_payload(catalog.get(track[1])).items() if k != "user"}
        assert track[2] == want and event.get("custom_data", {}) == want
        assert event["user_data"]["em"] == sha256_hex("jane.doe@example.com")
        assert event["user_data"]["db"] == sha256_hex("19900526")


def test_without_delay_next_the_sends_run_before_the_event_id_exists(browser, server, folder):
    """Fact 1 (adobe-runtime.md §1-2): custom code of a direct-call rule is an external script;
    without delay_next, Turbine does not wait for it."""
    tags = load_yaml(folder / "tags.yaml")
    body = '<script>setTimeout(function () { metaConversion.track("Lead", {value: 5, currency: "USD"}); }, 300);</script>'
    page = Page(browser, server, folder, body, library=web_library(tags, delay_next=False), wait_for=2)
    try:
        lead = [t for t in page.pixel_tracks() if t[1] == "Lead"]
        edge = [b for b in page.edge_bodies if "conversionData" not in (b["events"][0].get("data") or {})]
    finally:
        page.close()
    assert lead and "eventID" not in lead[0][3]  # no id: Meta cannot deduplicate
    assert edge  # the Web SDK sent the event before conversionData existed: no CAPI event


def test_spa_navigation_fires_a_new_pageview_with_the_new_url(browser, server, folder):
    body = """<script>
      setTimeout(function () {
        history.pushState({}, "", "/shop/item-2");
        metaConversion.track("PageView", {});
      }, 500);
    </script>"""
    page = Page(browser, server, folder, body, wait_for=2)
    try:
        tracks = page.pixel_tracks()
        edge = page.edge_bodies
    finally:
        page.close()
    views = [t for t in tracks if t[1] == "PageView"]
    assert len(views) == 2 and views[0][3]["eventID"] != views[1][3]["eventID"]
    urls = [b["events"][0]["data"]["conversionData"]["eventSourceUrl"] for b in edge]
    assert urls[0].endswith("/page.html") and urls[1].endswith("/shop/item-2")


def test_ldu_is_queued_before_the_pixel_init(browser, server, tmp_path):
    folder = generate_folder(tmp_path / "ldu", "--ldu", "--events", "PageView,Lead")
    page = Page(browser, server, folder, "", wait_for=1)
    try:
        calls = page.fbq_calls()
    finally:
        page.close()
    commands = [c[0] for c in calls]
    assert commands.index("dataProcessingOptions") < commands.index("init")
    assert calls[commands.index("dataProcessingOptions")][1:] == [["LDU"], 0, 0]
    sent = capi_events(folder, page.edge_bodies)
    assert sent[0][1]["data_processing_options"] == ["LDU"]
    assert sent[0][1]["data_processing_options_country"] == 0


def test_production_and_staging_builds_never_send_the_test_code(folder):
    data = {"value": 5, "currency": "USD", "conversionData": {
        "eventId": "e-1", "eventName": "Lead", "eventTime": int(time.time()), "eventSourceUrl": "https://example.com/",
        "userAgent": "Mozilla/5.0", "user": {"em": sha256_hex("a@example.com")}}}
    forwarding = load_yaml(folder / "event-forwarding.yaml")
    for environment, expected in (("development", "TEST12345"), ("staging", None), ("production", None)):
        runs = run_edge(forwarding, [edge_request(data)], environment=environment)
        bodies = [json.loads(f["body"]) for f in runs[0]["fetches"]]
        assert len(bodies) == 1
        assert bodies[0].get("test_event_code") == expected, environment


def test_validate_builds_exactly_the_request_the_extension_sends(folder):
    """For the same snapshot, validate's test event is the body the extension sends from turbine-edge."""
    from quickstart import validate
    from quickstart.blueprint.forwarding import SEND_CAPI_DATA

    static = validate.check_folder(folder)
    assert static.errors == []
    snapshots, expected = [], []
    for index, event in enumerate(catalog.EVENTS):
        snapshot = validate.sample_snapshot(event, domain="example.com", event_id=f"id-{index}", now=1_700_000_000,
                                            default_country="US")
        rule = next(r for r in static.folder.forwarding["rules"] if r["name"] == event.rule_name)
        action = next(c for c in rule["components"] if c["delegate_descriptor_id"] == SEND_CAPI_DATA)
        body, unresolved = validate.extension_request(static.folder, action, snapshot)
        assert unresolved == []
        snapshots.append(snapshot)
        expected.append(body)
    runs = run_edge(load_yaml(folder / "event-forwarding.yaml"), [edge_request(s, ip=None) for s in snapshots])
    sent = [json.loads(f["body"]) for run in runs for f in run["fetches"]]
    assert len(sent) == len(catalog.EVENTS)
    for got, want in zip(sent, expected):
        assert got == want


# --- the emulations' facts, each pinned (reference/adobe-runtime.md) -------------------------

def _edge_with(folder: Path, settings: dict) -> dict:
    """The folder's Lead rule with some send_capi_data settings replaced (a hand edit)."""
    forwarding = load_yaml(folder / "event-forwarding.yaml")
    rule = next(r for r in forwarding["rules"] if r["name"] == "MetaConversion_Lead")
    action = next(c for c in rule["components"] if c["delegate_descriptor_id"].endswith("send_capi_data"))
    action["settings"].update(settings)
    return forwarding


LEAD = {"conversionData": {"eventId": "e-2", "eventName": "Lead", "eventTime": 1700000000}}


def test_fact_capi_extension_normalizes_weakly_and_passes_64_alphanumerics(folder):
    forwarding = _edge_with(folder, {"city": "Menlo Park", "dob": "1990-05-26", "externalId": "A" * 64,
                                     "phone": "+44 020 7946 0018"})
    runs = run_edge(forwarding, [edge_request(LEAD)])
    user = json.loads(runs[0]["fetches"][0]["body"])["data"][0]["user_data"]
    assert user["ct"] == sha256_hex("menlo park")  # Meta wants "menlopark"
    assert user["db"] == sha256_hex("1990-05-26")  # Meta wants "19900526"
    assert user["external_id"] == "A" * 64  # passed through, uppercase kept
    assert user["ph"] == sha256_hex("4402079460018")  # the national 0 is kept


def test_fact_capi_extension_loses_the_event_on_a_list(folder):
    forwarding = _edge_with(folder, {"email": "{{MetaConversion_Emails}}"})
    forwarding["data_elements"].append({"name": "MetaConversion_Emails", "extension": "core",
                                        "delegate_descriptor_id": "core::dataElements::path",
                                        "settings": {"path": "arc.event.data.emails"}})
    runs = run_edge(forwarding, [edge_request({**LEAD, "emails": ["a@example.com", "b@example.com"]})])
    lead = next(r for r in runs[0]["rules"] if r["name"] == "MetaConversion_Lead")
    assert lead["status"] == "failed" and not runs[0]["fetches"]
    assert "not a string or a number" in " ".join(lead["errors"])


def test_fact_core_edge_path_element_turns_zero_into_null(folder):
    forwarding = _edge_with(folder, {"customData": {"value": "{{MetaConversion_Value}}"}})
    forwarding["data_elements"].append({"name": "MetaConversion_Value", "extension": "core",
                                        "delegate_descriptor_id": "core::dataElements::path",
                                        "settings": {"path": "arc.event.data.value"}})
    runs = run_edge(forwarding, [edge_request({**LEAD, "value": 0})])
    assert json.loads(runs[0]["fetches"][0]["body"])["data"][0]["custom_data"] == {"value": None}


def test_fact_turbine_gives_empty_strings_when_undefined_vars_return_empty(browser, server, folder):
    tags = load_yaml(folder / "tags.yaml")
    tags["property"]["undefined_vars_return_empty"] = True
    head = head_snippet(folder, server.origin + LIBRARY_PATH).replace("params[key] !== \"\"", "true")
    page = Page(browser, server, folder, '<script>metaConversion.track("Lead", {});</script>',
                library=web_library(tags), head=head, wait_for=2)
    try:
        lead = next(t for t in page.pixel_tracks() if t[1] == "Lead")
    finally:
        page.close()
    assert lead[2] == {"content_category": "", "content_name": "", "currency": "", "value": ""}


def test_fact_capi_extension_passes_ip_and_user_agent_as_given(folder):
    runs = run_edge(load_yaml(folder / "event-forwarding.yaml"),
                    [{"event": {"xdm": {}, "data": {"conversionData": {"eventName": "Lead", "eventTime": 1}}}}])
    event = json.loads(runs[0]["fetches"][0]["body"])["data"][0]
    # Core edge's path element gives null (sent as null); its IP element gives undefined (left out).
    assert event["user_data"] == {"client_user_agent": None}
    assert "event_id" not in event and event["data_processing_options"] == []
    url = urlsplit(runs[0]["fetches"][0]["url"])
    assert url.path == "/v22.0/1234567890/events/" and parse_qs(url.query)["access_token"] == ["EDGE-TEST-TOKEN"]
