"""Server events, the pre-send checks, batching and the local match-quality estimate
(quickstart.meta.events). One test per preflight rule: a broken event is flagged, a good one
is not (reference/meta-capi.md §2, §3.2, §3.3, §5.1, §11)."""

from __future__ import annotations

import copy
import hashlib
import time
import pytest

from quickstart.catalog import USER_SAMPLES, get
from quickstart.meta.events import (
    ACTION_SOURCES,
    MATCH_KEY_WEIGHTS,
    MAX_EVENTS_PER_REQUEST,
    PreflightProblem,
    batches,
    build_server_event,
    estimate_match_quality,
    match_quality_score,
    preflight,
)
from quickstart.meta.normalize import build_user_data

NOW = 1_750_000_000
DAY = 86_400
FBC = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"
FBP = "fb.1.1596403881668.1116446470"
PLAIN_HASH = hashlib.sha256(b"jane.doe@example.com").hexdigest()


def good_event(catalog_event: str = "Purchase", **overrides) -> dict:
    raw_user = dict(USER_SAMPLES, clientIpAddress="203.0.113.7", clientUserAgent="Mozilla/5.0 (X11)", fbp=FBP, fbc=FBC)
    event = build_server_event(
        catalog_event,
        event_id="3f0c2a1e-6c1b-4f6e-9d1a-0d5c2b7e8a90",
        event_time=NOW - 60,
        event_source_url="https://example.com/checkout",
        user_data=build_user_data(raw_user),
        custom_data=get(catalog_event).sample_custom_data(),
    )
    event.update(overrides)
    return event


def problems_of(event: dict) -> list[PreflightProblem]:
    return preflight([event], now=NOW)


def fields(problems: list[PreflightProblem], severity: str | None = None) -> list[str]:
    return [p.field for p in problems if severity is None or p.severity == severity]


def with_user(**changes) -> dict:
    event = good_event()
    for key, value in changes.items():
        if value is None:
            event["user_data"].pop(key, None)
        else:
            event["user_data"][key] = value
    return event


def with_custom(**changes) -> dict:
    event = good_event()
    for key, value in changes.items():
        if value is None:
            event["custom_data"].pop(key, None)
        else:
            event["custom_data"][key] = value
    return event


def test_good_event_has_no_problems():
    assert problems_of(good_event()) == []


@pytest.mark.parametrize("name", ["PageView", "Lead", "Search", "Purchase", "CompleteRegistration"])
def test_good_catalog_events_have_no_problems(name):
    assert problems_of(good_event(name)) == []


# --- event_name --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", None, 42])
def test_missing_event_name_is_an_error(name):
    problems = problems_of(good_event(event_name=name))
    assert fields(problems, "error") == ["event_name"]
    assert "event_name" in problems[0].message


def test_overlong_event_name_is_a_warning():
    assert fields(problems_of(good_event(event_name="X" * 51)), "warning") == ["event_name"]
    assert problems_of(good_event(event_name="X" * 50)) == []


# --- event_time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_time", "says"),
    [
        (NOW - 7 * DAY - 1, "older than 7 days"),
        (NOW + 3600, "in the future"),
        (NOW * 1000, "milliseconds"),
        (str(NOW), "integer"),
        (float(NOW), "integer"),
        (True, "integer"),
        (None, "integer"),
    ],
)
def test_bad_event_time_is_an_error(event_time, says):
    problems = problems_of(good_event(event_time=event_time))
    assert fields(problems, "error") == ["event_time"]
    assert says in problems[0].message


@pytest.mark.parametrize("event_time", [NOW, NOW - 7 * DAY + 1, NOW + 30])
def test_event_time_within_seven_days_and_small_skew_is_fine(event_time):
    assert problems_of(good_event(event_time=event_time)) == []


def test_preflight_uses_the_clock_when_now_is_not_given():
    assert preflight([good_event(event_time=int(time.time()))]) == []
    assert fields(preflight([good_event(event_time=NOW - 8 * DAY)]), "error") == ["event_time"]


# --- action_source and website fields ---------------------------------------------------------------


@pytest.mark.parametrize("action_source", [None, "web", "WEBSITE", ""])
def test_action_source_outside_metas_enum_is_an_error(action_source):
    problems = problems_of(good_event(action_source=action_source))
    assert fields(problems, "error") == ["action_source"]
    assert "website" in problems[0].message


