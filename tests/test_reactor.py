"""The Reactor client and the IMS token, against the local fake (tests/fakes/reactor.py)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from quickstart.adobe import ims
from quickstart.adobe.reactor import ReactorClient, ReactorError, RetryPolicy, ref
from quickstart.errors import ExitCode, InputError, RemoteError, UnreachableError
from tests.fakes.reactor import CLIENT_SECRET, ORG_ID, FakeAdobe

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)


def make_client(fake: FakeAdobe, *, retry: RetryPolicy = FAST, clock=time.monotonic) -> ReactorClient:
    credentials = ims.credentials_from_env(fake.env())
    session = requests.Session()
    tokens = ims.TokenProvider(credentials, session, ims_url=fake.url, clock=clock)
    return ReactorClient(tokens, base_url=fake.url, session=session, retry=retry)


def new_property(client: ReactorClient, fake: FakeAdobe, name: str = "p", platform: str = "web") -> dict:
    attributes = {"name": name, "platform": platform}
    if platform == "web":
        attributes["domains"] = ["example.com"]
    return client.create(f"/companies/{fake.company_id}/properties", "properties", attributes)


def core_extension(client: ReactorClient, property_id: str) -> dict:
    return next(e for e in client.list(f"/properties/{property_id}/extensions") if e["attributes"]["name"] == "core")


def test_missing_credentials_name_every_missing_variable():
    with pytest.raises(InputError) as caught:
        ims.credentials_from_env({"ADOBE_ORG_ID": ORG_ID})
    assert "ADOBE_CLIENT_ID" in caught.value.message and "ADOBE_CLIENT_SECRET" in caught.value.message
    assert "ADOBE_ORG_ID" not in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_token_is_cached_and_renewed_before_expiry(fake_adobe):
    now = [1000.0]
    client = make_client(fake_adobe, clock=lambda: now[0])
    for _ in range(3):
        client.list("/companies")
    assert fake_adobe.tokens_issued == 1
    now[0] += 86399 - ims.RENEW_MARGIN_SECONDS + 1  # inside the renewal margin, before IMS's expiry
    client.list("/companies")
    assert fake_adobe.tokens_issued == 2


def test_a_revoked_token_is_replaced_once(fake_adobe):
    client = make_client(fake_adobe)
    client.list("/companies")
    fake_adobe.tokens.clear()  # IMS forgot every token: the next call gets 401
    assert client.list("/companies")
    assert fake_adobe.tokens_issued == 2


def test_bad_client_secret_is_a_remote_error_without_the_secret(fake_adobe):
    env = fake_adobe.env()
    env["ADOBE_CLIENT_SECRET"] = "wrong-secret-value"
    tokens = ims.TokenProvider(ims.credentials_from_env(env), requests.Session(), ims_url=fake_adobe.url)
    with pytest.raises(RemoteError) as caught:
        tokens.token()
    assert "invalid_client" in caught.value.message or "invalid client" in caught.value.message
    assert "wrong-secret-value" not in caught.value.message
    # The secret went in the form body, never in the URL.
    assert all("secret" not in json.dumps(call.query) for call in fake_adobe.calls)


def test_settings_go_out_as_json_strings_and_come_back_as_objects(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    core = core_extension(client, prop["id"])
    created = client.create(f"/properties/{prop['id']}/data_elements", "data_elements",
                            {"name": "Path", "delegate_descriptor_id": "core::dataElements::javascript-variable",
                             "settings": {"path": "window.x"}},
                            {"extension": {"data": {"id": core["id"], "type": "extensions"}}})
    assert created["attributes"]["settings"] == {"path": "window.x"}
    sent = json.loads(fake_adobe.calls[-1].body)
    assert sent["data"]["attributes"]["settings"] == '{"path":"window.x"}'
    assert fake_adobe.resources[created["id"]]["attributes"]["settings"] == '{"path":"window.x"}'


def test_lists_follow_every_page(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    for number in range(130):
        client.create(f"/properties/{prop['id']}/rules", "rules", {"name": f"rule {number:03}"})
    fake_adobe.reset_calls()
    rules = client.list(f"/properties/{prop['id']}/rules")
    assert sorted(r["attributes"]["name"] for r in rules) == [f"rule {n:03}" for n in range(130)]
    pages = [call.query.get("page[number]") for call in fake_adobe.calls]
    assert pages == [["1"], ["2"]]


def test_names_are_matched_exactly_even_when_the_filter_is_dropped(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    for name in ("a,b", "a", "b", "a,b copy"):
        client.create(f"/properties/{prop['id']}/rules", "rules", {"name": name})
    assert [r["attributes"]["name"] for r in client.list_named(f"/properties/{prop['id']}/rules", "a,b")] == ["a,b"]
    assert [r["attributes"]["name"] for r in client.list_named(f"/properties/{prop['id']}/rules", "a")] == ["a"]


def test_schema_rejection_on_the_server_shows_detail_and_pointer(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    core = core_extension(client, prop["id"])
    with pytest.raises(ReactorError) as caught:
        client.create(f"/properties/{prop['id']}/data_elements", "data_elements",
                      {"name": "Bad", "delegate_descriptor_id": "core::dataElements::custom-code",
                       "settings": {"source": "return 1;", "language": "javascript"}},
                      {"extension": {"data": {"id": core["id"], "type": "extensions"}}})
    message = caught.value.message
    assert caught.value.status == 409
    assert "language" in message and "(at /data/attributes/settings)" in message
    assert "invalid-settings" in caught.value.codes


def test_duplicate_names_are_refused_with_not_unique(fake_adobe):
    client = make_client(fake_adobe)
    new_property(client, fake_adobe, "same")
    with pytest.raises(ReactorError) as caught:
        new_property(client, fake_adobe, "same")
    assert caught.value.codes == ["not-unique"]
    assert "(at /data/attributes/name)" in caught.value.message


def test_429_and_503_are_retried_even_for_posts(fake_adobe):
    client = make_client(fake_adobe)
    fake_adobe.fail_next(429, retry_after="1", method="POST", path_contains="/properties")
    fake_adobe.fail_next(503, method="POST", path_contains="/properties")
    started = time.monotonic()
    prop = new_property(client, fake_adobe)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    posts = [c for c in fake_adobe.calls if c.method == "POST" and c.path.endswith("/properties")]
    assert len(posts) == 3 and fake_adobe.property_named("p")["id"] == prop["id"]
    assert client.stats.retries == 2


def test_500_is_retried_for_reads_but_never_for_writes(fake_adobe):
    client = make_client(fake_adobe)
    fake_adobe.fail_next(500, count=2, method="GET")
    assert client.list("/companies")
    fake_adobe.fail_next(500, method="POST", path_contains="/properties")
    with pytest.raises(UnreachableError) as caught:
        new_property(client, fake_adobe)
    assert "rerun" in caught.value.message
    assert len([c for c in fake_adobe.calls if c.method == "POST" and c.path.endswith("/properties")]) == 1


def test_an_unreachable_server_is_exit_4(fake_adobe):
    client = make_client(fake_adobe)
    client.list("/companies")
    fake_adobe.stop()
    with pytest.raises(UnreachableError) as caught:
        client.list("/companies")
    assert caught.value.exit_code == ExitCode.UNREACHABLE


def test_values_to_redact_never_reach_an_error_message(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe, platform="edge")
    env = client.list(f"/properties/{prop['id']}/environments")
    assert env == []
    client.redact("EAAB-very-secret")
    with pytest.raises(ReactorError) as caught:  # no environment: the server echoes what it got
        client.create(f"/properties/{prop['id']}/secrets", "secrets",
                      {"name": "EAAB-very-secret", "type_of": "token", "credentials": {"token": "EAAB-very-secret"}})
    assert "EAAB-very-secret" not in caught.value.message
    assert CLIENT_SECRET not in caught.value.message


def test_one_library_per_environment_and_builds_need_every_extension(fake_adobe):
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    core = core_extension(client, prop["id"])
    host = client.create(f"/properties/{prop['id']}/hosts", "hosts", {"name": "Managed by Adobe", "type_of": "akamai"})
    env = client.create(f"/properties/{prop['id']}/environments", "environments", {"name": "Dev", "stage": "development"},
                        {"host": {"data": {"id": host["id"], "type": "hosts"}}})
    element = client.create(f"/properties/{prop['id']}/data_elements", "data_elements",
                            {"name": "X", "delegate_descriptor_id": "core::dataElements::constant", "settings": {"value": "x"}},
                            {"extension": {"data": {"id": core["id"], "type": "extensions"}}})
    revision = client.revise("data_elements", element["id"])
    assert revision["id"] != element["id"] and revision["attributes"]["revision_number"] == 1
    on_env = {"environment": {"data": {"id": env["id"], "type": "environments"}}}
    library = client.create(f"/properties/{prop['id']}/libraries", "libraries", {"name": "L"},
                            {**on_env, "data_elements": {"data": [{"id": revision["id"], "type": "data_elements"}]}})
    with pytest.raises(ReactorError) as caught:
        client.create(f"/properties/{prop['id']}/libraries", "libraries", {"name": "L2"}, on_env)
    assert caught.value.codes == ["environment-in-use"]
    build = client.post(f"/libraries/{library['id']}/builds")
    assert build["attributes"]["status"] == "pending"
    done = client.get(f"/builds/{build['id']}")
    assert done["attributes"]["status"] == "failed"  # Core is not in the library
    assert "extension-not-found" in str(done["meta"]["status_details"])


def test_a_command_stops_at_its_overall_deadline(fake_adobe):
    """However each call fares, a command's Reactor calls stop at the command's deadline (exit 4)."""
    client = make_client(fake_adobe, retry=RetryPolicy(base_delay=0.01, max_delay=0.05, command_deadline=0.2))
    client.list("/companies")
    time.sleep(0.3)
    calls = len(fake_adobe.calls)
    with pytest.raises(UnreachableError) as caught:
        client.list("/companies")
    assert caught.value.exit_code == ExitCode.UNREACHABLE and "rerun later" in caught.value.message
    assert len(fake_adobe.calls) == calls  # nothing more was sent


def test_search_pages_through_every_match_and_counts_as_a_read(fake_adobe):
    client = make_client(fake_adobe)
    prop = client.create(f"/companies/{fake_adobe.company_id}/properties", "properties",
                         {"name": "Search me", "platform": "web", "domains": ["example.com"]})
    core = client.list(f"/properties/{prop['id']}/extensions")[0]
    rule = client.create(f"/properties/{prop['id']}/rules", "rules", {"name": "R"})
    for i in range(130):
        client.create(f"/properties/{prop['id']}/rule_components", "rule_components",
                      {"name": f"c{i}", "delegate_descriptor_id": "core::events::library-loaded", "settings": {}},
                      {"extension": {"data": ref("extensions", core["id"])}, "rules": {"data": [ref("rules", rule["id"])]}})
    mutating = client.stats.mutating
    found = client.search({"relationships.property.data.id": {"value": prop["id"]},
                           "attributes.revision_number": {"value": 0}}, ["rule_components"])
    assert sorted(c["attributes"]["name"] for c in found) == sorted(f"c{i}" for i in range(130))
    assert [c.path for c in fake_adobe.calls].count("/search") == 2  # 100 + 30
    assert client.stats.mutating == mutating  # a search changes nothing
    assert client.search({"relationships.rules.data.id": {"value": "RLnope"}}, ["rule_components"]) == []


def test_library_states_move_only_as_adobe_documents(fake_adobe):
    """develop/submit/approve/reject: wrong ones are 409s; each state takes only its stage's environment."""
    client = make_client(fake_adobe)
    prop = new_property(client, fake_adobe)
    core = core_extension(client, prop["id"])
    host = client.create(f"/properties/{prop['id']}/hosts", "hosts", {"name": "Managed by Adobe", "type_of": "akamai"})
    envs = {stage: client.create(f"/properties/{prop['id']}/environments", "environments",
                                 {"name": stage.title(), "stage": stage}, {"host": {"data": ref("hosts", host["id"])}})
            for stage in ("development", "staging", "production")}
    revision = client.revise("extensions", core["id"])
    library = client.create(f"/properties/{prop['id']}/libraries", "libraries", {"name": "L"},
                            {"environment": {"data": ref("environments", envs["development"]["id"])},
                             "extensions": {"data": [ref("extensions", revision["id"])]}})

    def refused(call) -> list[str]:
        with pytest.raises(ReactorError) as caught:
            call()
        assert caught.value.status == 409
        return caught.value.codes

    assert refused(lambda: client.update("libraries", library["id"], meta={"action": "approve"})) == ["invalid-transition"]
    assert refused(lambda: client.update("libraries", library["id"], meta={"action": "submit"})) == ["build-required"]
    build = client.post(f"/libraries/{library['id']}/builds")
    assert client.get(f"/builds/{build['id']}")["attributes"]["status"] == "succeeded"
    submitted = client.update("libraries", library["id"], meta={"action": "submit"})
    assert submitted["attributes"]["state"] == "submitted" and submitted["relationships"]["environment"]["data"] is None
    path = f"/libraries/{library['id']}/relationships/environment"
    assert refused(lambda: client.set_relationship(path, ref("environments", envs["production"]["id"]))) == ["invalid-environment"]
    client.set_relationship(path, ref("environments", envs["staging"]["id"]))
    assert refused(lambda: client.set_relationship(f"/libraries/{library['id']}/relationships/extensions", [],
                                                   method="PATCH")) == ["read-only"]
    assert refused(lambda: client.update("libraries", library["id"], meta={"action": "approve"})) == ["build-required"]
    def build_it() -> None:
        started = client.post(f"/libraries/{library['id']}/builds")
        assert client.get(f"/builds/{started['id']}")["attributes"]["status"] == "succeeded"

    build_it()
    client.update("libraries", library["id"], meta={"action": "approve"})
    client.set_relationship(path, ref("environments", envs["production"]["id"]))
    build_it()
    assert client.get(f"/libraries/{library['id']}")["attributes"]["state"] == "published"
    assert refused(lambda: client.update("libraries", library["id"], meta={"action": "reject"})) == ["invalid-transition"]
