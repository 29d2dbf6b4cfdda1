"""`quickstart publish`: Adobe's publishing flow against the local fake (issue 12).

apply -> publish --to staging -> publish --to production on folders from the real generator;
the fake (tests/fakes/reactor.py) enforces the library states and transitions, one library per
environment, builds per environment and a secret per environment for the secret data element.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from quickstart.cli import cli
from tests.fakes.reactor import FakeAdobe
from tests.test_apply import DATASTREAM_ID, TOKEN, run_apply

pytest_plugins = ["tests.test_apply"]  # the generated folders

PRODUCTION_DATASTREAM = "9e9e9e9e-1111-2222-3333-444455556666"
PROPERTIES = ("example.com Meta CAPI (Event Forwarding)", "example.com Meta CAPI (Tags)")


def run(*args: str, yes: bool = True):
    return CliRunner().invoke(cli, [*args, *(["--yes"] if yes else [])], env={"META_CAPI_ACCESS_TOKEN": TOKEN})


def publish(folder: Path, target: str, *extra: str, yes: bool = True):
    return run("publish", str(folder), "--to", target, *extra, yes=yes)


def builds_by_stage(fake: FakeAdobe, property_name: str) -> dict[str, list[str]]:
    prop = fake.property_named(property_name)
    found: dict[str, list[str]] = {}
    for build in fake.of_type("builds"):
        if build["_property"] == prop["id"]:
            environment = fake.resources[build["relationships"]["environment"]["data"]["id"]]
            found.setdefault(environment["attributes"]["stage"], []).append(build["attributes"]["status"])
    return found


def applied_folder(make_folder) -> Path:
    folder = make_folder()
    update = CliRunner().invoke(cli, ["update", str(folder), "--production-datastream-id", PRODUCTION_DATASTREAM])
    assert update.exit_code == 0, update.output
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 0, result.output
    return folder


def test_apply_then_staging_then_production_and_a_rerun_changes_nothing(make_folder, adobe_env):
    fake = adobe_env
    folder = applied_folder(make_folder)
    staging = publish(folder, "staging")
    assert staging.exit_code == 0, staging.output
    assert "2 libraries built on staging" in staging.stdout and "head.staging.html" in staging.stdout
    production = publish(folder, "production")
    assert production.exit_code == 0, production.output

    for name in PROPERTIES:  # a library built on every environment of both properties
        assert {stage: statuses[-1] for stage, statuses in builds_by_stage(fake, name).items()} == {
            "development": "succeeded", "staging": "succeeded", "production": "succeeded"}
        [library] = [lb for lb in fake.of_type("libraries") if lb["_property"] == fake.property_named(name)["id"]]
        assert library["attributes"]["state"] == "published"
    edge = fake.property_named(PROPERTIES[0])
    secrets = {s["relationships"]["environment"]["meta"]["stage"] for s in fake.of_type("secrets") if s["_property"] == edge["id"]}
    assert secrets == {"development", "staging", "production"}
    alloy = next(e for e in fake.heads("extensions") if e["attributes"]["name"] == "adobe-alloy")
    assert json.loads(alloy["attributes"]["settings"])["instances"][0] == {
        "name": "alloy", "developmentEdgeConfigId": DATASTREAM_ID, "stagingEdgeConfigId": DATASTREAM_ID,
        "edgeConfigId": PRODUCTION_DATASTREAM}
    # The test event code: only the development build sends one (the element checks the build's environment).
    code = next(d for d in fake.heads("data_elements", edge["id"]) if d["attributes"]["name"] == "MetaConversion_TestEventCode") \
        if any(d["attributes"]["name"] == "MetaConversion_TestEventCode" for d in fake.heads("data_elements", edge["id"])) else None
    if code is not None:
        assert 'environment === "development"' in json.loads(code["attributes"]["settings"])["source"]
    state = json.loads((folder / ".quickstart" / "state.json").read_text())
    assert set(state["published"]) == {"staging", "production"}
    for stage in ("development", "staging", "production"):
        assert state["embed_urls"][stage] in (folder / "snippets" / f"head.{stage}.html").read_text()

    fake.reset_calls()
    for step in (lambda: run_apply(folder), lambda: publish(folder, "staging"), lambda: publish(folder, "production")):
        again = step()
        assert again.exit_code == 0, again.output
    assert fake.mutating_calls() == []


def test_production_before_staging_is_refused_and_changes_nothing(make_folder, adobe_env):
    fake = adobe_env
    folder = applied_folder(make_folder)
    fake.reset_calls()
    refused = publish(folder, "production")
    assert refused.exit_code == 2 and "publish" in refused.stderr and "--to staging" in refused.stderr
    assert "nothing was changed" in refused.stderr and fake.mutating_calls() == []


def test_unapplied_edits_and_rejected_folders_are_refused(make_folder, adobe_env):
    fake = adobe_env
    folder = applied_folder(make_folder)
    update = CliRunner().invoke(cli, ["update", str(folder), "--pixel-id", "987654321"])
    assert update.exit_code == 0
    fake.reset_calls()
    refused = publish(folder, "staging")
    assert refused.exit_code == 2 and "not applied" in refused.stderr and "quickstart apply" in refused.stderr
    assert fake.mutating_calls() == []

    tags = folder / "tags.yaml"
    tags.write_text(tags.read_text().replace("%event.detail.conversionData.eventId%", "%event.detail.other%", 1))
    rejected = publish(folder, "staging")
    assert rejected.exit_code == 3 and "validate rejects this folder" in rejected.stderr
    assert fake.mutating_calls() == []


def test_production_refuses_while_development_holds_something_newer(make_folder, adobe_env):
    fake = adobe_env
    folder = applied_folder(make_folder)
    assert publish(folder, "staging").exit_code == 0
    assert CliRunner().invoke(cli, ["update", str(folder), "--pixel-id", "987654321"]).exit_code == 0
    assert run_apply(folder).exit_code == 0  # a new development library with the new pixel
    fake.reset_calls()
    refused = publish(folder, "production")
    assert refused.exit_code == 2 and "not built on staging" in refused.stderr
    assert fake.mutating_calls() == []

    # Publishing the new one to staging rejects the older library that held staging, then goes on.
    plan = publish(folder, "staging", "--plan", yes=False)
    assert plan.exit_code == 5 and "reject library" in plan.stdout and "older, on staging" in plan.stdout
    assert publish(folder, "staging").exit_code == 0
    assert publish(folder, "production").exit_code == 0
    states = sorted(lb["attributes"]["state"] for lb in fake.of_type("libraries"))
    assert states == ["published", "published", "rejected", "rejected"]


def test_without_a_terminal_yes_is_required(make_folder, adobe_env):
    fake = adobe_env
    folder = applied_folder(make_folder)
    fake.reset_calls()
    refused = publish(folder, "staging", yes=False)
    assert refused.exit_code == 2 and "--yes" in refused.stderr and fake.mutating_calls() == []
    plan = publish(folder, "staging", "--plan", "--json", yes=False)
    assert plan.exit_code == 5
    data = json.loads(plan.stdout)
    assert data["target"] == "staging"
    assert [(c["scope"], c["action"]) for c in data["changes"]] == [
        ("edge", "submit"), ("edge", "move"), ("edge", "run"), ("web", "submit"), ("web", "move"), ("web", "run")]


@pytest.fixture(scope="module")
def publish_mutations(generated_folders, tmp_path_factory) -> dict[str, int]:
    """How many changes publish --to staging and --to production each make: where to crash."""
    import shutil

    from tests.test_apply import FEW_EVENTS

    folder = tmp_path_factory.mktemp("counting") / "example.com"
    shutil.copytree(generated_folders[FEW_EVENTS], folder)
    counts = {}
    with FakeAdobe(secret_polls=0, build_polls=0) as fake:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in fake.env().items():
                patch.setenv(name, value)
            assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
            for target in ("staging", "production"):
                fake.reset_calls()
                assert publish(folder, target).exit_code == 0
                counts[target] = len(fake.mutating_calls())
    return counts


@pytest.mark.parametrize("target", ["staging", "production"])
@pytest.mark.parametrize("crash_at", range(6))  # each of the six changes (three per property)
def test_a_publish_that_died_at_each_step_finishes_on_the_rerun(make_folder, adobe_env, publish_mutations, target,
                                                                 crash_at):
    fake = adobe_env
    assert publish_mutations[target] == 6  # submit or approve, the environment, the build; per property
    folder = applied_folder(make_folder)
    if target == "production":
        assert publish(folder, "staging").exit_code == 0
    fake.crash_after(crash_at)  # that call is done but answered 500, and so is everything after it
    died = publish(folder, target)
    assert died.exit_code != 0 and "Traceback" not in died.output
    fake.recover()
    resumed = publish(folder, target)
    assert resumed.exit_code == 0, resumed.output
    for name in PROPERTIES:
        assert builds_by_stage(fake, name)[target][-1] == "succeeded"
    fake.reset_calls()
    assert publish(folder, target).exit_code == 0 and fake.mutating_calls() == []
    assert run_apply(folder).exit_code == 0 and fake.mutating_calls() == []  # apply too sees nothing to do
