"""The Graph API client against a real local server that answers as Meta documents (tests/fakes)."""

from __future__ import annotations

import json
import time

import pytest

from quickstart.errors import ExitCode
from quickstart.meta import graph
from quickstart.backoff import parse_retry_after
from quickstart.redaction import mask_token, redact
from quickstart.meta.graph import GraphClient, GraphRejectedError, GraphUnreachableError
from tests.fakes.graph_api import GOOD_PIXEL, GOOD_TOKEN


def valid_event(name: str = "Lead", **overrides) -> dict:
    event = {
        "event_name": name,
        "event_time": int(time.time()),
        "event_id": "evt-1",
        "action_source": "website",
        "event_source_url": "https://example.com/",
        "user_data": {"em": ["a" * 64], "client_user_agent": "Mozilla/5.0", "fbp": "fb.1.1596403881668.1116446470"},
    }
    event.update(overrides)
    return event


def fast_client(token: str = GOOD_TOKEN, **kwargs) -> GraphClient:
    kwargs.setdefault("backoff_base", 0.001)
    return GraphClient(token, **kwargs)


def test_success_returns_metas_answer_and_sends_token_only_in_the_json_body(graph_api):
    with fast_client() as client:
        result = client.send_events(GOOD_PIXEL, [valid_event(), valid_event("Purchase", custom_data={"currency": "USD", "value": 1})],
                                    test_event_code="TEST123")
    assert result.events_received == 2
    assert result.messages == []
    assert result.fbtrace_id and result.attempts == 1
    (request,) = graph_api.requests
    assert request.path == f"/{graph.settings.GRAPH_API_VERSION}/{GOOD_PIXEL}/events"
    assert request.query == {}
    assert GOOD_TOKEN not in request.url
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.body["access_token"] == GOOD_TOKEN
    assert request.body["test_event_code"] == "TEST123"
    assert all("test_event_code" not in event for event in request.events)
    assert "Authorization" not in request.headers


def test_version_is_overridable_and_normalized(graph_api):
    with fast_client(version="24") as client:
        client.send_events(GOOD_PIXEL, [valid_event()])
    assert graph_api.requests[0].path == f"/v24.0/{GOOD_PIXEL}/events"
    with pytest.raises(ValueError):
        GraphClient(GOOD_TOKEN, version="latest")


def test_bad_token_is_rejected_with_an_actionable_message_and_is_never_echoed(graph_api):
    graph_api.echo_token_in_errors = True  # a server that repeats the token must not leak it through us
    bad_token = "EAABnotTheRightToken0123456789zzz"
    with fast_client(bad_token) as client, pytest.raises(GraphRejectedError) as caught:
        client.send_events(GOOD_PIXEL, [valid_event()])
    error = caught.value
    assert error.exit_code == ExitCode.REJECTED
    assert "access token is invalid or expired" in error.message
    assert "Events Manager > your pixel > Settings" in error.message
    assert error.error.code == 190 and error.error.http_status == 401
    assert len(graph_api.requests) == 1  # 190 is permanent: no retry
    for text in (str(error), repr(error), error.message, json.dumps(error.error.to_dict()), repr(client)):
        assert bad_token not in text
    assert "(redacted)" in (error.error.user_msg or "")


def test_unknown_pixel_is_explained_by_code_and_subcode(graph_api):
    with fast_client() as client, pytest.raises(GraphRejectedError) as caught:
        client.send_events("999", [valid_event()])
    assert caught.value.error.code == 100 and caught.value.error.subcode == 33
    assert "pixel id 999 not found or the token has no access to it" in caught.value.message


@pytest.mark.parametrize("event, subcode, words", [
    (valid_event(event_time=int(time.time()) - 8 * 24 * 3600), 2804003, "more than 7 days old"),
    (valid_event(user_data={"em": "jane@example.com", "client_user_agent": "UA"}), 2804016, "unhashed"),
    (valid_event(user_data={"ge": ["f" * 64], "ct": ["c" * 64]}), 2804050, "too little customer information"),
    (valid_event(user_data={"em": ["a" * 64], "fbc": "not-a-click-id"}), 2804001, "fbc (click ID) is badly formatted"),
])
def test_one_invalid_event_rejects_the_whole_batch_with_its_meaning(graph_api, event, subcode, words):
    with fast_client() as client, pytest.raises(GraphRejectedError) as caught:
        client.send_events(GOOD_PIXEL, [valid_event(), event])
    assert caught.value.error.subcode == subcode
    assert words in caught.value.message
    assert f"100/{subcode}" in caught.value.message
    assert len(graph_api.requests) == 1


