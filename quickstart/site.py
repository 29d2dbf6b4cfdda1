"""`quickstart validate DIR --site URL`: the live page, checked in headless Chromium.

Opens the page the way a visitor does and checks, one row each: the embed code (in <head>,
async, the folder's environment URL), that Tags ran (`_satellite`), the data layer at the
configured path, the Meta Pixel, and then, per event, the two requests Meta deduplicates —
the Pixel's (facebook.com/tr, `ev` + `eid`) and the Edge Network's (`/v1/interact`, whose
body carries `conversionData.eventId`) — and that both carry the same event name and id.

Playwright is the optional extra ``quickstart[browser]``; it is imported only here, lazily.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from quickstart import catalog
from quickstart.blueprint.tags import EVENT_DETAIL, EVENT_ID_TOKEN
from quickstart.render import sample_payload
from quickstart.errors import InputError, QuickstartError, UnreachableError
from quickstart.settings import (
    ANSWERS_FILE,
    CHROMIUM_ENV,
    DEFAULT_CHROMIUM,
    HEAD_SNIPPET,
    PENDING_EMBED_URL,
)

PASS, FAIL, SKIP = "pass", "fail", "skip"

INSTALL_HINT = ("`validate --site` needs Playwright and Chromium: pip install '.[browser]' (in the quickstart checkout) "
                f"and apt-get install chromium (or set {CHROMIUM_ENV} to a Chromium binary)")

DEFAULT_WAIT_SECONDS = 10.0  # for the library, the Pixel and the Edge requests after load
DEFAULT_LOAD_TIMEOUT_SECONDS = 30.0

# Everything a headless check needs and nothing that phones home on its own.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

_FBEVENTS = re.compile(r"^https?://connect\.facebook\.net/[^?#]*fbevents\.js", re.IGNORECASE)
_EDGE_PATH = re.compile(r"/v\d+/(interact|collect)$")
_NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")
# custom_data keys (and `user`) that mark an object as an event data layer when we look for
# where the site really put it.
_DATA_LAYER_KEYS = sorted({*catalog.CUSTOM_DATA_SAMPLES, "user"} - {"status"})

RouteHandler = Callable[[Any], Any]


@dataclass
class CheckRow:
    name: str
    status: str  # pass | fail | skip
    why: str
    what_to_do: str = ""


@dataclass(frozen=True)
class SiteConfig:
    """What the folder says the page should have."""

    folder: Path
    data_layer_path: str
    path_segments: tuple[str, ...]
    events: tuple[str, ...]
    pixel_id: str
    embed_urls: dict[str, str]  # stage -> that environment's embed URL, as `apply` recorded it

    @property
    def embed_pending(self) -> bool:
        return not self.embed_urls

    @property
    def embed_url(self) -> str:
        return self.embed_urls.get("development") or next(iter(self.embed_urls.values()), PENDING_EMBED_URL)

    def stage_of(self, url: str) -> str | None:
        return next((stage for stage, known in self.embed_urls.items() if known == url), None)


# ---------------------------------------------------------------------------------------------
# Inputs


def load_site_config(folder: str | Path) -> SiteConfig:
    """What the page should have, from the one loader (quickstart/folder.py): the answers, and the
    embed URLs `apply` recorded in state.json (never a regex over a file the user may edit)."""
    from quickstart.folder import load_folder
    from quickstart.state import embed_urls_of

    loaded = load_folder(folder).require(ANSWERS_FILE)
    answers = loaded.answers
    return SiteConfig(
        folder=loaded.path,
        data_layer_path=answers.data_layer_path,
        path_segments=tuple(answers.path_segments),
        events=tuple(answers.events),
        pixel_id=answers.pixel_id,
        embed_urls=embed_urls_of(loaded.state),
    )


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--site {url!r} must be a page address starting with http:// or https://, e.g. https://example.com/")
    return url.strip()


def check_events(names: Sequence[str], config: SiteConfig) -> list[catalog.Event]:
    """The --event names as catalog events; each must be a direct-call rule of this folder."""
    if not names:
        return []
    from quickstart.answers import validate_events

    chosen: list[str] = []
    for raw in names:  # the user's order; unknown names: InputError listing the catalog
        name = validate_events([raw])[0]
        if name not in chosen:
            chosen.append(name)
    events = []
    for name in chosen:
        event = catalog.get(name)
        if event.fires_on_load:
            raise InputError(f"--event {name}: {name} fires by itself when the page loads and is always checked; "
                             "--event is for the direct-call events")
        if name not in config.events:
            raise InputError(f"--event {name}: this folder has no {name} rule; add it with "
                             f"`quickstart update {config.folder} --events ...,{name}` and apply")
        events.append(event)
    return events


# ---------------------------------------------------------------------------------------------
# The browser


def _import_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise QuickstartError(INSTALL_HINT) from None
    return sync_playwright


def chromium_executable(playwright) -> str | None:
    """The Chromium to launch: $QUICKSTART_CHROMIUM, else Debian's, else Playwright's own (None)."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise QuickstartError(f"{CHROMIUM_ENV}={override} is not a Chromium binary; {INSTALL_HINT}")
        return override
    if os.path.isfile(DEFAULT_CHROMIUM) and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    try:
        bundled = playwright.chromium.executable_path
    except Exception:
        bundled = ""
    if bundled and os.path.isfile(bundled):
        return None
    raise QuickstartError(f"no Chromium found; {INSTALL_HINT}")


