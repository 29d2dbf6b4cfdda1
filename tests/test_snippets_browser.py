"""The JavaScript a generated Tags property runs on a visitor's page, run in real Chromium.

Sources come from folders made by `quickstart init` (the rules' "Generate New Event ID" custom
code, the MetaConversion_DataLayer data element, snippets/data-layer.js), executed the way Tags
executes custom code: as a function body (actions get event, target, Promise; data elements get
event), on a page served from 127.0.0.1.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from quickstart import catalog
from quickstart.settings import DATA_LAYER_DATA_ELEMENT
from tests.browser_helpers import data_element, generate_folder, load_yaml, rule_component

pytestmark = pytest.mark.browser

PATHS = ("window.dataLayer.meta", "window.digitalData.meta", "window.a.b.c")
EVENTS = ("PageView", "Purchase", "AddToCart")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FBP = "fb.1.1700000000000.1234567890"
FBC = "fb.1.1700000000000.IwAR0cookie"
BLANK = "<!doctype html><html><head><title>shop</title></head><body><p>shop</p></body></html>"

# How Tags runs them: the customCode transform makes an action's source the body of
# function(event, target, Promise); a custom-code data element's source is function(event).
RUN_ACTION = """(source) => {
  const action = new Function('event', 'target', 'Promise', source);
  const event = {element: document.body, target: document.body, $type: 'core.direct-call'};
  action.call(document.body, event, document.body, Promise);
}"""
READ_DATA_ELEMENT = "(source) => new Function('event', source)({$type: 'core.direct-call'})"
DATA_ELEMENT_IS_THE_LAYER = "([source, path]) => new Function('event', source)({}) === eval(path)"
STUB_SATELLITE = "() => { window._satellite = {calls: [], track(id) { this.calls.push(id); }}; }"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, dict]:
    """data layer path -> the tags.yaml model and data-layer.js of a generated folder."""
    made = {}
    for index, path in enumerate(PATHS):
        folder = generate_folder(tmp_path_factory.mktemp(f"site{index}") / "example.com", "--data-layer-path", path)
        made[path] = {"tags": load_yaml(folder / "tags.yaml"),
                      "data_layer_js": (folder / "snippets/data-layer.js").read_text(encoding="utf-8")}
    return made


def generate_source(folders, path: str, event: str) -> str:
    tags = folders[path]["tags"]
    component = rule_component(tags, f"MetaConversion_{event}", "Generate New Event ID")
    assert component["delegate_descriptor_id"] == "core::actions::custom-code"
    return component["settings"]["source"]


def data_layer_source(folders, path: str) -> str:
    return data_element(folders[path]["tags"], DATA_LAYER_DATA_ELEMENT)["settings"]["source"]


@pytest.fixture(scope="module")
def shared_page(browser):
    """One tab for the module: a new tab costs a renderer process, a navigation only a new document."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def open_page(shared_page, site_server):
    """Load the blank shop page afresh (optionally at a query string, with cookies); returns the page."""

    def open_(query: str = "", cookies: dict[str, str] | None = None):
        context = shared_page.context
        context.clear_cookies()
        if cookies:
            context.add_cookies([{"name": k, "value": v, "url": site_server.origin} for k, v in cookies.items()])
        shared_page.goto(site_server.serve("/shop", BLANK) + query)
        return shared_page

    return open_