@pytest.mark.parametrize("action_source", [s for s in ACTION_SOURCES if s != "website"])
def test_non_website_sources_need_no_url_or_user_agent(action_source):
    event = good_event(action_source=action_source)
    del event["event_source_url"]
    del event["user_data"]["client_user_agent"]
    assert problems_of(event) == []


@pytest.mark.parametrize("url", [None, "", "example.com/checkout", "ftp://example.com/x", "https://", 7])
def test_website_event_needs_an_http_event_source_url(url):
    event = good_event(event_source_url=url)
    assert fields(problems_of(event), "error") == ["event_source_url"]


def test_website_event_without_event_source_url_key_is_an_error():
    event = good_event()
    del event["event_source_url"]
    assert fields(problems_of(event), "error") == ["event_source_url"]


def test_http_event_source_url_is_fine():
    assert problems_of(good_event(event_source_url="http://example.com/")) == []


def test_website_event_without_user_agent_is_a_warning():
    problems = problems_of(with_user(client_user_agent=None))
    assert [(p.field, p.severity) for p in problems] == [("user_data.client_user_agent", "warning")]


# --- user_data: empty, too broad, hashing -----------------------------------------------------------


@pytest.mark.parametrize("user_data", [{}, {"em": "", "ph": []}, None, "jane@example.com"])
def test_empty_or_missing_user_data_is_an_error(user_data):
    event = good_event(user_data=user_data, action_source="other")
    assert fields(problems_of(event), "error") == ["user_data"]


H = PLAIN_HASH
TOO_BROAD = [
    {"ct": H, "country": H, "st": H, "zp": H, "ge": H, "client_user_agent": "UA"},
    {"ge": H, "ct": H, "st": H, "country": H},  # Meta's own example of a rejected set
    {"client_user_agent": "UA"},
    {"db": H, "client_user_agent": "UA"},
    {"fn": H, "ge": H},
    {"ln": H, "ge": H},
    {"ln": H},
]


@pytest.mark.parametrize("user_data", TOO_BROAD)
def test_too_broad_user_data_is_an_error(user_data):
    problems = problems_of(good_event(user_data=user_data, action_source="other"))
    assert fields(problems, "error") == ["user_data"]
    assert "too broad" in problems[0].message


@pytest.mark.parametrize(
    "user_data",
    [
        {"em": H},
        {"fn": H, "ln": H, "ge": H},
        {"ct": H, "country": H, "db": H},
        {"client_ip_address": "203.0.113.7", "client_user_agent": "UA"},
        {"external_id": "user-42"},
    ],
)
def test_user_data_narrow_enough_is_fine(user_data):
    assert problems_of(good_event(user_data=user_data, action_source="other")) == []


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("em", "jane.doe@example.com", "not hashed"),
        ("ph", "16505551212", "not hashed"),
        ("ct", "menlopark", "not hashed"),
        ("country", "us", "not hashed"),
        ("em", ["jane.doe@example.com", PLAIN_HASH], "not hashed"),
        ("em", "d41d8cd98f00b204e9800998ecf8427e", "MD5"),
        ("em", PLAIN_HASH.upper(), "lowercase"),
        ("zp", 94025, "SHA-256 hex string"),
    ],
)
def test_unhashed_contact_fields_are_errors(key, value, says):
    problems = problems_of(with_user(**{key: value}))
    assert fields(problems, "error") == [f"user_data.{key}"]
    assert says in problems[0].message


def test_hashed_lists_and_plain_external_id_are_fine():
    # Meta recommends hashing external_id but accepts it plain (§3.1).
    assert problems_of(with_user(em=[PLAIN_HASH, PLAIN_HASH[::-1]], external_id="user-42")) == []


@pytest.mark.parametrize("key", ["client_ip_address", "client_user_agent", "fbp", "subscription_id"])
def test_hashing_a_never_hashed_field_is_an_error(key):
    problems = problems_of(with_user(**{key: PLAIN_HASH}))
    assert f"user_data.{key}" in fields(problems, "error")
    assert any("not hashed" in p.message for p in problems)


def test_client_field_that_is_not_a_string_is_an_error():
    assert fields(problems_of(with_user(client_user_agent=["UA"])), "error") == ["user_data.client_user_agent"]


def test_invalid_client_ip_is_a_warning():
    problems = problems_of(with_user(client_ip_address="300.1.2.3"))
    assert [(p.field, p.severity) for p in problems] == [("user_data.client_ip_address", "warning")]
    assert problems_of(with_user(client_ip_address="2001:db8::1")) == []


