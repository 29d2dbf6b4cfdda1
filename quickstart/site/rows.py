"""One report row per check, from what the page and its requests showed."""

from __future__ import annotations

import re

from quickstart import catalog
from quickstart.blueprint.tags import EVENT_DETAIL, EVENT_ID_TOKEN
from quickstart.layout import HEAD_SNIPPET
from quickstart.site.model import CheckRow, FAIL, PASS, SKIP, SiteConfig
from quickstart.site.traffic import EdgeEvent, EdgeHit, PixelHit, Traffic


def queue_row(config: SiteConfig, probe: dict) -> CheckRow:
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


def raw_customer_information_row(traffic: Traffic, events: list[catalog.Event]) -> CheckRow:
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


def embed_rows(config: SiteConfig, embed: dict | None) -> list[CheckRow]:
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


def satellite_row(embed: dict | None, satellite: bool) -> CheckRow:
    name = "_satellite is defined"
    if satellite:
        return CheckRow(name, PASS, "the Tags library ran (_satellite.track is a function)")
    if embed is None:
        return CheckRow(name, FAIL, "_satellite is undefined: no Tags library on the page", "add the embed code first")
    return CheckRow(name, FAIL, f"_satellite is undefined although the page has <script src={embed['src']}>",
                    "the library did not load or has no build yet: check that URL in a browser, run `quickstart apply` "
                    "(it builds the library), and look for errors in the browser console")


def data_layer_row(config: SiteConfig, probe: dict) -> CheckRow:
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


def pixel_row(fbq: bool, traffic: Traffic, satellite: bool) -> CheckRow:
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


def event_seen(traffic: Traffic, event_name: str, pixel_from: int, edge_from: int) -> bool:
    pixel = any(hit.event_name == event_name for hit in traffic.pixel[pixel_from:])
    edge = any(event.event_name == event_name for event in traffic.edge_events(edge_from))
    return pixel and edge


def event_rows(config: SiteConfig, event: catalog.Event, traffic: Traffic, pixel_from: int, edge_from: int,
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