def read(page, path: str):
    return page.evaluate(f"() => {path}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("event", EVENTS)
def test_generate_event_id_writes_conversion_data(folders, open_page, path, event):
    page = open_page(cookies={"_fbp": FBP, "_fbc": FBC})
    source = generate_source(folders, path, event)

    before = time.time()
    page.evaluate(RUN_ACTION, source)
    after = time.time()
    first = read(page, f"{path}.conversionData")

    assert UUID4.match(first["eventId"]), first["eventId"]
    assert first["eventName"] == event
    assert isinstance(first["eventTime"], int)
    assert int(before) - 1 <= first["eventTime"] <= after + 1  # unix seconds, not milliseconds
    assert first["fbp"] == FBP
    assert first["fbc"] == FBC
    assert first["eventSourceUrl"] == page.url
    assert first["userAgent"] == page.evaluate("navigator.userAgent")

    page.evaluate(RUN_ACTION, source)
    second = read(page, f"{path}.conversionData")
    assert UUID4.match(second["eventId"])
    assert second["eventId"] != first["eventId"]  # a new id on every run, so Meta never merges two events


@pytest.mark.parametrize("path", PATHS)
def test_generate_event_id_keeps_the_sites_values(folders, open_page, path):
    page = open_page()
    parent, leaf = path.rsplit(".", 1)
    page.evaluate("""([parentKeys, leaf]) => {
        let node = window;
        for (const key of parentKeys) { node[key] = node[key] || {}; node = node[key]; }
        node.siteOwn = 'keep me';
        node[leaf] = {value: 9.99, currency: 'EUR', user: {email: 'a@example.com'}};
    }""", [parent.split(".")[1:], leaf])
    page.evaluate(RUN_ACTION, generate_source(folders, path, "Purchase"))

    layer = read(page, path)
    assert layer["value"] == 9.99 and layer["currency"] == "EUR"
    assert layer["user"] == {"email": "a@example.com"}
    assert layer["conversionData"]["eventName"] == "Purchase"
    assert read(page, f"{parent}.siteOwn") == "keep me"


def test_generate_event_id_keeps_a_gtm_data_layer_array(folders, open_page):
    page = open_page()
    page.evaluate("() => { window.dataLayer = [{event: 'gtm.js', 'gtm.start': 1}]; }")
    page.evaluate(RUN_ACTION, generate_source(folders, "window.dataLayer.meta", "AddToCart"))

    assert page.evaluate("() => Array.isArray(window.dataLayer) && window.dataLayer.length") == 1
    assert read(page, "window.dataLayer[0].event") == "gtm.js"
    assert read(page, "window.dataLayer.meta.conversionData.eventName") == "AddToCart"
    page.evaluate("() => window.dataLayer.push({event: 'later'})")  # GTM keeps working
    assert read(page, "window.dataLayer.length") == 2


def test_a_missing_data_layer_becomes_an_array_gtm_can_still_use(folders, open_page):
    # Tags' PageView runs at page top, often before a GTM snippet that does
    # `window.dataLayer = window.dataLayer || []; dataLayer.push(...)`: that must not break.
    page = open_page()
    page.evaluate(RUN_ACTION, generate_source(folders, "window.dataLayer.meta", "PageView"))
    page.evaluate("() => { window.dataLayer = window.dataLayer || []; window.dataLayer.push({event: 'gtm.js'}); }")
    assert read(page, "window.dataLayer[0].event") == "gtm.js"
    assert read(page, "window.dataLayer.meta.conversionData.eventName") == "PageView"


@pytest.mark.parametrize("path", PATHS)
def test_generate_event_id_creates_a_missing_path_without_throwing(folders, open_page, path):
    page = open_page()
    top = path.split(".")[1]
    assert page.evaluate(f"() => typeof window.{top}") == "undefined"
    page.evaluate(RUN_ACTION, generate_source(folders, path, "AddToCart"))
    assert read(page, f"{path}.conversionData.eventName") == "AddToCart"

    # A null on the way is replaced too (a site that reset its data layer).
    page.evaluate(f"() => {{ window.{top} = null; }}")
    page.evaluate(RUN_ACTION, generate_source(folders, path, "Purchase"))
    assert read(page, f"{path}.conversionData.eventName") == "Purchase"


def test_fbc_is_built_from_fbclid_when_there_is_no_cookie(folders, open_page):
    page = open_page("?utm_source=fb&fbclid=IwAR0abc-DEF_123&x=1", cookies={"_fbp": FBP})
    before_ms = int(time.time() * 1000)
    page.evaluate(RUN_ACTION, generate_source(folders, "window.dataLayer.meta", "Purchase"))
    after_ms = int(time.time() * 1000)
    fbc = read(page, "window.dataLayer.meta.conversionData.fbc")
    match = re.fullmatch(r"fb\.1\.(\d{13})\.IwAR0abc-DEF_123", fbc)
    assert match, fbc
    assert before_ms - 1000 <= int(match.group(1)) <= after_ms + 1000  # creation time in ms, as Meta specifies
    assert read(page, "window.dataLayer.meta.conversionData.fbp") == FBP


def test_the_fbc_cookie_wins_over_fbclid(folders, open_page):
    page = open_page("?fbclid=IwAR0fromurl", cookies={"_fbc": FBC})
    page.evaluate(RUN_ACTION, generate_source(folders, "window.dataLayer.meta", "Purchase"))
    assert read(page, "window.dataLayer.meta.conversionData.fbc") == FBC


def test_no_cookies_and_no_fbclid_leave_fbp_and_fbc_empty(folders, open_page):
    page = open_page()
    page.evaluate(RUN_ACTION, generate_source(folders, "window.dataLayer.meta", "Purchase"))
    data = read(page, "window.dataLayer.meta.conversionData")
    assert data.get("fbp") is None and data.get("fbc") is None
    # and they vanish from the JSON the Web SDK sends (no "undefined" strings reach the edge)
    assert page.evaluate("() => Object.keys(JSON.parse(JSON.stringify(window.dataLayer.meta.conversionData)))") == [
        "eventId", "eventName", "eventTime", "eventSourceUrl", "userAgent"]


def test_event_ids_are_uuids_without_crypto_random_uuid(folders, open_page):
    # crypto.randomUUID exists only in secure contexts; an http:// site falls back to getRandomValues,
    # and a browser without crypto to Math.random.
    page = open_page()
    source = generate_source(folders, "window.dataLayer.meta", "Purchase")
    ids = []
    page.evaluate("() => { delete Crypto.prototype.randomUUID; }")
    assert page.evaluate("() => typeof crypto.randomUUID") == "undefined"
    for _ in range(3):
        page.evaluate(RUN_ACTION, source)
        ids.append(read(page, "window.dataLayer.meta.conversionData.eventId"))
    page.evaluate("() => { Object.defineProperty(window, 'crypto', {value: undefined, configurable: true}); }")
    assert page.evaluate("() => window.crypto") is None
    page.evaluate(RUN_ACTION, source)
    ids.append(read(page, "window.dataLayer.meta.conversionData.eventId"))

    assert all(UUID4.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.parametrize("path", PATHS)
def test_data_layer_element_returns_the_object_or_an_empty_one(folders, open_page, path):
    page = open_page()
    source = data_layer_source(folders, path)
    top = path.split(".")[1]

    assert page.evaluate(READ_DATA_ELEMENT, source) == {}  # nothing yet: {} so the Web SDK still sends an object
    page.evaluate(f"() => {{ window.{top} = null; }}")
    assert page.evaluate(READ_DATA_ELEMENT, source) == {}
    page.evaluate(f"() => {{ window.{top} = 'not an object'; }}")
    assert page.evaluate(READ_DATA_ELEMENT, source) == {}

    page.evaluate(f"() => {{ delete window.{top}; }}")
    page.evaluate(RUN_ACTION, generate_source(folders, path, "Purchase"))
    page.evaluate(f"() => {{ {path}.value = 12.5; {path}.currency = 'USD'; }}")
    assert page.evaluate(DATA_ELEMENT_IS_THE_LAYER, [source, path]) is True  # the object itself, not a copy
    value = page.evaluate(READ_DATA_ELEMENT, source)
    assert value["value"] == 12.5 and value["currency"] == "USD"
    assert value["conversionData"]["eventName"] == "Purchase"


def data_layer_blocks(text: str) -> dict[str, str]:
    """snippets/data-layer.js split at its `// --- Event ---` headers: event name -> code."""
    parts = re.split(r"^// --- (\w+)\b.*---$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.mark.parametrize("path", PATHS)
def test_each_data_layer_snippet_fills_the_layer_and_fires_its_rule(folders, open_page, path):
    page = open_page()
    page.evaluate(STUB_SATELLITE)
    blocks = data_layer_blocks(folders[path]["data_layer_js"])
    assert list(blocks) == list(catalog.EVENT_NAMES)

    for name, code in blocks.items():
        event = catalog.get(name)
        calls_before = read(page, "window._satellite.calls.length")
        page.evaluate("(code) => { (0, eval)(code); }", code)  # as a <script> would run it; throws on error
        calls = read(page, "window._satellite.calls")
        if event.direct_call:
            assert calls[calls_before:] == [event.direct_call], name
        else:
            assert calls[calls_before:] == [], name  # PageView fires by itself
        layer = read(page, path)
        expected = {**event.sample_custom_data(), "user": catalog.USER_SAMPLES}
        assert layer == expected, name


def test_a_data_layer_snippet_then_the_rule_gives_the_web_sdk_one_object(folders, open_page):
    # The site's snippet fills the layer and calls _satellite.track; the rule's first action adds
    # conversionData; the data element hands the whole object to the Web SDK send-event action.
    path = "window.digitalData.meta"
    page = open_page(cookies={"_fbp": FBP})
    page.evaluate("""([generate, readLayer]) => {
        window._satellite = {track(id) {
            new Function('event', 'target', 'Promise', generate)({}, document.body, Promise);
            window.sent = JSON.parse(JSON.stringify(new Function('event', readLayer)({})));
        }};
    }""", [generate_source(folders, path, "Purchase"), data_layer_source(folders, path)])
    page.evaluate("(code) => { (0, eval)(code); }", data_layer_blocks(folders[path]["data_layer_js"])["Purchase"])

    sent = read(page, "window.sent")
    assert sent["value"] == catalog.CUSTOM_DATA_SAMPLES["value"]
    assert sent["currency"] == "USD"
    assert sent["user"]["email"] == catalog.USER_SAMPLES["email"]
    assert sent["conversionData"]["eventName"] == "Purchase"
    assert sent["conversionData"]["fbp"] == FBP
    assert UUID4.match(sent["conversionData"]["eventId"])


def test_data_layer_snippet_before_gtm_keeps_gtm_working(folders, open_page):
    # data-layer.js tells the site to put the PageView block before the embed code in <head>,
    # i.e. often before Google Tag Manager's `w.dataLayer = w.dataLayer || []; dataLayer.push(...)`.
    page = open_page()
    page.evaluate("(code) => { (0, eval)(code); }", data_layer_blocks(folders["window.dataLayer.meta"]["data_layer_js"])["PageView"])
    page.evaluate("() => { window.dataLayer = window.dataLayer || []; window.dataLayer.push({event: 'gtm.js'}); }")
    assert read(page, "window.dataLayer[0].event") == "gtm.js"
    assert read(page, "window.dataLayer.meta.user.email") == catalog.USER_SAMPLES["email"]