def launch_browser(playwright):
    """Headless Chromium with our flags (tests share one through this, too)."""
    from playwright.sync_api import Error as PlaywrightError

    executable = chromium_executable(playwright)
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium refuses to start its sandbox as root
    try:
        return playwright.chromium.launch(executable_path=executable, headless=True, args=args)
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        which = executable or "the one Playwright installed"
        raise QuickstartError(f"could not start Chromium ({which}): {first_line}; {INSTALL_HINT}") from None


@contextlib.contextmanager
def open_browser() -> Iterator[Any]:
    sync_playwright = _import_playwright()
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------
# What the page sends


@dataclass
class PixelHit:
    url: str
    params: dict[str, str]

    @property
    def event_name(self) -> str | None:
        return self.params.get("ev")

    @property
    def event_id(self) -> str | None:
        return self.params.get("eid") or None


@dataclass
class EdgeEvent:
    """One `conversionData` found in an Edge request body, with the object that holds it."""

    event_name: Any
    event_id: Any
    data: dict[str, Any]


@dataclass
class EdgeHit:
    url: str
    events: list[EdgeEvent]
    body: str = ""


@dataclass
class Traffic:
    """The requests the page made, in order, sorted into what the checks look at."""

    pixel: list[PixelHit] = field(default_factory=list)
    edge: list[EdgeHit] = field(default_factory=list)
    fbevents: list[str] = field(default_factory=list)

    def record(self, request) -> None:
        url = request.url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if (host == "facebook.com" or host.endswith(".facebook.com")) and parts.path.rstrip("/") == "/tr":
            self.pixel.append(PixelHit(url, _pixel_params(parts.query, _post_data(request))))
        elif _EDGE_PATH.search(parts.path) and request.method == "POST":
            body = _post_data(request)
            self.edge.append(EdgeHit(url, _edge_events(body), body or ""))
        elif _FBEVENTS.match(url):
            self.fbevents.append(url)

    def edge_events(self, since: int = 0) -> list[EdgeEvent]:
        return [event for hit in self.edge[since:] for event in hit.events]


def _post_data(request) -> str | None:
    try:
        return request.post_data
    except Exception:  # binary bodies cannot be decoded; neither request we read has one
        return None


def _pixel_params(query: str, body: str | None) -> dict[str, str]:
    # The Pixel sends GET with the query, or POST with the same fields form-encoded.
    params: dict[str, str] = {}
    for source in (query, body or ""):
        for key, values in parse_qs(source, keep_blank_values=True).items():
            params.setdefault(key, values[0])
    return params


def _edge_events(body: str | None) -> list[EdgeEvent]:
    try:
        payload = json.loads(body or "")
    except ValueError:
        return []
    events = payload.get("events") if isinstance(payload, dict) else None
    found: list[EdgeEvent] = []
    for event in events if isinstance(events, list) else []:
        # `data` is where the Web SDK action puts %MetaConversion_DataLayer%; search the whole
        # event so a site that maps it elsewhere (e.g. into xdm) is still understood.
        for holder, conversion in _find_conversion_data(event):
            found.append(EdgeEvent(conversion.get("eventName"), conversion.get("eventId"), holder))
    return found


