"""apply's plan as data: snapshots, saved plans, confirmation, removed events, progress, reads.

Against the local Adobe fake (tests/fakes/reactor.py), with folders from the real generator.
Snapshots: ``tests/snapshots/plan_*.json``; after an intended change to the plan, rewrite them
with ``UPDATE_SNAPSHOTS=1 python -m pytest tests/test_apply_plan.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from quickstart.adobe.apply import Apply, apply_folder
from quickstart.adobe.execute import PollPolicy
from quickstart.cli import cli
from tests.fakes.reactor import FakeAdobe
from tests.test_apply import DATASTREAM_ID, FAST_POLL, FAST_RETRY, TOKEN, assert_complete, run_apply

SNAPSHOTS = Path(__file__).parent / "snapshots"
ID = re.compile(r"\b(?:PR|HT|EN|EX|DE|RL|RC|SE|LB|BL|EP|CO)[0-9a-f]{32}\b")

pytest_plugins = ["tests.test_apply"]  # the generated folders


def normalised(plan: dict) -> list[dict]:
    """The plan without ids or requests' bodies: what changes, why, and after what."""
    from quickstart.adobe.plan import Change, Diff

    rows = []
    for data in plan["changes"]:
        change = Change(**{**data, "diffs": [Diff(**d) for d in data["diffs"]]})
        rows.append({"key": change.key, "action": change.action, "detail": change.detail,
                     "diffs": [[d.path, d.old, d.new] for d in change.diffs],
                     "after": sorted(change.needs)})
    return json.loads(ID.sub("<id>", json.dumps(rows)))


def check_snapshot(name: str, plan: dict) -> None:
    path = SNAPSHOTS / f"plan_{name}.json"
    rows = normalised(plan)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    assert rows == json.loads(path.read_text(encoding="utf-8")), f"{path.name} differs; see the module docstring"


def plan_json(folder: Path, *args: str) -> dict:
    result = run_apply(folder, "--plan", "--json", *args, yes=False)
    assert result.exit_code in (0, 5), result.output
    return json.loads(result.stdout)


def test_plan_snapshots_fresh_noop_and_after_update(make_folder, adobe_env):
    folder = make_folder()
    check_snapshot("fresh", plan_json(folder, "--datastream-id", DATASTREAM_ID))
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    noop = plan_json(folder)
    assert {c["action"] for c in noop["changes"]} == {"unchanged"}
    check_snapshot("noop", noop)
    update = CliRunner().invoke(cli, ["update", str(folder), "--pixel-id", "987654321"])
    assert update.exit_code == 0, update.output
    check_snapshot("after_update", plan_json(folder))


