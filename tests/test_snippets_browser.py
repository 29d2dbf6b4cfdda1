"""The JavaScript a generated folder puts on a visitor's page, piece by piece, in real Chromium.

The <head> snippet (Meta's fbq stub, the site queue), the runtime that MetaConversion_Setup
installs (prepare, Meta's normalisation, SHA-256), the MetaConversion_DataLayer data element
and the blocks of snippets/data-layer.js, from folders made by `quickstart init`, executed the
way Tags executes custom code (a function body). How they run together in the real Turbine is
tests/test_engines.py; the normaliser against the Python one, tests/test_runtime_normalize.py.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from quickstart import catalog
from quickstart.settings import DATA_LAYER_DATA_ELEMENT, SETUP_RULE
from tests.browser_helpers import data_element, generate_folder, load_yaml, rule_component
from tests.test_normalize import META_DOC_VECTORS

pytestmark = pytest.mark.browser

PATHS = ("window.dataLayer.meta", "window.digitalData.meta", "window.a.b.c")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FBP = "fb.1.1700000000000.1234567890"
FBC = "fb.1.1700000000000.IwAR0cookie"
BLANK = "<!doctype html><html><head><title>shop</title></head><body><p>shop</p></body></html>"

# Tags runs an action's source as the body of function(event, target, Promise), a custom-code
# data element's as function(event); the stub _satellite records track() calls.
STUB_SATELLITE = """(layerSource) => {
  window._satellite = {calls: [], track(id, detail) { this.calls.push([id, detail]); },
                       getVar(name) { return new Function('event', layerSource)({}); }};
}"""
INSTALL_RUNTIME = "(source) => new Function('event', 'target', 'Promise', source).call(document.body, {}, document.body, Promise)"
PREPARE = """([name, params, detail]) => {
  const event = {$type: 'core.direct-call', detail: detail};
  const result = window.metaConversion.runtime.prepare(event, name, params);
  return {result: result, detail: event.detail};
}"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, dict]:
    """data layer path -> the generated folder's tags.yaml model, head snippet and data-layer.js."""
    made = {}
    for index, path in enumerate(PATHS):
        folder = generate_folder(tmp_path_factory.mktemp(f"site{index}") / "example.com", "--data-layer-path", path,
                                 "--default-country", "US")
        made[path] = {"tags": load_yaml(folder / "tags.yaml"),
                      "head": (folder / "snippets/head.development.html").read_text(encoding="utf-8"),
                      "data_layer_js": (folder / "snippets/data-layer.js").read_text(encoding="utf-8")}
    return made


def inline_scripts(head: str) -> str:
    """The inline <script> of the head snippet (the embed's src is left out)."""
    return re.search(r"<script>\n(.*?)</script>", head, re.S).group(1)


def runtime_source(folders, path: str) -> str:
    return rule_component(folders[path]["tags"], SETUP_RULE,
                          "Install the quickstart runtime and deliver the site queue")["settings"]["source"]


def layer_source(folders, path: str) -> str:
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


def with_runtime(page, folders, path: str = PATHS[0]):
    page.evaluate(STUB_SATELLITE, layer_source(folders, path))
    page.evaluate(INSTALL_RUNTIME, runtime_source(folders, path))
    return page


# --- the <head> snippet: the site queue --------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_calls_before_the_library_are_queued_with_their_own_copy(folders, open_page, path):
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders[path]["head"]))
    queued = page.evaluate(f"""() => {{
      const payload = {{value: 1, currency: "USD", user: {{email: "a@example.com"}}}};
      metaConversion.track("AddToCart", payload);
      const written = {path} === payload;   // the data layer holds the payload: the seed's contract
      payload.value = 2;                     // the page changes it afterwards...
      metaConversion.track("InitiateCheckout", {{value: 3}});
      return {{written: written, queue: metaConversion.queue, layer: {path}}};
    }}""")
    assert queued["written"] is True
    # ...the queued copy does not change; the second call did not overwrite the first.
    assert queued["queue"] == [["AddToCart", {"value": 1, "currency": "USD", "user": {"email": "a@example.com"}}],
                               ["InitiateCheckout", {"value": 3}]]
    assert queued["layer"] == {"value": 3}


def test_the_runtime_delivers_the_queue_in_order_and_later_calls_at_once(folders, open_page):
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders[PATHS[0]]["head"]))
    page.evaluate('() => { metaConversion.track("Lead", {value: 1}); metaConversion.track("Purchase", {value: 2}); }')
    with_runtime(page, folders)
    page.evaluate('() => metaConversion.track("Search", {search_string: "shoes"})')
    calls = page.evaluate("() => window._satellite.calls")
    assert calls == [["MetaConversion_Lead", {"value": 1}], ["MetaConversion_Purchase", {"value": 2}],
                     ["MetaConversion_Search", {"search_string": "shoes"}]]
    assert page.evaluate("() => metaConversion.queue.length") == 0