def _find_conversion_data(node: Any) -> Iterator[tuple[dict, dict]]:
    if isinstance(node, dict):
        conversion = node.get("conversionData")
        if isinstance(conversion, dict):
            yield node, conversion
        for value in node.values():
            yield from _find_conversion_data(value)
    elif isinstance(node, list):
        for value in node:
            yield from _find_conversion_data(value)


# ---------------------------------------------------------------------------------------------
# In-page probes (plain JS; each returns JSON-able data)

_EMBED_PROBE = """(expected) => {
  const scripts = Array.from(document.querySelectorAll('script[src]'));
  const absolute = (u) => { try { return new URL(u, location.href).href; } catch (e) { return u; } };
  const want = expected.map(absolute);
  let script = scripts.find((s) => want.includes(absolute(s.getAttribute('src'))));
  const exact = !!script;
  if (!script) {
    script = scripts.find((s) => /^https?:\\/\\/assets\\.adobedtm\\.com\\//i.test(s.src)
                             || /\\/launch-[^\\/]*\\.js(\\?|$)/i.test(s.src));
  }
  if (!script) { return null; }
  return {src: script.src, exact: exact, inHead: document.head.contains(script), async: script.async};
}"""

_SATELLITE_READY = "() => !!window._satellite && typeof window._satellite.track === 'function'"

_PIXEL_PROBE = "() => typeof window.fbq === 'function'"

_DATA_LAYER_PROBE = """([segments, markerKeys]) => {
  let value = window;
  for (const segment of segments) {
    if (value === null || value === undefined) { value = undefined; break; }
    value = value[segment];
  }
  const at = (value === undefined) ? {exists: false}
    : (value === null || typeof value !== 'object') ? {exists: true, kind: value === null ? 'null' : typeof value, keys: []}
    : {exists: true, kind: Array.isArray(value) ? 'array' : 'object', keys: Object.keys(value)};

  // Where else does the page keep something that looks like event data?  (A hint when the
  // configured path is empty: the site may fill another path.)  Built-ins are what a blank
  // frame's window also has.
  const frame = document.createElement('iframe');
  frame.style.display = 'none';
  document.documentElement.appendChild(frame);
  const builtin = new Set(Object.getOwnPropertyNames(frame.contentWindow));
  frame.remove();
  const skip = new Set(['_satellite', 'fbq', '_fbq', 'alloy', '__alloyNS', '__satelliteLoaded']);
  const seen = new Set();
  const found = [];
  const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  function walk(node, path, depth) {
    if (!node || typeof node !== 'object' || seen.has(node) || node === value || depth > 3) { return; }
    seen.add(node);
    let keys;
    try { keys = Object.keys(node); } catch (e) { return; }
    if (keys.length > 500) { return; }
    const score = keys.filter((k) => markerKeys.includes(k)).length;
    if (score > 0 && !path.endsWith('.conversionData')) { found.push({path: path, score: score}); }
    for (const key of keys) {
      if (!identifier.test(key)) { continue; }
      let child;
      try { child = node[key]; } catch (e) { continue; }
      walk(child, path + '.' + key, depth + 1);
    }
  }
  for (const name of Object.getOwnPropertyNames(window)) {
    if (builtin.has(name) || skip.has(name) || !identifier.test(name)) { continue; }
    let child;
    try { child = window[name]; } catch (e) { continue; }
    walk(child, 'window.' + name, 1);
  }
  found.sort((a, b) => b.score - a.score);
  at.elsewhere = found.slice(0, 3).map((f) => f.path);
  return at;
}"""

_TRACK = """([name, data]) => {
  // What snippets/data-layer.js does on the site: one call to the site API.
  if (!window.metaConversion || typeof window.metaConversion.track !== 'function') {
    return 'window.metaConversion is not defined: the site queue of the <head> snippet is missing';
  }
  try { window.metaConversion.track(name, data); return null; }
  catch (e) { return String((e && e.message) || e); }
}"""

