"""`quickstart apply` against the local Adobe fake: fresh, again, interrupted, planned, secret-safe.

Folders come from the real generator (`quickstart init ... --yes`); the fake in
tests/fakes/reactor.py imitates IMS, the Reactor API and the Edge metadata service.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from quickstart.adobe.apply import PollPolicy, apply_folder
from quickstart.adobe.reactor import RetryPolicy
from quickstart.cli import cli
from quickstart.errors import InputError, QuickstartError
from tests.fakes.reactor import CLIENT_SECRET, FakeAdobe

TOKEN = "EAAG-apply-test-token-0123456789SECRET"
DATASTREAM_ID = "0f3a2b1c-1111-2222-3333-444455556666"
FEW_EVENTS = "PageView,AddToCart,Purchase"
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)
FAST_POLL = PollPolicy(first_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="session")
def generated_folders(tmp_path_factory) -> dict[str | None, Path]:
    """Folders made once by the real generator (`quickstart init ... --yes`), copied per test."""
    made = {}
    for events in (None, FEW_EVENTS, "PageView"):
        folder = tmp_path_factory.mktemp("generated") / "example.com"
        args = ["init", "example.com", "--pixel-id", "1234567890", "--yes", "-o", str(folder)]
        if events:
            args += ["--events", events]
        result = CliRunner().invoke(cli, args, catch_exceptions=False, env={"META_TEST_EVENT_CODE": None})
        assert result.exit_code == 0, result.output
        made[events] = folder
    return made


@pytest.fixture
def make_folder(tmp_path, generated_folders):
    def make(events: str | None = FEW_EVENTS) -> Path:
        folder = tmp_path / "example.com"
        shutil.copytree(generated_folders[events], folder)
        return folder
    return make


def run_apply(folder: Path, *args: str, token: str | None = TOKEN, yes: bool = True):
    env = {"META_CAPI_ACCESS_TOKEN": token} if token else {"META_CAPI_ACCESS_TOKEN": None}
    return CliRunner().invoke(cli, ["apply", str(folder), *args, *(["--yes"] if yes else [])], env=env)


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def doubled_names(fake: FakeAdobe) -> list[str]:
    """Names that exist twice where they must be unique: properties, and heads per property and rule."""
    found = Counter(p["attributes"]["name"] for p in fake.of_type("properties"))
    for type_ in ("extensions", "data_elements", "rules", "environments", "hosts", "secrets", "libraries"):
        for resource in fake.of_type(type_):
            if resource["attributes"].get("revision_number", 0) == 0:
                found[(resource["_property"], type_, resource["attributes"]["name"])] += 1
    for rule in fake.heads("rules"):
        found.update((rule["id"], c["attributes"]["name"]) for c in fake.components_of(rule["id"]))
    found.update(("datastream", r["data"]["title"]) for r in fake.datastreams.values())
    return [str(name) for name, count in found.items() if count > 1]


def assert_complete(fake: FakeAdobe, folder: Path) -> None:
    """Both properties exist once, hold every resource of their file, and built successfully."""
    from quickstart.adobe.spec import load_folder

    spec = load_folder(folder)
    assert doubled_names(fake) == []
    for prop_spec in spec.specs:
        prop = fake.property_named(prop_spec.name)
        assert prop is not None, prop_spec.name
        names = {r["attributes"]["name"] for r in fake.heads("data_elements", prop["id"])}
        assert names == {d["name"] for d in prop_spec.items("data_elements")}
        rules = {r["attributes"]["name"]: r for r in fake.heads("rules", prop["id"])}
        assert set(rules) == {r["name"] for r in prop_spec.items("rules")}
        for rule in prop_spec.items("rules"):
            components = {c["attributes"]["name"] for c in fake.components_of(rules[rule["name"]]["id"])}
            assert components == {c["name"] for c in rule["components"]}
        libraries = fake.heads("libraries", prop["id"])
        assert len(libraries) == 1
        library = libraries[0]
        contents = fake.library_contents(library["id"])
        assert {e["attributes"]["name"] for e in contents["extensions"]} == {e["package"] for e in prop_spec.items("extensions")}
        assert len(contents["rules"]) == len(rules) and len(contents["data_elements"]) == len(names)
        assert all(r["attributes"]["revision_number"] >= 1 for kind in contents.values() for r in kind)
        build = fake.resources[library["relationships"]["last_build"]["data"]["id"]]
        assert build["attributes"]["status"] == "succeeded"


# ---------------------------------------------------------------------------------------------


def test_fresh_apply_builds_both_libraries_and_writes_the_embed_code(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder(events=None)  # every event: the whole setup
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 0, result.output
    assert_complete(fake, folder)

    web = fake.property_named("example.com Meta CAPI (Tags)")
    urls = {}
    for stage in ("development", "staging", "production"):  # an embed snippet per environment
        env = next(e for e in fake.of_type("environments") if e["_property"] == web["id"] and e["attributes"]["stage"] == stage)
        urls[stage] = f"https://assets.adobedtm.com/{env['attributes']['library_path']}/{env['attributes']['library_name']}"
        snippet = (folder / "snippets" / f"head.{stage}.html").read_text()
        assert f'<script src="{urls[stage]}" async></script>' in snippet and "PENDING" not in snippet
        assert f"{stage} environment" in snippet
    assert "never the live site" in (folder / "snippets" / "head.development.html").read_text()
    assert "For the live site" in (folder / "snippets" / "head.production.html").read_text()
    url = urls["development"]
    embed = f'<script src="{url}" async></script>'
    assert embed in result.stdout and "<head>" in result.stdout  # printed, with the next step
    state = json.loads((folder / ".quickstart" / "state.json").read_text())
    assert state["embed_url"] == url and state["embed_urls"] == urls

    # The Web SDK points at the datastream, on the server and in every file that was pending.
    alloy = next(e for e in fake.heads("extensions", web["id"]) if e["attributes"]["name"] == "adobe-alloy")
    assert json.loads(alloy["attributes"]["settings"])["instances"][0]["edgeConfigId"] == DATASTREAM_ID
    for name in ("tags.yaml", "datastream.yaml", "quickstart.yaml", "README.md"):
        text = (folder / name).read_text()
        assert "PENDING_DATASTREAM_ID" not in text and DATASTREAM_ID in text, name

    # The edge side: the token secret on the development environment, referenced by the secret data element.
    edge = fake.property_named("example.com Meta CAPI (Event Forwarding)")
    secrets = fake.of_type("secrets")  # one per environment, each bound to its own
    stages = {s["relationships"]["environment"]["meta"]["stage"]: s for s in secrets}
    assert sorted(stages) == ["development", "production", "staging"] and len(secrets) == 3
    assert all(s["attributes"]["status"] == "succeeded" and s["_property"] == edge["id"] for s in secrets)
    element = next(d for d in fake.heads("data_elements", edge["id"]) if d["attributes"]["name"] == "MetaConversion_AccessToken")
    assert json.loads(element["attributes"]["settings"]) == {
        "secrets": {stage: {"id": s["id"], "name": s["attributes"]["name"]} for stage, s in stages.items()}}
    assert {s["attributes"]["name"] for s in secrets} == {f"example.com Meta CAPI token ({stage})" for stage in stages}

    # The generator sees apply's rewrites as its own files, not as user edits.
    update = CliRunner().invoke(cli, ["update", str(folder), "--dry-run"])
    assert update.exit_code == 0, update.output
    assert "conflict" not in update.output


def test_a_second_apply_changes_nothing(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    before = file_hashes(folder)
    fake.reset_calls()
    again = run_apply(folder)  # the datastream id now comes from the folder
    assert again.exit_code == 0, again.output
    assert fake.mutating_calls() == []
    assert file_hashes(folder) == before
    assert "0 of them changes" in again.stdout


@pytest.fixture(scope="session")
def mutations_of_a_fresh_apply(generated_folders, tmp_path_factory) -> list[tuple[str, str]]:
    """(method, path) of every change a fresh apply makes, in order: where to put crash points."""
    folder = tmp_path_factory.mktemp("reference") / "example.com"
    shutil.copytree(generated_folders[FEW_EVENTS], folder)
    with FakeAdobe(secret_polls=0, build_polls=0) as fake:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in fake.env().items():
                patch.setenv(name, value)
            apply_folder(folder, datastream_id=DATASTREAM_ID, environ={**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN},
                         concurrency=1)
        return [(c.method, c.path) for c in fake.mutating_calls()]


def _first(mutations: list[tuple[str, str]], method: str, pattern: str, after: int = 0) -> int:
    return next(i for i, (m, p) in enumerate(mutations) if i >= after and m == method and re.search(pattern, p))


CRASH_POINTS = {
    "the token secret": lambda m: _first(m, "POST", r"/secrets$"),
    "a data element": lambda m: _first(m, "POST", r"/data_elements$") + 5,
    "a revision": lambda m: _first(m, "PATCH", r"^/rules/"),
    "the first library": lambda m: _first(m, "POST", r"/libraries$"),
    "the first build": lambda m: _first(m, "POST", r"/builds$"),
    "a rule component": lambda m: _first(m, "POST", r"/rule_components$") + 7,
    "the second library": lambda m: _first(m, "POST", r"/libraries$", after=_first(m, "POST", r"/libraries$") + 1),
}


@pytest.mark.parametrize("where", sorted(CRASH_POINTS))
def test_an_apply_that_died_half_way_finishes_on_the_rerun_without_duplicates(make_folder, adobe_env, where,
                                                                             mutations_of_a_fresh_apply):
    fake = adobe_env
    folder = make_folder()
    # That call is done but answered 500, and so is everything after it: the client never learns it worked.
    fake.crash_after(CRASH_POINTS[where](mutations_of_a_fresh_apply))
    with pytest.raises(QuickstartError) as caught:
        apply_folder(folder, datastream_id=DATASTREAM_ID, environ={**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN},
                     retry=FAST_RETRY, poll=FAST_POLL)
    assert "rerun" in caught.value.message
    fake.recover()
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 0, result.output
    assert_complete(fake, folder)
    fake.reset_calls()
    assert run_apply(folder).exit_code == 0
    assert fake.mutating_calls() == []


def test_a_500_on_a_rule_component_and_a_ctrl_c_are_both_resumed(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    env = {**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN}
    fake.fail_next(500, method="POST", path_contains="rule_components")
    with pytest.raises(QuickstartError):
        apply_folder(folder, datastream_id=DATASTREAM_ID, environ=env, retry=FAST_RETRY, poll=FAST_POLL)

    def ctrl_c_at_the_web_rules(event) -> None:
        if event.text.startswith("create rule component") and event.text.endswith("(Tags property)"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_folder(folder, datastream_id=DATASTREAM_ID, environ=env, retry=FAST_RETRY, poll=FAST_POLL,
                     progress=ctrl_c_at_the_web_rules)
    state = json.loads((folder / ".quickstart" / "state.json").read_text())  # a record of what exists so far
    assert state["properties"]["edge"]["id"] == fake.property_named("example.com Meta CAPI (Event Forwarding)")["id"]
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    assert_complete(fake, folder)


def test_plan_changes_nothing_and_shows_what_would_change_with_values(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    before = file_hashes(folder)
    plan = run_apply(folder, "--plan", "--datastream-id", DATASTREAM_ID, yes=False)
    assert plan.exit_code == 5, plan.output  # WOULD_CHANGE
    assert fake.mutating_calls() == [] and fake.of_type("properties") == []
    assert file_hashes(folder) == before
    assert "+ property example.com Meta CAPI (Tags)" in plan.stdout
    assert "+ rule MetaConversion_Purchase  (4 components)" in plan.stdout
    assert re.search(r"Plan: \d+ to add, 0 to change, 0 to remove from library, 0 to delete; 2 builds\.", plan.stdout)

    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    assert run_apply(folder, "--plan", yes=False).exit_code == 0  # nothing would change: 0
    edge = folder / "event-forwarding.yaml"
    edge.write_text(edge.read_text().replace("path: arc.event.data.conversionData.eventTime",
                                             "path: arc.event.data.conversionData.eventTimestamp"))
    before = file_hashes(folder)
    fake.reset_calls()
    refused = run_apply(folder, "--plan", yes=False)  # validate's static checks reject that edit
    assert refused.exit_code == 3 and "validate rejects this folder" in refused.stderr, refused.output
    plan = run_apply(folder, "--plan", "--skip-checks", yes=False)
    assert plan.exit_code == 5, plan.output
    assert '~ settings.path: "arc.event.data.conversionData.eventTime" -> "arc.event.data.conversionData.eventTimestamp"' \
        in plan.stdout
    plan = run_apply(folder, "--plan", "--json", "--skip-checks", yes=False)
    assert plan.exit_code == 5 and fake.mutating_calls() == [] and file_hashes(folder) == before
    data = json.loads(plan.stdout)
    changes = [(c["scope"], c["kind"], c["name"], c["action"]) for c in data["changes"]
               if c["action"] not in ("unchanged", "revise")]
    assert changes == [("edge", "data element", "MetaConversion_EventTime", "update"),
                       ("edge", "library", "Meta CAPI quick start", "update"),
                       ("edge", "build", "Meta CAPI quick start", "run")]
    [element] = [c for c in data["changes"] if c["name"] == "MetaConversion_EventTime"]
    assert element["diffs"] == [{"path": "settings.path", "old": "arc.event.data.conversionData.eventTime",
                                 "new": "arc.event.data.conversionData.eventTimestamp",
                                 "old_absent": False, "new_absent": False}]
    assert data["counts"] == {"add": 0, "change": 2, "remove": 0, "delete": 0, "builds": 1, "unchanged": data["counts"]["unchanged"]}

    fake.reset_calls()
    assert run_apply(folder, "--skip-checks").exit_code == 0  # and apply carries out exactly that
    patched = sorted({c.path.split("/")[1] for c in fake.mutating_calls() if c.method == "PATCH"})
    assert patched == ["data_elements", "libraries"]  # the element, its revision, the library's contents
    value = next(d for d in fake.heads("data_elements") if d["attributes"]["name"] == "MetaConversion_EventTime"
                 and d["_property"] == fake.property_named("example.com Meta CAPI (Event Forwarding)")["id"])
    assert json.loads(value["attributes"]["settings"]) == {"path": "arc.event.data.conversionData.eventTimestamp"}
    assert_complete(fake, folder)


def test_an_answer_changed_with_update_is_applied_to_both_properties(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    update = CliRunner().invoke(cli, ["update", str(folder), "--pixel-id", "987654321"])
    assert update.exit_code == 0, update.output
    fake.reset_calls()
    result = run_apply(folder)
    assert result.exit_code == 0, result.output
    patched = {c.path.split("/")[1] for c in fake.mutating_calls() if c.method == "PATCH" and c.path.count("/") == 2}
    assert patched == {"extensions"}  # the two extension configurations, then their revisions
    for ext in fake.heads("extensions"):
        if ext["attributes"]["name"] in ("facebook-pixel", "facebook_conversions_api_extension"):
            assert json.loads(ext["attributes"]["settings"])["pixelId"] == "987654321"
    assert_complete(fake, folder)


def test_the_secret_never_appears_in_output_state_or_files(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    again = run_apply(folder, "--json")
    assert result.exit_code == 0 and again.exit_code == 0
    assert fake.received_secret_values == [TOKEN] * 3  # it went to Adobe, in the POST bodies, once per environment
    ims_tokens = list(fake.tokens)
    for text in (result.output, again.output, all_text(folder)):
        assert TOKEN not in text
        assert CLIENT_SECRET not in text
        assert not any(token in text for token in ims_tokens)
    assert all(TOKEN not in json.dumps(call.query) for call in fake.calls)


def test_429_is_retried_honouring_retry_after(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder("PageView")
    fake.fail_next(429, retry_after="1", method="POST", path_contains="/data_elements")
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 0, result.output
    assert "1 retried" in result.stdout
    assert_complete(fake, folder)


def test_settings_the_live_schema_rejects_stop_before_any_change(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    # A newer live Meta Pixel package that wants 15-digit pixel ids: our local copy would not know.
    fake.set_live_schema("facebook-pixel::extensionConfiguration::config", {
        "$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["pixelId"],
        "properties": {"pixelId": {"type": "string", "pattern": "^[0-9]{15}$"}}, "additionalProperties": False})
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 2
    assert "tags.yaml: extension 'facebook-pixel'" in result.stderr
    assert "(at /data/attributes/settings/pixelId)" in result.stderr
    assert fake.mutating_calls() == []


def test_missing_adobe_variables_exit_2_naming_them(make_folder, fake_adobe):
    folder = make_folder()
    result = run_apply(folder)
    assert result.exit_code == 2
    for name in ("ADOBE_CLIENT_ID", "ADOBE_CLIENT_SECRET", "ADOBE_ORG_ID"):
        assert name in result.stderr
    assert fake_adobe.calls == []


def test_a_missing_token_stops_before_any_change(make_folder, adobe_env):
    folder = make_folder()
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID, token=None)
    assert result.exit_code == 2
    assert "META_CAPI_ACCESS_TOKEN" in result.stderr
    assert adobe_env.mutating_calls() == []


def test_without_a_datastream_apply_refuses_before_any_change_and_only_edge_builds_that_side(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    refused = run_apply(folder)
    assert refused.exit_code == 2, refused.output
    assert "the datastream id" in refused.stderr and "--datastream-id" in refused.stderr and "nothing was changed" in refused.stderr
    assert "missing: the datastream id" in refused.stdout  # the plan shown first names it
    assert fake.mutating_calls() == [] and fake.of_type("properties") == []

    first = run_apply(folder, "--only", "edge")
    assert first.exit_code == 0, first.output
    edge = fake.property_named("example.com Meta CAPI (Event Forwarding)")
    assert edge is not None and fake.property_named("example.com Meta CAPI (Tags)") is None
    assert "Data Collection > Datastreams" in first.stdout and edge["id"] in first.stdout
    assert "--datastream-id" in first.stdout
    second = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert second.exit_code == 0, second.output
    assert_complete(fake, folder)


def test_create_datastream_uses_the_edge_metadata_endpoint_once(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    result = run_apply(folder, "--create-datastream")
    assert result.exit_code == 0, result.output
    [record] = fake.datastreams.values()
    edge = fake.property_named("example.com Meta CAPI (Event Forwarding)")
    edge_env = next(e for e in fake.of_type("environments") if e["_property"] == edge["id"]
                    and e["attributes"]["stage"] == "development")
    assert record["data"]["title"] == "example.com Meta CAPI"
    assert record["data"]["settings"]["com_adobe_launch_ssf"] == {
        "enabled": True, "propertyId": edge["id"], "environmentId": edge_env["id"]}
    datastream_id = record["_system"]["id"]
    assert f"edgeConfigId: {datastream_id}" in (folder / "tags.yaml").read_text()
    fake.reset_calls()
    again = run_apply(folder, "--create-datastream")
    assert again.exit_code == 0 and fake.mutating_calls() == []
    assert "undocumented" in CliRunner().invoke(cli, ["apply", "--help"]).output.lower()


def test_a_failed_build_shows_its_status_details(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder("PageView")
    fake.next_build_outcome = "failed"
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 1
    assert "build failed" in result.stderr and "minification-error" in result.stderr


def test_not_a_generated_folder_is_bad_input(tmp_path, adobe_env):
    with pytest.raises(InputError) as caught:
        apply_folder(tmp_path, environ=adobe_env.env())
    assert "quickstart.yaml: file is missing: is this a folder made by `quickstart init`?" in caught.value.message


def test_secrets_and_builds_are_waited_for_until_they_finish(make_folder, monkeypatch):
    folder = make_folder("PageView")
    with FakeAdobe(secret_polls=2, build_polls=2) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        result = apply_folder(folder, datastream_id=DATASTREAM_ID, environ={**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN},
                              poll=FAST_POLL)
        assert result.embed_url
        secret_gets = [c for c in fake.calls if c.method == "GET" and c.path.startswith("/secrets/")]
        build_gets = [c for c in fake.calls if c.method == "GET" and c.path.startswith("/builds/")]
        assert len(secret_gets) == 9 and len(build_gets) == 6  # pending, pending, done: per secret, per build
        assert_complete(fake, folder)


def test_a_failed_secret_shows_why_and_is_retried_on_the_rerun(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder("PageView")
    fake.next_secret_outcome = "failed"
    first = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert first.exit_code == 1
    # three secrets (one per environment) fail; whichever is seen first is named
    assert re.search(r"secret 'example\.com Meta CAPI token \((development|staging|production)\)' failed", first.stderr)
    assert "secret-exchange-failed" in first.stderr
    # The first failure stops the run: the other secrets failed too (once looked at), or are not made yet.
    failed = sorted(f"/secrets/{s['id']}" for s in fake.of_type("secrets"))
    assert failed
    fake.next_secret_outcome = "succeeded"
    fake.reset_calls()
    second = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert second.exit_code == 0, second.output
    retried = sorted(c.path for c in fake.mutating_calls() if c.method == "PATCH" and c.path.startswith("/secrets/"))
    assert retried == failed  # each failed one retried in place
    assert fake.received_secret_values == [TOKEN] * 3  # one token per secret: retried, never sent twice
    assert_complete(fake, folder)


def test_a_head_snippet_the_user_edited_gets_the_url_and_stays_theirs(make_folder, adobe_env):
    folder = make_folder("PageView")
    head = folder / "snippets" / "head.development.html"
    head.write_text("<!-- ours: keep this line -->\n" + head.read_text())
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 0, result.output
    text = head.read_text()
    assert "<!-- ours: keep this line -->" in text and json.loads(
        (folder / ".quickstart" / "state.json").read_text())["embed_url"] in text
    update = CliRunner().invoke(cli, ["update", str(folder), "--dry-run"])
    assert update.exit_code == 0 and "your edits kept in snippets/head.development.html" in update.output  # merged, still theirs


@pytest.mark.parametrize("edit, words", [
    (lambda text: text.replace("rules:\n", "rules:\n- just a string\n", 1), "rules item 1 must be a mapping"),
    (lambda text: text.replace("extensions:\n", "extensions: 5\nx_extensions:\n", 1), "extensions must be a list"),
    (lambda text: text.replace("    order: 0\n", "    order: first\n", 1), "order must be a whole number"),
])
def test_a_misshapen_property_file_stops_apply_and_validate_before_any_call(make_folder, adobe_env, edit, words):
    fake = adobe_env
    folder = make_folder()
    tags = folder / "tags.yaml"
    tags.write_text(edit(tags.read_text()))
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    assert fake.mutating_calls() == [] and fake.of_type("properties") == []
    check = CliRunner().invoke(cli, ["validate", str(folder), "--static-only"])
    assert check.exit_code == 3 and words in check.output


def test_a_file_that_is_not_utf8_or_a_bad_answer_stops_apply_before_any_call(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    tags = folder / "tags.yaml"
    tags.write_bytes(tags.read_bytes().replace(b"Generated by quickstart", b"Generated by quickst\xffrt", 1))
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 2 and "not UTF-8" in result.stderr, result.output
    assert fake.mutating_calls() == []

    shutil.rmtree(folder)
    folder = make_folder()
    answers = folder / "quickstart.yaml"
    answers.write_text(answers.read_text().replace("datastream_id:", "datastream_id: 'not a/valid id'"))
    result = run_apply(folder)
    assert result.exit_code == 2 and "datastream id" in result.stderr, result.output
    assert fake.mutating_calls() == [] and fake.of_type("properties") == []
