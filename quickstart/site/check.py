"""Opening the page and running the checks; each becomes a row (quickstart/site/rows.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from quickstart import catalog
from quickstart.errors import QuickstartError, UnreachableError
from quickstart.site.browser import open_browser
from quickstart.site.inputs import check_events, check_url, load_site_config
from quickstart.site.model import (
    DATA_LAYER_KEYS,
    DEFAULT_LOAD_TIMEOUT_SECONDS,
    DEFAULT_WAIT_SECONDS,
    FAIL,
    PASS,
    SKIP,
    CheckRow,
    RouteHandler,
    SiteConfig,
)
from quickstart.site.probes import early_probe, probe
from quickstart.site.rows import (
    data_layer_row,
    embed_rows,
    event_rows,
    event_seen,
    pixel_row,
    queue_row,
    raw_customer_information_row,
    satellite_row,
)
from quickstart.site.traffic import Traffic, NET_ERROR


def _wait_until(page, predicate: Callable[[], bool], seconds: float) -> bool:
    """Let the page run (and its requests arrive) until ``predicate`` holds or time is up."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        page.wait_for_timeout(100)
    return True


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
        context.add_init_script(early_probe([first.name, catalog.sample_payload(first)] if first else None))
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
            code = NET_ERROR.search(str(exc))
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
    embed = page.evaluate(probe("embed"), list(config.embed_urls.values()))
    rows.extend(embed_rows(config, embed))

    # Tags may still be on its way (async); nothing will load it if no embed code is there.
    satellite_wait = wait_seconds if embed else min(wait_seconds, 1.0)
    satellite = _wait_until(page, lambda: bool(page.evaluate(probe("satellite-ready"))), satellite_wait)
    rows.append(satellite_row(embed, satellite))
    queue = page.evaluate("() => window.__quickstartProbe || {}")
    rows.append(queue_row(config, queue))

    pageview = catalog.get("PageView")
    pageview_rows: list[CheckRow] = []
    if pageview.name in config.events:
        if satellite:
            _wait_until(page, lambda: event_seen(traffic, pageview.name, 0, 0), wait_seconds)
        pageview_rows = event_rows(config, pageview, traffic, 0, 0, satellite, None, wait_seconds)
    elif satellite:
        _wait_until(page, lambda: bool(traffic.fbevents) and bool(page.evaluate(probe("pixel"))), wait_seconds)

    # After PageView: the rule's own conversionData is there by now, the site's data too.
    rows.append(data_layer_row(config, page.evaluate(probe("data-layer"), [list(config.path_segments), DATA_LAYER_KEYS])))
    rows.append(pixel_row(bool(page.evaluate(probe("pixel"))), traffic, satellite))
    if pageview.name in config.events:
        rows.extend(pageview_rows)
    else:
        rows.append(CheckRow("PageView", SKIP, "PageView is not among this folder's events"))

    for event in direct_events:
        early = queue.get("early") == event.name
        pixel_from, edge_from = (0, 0) if early else (len(traffic.pixel), len(traffic.edge))
        error = None
        if satellite:
            if not early:
                error = page.evaluate(probe("track"), [event.name, catalog.sample_payload(event)])
            if error is None:
                _wait_until(page, lambda name=event.name, p=pixel_from, e=edge_from: event_seen(traffic, name, p, e),
                            wait_seconds)
        rows.extend(event_rows(config, event, traffic, pixel_from, edge_from, satellite, error, wait_seconds))
    if direct_events and satellite:
        rows.append(raw_customer_information_row(traffic, direct_events))
    return rows


def site_ok(rows: list[CheckRow]) -> bool:
    return not any(row.status == FAIL for row in rows)