def test_classification_ignores_localized_text():
    french = graph.GraphError(400, code=100, subcode=2804003, user_title="Horodatage trop ancien",
                              server_message="Paramètre non valide")
    assert "more than 7 days old" in graph.explain(french)
    throttled = graph.GraphError(400, code=17, subcode=2446079, server_message="anything")
    assert throttled.transient and "throttling" in graph.explain(throttled)
    assert not graph.GraphError(400, code=100, subcode=33).transient
    assert graph.GraphError(503).transient and graph.GraphError(429).transient
    assert not graph.GraphError(404).transient


def test_more_than_1000_events_are_refused_before_sending(graph_api):
    with fast_client() as client, pytest.raises(ValueError):
        client.send_events(GOOD_PIXEL, [valid_event()] * 1001)
    assert graph_api.requests == []


def test_fake_rejects_more_than_1000_events_like_meta(graph_api):
    import urllib.error
    import urllib.request

    body = json.dumps({"data": [valid_event()] * 1001, "access_token": GOOD_TOKEN}).encode()
    request = urllib.request.Request(f"{graph_api.url}/v25.0/{GOOD_PIXEL}/events", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400 and json.loads(caught.value.read())["error"]["code"] == 100


@pytest.mark.parametrize("kind", ["http503", "http429", "code2"])
def test_transient_failures_are_retried_then_succeed(graph_api, kind):
    graph_api.fail_transient(2, kind=kind)
    with fast_client() as client:
        result = client.send_events(GOOD_PIXEL, [valid_event()])
    assert result.events_received == 1
    assert result.attempts == 3
    assert len(graph_api.requests) == 3
    assert all(r.body["data"] == graph_api.requests[0].body["data"] for r in graph_api.requests)


def test_retry_after_is_honoured(graph_api):
    graph_api.fail_transient(1, kind="http429", retry_after="0.3")
    with fast_client(backoff_base=0.0) as client:
        client.send_events(GOOD_PIXEL, [valid_event()])
    first, second = graph_api.request_times
    assert second - first >= 0.3


def test_backoff_grows_with_jitter_and_is_capped():
    client = GraphClient(GOOD_TOKEN, backoff_base=1.0, backoff_cap=4.0)
    waits = [[client._backoff(attempt) for attempt in (1, 2, 3, 4, 5)] for _ in range(50)]
    for first, second, third, fourth, fifth in waits:
        assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0
        assert 2.0 <= fourth <= 4.0 and 2.0 <= fifth <= 4.0  # capped
    assert len({round(w[0], 6) for w in waits}) > 1  # jittered


def test_transient_failures_that_never_end_give_unreachable(graph_api):
    graph_api.fail_transient(10, kind="code2")
    sleeps: list[float] = []
    with fast_client(max_attempts=3, sleep=sleeps.append) as client, pytest.raises(GraphUnreachableError) as caught:
        client.send_events(GOOD_PIXEL, [valid_event()])
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert "gave up after 3 attempts" in caught.value.message
    assert len(graph_api.requests) == 3 and len(sleeps) == 2


def test_a_retry_after_too_long_is_reported_not_slept(graph_api):
    graph_api.fail_transient(1, kind="http429", retry_after="3600")
    sleeps: list[float] = []
    with fast_client(sleep=sleeps.append) as client, pytest.raises(GraphUnreachableError) as caught:
        client.send_events(GOOD_PIXEL, [valid_event()])
    assert "wait 3600 s" in caught.value.message and sleeps == []


def test_closed_port_is_unreachable_after_retries(closed_port_url):
    sleeps: list[float] = []
    with fast_client(sleep=sleeps.append) as client, pytest.raises(GraphUnreachableError) as caught:
        client.send_events(GOOD_PIXEL, [valid_event()])
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert "could not reach the Graph API" in caught.value.message
    assert len(sleeps) == graph.DEFAULT_MAX_ATTEMPTS - 1
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert GOOD_TOKEN not in str(caught.value) and GOOD_TOKEN not in repr(caught.value)


def test_retry_after_parsing():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_masking_never_shows_more_than_a_public_prefix():
    assert mask_token(GOOD_TOKEN) == "EAAB…(redacted)"
    assert mask_token("short") == "…(redacted)"
    assert redact(f"token={GOOD_TOKEN}&x", [GOOD_TOKEN]) == "token=(redacted)&x"
    assert GOOD_TOKEN not in repr(GraphClient(GOOD_TOKEN))
