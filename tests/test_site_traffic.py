"""validate --site's traffic parsing, without a browser: what the Pixel and the Edge requests carry."""

from __future__ import annotations

import json
from dataclasses import dataclass

from quickstart.site.traffic import Traffic, edge_events_in, pixel_params


@dataclass
class Request:  # what Playwright hands the recorder: url, method, post_data
    url: str
    method: str = "GET"
    post_data: str | None = None


def test_pixel_hits_by_get_and_by_post_carry_the_event_name_and_id():
    traffic = Traffic()
    traffic.record(Request("https://www.facebook.com/tr/?id=123&ev=Purchase&eid=abc&cd%5Bvalue%5D=9.99"))
    traffic.record(Request("https://www.facebook.com/tr/", "POST", "id=123&ev=Lead&eid=def"))
    traffic.record(Request("https://facebook.com.evil.example/tr?ev=Fake&eid=x"))  # not Meta's host
    assert [(h.event_name, h.event_id) for h in traffic.pixel] == [("Purchase", "abc"), ("Lead", "def")]
    assert traffic.pixel[0].params["cd[value]"] == "9.99"
    assert pixel_params("ev=A&eid=", "ev=B")["ev"] == "A" and pixel_params("eid=", None)["eid"] == ""


def test_edge_requests_yield_every_conversion_data_wherever_the_site_put_it():
    body = json.dumps({"events": [
        {"data": {"conversionData": {"eventName": "Purchase", "eventId": "id-1"}, "value": 1}},
        {"xdm": {"nested": [{"conversionData": {"eventName": "Lead", "eventId": "id-2"}}]}},
        {"data": {"nothing": True}},
    ]})
    traffic = Traffic()
    traffic.record(Request("https://edge.adobedc.net/ee/v1/interact?configId=x", "POST", body))
    traffic.record(Request("https://edge.adobedc.net/ee/v1/interact", "GET"))  # not a send
    traffic.record(Request("https://connect.facebook.net/en_US/fbevents.js"))
    assert [(e.event_name, e.event_id) for e in traffic.edge_events()] == [("Purchase", "id-1"), ("Lead", "id-2")]
    assert traffic.edge_events()[0].data["value"] == 1 and len(traffic.edge) == 1
    assert traffic.fbevents == ["https://connect.facebook.net/en_US/fbevents.js"]


def test_bodies_that_are_not_json_or_not_events_give_nothing():
    assert edge_events_in("not json") == [] and edge_events_in(None) == []
    assert edge_events_in(json.dumps({"events": "nope"})) == [] and edge_events_in("[1, 2]") == []