def test_the_plan_is_computed_without_a_single_write_and_apply_sends_exactly_it(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()
    environ = {**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN}
    with Apply(folder, datastream_id=DATASTREAM_ID, environ=environ, retry=FAST_RETRY, poll=FAST_POLL) as job:
        plan = job.plan()
        assert fake.mutating_calls() == []
        result = job.execute(plan)
    planned = {c.key for c in plan.changes if c.request is not None}
    assert set(result.done) == planned  # every planned change, and nothing else
    posts = [c for c in fake.mutating_calls() if c.method == "POST" and not c.path.endswith("/builds")]
    created = [c for c in plan.changes if c.action == "create" and c.request["op"] in ("create", "secret")]
    assert len(posts) == len(created)


def test_plan_file_runs_only_while_adobe_holds_what_it_was_made_from(make_folder, adobe_env, tmp_path):
    fake = adobe_env
    folder = make_folder()
    saved = tmp_path / "plan.json"
    planned = run_apply(folder, "--plan", "--out", str(saved), "--datastream-id", DATASTREAM_ID, yes=False)
    assert planned.exit_code == 5 and saved.exists()
    assert TOKEN not in saved.read_text()  # the plan names the variable, never the token
    assert fake.mutating_calls() == []

    # Adobe changes in between: somebody creates the Tags property by hand.
    other = tmp_path / "other"
    CliRunner().invoke(cli, ["init", "example.com", "--pixel-id", "1234567890", "--yes", "-o", str(other),
                             "--events", "PageView"], env={"META_TEST_EVENT_CODE": None})
    assert run_apply(other, "--only", "web", "--datastream-id", DATASTREAM_ID).exit_code == 0
    fake.reset_calls()
    stale = run_apply(folder, "--plan-file", str(saved))
    assert stale.exit_code == 2 and "changed since the plan was made" in stale.stderr, stale.output
    assert fake.mutating_calls() == []

    fresh = run_apply(folder, "--plan", "--out", str(saved), "--datastream-id", DATASTREAM_ID, yes=False)
    assert fresh.exit_code == 5
    done = run_apply(folder, "--plan-file", str(saved))
    assert done.exit_code == 0, done.output
    assert_complete(fake, folder)

    elsewhere = tmp_path / "elsewhere"
    CliRunner().invoke(cli, ["init", "example.org", "--pixel-id", "1234567890", "--yes", "-o", str(elsewhere)],
                       env={"META_TEST_EVENT_CODE": None})
    wrong = run_apply(elsewhere, "--plan-file", str(saved))
    assert wrong.exit_code == 2 and "not this folder's" in wrong.stderr
    saved.write_text('{"format": "something else"}')
    assert run_apply(folder, "--plan-file", str(saved)).exit_code == 2


def test_without_a_terminal_yes_is_required_and_a_declined_prompt_changes_nothing(make_folder, adobe_env, monkeypatch):
    fake = adobe_env
    folder = make_folder()
    refused = run_apply(folder, "--datastream-id", DATASTREAM_ID, yes=False)
    assert refused.exit_code == 2 and "--yes" in refused.stderr and "nothing was changed" in refused.stderr
    assert fake.mutating_calls() == []

    monkeypatch.setenv("QUICKSTART_FORCE_TTY", "1")
    env = {"META_CAPI_ACCESS_TOKEN": TOKEN}
    declined = CliRunner().invoke(cli, ["apply", str(folder), "--datastream-id", DATASTREAM_ID], input="n\n", env=env)
    assert declined.exit_code == 1 and "cancelled; nothing was changed" in declined.stderr
    assert "Plan:" in declined.stdout and fake.mutating_calls() == []
    accepted = CliRunner().invoke(cli, ["apply", str(folder), "--datastream-id", DATASTREAM_ID], input="y\n", env=env)
    assert accepted.exit_code == 0, accepted.output
    assert_complete(fake, folder)
    fake.reset_calls()
    again = CliRunner().invoke(cli, ["apply", str(folder)], env=env)  # nothing to change: no question
    assert again.exit_code == 0 and "No changes" in again.stdout and fake.mutating_calls() == []


def test_the_token_comes_from_the_folders_env_file_like_validate(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder("PageView")
    missing = run_apply(folder, "--plan", "--datastream-id", DATASTREAM_ID, token=None, yes=False)
    assert missing.exit_code == 5 and "missing: the access token ($META_CAPI_ACCESS_TOKEN" in missing.stdout
    (folder / ".env").write_text(f'META_CAPI_ACCESS_TOKEN="{TOKEN}"\n')
    (folder / ".env").chmod(0o600)
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID, token=None)
    assert result.exit_code == 0, result.output
    assert fake.received_secret_values == [TOKEN] * 3  # a secret per environment
    assert TOKEN not in result.output


def test_a_removed_event_leaves_the_library_and_prune_deletes_only_what_quickstart_made(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder()  # PageView, AddToCart, Purchase
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    web = fake.property_named("example.com Meta CAPI (Tags)")
    # Somebody's own rule in the same property, in the library too: never touched.
    theirs = fake._insert_head("rules", web["id"], {"name": "Their own rule", "enabled": True}, {})
    library = fake.heads("libraries", web["id"])[0]
    fake._library_add(library, "rules", [{"id": theirs["id"], "type": "rules", "meta": {"action": "revise"}}], replace=False)

    update = CliRunner().invoke(cli, ["update", str(folder), "--events", "PageView,Purchase"])
    assert update.exit_code == 0, update.output
    plan = run_apply(folder, "--plan", yes=False)
    assert plan.exit_code == 5
    assert "- remove from library rule MetaConversion_AddToCart" in plan.stdout
    assert "--prune" in plan.stdout and "Their own rule" not in plan.stdout

    assert run_apply(folder).exit_code == 0
    names = {r["attributes"]["name"] for r in fake.heads("rules", web["id"])}
    assert "MetaConversion_AddToCart" in names  # out of the library, still in the property
    in_library = {r["attributes"]["name"] for r in fake.library_contents(library["id"])["rules"]}
    assert "MetaConversion_AddToCart" not in in_library and "Their own rule" in in_library

    pruned = run_apply(folder, "--prune")
    assert pruned.exit_code == 0, pruned.output
    names = {r["attributes"]["name"] for r in fake.heads("rules", web["id"])}
    assert "MetaConversion_AddToCart" not in names and "Their own rule" in names
    edge = fake.property_named("example.com Meta CAPI (Event Forwarding)")
    assert "MetaConversion_AddToCart" not in {r["attributes"]["name"] for r in fake.heads("rules", edge["id"])}
    fake.reset_calls()
    assert run_apply(folder, "--prune").exit_code == 0 and fake.mutating_calls() == []


def test_progress_counts_steps_and_shows_a_pending_build(make_folder, monkeypatch):
    folder = make_folder("PageView")
    events = []
    with FakeAdobe(secret_polls=0, build_polls=3) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        result = apply_folder(folder, datastream_id=DATASTREAM_ID, environ={**fake.env(), "META_CAPI_ACCESS_TOKEN": TOKEN},
                              poll=PollPolicy(first_delay=0.01, max_delay=0.02, report_every=0.0), progress=events.append)
    steps = [e for e in events if e.type == "step"]
    assert [e.index for e in steps] == list(range(1, len(steps) + 1)) and {e.total for e in steps} == {len(steps)}
    assert any(e.text == "create rule MetaConversion_PageView (Tags property)" for e in steps)
    pending = [e.text for e in events if e.type == "pending"]
    assert any(re.fullmatch(r"the Tags property build pending… \d+ s", text) for text in pending), pending
    assert result.applied


def test_cli_progress_goes_to_stderr_and_json_to_stdout(make_folder, adobe_env):
    folder = make_folder("PageView")
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["applied"] and data["embed_url"]
    assert re.search(r"^\[ *1/\d+\] create property ", result.stderr, re.M)


def test_a_noop_rerun_reads_components_with_one_search_per_property(make_folder, adobe_env):
    fake = adobe_env
    folder = make_folder(None)  # all 18 events
    assert run_apply(folder, "--datastream-id", DATASTREAM_ID).exit_code == 0
    fake.reset_calls()
    again = run_apply(folder)
    assert again.exit_code == 0 and fake.mutating_calls() == []
    reactor = [c for c in fake.calls if c.path != "/ims/token/v3"]
    assert len(reactor) <= 40, len(reactor)
    assert not [c for c in reactor if c.path.endswith("/rule_components") and c.method == "GET"]
    searches = [c for c in reactor if c.path == "/search"]
    assert len(searches) == 2  # one per property (each under 100 components)


@pytest.mark.parametrize("old, new", [
    # A Pixel action whose event id is not the shared one: Meta could never pair the two copies.
    ("%event.detail.conversionData.eventId%", "%event.detail.conversionData.otherId%"),
    # The Pixel on another pixel id than the CAPI extension: no deduplication either.
    ('pixelId: "1234567890"', 'pixelId: "1234567891"'),
])
def test_an_apply_the_static_checks_reject_changes_nothing(make_folder, adobe_env, old, new):
    fake = adobe_env
    folder = make_folder("PageView")
    tags = folder / "tags.yaml"
    text = tags.read_text()
    assert old in text
    tags.write_text(text.replace(old, new, 1))
    result = run_apply(folder, "--datastream-id", DATASTREAM_ID)
    assert result.exit_code == 3 and "validate rejects this folder" in result.stderr, result.output
    assert fake.calls == []  # not even a read
    forced = run_apply(folder, "--datastream-id", DATASTREAM_ID, "--skip-checks")
    assert forced.exit_code == 0, forced.output