# --- fbc / fbp ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fbc",
    [
        "fb.1.AbCdEf",
        "fb.1.1554763741205",  # 3 segments
        "FB.1.1554763741205.AbCdEf",
        "fb.1.1554763741.AbCdEf",  # seconds, not ms
        "fb.1.1554763741205.AbC.AQICAQMC.extra",  # 6 segments
        "fb.1.1554763741205.AbC.toolongappendix",
        "fb.1.1554763741205.Ab Cd",
        "AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",  # the bare fbclid
        "fb.1.9999999999999.AbCdEf",  # created in the future
    ],
)
def test_badly_formatted_fbc_is_an_error(fbc):
    problems = problems_of(with_user(fbc=fbc))
    assert fields(problems, "error") == ["user_data.fbc"]
    assert "fbc" in problems[0].message


@pytest.mark.parametrize(
    "fbc",
    [
        FBC,
        "fb.1.1554763741205.IwAR2-x_Yz",  # base64url fbclid with - and _
        "fb.1.1554763741205.AbCdEf.AQICAQMC",  # parameter builder appendix (5 segments)
        "fb.2.1554763741205.AbCdEf.Ag",  # legacy 2-char appendix
    ],
)
def test_well_formed_fbc_with_four_or_five_segments_is_fine(fbc):
    assert problems_of(with_user(fbc=fbc)) == []


@pytest.mark.parametrize(
    "fbp", ["fb.1.1596403881668", "fb.1.1596403881668.abc", "1116446470", "fb.1.1596403881.1116446470"]
)
def test_badly_formatted_fbp_is_a_warning(fbp):
    problems = problems_of(with_user(fbp=fbp))
    assert [(p.field, p.severity) for p in problems] == [("user_data.fbp", "warning")]


@pytest.mark.parametrize("fbp", [FBP, "fb.1.1596403881668.1116446470.AQICAQMC", "fb.0.1596403881668.42"])
def test_well_formed_fbp_is_fine(fbp):
    assert problems_of(with_user(fbp=fbp)) == []


# --- custom_data: currency and value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": None}, "custom_data.currency"),
        ({"currency": ""}, "custom_data.currency"),
        ({"currency": "US"}, "custom_data.currency"),
        ({"currency": "ZZZ"}, "custom_data.currency"),
        ({"currency": "XXX"}, "custom_data.currency"),
        ({"currency": " USD "}, "custom_data.currency"),
        ({"value": None}, "custom_data.value"),
        ({"value": "forty"}, "custom_data.value"),
        ({"value": float("nan")}, "custom_data.value"),
        ({"value": True}, "custom_data.value"),
        ({"value": [42]}, "custom_data.value"),
    ],
)
def test_purchase_needs_iso_currency_and_numeric_value(changes, field):
    problems = problems_of(with_custom(**changes))
    assert fields(problems, "error") == [field]


def test_purchase_without_custom_data_needs_both():
    event = good_event()
    del event["custom_data"]
    assert fields(problems_of(event), "error") == ["custom_data.currency", "custom_data.value"]


@pytest.mark.parametrize(
    "changes", [{"currency": "usd"}, {"currency": "EUR"}, {"value": "142.52"}, {"value": 0}, {"value": 10}]
)
def test_purchase_currency_and_value_variants_meta_accepts(changes):
    assert problems_of(with_custom(**changes)) == []


def test_other_events_need_no_currency_but_a_given_one_must_be_valid():
    event = good_event("Lead")
    del event["custom_data"]["currency"], event["custom_data"]["value"]
    assert problems_of(event) == []
    event["custom_data"]["currency"] = "dollars"
    assert fields(problems_of(event), "error") == ["custom_data.currency"]


def test_custom_data_must_be_an_object():
    assert fields(problems_of(good_event(custom_data=["value", 1])), "error") == ["custom_data"]


# --- event_id, LDU, malformed input --------------------------------------------------------------------


def test_missing_event_id_is_a_warning_about_deduplication():
    event = good_event()
    del event["event_id"]
    problems = problems_of(event)
    assert [(p.field, p.severity) for p in problems] == [("event_id", "warning")]
    assert "deduplicate" in problems[0].message


def test_reused_event_id_is_a_warning_on_the_second_event():
    first, second, other = good_event(), good_event(), good_event("Lead")
    problems = preflight([first, second, other], now=NOW)
    assert [(p.event_index, p.field, p.severity) for p in problems] == [(1, "event_id", "warning")]


