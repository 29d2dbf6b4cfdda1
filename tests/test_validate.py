"""`quickstart validate`: static checks, test events and the report, against the fake Graph API.

Folders come from the real generator (`quickstart init` through CliRunner); the CLI runs through
`quickstart.cli.main`, so exit codes are the ones a shell sees.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from quickstart import catalog, validate
from quickstart.cli import main
from quickstart.errors import ExitCode
from tests.fakes.graph_api import GOOD_PIXEL, GOOD_TOKEN

ALL_EVENTS = len(catalog.EVENTS)
CLEAN_ENV = {"META_CAPI_ACCESS_TOKEN": None, "META_TEST_EVENT_CODE": None, "META_PIXEL_ID": None}


class _Entry:
    """Lets CliRunner drive `main`, which maps errors to exit codes as the installed script does."""

    name = "quickstart"

    def main(self, args, prog_name=None, **extra):
        main(list(args))


def invoke(args: list[str], *, token: str | None = GOOD_TOKEN, env: dict | None = None):
    environment = dict(CLEAN_ENV)
    if token is not None:
        environment["META_CAPI_ACCESS_TOKEN"] = token
    environment.update(env or {})
    return CliRunner().invoke(_Entry(), [str(a) for a in args], env=environment)


@pytest.fixture(scope="session")
def generated_folders(tmp_path_factory):
    """A cache of folders written by `quickstart init`, one per set of answers."""
    cache: dict[tuple, Path] = {}

    def generate(*flags: str) -> Path:
        if flags not in cache:
            target = tmp_path_factory.mktemp("generated") / "example.com"
            result = invoke(["init", "example.com", *flags, "--yes", "-o", target], token=None)
            assert result.exit_code == 0, result.output
            cache[flags] = target
        return cache[flags]

    return generate


@pytest.fixture
def make_folder(generated_folders, tmp_path):
    """A fresh copy of a generated folder the test may break."""

    def make(pixel_id: str = GOOD_PIXEL, test_event_code: str | None = "TEST123", *extra: str) -> Path:
        flags = ["--pixel-id", pixel_id, *extra]
        if test_event_code:
            flags += ["--test-event-code", test_event_code]
        target = tmp_path / f"site{len(list(tmp_path.iterdir()))}"
        shutil.copytree(generated_folders(*flags), target)
        return target

    return make


def load_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text())


def save_yaml(path: Path, data: dict) -> None:
    from ruamel.yaml import YAML

    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(data, handle)


def rule(document: dict, name: str) -> dict:
    return next(r for r in document["rules"] if r["name"] == name)


def add_path_element(document: dict, name: str, path: str) -> None:
    """A hand-made Core edge path data element."""
    document["data_elements"].append({"name": name, "extension": "core", "delegate_descriptor_id": "core::dataElements::path",
                                      "settings": {"path": path}})


def component(rule_doc: dict, descriptor: str) -> dict:
    return next(c for c in rule_doc["components"] if c["delegate_descriptor_id"] == descriptor)


def assert_no_token_anywhere(result, fake=None, token: str = GOOD_TOKEN) -> None:
    assert token not in result.stdout
    assert token not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert token not in str(result.exception) and token not in repr(result.exception)
    for request in (fake.requests if fake else []):
        assert token not in request.url
        assert all(token not in value for value in request.headers.values())


# ---------------------------------------------------------------------------------------------
# Sending


def test_every_event_is_accepted_in_one_request(graph_api, make_folder):
    folder = make_folder()
    result = invoke(["validate", folder])
    assert result.exit_code == 0, result.output
    (request,) = graph_api.requests
    assert request.path == f"/v22.0/{GOOD_PIXEL}/events"  # the CAPI extension's version
    assert request.body["test_event_code"] == "TEST123"
    assert request.body["partner_agent"] == "adobe_launch"
    assert request.body["access_token"] == GOOD_TOKEN
    events = request.events
    assert [e["event_name"] for e in events] == list(catalog.EVENT_NAMES)
    assert len({e["event_id"] for e in events}) == ALL_EVENTS
    for event in events:
        assert event["action_source"] == "website"
        assert event["event_source_url"].startswith("https://example.com/")
        user_data = event["user_data"]
        assert user_data["client_user_agent"] and user_data["fbp"].startswith("fb.1.")
        assert len(user_data["em"]) == 64 and user_data["em"] != catalog.USER_SAMPLES["email"]
        assert "test_event_code" not in event
        assert event["data_processing_options"] == []  # the extension always sends it
        expected_custom = catalog.get(event["event_name"]).sample_custom_data()
        assert event.get("custom_data", {}) == expected_custom
    purchase = next(e for e in events if e["event_name"] == "Purchase")
    assert purchase["custom_data"]["currency"] == "USD" and purchase["custom_data"]["value"] == 42.5
    assert f"events_received: {ALL_EVENTS} of {ALL_EVENTS}" in result.stdout
    assert "fbtrace_id: A" in result.stdout
    assert "Event Match Quality (local estimate)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.strip().split(" ")[0] in catalog.EVENT_NAMES]
    assert len(rows) == ALL_EVENTS and all("yes   yes" in row and "yes/yes" in row for row in rows)
    assert_no_token_anywhere(result, graph_api)


def test_json_report_has_every_event_and_metas_answer(graph_api, make_folder):
    result = invoke(["validate", make_folder(), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["mode"] == "send"
    assert report["events_received"] == ALL_EVENTS
    assert len(report["fbtrace_ids"]) == 1 and report["messages"] == []
    sent_ids = [e["event_id"] for e in graph_api.requests[0].events]
    assert [e["event_id"] for e in report["events"]] == sent_ids
    for event in report["events"]:
        assert event["sent"] and event["accepted"]
        assert event["dedup"] == {"pixel_event_id": True, "capi_event_id": True, "names_match": True, "ok": True}
    assert report["match_quality"]["rating"] in ("good", "great")
    assert report["match_quality"]["add"] == []  # the generated rule maps every match key
    assert "client_ip_address" in report["match_quality"]["filled_by_real_visits"]
    assert_no_token_anywhere(result, graph_api)


def test_match_quality_names_what_the_rule_does_not_map(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    action = component(rule(document, "MetaConversion_Lead"), "facebook_conversions_api_extension::actions::send_capi_data")
    for key in ("email", "phone", "externalId"):
        del action["settings"][key]
    save_yaml(path, document)
    result = invoke(["validate", folder, "--json"])
    assert result.exit_code == 0, result.output
    quality = json.loads(result.stdout)["match_quality"]
    assert quality["add"][:3] == ["em", "ph", "external_id"]
    assert "em" not in graph_api.requests[0].events[0]["user_data"]


def test_graph_version_flag_changes_the_url(graph_api, make_folder):
    result = invoke(["validate", make_folder(), "--graph-version", "v24.0"])
    assert result.exit_code == 0, result.output
    assert graph_api.requests[0].path == f"/v24.0/{GOOD_PIXEL}/events"
    bad = invoke(["validate", make_folder(), "--graph-version", "newest"])
    assert bad.exit_code == ExitCode.USAGE and "v25.0" in bad.stderr


def test_bad_token_is_rejected_with_the_fix_and_exit_3(graph_api, make_folder):
    graph_api.echo_token_in_errors = True
    wrong = "EAABwrongToken9876543210abcdefghij"
    result = invoke(["validate", make_folder()], token=wrong)
    assert result.exit_code == ExitCode.REJECTED
    assert "the access token is invalid or expired" in result.stdout
    assert "Events Manager > your pixel > Settings" in result.stdout
    assert "REJECTED" in result.stdout and "FAILED" in result.stdout
    assert len(graph_api.requests) == 1
    assert_no_token_anywhere(result, graph_api, token=wrong)


def test_unknown_pixel_is_rejected_with_the_fix(graph_api, make_folder):
    result = invoke(["validate", make_folder(pixel_id="999"), "--json"])
    assert result.exit_code == ExitCode.REJECTED
    report = json.loads(result.stdout)
    (request,) = report["requests"]
    assert request["accepted"] is False and (request["error_code"], request["error_subcode"]) == (100, 33)
    assert "pixel id 999 not found or the token has no access to it" in request["error"]
    assert all(e["sent"] and e["accepted"] is False for e in report["events"])


def test_transient_failure_is_retried_then_accepted(graph_api, make_folder):
    graph_api.fail_transient(1, kind="http503", retry_after="0")
    graph_api.fail_transient(1, kind="code2", retry_after="0.05")
    result = invoke(["validate", make_folder()])
    assert result.exit_code == 0, result.output
    assert len(graph_api.requests) == 3
    assert "(after 3 attempts)" in result.stdout
    assert graph_api.request_times[2] - graph_api.request_times[1] >= 0.05


def test_unreachable_graph_exits_4(closed_port_url, make_folder, monkeypatch):
    from quickstart.meta import graph

    from quickstart.http import RetryPolicy

    monkeypatch.setattr(graph, "DEFAULT_RETRY", RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002))
    result = invoke(["validate", make_folder()])
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "could not reach the Graph API" in result.stderr
    assert_no_token_anywhere(result)


def test_unreachable_in_the_core_raises_without_the_token(closed_port_url, make_folder):
    from quickstart.meta.graph import GraphUnreachableError

    with pytest.raises(GraphUnreachableError) as caught:
        validate.run(make_folder(), token=GOOD_TOKEN, client_options={"backoff_base": 0.001})
    assert GOOD_TOKEN not in str(caught.value) and GOOD_TOKEN not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_dry_run_prints_the_exact_request_with_the_token_masked_and_sends_nothing(graph_api, make_folder):
    result = invoke(["validate", make_folder(), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert graph_api.requests == []
    report = json.loads(result.stdout)
    (request,) = report["dry_run_requests"]
    assert request["url"] == f"{graph_api.url}/v22.0/{GOOD_PIXEL}/events"
    assert request["json"]["access_token"] == "EAAB…(redacted)"
    assert list(request["json"]) == ["test_event_code", "data", "partner_agent", "access_token"]
    assert request["json"]["test_event_code"] == "TEST123"
    assert len(request["json"]["data"]) == ALL_EVENTS
    assert all(not e["sent"] and e["accepted"] is None for e in report["events"])
    text = invoke(["validate", make_folder(), "--dry-run"])
    assert text.exit_code == 0 and "dry run: nothing sent" in text.stdout and '"event_name": "Purchase"' in text.stdout
    assert graph_api.requests == []
    assert_no_token_anywhere(result)
    assert_no_token_anywhere(text)


def test_no_test_event_code_is_refused_unless_allow_live(graph_api, make_folder):
    folder = make_folder(test_event_code=None)
    refused = invoke(["validate", folder])
    assert refused.exit_code == ExitCode.USAGE
    assert "Meta does not sandbox test events" in refused.stderr and "--allow-live" in refused.stderr
    assert graph_api.requests == []
    live = invoke(["validate", folder, "--allow-live"])
    assert live.exit_code == 0, live.output
    assert "test_event_code" not in graph_api.requests[0].body
    assert "NO test event code (live events)" in live.stdout


def test_test_event_code_may_come_from_the_environment(graph_api, make_folder):
    result = invoke(["validate", make_folder(test_event_code=None)], env={"META_TEST_EVENT_CODE": "TEST999"})
    assert result.exit_code == 0, result.output
    assert graph_api.requests[0].body["test_event_code"] == "TEST999"


def test_token_is_read_from_the_folders_env_file(graph_api, make_folder):
    folder = make_folder()
    (folder / ".env").write_text(f"META_CAPI_ACCESS_TOKEN={GOOD_TOKEN}\n")
    result = invoke(["validate", folder], token=None)
    assert result.exit_code == 0, result.output
    assert graph_api.requests[0].body["access_token"] == GOOD_TOKEN


def test_missing_token_without_a_terminal_says_where_to_put_it(graph_api, make_folder):
    result = invoke(["validate", make_folder()], token=None)
    assert result.exit_code == ExitCode.USAGE
    assert "META_CAPI_ACCESS_TOKEN" in result.stderr and ".env" in result.stderr
    assert graph_api.requests == []


def test_static_only_needs_no_token_and_no_network(graph_api, make_folder):
    result = invoke(["validate", make_folder(), "--static-only"], token=None)
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout and graph_api.requests == []
    report = json.loads(invoke(["validate", make_folder(), "--static-only", "--json"], token=None).stdout)
    assert report["ok"] and set(report["dedup"]) == set(catalog.EVENT_NAMES)
    assert all(status["ok"] for status in report["dedup"].values())


def test_init_validate_passes_the_token_through(graph_api, tmp_path):
    target = tmp_path / "site"
    result = invoke(["init", "example.com", "--pixel-id", GOOD_PIXEL, "--test-event-code", "TEST123",
                     "--events", "PageView,Purchase", "--yes", "-o", target, "--validate"])
    assert result.exit_code == 0, result.output
    (request,) = graph_api.requests
    assert [e["event_name"] for e in request.events] == ["PageView", "Purchase"]
    assert "events_received: 2 of 2" in result.stdout
    assert_no_token_anywhere(result, graph_api)


def test_more_than_1000_events_are_split_across_requests(graph_api, make_folder):
    static = validate.check_folder(make_folder())
    base, findings = validate.build_test_events(static.folder)
    assert findings == []
    many = []
    for index in range(2100):
        template = base[index % len(base)]
        payload = copy.deepcopy(template.payload)
        payload["event_id"] = f"evt-{index}"
        many.append(validate.TestEvent(template.name, template.rule, payload["event_id"], payload))
    results = validate.send_test_events(many, pixel_id=GOOD_PIXEL, token=GOOD_TOKEN, test_event_code="TEST123")
    assert [len(r.events) for r in graph_api.requests] == [1000, 1000, 100]
    assert [r.events_received for r in results] == [1000, 1000, 100]
    assert all(e.sent and e.accepted for e in many)


# ---------------------------------------------------------------------------------------------
# Static checks: each finding names the file and the rule, exits 3, sends nothing


def run_broken(folder: Path, graph_api) -> tuple[object, dict]:
    result = invoke(["validate", folder, "--json"])
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert graph_api.requests == []
    return result, json.loads(result.stdout)


def errors_of(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["severity"] == "error"]


def test_missing_purchase_edge_rule_is_named(graph_api, make_folder):
    folder = make_folder()
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    document["rules"] = [r for r in document["rules"] if r["name"] != "MetaConversion_Purchase"]
    save_yaml(path, document)
    result, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert finding["file"] == "event-forwarding.yaml" and finding["rule"] == "MetaConversion_Purchase"
    assert "rule is missing" in finding["message"]
    text = invoke(["validate", folder])
    assert text.exit_code == ExitCode.REJECTED
    assert "event-forwarding.yaml: rule MetaConversion_Purchase: rule is missing" in text.stdout
    assert "FAILED" in text.stdout


def test_broken_pixel_event_id_mapping_breaks_deduplication(graph_api, make_folder):
    folder = make_folder()
    path = folder / "tags.yaml"
    document = load_yaml(path)
    pixel = component(rule(document, "MetaConversion_Lead"), catalog.get("Lead").pixel_descriptor)
    pixel["settings"]["event_id"] = "%MetaConversion_DataLayer%"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert (finding["file"], finding["rule"]) == ("tags.yaml", "MetaConversion_Lead")
    assert "conversionData.eventId" in finding["message"] and "deduplicate" in finding["message"]


def test_broken_edge_event_id_element_is_found_in_every_rule(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "PageView,Purchase")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    element = next(d for d in document["data_elements"] if d["name"] == "MetaConversion_EventId")
    element["settings"]["path"] = "arc.event.xdm._id"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    rules = {(f["file"], f["rule"]) for f in errors_of(report) if "eventId" in f["message"]}
    assert rules == {("event-forwarding.yaml", "MetaConversion_PageView"), ("event-forwarding.yaml", "MetaConversion_Purchase")}


def test_an_event_id_action_that_is_not_awaited_is_an_error(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Purchase")
    path = folder / "tags.yaml"
    document = load_yaml(path)
    generate = component(rule(document, "MetaConversion_Purchase"), "core::actions::custom-code")
    generate["delay_next"] = False
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert (finding["file"], finding["rule"]) == ("tags.yaml", "MetaConversion_Purchase")
    assert "delay_next" in finding["message"] and report["dedup"]["Purchase"]["ok"] is False


def test_a_missing_setup_rule_is_an_error(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "tags.yaml"
    document = load_yaml(path)
    document["rules"] = [r for r in document["rules"] if r["name"] != "MetaConversion_Setup"]
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert finding["rule"] == "MetaConversion_Setup" and "runtime" in finding["message"]


def test_what_the_extension_would_mangle_is_found(graph_api, make_folder):
    """Hand edits the real CAPI extension would turn into unmatchable hashes, nulls or test events."""
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Purchase")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    for name, element_path in (("MetaConversion_City", "arc.event.data.user.city"),
                               ("MetaConversion_Value", "arc.event.data.value"),
                               ("MetaConversion_Currency", "arc.event.data.currency")):
        add_path_element(document, name, element_path)
    action = component(rule(document, "MetaConversion_Purchase"), "facebook_conversions_api_extension::actions::send_capi_data")
    action["settings"]["customData"] = {"value": "{{MetaConversion_Value}}", "currency": "{{MetaConversion_Currency}}"}
    action["settings"]["city"] = "Menlo Park"  # the extension would hash "menlo park"
    action["settings"]["testEventCode"] = "TEST123"  # compiled into every build
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    messages = " | ".join(f["message"] for f in errors_of(report) if f["rule"] == "MetaConversion_Purchase")
    assert "customer information ct is not the browser's Meta-normalised digest" in messages
    assert "value 0 would reach Meta as null" in messages
    assert "a staging build would send test_event_code 'TEST123'" in messages


def test_a_list_in_a_customer_field_would_lose_the_event(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    add_path_element(document, "MetaConversion_Ids", "arc.event.data.conversionData")
    action = component(rule(document, "MetaConversion_Lead"), "facebook_conversions_api_extension::actions::send_capi_data")
    action["settings"]["externalId"] = "{{MetaConversion_Ids}}"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert "would throw" in finding["message"] and "never reach Meta" in finding["message"]


def test_purchase_must_map_currency_and_value(graph_api, make_folder):
    folder = make_folder()
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    action = component(rule(document, "MetaConversion_Purchase"), "facebook_conversions_api_extension::actions::send_capi_data")
    del action["settings"]["customData"]
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    findings = [(f["file"], f["rule"], f["message"]) for f in errors_of(report)]
    assert {(file, rule_name) for file, rule_name, _ in findings} == {("event-forwarding.yaml", "MetaConversion_Purchase")}
    assert any("no customData" in message for _, _, message in findings)


def test_event_names_must_match_on_both_sides(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "AddToCart,Purchase")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    action = component(rule(document, "MetaConversion_AddToCart"), "facebook_conversions_api_extension::actions::send_capi_data")
    action["settings"]["eventName"] = "AddToWishlist"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert (finding["file"], finding["rule"]) == ("event-forwarding.yaml", "MetaConversion_AddToCart")
    assert "names must match" in finding["message"]


def test_settings_are_checked_against_the_extension_schema(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    action = component(rule(document, "MetaConversion_Lead"), "facebook_conversions_api_extension::actions::send_capi_data")
    action["settings"]["lduEnabled"] = "yes"  # the schema wants a boolean
    action["settings"]["email"] = "{{MetaConversion_NoSuchElement}}"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    messages = [f["message"] for f in errors_of(report) if f["rule"] == "MetaConversion_Lead"]
    assert any("schema" in m and "lduEnabled" in m for m in messages)
    assert any("MetaConversion_NoSuchElement" in m for m in messages)


def test_a_token_written_into_the_edge_file_is_an_error(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    capi = next(e for e in document["extensions"] if e["package"] == "facebook_conversions_api_extension")
    capi["settings"]["accessToken"] = "EAABliteral"
    save_yaml(path, document)
    result, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert finding["file"] == "event-forwarding.yaml" and "secret data element" in finding["message"]


def test_pixel_ids_must_agree(graph_api, make_folder):
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    path = folder / "tags.yaml"
    document = load_yaml(path)
    pixel = next(e for e in document["extensions"] if e["package"] == "facebook-pixel")
    pixel["settings"]["pixelId"] = "555"
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    (finding,) = errors_of(report)
    assert finding["file"] == "tags.yaml" and "555" in finding["message"]


def test_missing_files_are_named(graph_api, make_folder):
    folder = make_folder()
    (folder / "snippets" / "head.development.html").unlink()
    (folder / "tags.yaml").unlink()
    _, report = run_broken(folder, graph_api)
    assert {f["file"] for f in errors_of(report)} == {"snippets/head.development.html", "tags.yaml"}


def test_preflight_problem_stops_the_send(graph_api, make_folder):
    # AddToCart's customData is fixed JSON text (the extension parses it) with a currency Meta rejects.
    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "AddToCart")
    path = folder / "event-forwarding.yaml"
    document = load_yaml(path)
    action = component(rule(document, "MetaConversion_AddToCart"), "facebook_conversions_api_extension::actions::send_capi_data")
    action["settings"]["customData"] = '{"currency": "dollars", "value": 5}'
    save_yaml(path, document)
    _, report = run_broken(folder, graph_api)
    rejected = [f for f in errors_of(report) if "would be rejected" in f["message"]]
    assert [f["rule"] for f in rejected] == ["MetaConversion_AddToCart"]
    assert "custom_data.currency" in rejected[0]["message"]


def test_report_text_for_a_clean_static_run():
    report = validate.Report("site", "static")
    from quickstart.output import format_validate_report

    assert format_validate_report(report).endswith("OK: static checks passed.")
    assert report.ok


def test_env_file_parsing(tmp_path):
    from quickstart.envfile import resolve_token

    (tmp_path / ".env").write_text('# comment\nexport META_CAPI_ACCESS_TOKEN="EAABquoted"\nOTHER=1\n')
    assert resolve_token(tmp_path, environ={}) == "EAABquoted"
    assert resolve_token(tmp_path, environ={"META_CAPI_ACCESS_TOKEN": "EAABenv"}) == "EAABenv"
    assert resolve_token(tmp_path / "missing", environ={}) is None


def test_default_country_must_be_a_code(graph_api, make_folder):
    result = invoke(["validate", make_folder(), "--default-country", "USA"])
    assert result.exit_code == ExitCode.USAGE and "alpha-2" in result.stderr
    assert graph_api.requests == []


@pytest.mark.slow
def test_hidden_prompt_in_a_real_terminal_never_echoes_the_token(graph_api, make_folder):
    import os
    import sys

    import pexpect

    folder = make_folder(GOOD_PIXEL, "TEST123", "--events", "Lead")
    env = {k: v for k, v in os.environ.items() if not k.startswith("META_")}
    env.update(QUICKSTART_GRAPH_URL=graph_api.url, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = pexpect.spawn(sys.executable, ["-m", "quickstart", "validate", str(folder)], env=env,
                          encoding="utf-8", timeout=20)
    child.expect("access token")
    child.sendline(GOOD_TOKEN)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert GOOD_TOKEN not in child.before
    assert "events_received: 1 of 1" in child.before
    assert graph_api.requests[0].body["access_token"] == GOOD_TOKEN


def test_the_dedup_status_is_derived_from_the_findings_whatever_their_order():
    from quickstart import catalog
    from quickstart.validate.checks import dedup_status
    from quickstart.validate.model import CAPI_ID, NAMES, PIXEL_ID, Finding

    purchase = catalog.get("Purchase")
    findings = [Finding("event-forwarding.yaml", purchase.rule_name, "eventId ...", breaks=(CAPI_ID,)),
                Finding("tags.yaml", "MetaConversion_Lead", "event_id ...", breaks=(PIXEL_ID,)),
                Finding("tags.yaml", purchase.rule_name, "a warning without a part")]
    for ordered in (findings, list(reversed(findings))):
        status = dedup_status(purchase, ordered)
        assert (status.pixel_event_id, status.capi_event_id, status.names_match) == (True, False, True)
    assert dedup_status(purchase, [Finding("tags.yaml", purchase.rule_name, "x", breaks=(PIXEL_ID, NAMES))]).ok is False
    assert dedup_status(purchase, []).ok is True