def test_a_gtm_data_layer_keeps_working(folders, open_page):
    page = open_page()
    page.evaluate("() => { window.dataLayer = [{event: 'gtm.js'}]; }")
    page.add_script_tag(content=inline_scripts(folders["window.dataLayer.meta"]["head"]))
    state = page.evaluate("""() => {
      metaConversion.track("Lead", {value: 1});
      window.dataLayer.push({event: 'after'});
      return {isArray: Array.isArray(window.dataLayer), length: window.dataLayer.length, meta: window.dataLayer.meta};
    }""")
    assert state == {"isArray": True, "length": 2, "meta": {"value": 1}}


def test_a_missing_gtm_data_layer_becomes_an_array(folders, open_page):
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders["window.dataLayer.meta"]["head"]))
    assert page.evaluate("() => { metaConversion.track('Lead', {}); return Array.isArray(window.dataLayer); }")


def test_the_head_snippet_twice_keeps_the_first_queue(folders, open_page):
    page = open_page()
    script = inline_scripts(folders[PATHS[0]]["head"])
    page.add_script_tag(content=script)
    page.evaluate("() => metaConversion.track('Lead', {value: 1})")
    page.add_script_tag(content=script)
    assert page.evaluate("() => metaConversion.queue") == [["Lead", {"value": 1}]]


# --- the <head> snippet: Meta's fbq stub --------------------------------------------------------


def test_the_fbq_stub_leaves_out_parameters_without_a_value(folders, open_page):
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders[PATHS[0]]["head"]))
    queue = page.evaluate("""() => {
      fbq('track', 'Purchase', {value: 0, currency: 'USD', content_name: '', content_ids: undefined, num_items: null},
          {eventID: 'e-1'});
      return fbq.queue.map(args => Array.from(args));
    }""")
    assert queue == [["track", "Purchase", {"value": 0, "currency": "USD"}, {"eventID": "e-1"}]]
    assert "dataProcessingOptions" not in str(queue)  # LDU is off in this folder


def test_with_ldu_the_flag_is_queued_before_anything_else(open_page, tmp_path):
    folder = generate_folder(tmp_path / "ldu", "--ldu")
    head = (folder / "snippets/head.development.html").read_text(encoding="utf-8")
    page = open_page()
    page.add_script_tag(content=inline_scripts(head))
    assert page.evaluate("() => fbq.queue.map(a => Array.from(a))") == [["dataProcessingOptions", ["LDU"], 0, 0]]
    # A page that has its own Pixel base code keeps it; the flag is still queued on it.
    page = open_page()
    page.evaluate("() => { window.fbq = function () { (window.fbq.q = window.fbq.q || []).push(Array.from(arguments)); }; }")
    page.add_script_tag(content=inline_scripts(head))
    assert page.evaluate("() => window.fbq.q") == [["dataProcessingOptions", ["LDU"], 0, 0]]


# --- the runtime: prepare ----------------------------------------------------------------------


def test_prepare_gives_the_event_its_own_snapshot(folders, open_page):
    page = with_runtime(open_page(cookies={"_fbp": FBP}), folders)
    before = int(time.time())
    out = page.evaluate(PREPARE, ["Purchase", list(catalog.get("Purchase").params),
                                  {"value": 0, "currency": "USD", "content_name": "", "other": "x",
                                   "user": {"email": " Jane.Doe@Example.com", "phone": "(650) 555-1212"}}])
    detail = out["detail"]
    assert detail == out["result"]
    conversion = detail.pop("conversionData")
    assert detail == {"value": 0, "currency": "USD"}  # the event's parameters that have a value; 0 kept
    assert UUID4.match(conversion["eventId"]) and conversion["eventName"] == "Purchase"
    assert before <= conversion["eventTime"] <= int(time.time()) + 1
    assert conversion["fbp"] == FBP and "fbc" not in conversion
    assert conversion["eventSourceUrl"].endswith("/shop") and "Chrome" in conversion["userAgent"]
    from quickstart.meta.normalize import sha256_hex

    assert conversion["user"] == {"em": sha256_hex("jane.doe@example.com"), "ph": sha256_hex("16505551212")}


def test_prepare_reads_the_data_layer_when_the_call_has_no_payload(folders, open_page):
    page = with_runtime(open_page(), folders, "window.digitalData.meta")
    page.evaluate("() => { window.digitalData = {meta: {value: 7, currency: 'EUR', user: {city: 'Paris'}}}; }")
    out = page.evaluate(PREPARE, ["Lead", ["value", "currency"], None])
    from quickstart.meta.normalize import sha256_hex

    assert out["detail"]["value"] == 7 and out["detail"]["conversionData"]["user"] == {"ct": sha256_hex("paris")}