def test_ldu_event_passes_and_bad_ldu_values_are_errors():
    event = build_server_event(
        "Lead", event_id="e1", event_time=NOW, event_source_url="https://example.com/",
        user_data=good_event()["user_data"], ldu=True,
    )
    assert event["data_processing_options"] == ["LDU"]
    assert event["data_processing_options_country"] == 0 and event["data_processing_options_state"] == 0
    assert problems_of(event) == []
    broken = dict(event, data_processing_options_country=840, data_processing_options_state=None)
    assert fields(problems_of(broken), "error") == ["data_processing_options_country", "data_processing_options_state"]
    assert fields(problems_of(dict(event, data_processing_options=["CCPA"])), "error") == ["data_processing_options"]


def test_event_that_is_not_an_object_is_an_error():
    problems = preflight(["Purchase"], now=NOW)
    assert [(p.event_index, p.severity) for p in problems] == [(0, "error")]


def test_problems_name_the_event_and_index():
    events = [good_event(), good_event("Lead", event_time=NOW - 30 * DAY)]
    events[1]["event_id"] = "other"
    problems = preflight(events, now=NOW)
    assert [(p.event_index, p.event_name, p.field) for p in problems] == [(1, "Lead", "event_time")]
    assert str(problems[0]).startswith("event 1 (Lead) event_time: ")


def test_preflight_does_not_change_the_events():
    events = [good_event(), with_user(em="plain@example.com")]
    before = copy.deepcopy(events)
    preflight(events, now=NOW)
    assert events == before


# --- build_server_event, batches ---------------------------------------------------------------------------


def test_build_server_event_shape():
    event = build_server_event(
        "Lead", event_id="e1", event_time=NOW, event_source_url="https://example.com/", user_data={"em": H}
    )
    assert event == {
        "event_name": "Lead",
        "event_time": NOW,
        "event_id": "e1",
        "action_source": "website",
        "event_source_url": "https://example.com/",
        "user_data": {"em": H},
    }


def test_batches_split_at_metas_limit_in_order():
    events = [{"event_id": str(i)} for i in range(2 * MAX_EVENTS_PER_REQUEST + 500)]
    split = batches(events)
    assert [len(batch) for batch in split] == [1000, 1000, 500]
    assert [e for batch in split for e in batch] == events
    assert batches(events[:3], size=2) == [events[:2], events[2:3]]
    assert batches([]) == []


@pytest.mark.parametrize("size", [0, MAX_EVENTS_PER_REQUEST + 1])
def test_batches_refuse_sizes_meta_would_reject(size):
    with pytest.raises(ValueError):
        batches([{}], size=size)


# --- local match-quality estimate -------------------------------------------------------------------------


def test_full_sample_user_data_is_great_and_suggests_fbc_only():
    user_data = good_event()["user_data"]
    del user_data["fbc"]
    assert estimate_match_quality(user_data) == ("great", ["fbc"])


def test_empty_user_data_is_poor_and_suggests_email_first():
    rating, add = estimate_match_quality({})
    assert rating == "poor"
    assert add[:2] == ["em", "ph"]
    assert add == sorted(MATCH_KEY_WEIGHTS, key=MATCH_KEY_WEIGHTS.get, reverse=True)


@pytest.mark.parametrize(
    ("user_data", "rating"),
    [
        ({"client_user_agent": "UA", "ct": H}, "poor"),
        ({"em": H, "client_ip_address": "1.2.3.4", "client_user_agent": "UA"}, "ok"),
        ({"em": H, "ph": H, "client_ip_address": "1.2.3.4"}, "good"),
        ({"em": H, "ph": H, "client_ip_address": "1.2.3.4", "external_id": "x", "fbp": FBP}, "great"),
    ],
)
def test_rating_rises_with_stronger_keys(user_data, rating):
    assert estimate_match_quality(user_data)[0] == rating


def test_adding_the_first_suggestion_never_lowers_the_score():
    user_data: dict = {"client_user_agent": "UA"}
    scores = [match_quality_score(user_data)]
    while (suggestions := estimate_match_quality(user_data)[1]):
        user_data[suggestions[0]] = H
        scores.append(match_quality_score(user_data))
    assert scores == sorted(scores) and scores[-1] == 10.0


def test_empty_values_do_not_count_as_present():
    assert estimate_match_quality({"em": "", "ph": None, "fbc": []})[1][:2] == ["em", "ph"]