# Before the page's own scripts: watch for the site queue and the Tags library, and fire the
# first --event through the queue at the first moment it exists, before the library if it can.
_EARLY_PROBE = """(() => {
  const probe = window.__quickstartProbe = {queueFirst: null, early: null};
  const first = %s;
  const libraryRan = () => !!(window._satellite && window._satellite.buildInfo);
  const timer = setInterval(() => {
    const mc = window.metaConversion;
    if (probe.queueFirst === null && mc && typeof mc.track === 'function') {
      probe.queueFirst = !libraryRan();
      if (first && probe.queueFirst) { mc.track(first[0], first[1]); probe.early = first[0]; }
    }
    if (libraryRan()) {
      if (probe.queueFirst === null) { probe.queueFirst = false; }
      clearInterval(timer);
    }
  }, 0);
  setTimeout(() => clearInterval(timer), 30000);
})();"""


def _wait_until(page, predicate: Callable[[], bool], seconds: float) -> bool:
    """Let the page run (and its requests arrive) until ``predicate`` holds or time is up."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        page.wait_for_timeout(100)
    return True


# ---------------------------------------------------------------------------------------------
# The check


def check_site(folder: str | Path, url: str, events: Sequence[str] = (), *, browser: Any = None,
               routes: Mapping[Any, RouteHandler] | None = None,
               wait_seconds: float = DEFAULT_WAIT_SECONDS,
               load_timeout_seconds: float = DEFAULT_LOAD_TIMEOUT_SECONDS) -> list[CheckRow]:
    """Open ``url`` headless and return one row per check (see the module docstring).

    ``browser`` reuses a Playwright browser (tests share one); ``routes`` maps Playwright URL
    patterns to handlers installed on the browser context before the page opens — tests use it
    to answer the external scripts with stand-ins; the command never passes it.
    """
    config = load_site_config(folder)
    target = check_url(url)
    direct_events = check_events(events, config)
    if browser is None:
        with open_browser() as own:
            return _run_checks(own, config, target, direct_events, routes, wait_seconds, load_timeout_seconds)
    return _run_checks(browser, config, target, direct_events, routes, wait_seconds, load_timeout_seconds)


def _run_checks(browser, config: SiteConfig, url: str, direct_events: list[catalog.Event],
                routes: Mapping[Any, RouteHandler] | None, wait_seconds: float,
                load_timeout_seconds: float) -> list[CheckRow]:
    from playwright.sync_api import Error as PlaywrightError

    # A service worker could answer requests out of our sight; block it for this visit.
    context = browser.new_context(service_workers="block")
    try:
        for pattern, handler in (routes or {}).items():
            context.route(pattern, handler)
        traffic = Traffic()
        context.on("request", traffic.record)
        first = direct_events[0] if direct_events else None
        context.add_init_script(_EARLY_PROBE % json.dumps([first.name, sample_payload(first)] if first else None))
        page = context.new_page()
        page_row = _open_page(page, url, load_timeout_seconds)
        if page_row.status == FAIL:
            return [page_row]
        try:
            return _checks_on_page(page, traffic, config, page_row, direct_events, wait_seconds)
        except PlaywrightError as exc:  # the page navigated away or crashed between probes
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise QuickstartError(f"the page changed while it was checked ({first_line}); "
                                  "check a page that does not redirect or reload by itself") from None
    finally:
        context.close()


def _open_page(page, url: str, timeout_seconds: float) -> CheckRow:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    statuses: list[int] = []

    def on_response(response) -> None:
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            statuses.append(response.status)

    page.on("response", on_response)
    try:
        response = page.goto(url, wait_until="load", timeout=timeout_seconds * 1000)
        status = response.status if response is not None else 200
    except PlaywrightTimeout:
        raise UnreachableError(f"{url} did not finish loading within {timeout_seconds:g}s") from None
    except PlaywrightError as exc:
        # An error status with an empty body makes Chromium fail the navigation; the server answered.
        if not (statuses and statuses[-1] >= 400):
            code = _NET_ERROR.search(str(exc))
            raise UnreachableError(f"could not open {url}: {code.group(0) if code else 'the browser could not load it'}") from None
        status = statuses[-1]
    finally:
        page.remove_listener("response", on_response)
    if status >= 400:
        return CheckRow("page loads", FAIL, f"{url} answered HTTP {status}", "check the address (the other checks need the page)")
    return CheckRow("page loads", PASS, f"HTTP {status} from {page.url}")


def _checks_on_page(page, traffic: Traffic, config: SiteConfig, page_row: CheckRow,
                    direct_events: list[catalog.Event], wait_seconds: float) -> list[CheckRow]:
    rows = [page_row]
    embed = page.evaluate(_EMBED_PROBE, list(config.embed_urls.values()))
    rows.extend(_embed_rows(config, embed))

    # Tags may still be on its way (async); nothing will load it if no embed code is there.
    satellite_wait = wait_seconds if embed else min(wait_seconds, 1.0)
    satellite = _wait_until(page, lambda: bool(page.evaluate(_SATELLITE_READY)), satellite_wait)
    rows.append(_satellite_row(embed, satellite))
    probe = page.evaluate("() => window.__quickstartProbe || {}")
    rows.append(_queue_row(config, probe))

    pageview = catalog.get("PageView")
    pageview_rows: list[CheckRow] = []
    if pageview.name in config.events:
        if satellite:
            _wait_until(page, lambda: _event_seen(traffic, pageview.name, 0, 0), wait_seconds)
        pageview_rows = _event_rows(config, pageview, traffic, 0, 0, satellite, None, wait_seconds)
    elif satellite:
        _wait_until(page, lambda: bool(traffic.fbevents) and bool(page.evaluate(_PIXEL_PROBE)), wait_seconds)

    # After PageView: the rule's own conversionData is there by now, the site's data too.
    rows.append(_data_layer_row(config, page.evaluate(_DATA_LAYER_PROBE, [list(config.path_segments), _DATA_LAYER_KEYS])))
    rows.append(_pixel_row(bool(page.evaluate(_PIXEL_PROBE)), traffic, satellite))
    if pageview.name in config.events:
        rows.extend(pageview_rows)
    else:
        rows.append(CheckRow("PageView", SKIP, "PageView is not among this folder's events"))

    for event in direct_events:
        early = probe.get("early") == event.name
        pixel_from, edge_from = (0, 0) if early else (len(traffic.pixel), len(traffic.edge))
        error = None
        if satellite:
            if not early:
                error = page.evaluate(_TRACK, [event.name, sample_payload(event)])
            if error is None:
                _wait_until(page, lambda name=event.name, p=pixel_from, e=edge_from: _event_seen(traffic, name, p, e),
                            wait_seconds)
        rows.extend(_event_rows(config, event, traffic, pixel_from, edge_from, satellite, error, wait_seconds))
    if direct_events and satellite:
        rows.append(_raw_customer_information_row(traffic, direct_events))
    return rows


def _queue_row(config: SiteConfig, probe: dict) -> CheckRow:
    name = "site queue before the library"
    fix = f"paste the whole {config.folder / HEAD_SNIPPET} (its inline script first) as high in <head> as possible"
    if probe.get("queueFirst") is True:
        early = (f"; {probe['early']} was called then, before the library loaded (its rows show its delivery)"
                 if probe.get("early") else "")
        return CheckRow(name, PASS, "metaConversion.track existed before the Tags library ran: early calls are kept" + early)
    if probe.get("queueFirst") is False:
        return CheckRow(name, FAIL, "metaConversion.track appeared only after the Tags library ran (the runtime's "
                                    "fallback): calls made before that throw `metaConversion is not defined`", fix)
    return CheckRow(name, FAIL, "window.metaConversion is not on the page: the site's calls have nowhere to go", fix)


# Sample customer information as typed, and the forms it must never leave the page in.
def _raw_forms() -> dict[str, list[str]]:
    forms: dict[str, list[str]] = {}
    for name, value in catalog.USER_SAMPLES.items():
        text = str(value)
        variants = {text, text.lower()}
        if name == "phone":
            variants.add(re.sub(r"\D", "", text))
        if name in ("email", "firstName", "lastName", "city", "zip", "phone", "dob", "externalId"):
            forms[name] = sorted(v for v in variants if len(v) >= 4)
    return forms


def _raw_customer_information_row(traffic: Traffic, events: list[catalog.Event]) -> CheckRow:
    name = "no raw customer information leaves the page"
    sent = [hit.url for hit in traffic.pixel] + [hit.body for hit in traffic.edge]
    leaked = sorted(name for name, forms in _raw_forms().items()
                    if any(form in text or _url_quoted(form) in text for text in sent for form in forms))
    if leaked:
        return CheckRow(name, FAIL, f"the sample {', '.join(leaked)} of {', '.join(e.name for e in events)} reached "
                                    "facebook.com/tr or the Edge Network unhashed",
                        "let the rules' Generate New Event ID hash customer information (quickstart apply); pass it "
                        "under `user` in metaConversion.track, never in a Pixel parameter")
    return CheckRow(name, PASS, "the sample email, phone, names, city, zip and birth date left only as SHA-256 digests")


def _url_quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _embed_rows(config: SiteConfig, embed: dict | None) -> list[CheckRow]:
    paste = f"paste {config.folder / HEAD_SNIPPET} into the page's <head>"
    if embed is None:
        missing = CheckRow("embed code in <head>", FAIL,
                           f"no <script> loading {config.embed_url if not config.embed_pending else 'an Adobe Tags library'} on the page",
                           paste)
        skipped = "no embed code on the page"
        return [missing, CheckRow("embed code loads async", SKIP, skipped),
                _embed_url_row(config, None)]
    src = embed["src"]
    if embed["inHead"]:
        head = CheckRow("embed code in <head>", PASS, f"<script src={src}> is in <head>")
    else:
        head = CheckRow("embed code in <head>", FAIL, f"<script src={src}> is in <body>, so Tags starts late and misses early events",
                        f"move it into <head>, as high as possible ({config.folder / HEAD_SNIPPET})")
    if embed["async"]:
        sync = CheckRow("embed code loads async", PASS, "the script tag has async")
    else:
        sync = CheckRow("embed code loads async", FAIL, "the script tag has no async, so it blocks the page while it loads",
                        f'use <script src="{src}" async></script> ({config.folder / HEAD_SNIPPET})')
    return [head, sync, _embed_url_row(config, embed)]


def _embed_url_row(config: SiteConfig, embed: dict | None) -> CheckRow:
    name = "embed code is this folder's environment"
    if config.embed_pending:
        return CheckRow(name, FAIL, f"{HEAD_SNIPPET} still has the placeholder URL: `quickstart apply` has not run for this folder",
                        f"run `quickstart apply {config.folder}`, then paste the new {HEAD_SNIPPET} into <head>")
    if embed is None:
        return CheckRow(name, SKIP, "no embed code on the page")
    if embed["exact"]:
        stage = config.stage_of(embed["src"]) or "development"
        return CheckRow(name, PASS, f"loads the {stage} library {embed['src']}")
    known = ", ".join(f"{stage} {url}" for stage, url in config.embed_urls.items())
    return CheckRow(name, FAIL, f"the page loads {embed['src']}, not one of this folder's environments ({known})",
                    f"replace the page's embed code with {config.folder / HEAD_SNIPPET} (or the snippet of its environment)")


def _satellite_row(embed: dict | None, satellite: bool) -> CheckRow:
    name = "_satellite is defined"
    if satellite:
        return CheckRow(name, PASS, "the Tags library ran (_satellite.track is a function)")
    if embed is None:
        return CheckRow(name, FAIL, "_satellite is undefined: no Tags library on the page", "add the embed code first")
    return CheckRow(name, FAIL, f"_satellite is undefined although the page has <script src={embed['src']}>",
                    "the library did not load or has no build yet: check that URL in a browser, run `quickstart apply` "
                    "(it builds the library), and look for errors in the browser console")


def _data_layer_row(config: SiteConfig, probe: dict) -> CheckRow:
    name = f"data layer at {config.data_layer_path}"
    elsewhere = [path for path in probe.get("elsewhere", []) if path != config.data_layer_path]
    hint = f"; the page has event-like data at {', '.join(elsewhere)}" if elsewhere else ""
    fix = (f"fill {config.data_layer_path} as {config.folder / 'snippets/data-layer.js'} shows"
           + (f", or set data_layer_path to {elsewhere[0]} (`quickstart update {config.folder} --data-layer-path {elsewhere[0]}`, then apply)"
              if elsewhere else ""))
    if not probe.get("exists"):
        return CheckRow(name, FAIL, f"nothing at {config.data_layer_path}{hint}", fix)
    if probe.get("kind") != "object" and probe.get("kind") != "array":
        return CheckRow(name, FAIL, f"{config.data_layer_path} is a {probe.get('kind')}, not an object", fix)
    site_keys = [key for key in probe.get("keys", []) if key != "conversionData"]
    if site_keys:
        return CheckRow(name, PASS, f"an object with {', '.join(site_keys[:6])}{', ...' if len(site_keys) > 6 else ''}")
    if elsewhere:
        return CheckRow(name, FAIL, f"{config.data_layer_path} holds only what the rule wrote (conversionData){hint}", fix)
    return CheckRow(name, PASS, "exists; no event data on this page yet (the site fills it before each event)")


def _pixel_row(fbq: bool, traffic: Traffic, satellite: bool) -> CheckRow:
    name = "Meta Pixel loaded"
    if fbq and traffic.fbevents:
        return CheckRow(name, PASS, f"fbq is defined and {traffic.fbevents[0]} was requested")
    if not satellite:
        return CheckRow(name, FAIL, "fbq is undefined (the Tags library that loads it did not run)", "fix the rows above first")
    if not traffic.fbevents:
        return CheckRow(name, FAIL, "fbevents.js was never requested from connect.facebook.net",
                        "check that the Meta Pixel extension is in the built library (quickstart apply), and that "
                        "no content blocker or Content-Security-Policy stops connect.facebook.net")
    return CheckRow(name, FAIL, "fbevents.js was requested but fbq is undefined", "look for errors in the browser console")


def _event_seen(traffic: Traffic, event_name: str, pixel_from: int, edge_from: int) -> bool:
    pixel = any(hit.event_name == event_name for hit in traffic.pixel[pixel_from:])
    edge = any(event.event_name == event_name for event in traffic.edge_events(edge_from))
    return pixel and edge


def _event_rows(config: SiteConfig, event: catalog.Event, traffic: Traffic, pixel_from: int, edge_from: int,
                satellite: bool, track_error: str | None, wait_seconds: float) -> list[CheckRow]:
    names = (f"{event.name}: Pixel request", f"{event.name}: Edge request",
             f"{event.name}: same event on Pixel and Edge (dedup)")
    if not satellite:
        why = "Tags did not run, so the rule could not fire"
        return [CheckRow(n, SKIP, why) for n in names]
    if track_error is not None:
        why = f"metaConversion.track({event.name!r}, ...) failed: {track_error}"
        return [CheckRow(names[0], FAIL, why, "look for errors in the browser console"),
                CheckRow(names[1], SKIP, why), CheckRow(names[2], SKIP, why)]

    pixel_hits = [hit for hit in traffic.pixel[pixel_from:] if hit.event_name == event.name]
    edge_all = traffic.edge_events(edge_from)
    edge_events = [e for e in edge_all if e.event_name == event.name]
    rule = f"rule {event.rule_name}"

    pixel_row = _pixel_request_row(names[0], config, event, pixel_hits, rule, wait_seconds)
    edge_row = _edge_request_row(names[1], config, event, traffic.edge[edge_from:], edge_all, edge_events, rule, wait_seconds)

    with_ids = [hit for hit in pixel_hits if hit.event_id]
    if not with_ids or not any(e.event_id for e in edge_all):
        dedup = CheckRow(names[2], SKIP, "needs a Pixel request with eid and an Edge request with conversionData.eventId")
    else:
        dedup = _dedup_row(names[2], event, with_ids, edge_all, rule)
    return [pixel_row, edge_row, dedup]


def _pixel_request_row(name: str, config: SiteConfig, event: catalog.Event, hits: list[PixelHit], rule: str,
                       wait_seconds: float) -> CheckRow:
    if not hits:
        return CheckRow(name, FAIL, f"no request to facebook.com/tr with ev={event.name} within {wait_seconds:g}s",
                        f"check that {rule} has its Meta Pixel action and is in the built library (quickstart apply)")
    hit = next((h for h in hits if h.event_id), hits[-1])
    if not hit.event_id:
        return CheckRow(name, FAIL, f"the Pixel sent ev={event.name} without eid, so Meta cannot deduplicate it",
                        f"the Meta Pixel action of {rule} needs event_id {EVENT_ID_TOKEN} (re-run quickstart apply)")
    if hit.params.get("id") and hit.params["id"] != config.pixel_id:
        return CheckRow(name, FAIL, f"the Pixel request went to Pixel {hit.params['id']}, this folder's is {config.pixel_id}",
                        "set the Meta Pixel extension's Pixel ID to this folder's (quickstart apply)")
    missing = [key for key in event.required if f"cd[{key}]" not in hit.params]
    if missing:
        return CheckRow(name, FAIL, f"ev={event.name} without {', '.join(f'cd[{k}]' for k in missing)}; Meta requires them",
                        f"fill {', '.join(missing)} in the data layer before firing {event.name}")
    return CheckRow(name, PASS, f"ev={event.name} eid={hit.event_id}")


def _edge_request_row(name: str, config: SiteConfig, event: catalog.Event, edge_hits: list[EdgeHit],
                      edge_all: list[EdgeEvent], edge_events: list[EdgeEvent], rule: str, wait_seconds: float) -> CheckRow:
    if not edge_hits:
        return CheckRow(name, FAIL, f"no Edge Network request (/ee/.../v1/interact) within {wait_seconds:g}s",
                        f"check that {rule} has the Web SDK send-event action and the Web SDK extension has the "
                        "datastream id (quickstart apply)")
    if not edge_all:
        return CheckRow(name, FAIL, "the Edge request carries no data.conversionData",
                        f"the Web SDK action of {rule} must send data %{EVENT_DETAIL}%, after Generate New Event ID")
    if not edge_events:
        got = sorted({str(e.event_name) for e in edge_all})
        return CheckRow(name, FAIL, f"the Edge got conversionData for {', '.join(got)}, not {event.name}",
                        f"the Generate New Event ID action of {rule} must write eventName {event.name} (quickstart apply)")
    edge_event = next((e for e in edge_events if e.event_id), edge_events[-1])
    if not edge_event.event_id:
        return CheckRow(name, FAIL, "conversionData has no eventId",
                        f"{rule} must run Generate New Event ID before the Web SDK action")
    missing = [key for key in event.required if key not in edge_event.data]
    if missing:
        return CheckRow(name, FAIL, f"the data sent to the Edge has no {', '.join(missing)}; Meta rejects {event.name} without them",
                        f"fill {', '.join(missing)} at {config.data_layer_path} before firing {event.name}")
    return CheckRow(name, PASS, f"conversionData eventName={event.name} eventId={edge_event.event_id}")


def _dedup_row(name: str, event: catalog.Event, pixel_hits: list[PixelHit], edge_all: list[EdgeEvent], rule: str) -> CheckRow:
    by_id = {str(e.event_id): e for e in edge_all if e.event_id}
    for hit in pixel_hits:
        match = by_id.get(hit.event_id or "")
        if match is None:
            continue
        if match.event_name == hit.event_name:
            return CheckRow(name, PASS, f"Pixel eid and Edge eventId are both {hit.event_id}, event {event.name}")
        return CheckRow(name, FAIL, f"same id {hit.event_id} but the Pixel sent ev={hit.event_name} and the Edge "
                                    f"eventName={match.event_name}; Meta deduplicates by name and id",
                        f"the Generate New Event ID action of {rule} must write eventName {event.name}")
    edge_ids = [str(e.event_id) for e in edge_all if e.event_name == event.name and e.event_id] or list(by_id)
    return CheckRow(name, FAIL, f"Pixel eid={pixel_hits[-1].event_id} but the Edge got eventId={edge_ids[-1]}; "
                                "Meta will count this event twice",
                    f"in {rule}, Generate New Event ID must run first (awaited) and the Pixel action's event_id must be "
                    f"{EVENT_ID_TOKEN} (re-run quickstart apply)")


def site_ok(rows: list[CheckRow]) -> bool:
    return not any(row.status == FAIL for row in rows)