def test_fbc_is_built_from_fbclid_when_there_is_no_cookie(folders, open_page):
    page = with_runtime(open_page("?fbclid=IwAR0abc_-9"), folders)
    conversion = page.evaluate(PREPARE, ["Lead", [], {}])["detail"]["conversionData"]
    assert re.fullmatch(r"fb\.1\.\d{13}\.IwAR0abc_-9", conversion["fbc"])


def test_the_fbc_cookie_wins_over_fbclid(folders, open_page):
    page = with_runtime(open_page("?fbclid=IwAR0url", cookies={"_fbc": FBC}), folders)
    assert page.evaluate(PREPARE, ["Lead", [], {}])["detail"]["conversionData"]["fbc"] == FBC


def test_event_ids_are_uuids_without_crypto_random_uuid(folders, open_page):
    page = with_runtime(open_page(), folders)
    ids = page.evaluate("""() => {
      Object.defineProperty(window.crypto, 'randomUUID', {value: undefined});
      return Array.from({length: 50}, () => {
        const event = {};
        window.metaConversion.runtime.prepare(event, 'Lead', []);
        return event.detail.conversionData.eventId;
      });
    }""")
    assert len(set(ids)) == 50 and all(UUID4.match(i) for i in ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


# --- the runtime: Meta's normalisation and SHA-256 ----------------------------------------------


def test_every_meta_vector_hashes_as_documented(folders, open_page):
    page = with_runtime(open_page(), folders)
    results = page.evaluate("""(vectors) => vectors.map(([key, raw, country]) => {
      const n = window.metaConversion.runtime.normalize(key, raw, country);
      const user = {}; user[key] = raw;
      return [n && n[0], window.metaConversion.runtime.hashUser(
        Object.fromEntries([[{em: 'email', ph: 'phone', fn: 'firstName', ln: 'lastName', db: 'dob', ge: 'gender',
                              ct: 'city', st: 'state', zp: 'zip', country: 'country', external_id: 'externalId'}[key], raw]]),
        country)[key]];
    })""", [[key, raw, country] for key, raw, country, _, _ in META_DOC_VECTORS])
    from quickstart.meta.normalize import sha256_hex

    for (key, raw, _, normalized, digest), (got_normalized, got_digest) in zip(META_DOC_VECTORS, results):
        assert (got_normalized, got_digest) == (normalized, digest or sha256_hex(normalized)), (key, raw)


def test_sha256_matches_for_ascii_unicode_and_long_text(folders, open_page):
    import hashlib

    texts = ["", "abc", "valéry", "정", "😀 emoji", "x" * 1000, "a" * 55, "a" * 56, "a" * 64]
    page = with_runtime(open_page(), folders)
    got = page.evaluate("(texts) => texts.map(t => window.metaConversion.runtime.sha256(t))", texts)
    assert got == [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]


# --- the data element and snippets/data-layer.js ------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_data_layer_element_returns_the_object_or_an_empty_one(folders, open_page, path):
    page = open_page()
    source = layer_source(folders, path)
    assert page.evaluate("(s) => new Function('event', s)({})", source) == {}
    page.evaluate(f"() => {{ {path.split('.')[1]} = undefined; }}")
    page.add_script_tag(content=inline_scripts(folders[path]["head"]))
    page.evaluate("() => metaConversion.track('Lead', {value: 5})")
    assert page.evaluate("(s) => new Function('event', s)({})", source) == {"value": 5}


@pytest.mark.parametrize("path", PATHS)
def test_each_data_layer_block_queues_its_event(folders, open_page, path):
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders[path]["head"]))
    page.add_script_tag(content=folders[path]["data_layer_js"])
    queue = page.evaluate("() => metaConversion.queue")
    assert [name for name, _ in queue] == list(catalog.EVENT_NAMES)
    for name, payload in queue:
        assert set(payload) == set(catalog.get(name).params) | {"user"}
        assert payload["user"] == catalog.USER_SAMPLES


def test_odd_payloads_never_break_the_queue_or_the_event(folders, open_page):
    """A payload with a function, a cycle or a non-object: the event still goes, with what can be sent."""
    page = open_page()
    page.add_script_tag(content=inline_scripts(folders[PATHS[0]]["head"]))
    with_runtime(page, folders)
    out = page.evaluate("""() => {
      const cyclic = {value: 3}; cyclic.self = cyclic;
      metaConversion.track("Lead", cyclic);
      metaConversion.track("Lead", "not an object");
      const event = {detail: {value: () => 1, currency: "USD", content_name: cyclic}};
      window.metaConversion.runtime.prepare(event, "Lead", ["value", "currency", "content_name"]);
      return {calls: window._satellite.calls.length, detail: event.detail};
    }""")
    assert out["calls"] == 2
    assert {k: v for k, v in out["detail"].items() if k != "conversionData"} == {"currency": "USD"}
