"""`quickstart init` and `quickstart update` from flags: the folder, safety, re-runs."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from quickstart import catalog
from quickstart.cli import cli
from tests.conftest import TOKEN, run_init

RENDERED = {"tags.yaml", "event-forwarding.yaml", "datastream.yaml", "snippets/head.development.html", "snippets/data-layer.js",
            "snippets/metaConversion.d.ts", "README.md"}
EXPECTED_FILES = {
    "quickstart.yaml", *RENDERED, ".gitignore", ".quickstart/manifest.json",
    *(f".quickstart/base/{name}" for name in RENDERED),  # the last render, for three-way merges
}


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def load(folder: Path, name: str):
    return YAML(typ="safe").load((folder / name).read_text())


def test_init_writes_the_whole_folder(generated):
    assert set(files_in(generated)) == EXPECTED_FILES
    tags = load(generated, "tags.yaml")
    assert [r["name"] for r in tags["rules"]] == ["MetaConversion_Setup", *(e.rule_name for e in catalog.EVENTS)]
    edge = load(generated, "event-forwarding.yaml")
    assert [r["name"] for r in edge["rules"]] == [e.rule_name for e in catalog.EVENTS]
    assert load(generated, "quickstart.yaml")["test_event_code"] == "TEST12345"
    assert load(generated, "datastream.yaml")["datastream"]["id"] == "PENDING_DATASTREAM_ID"
    assert "PENDING" in (generated / "snippets/head.development.html").read_text()
    assert ".env" in (generated / ".gitignore").read_text().split()


def test_default_output_is_the_domain(tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["init", "Shop.Example.com", "--pixel-id", "1", "--yes"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shop.example.com" / "tags.yaml").is_file()


def test_events_flag_limits_rules_and_snippets(tmp_path, runner):
    folder = tmp_path / "out"
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--events", "PageView,Purchase", "--yes")
    assert result.exit_code == 0
    assert [r["name"] for r in load(folder, "tags.yaml")["rules"]] == [
        "MetaConversion_Setup", "MetaConversion_PageView", "MetaConversion_Purchase"]
    js = (folder / "snippets/data-layer.js").read_text()
    assert 'window.metaConversion.track("Purchase", {' in js and "AddToCart" not in js
    types = (folder / "snippets/metaConversion.d.ts").read_text()
    assert '| "Purchase"' in types and "AddToCart" not in types


@pytest.mark.parametrize("args, message", [
    (["https://example.com", "--pixel-id", "1"], "scheme"),
    (["example.com", "--pixel-id", "12x"], "digits only"),
    (["example.com", "--pixel-id", "1", "--data-layer-path", "dataLayer"], "window."),
    (["example.com", "--pixel-id", "1", "--events", "Buy"], "unknown event"),
    (["example.com", "--pixel-id", "1", "--test-event-code", "a b"], "letters and digits"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, message):
    import subprocess
    import sys

    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "quickstart", "init", *args, "--yes", "-o", str(out)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_without_tty_missing_answers_name_the_flags(tmp_path, runner):
    result = runner.invoke(cli, ["init", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "DOMAIN" in result.output and "--pixel-id" in result.output
    assert not (tmp_path / "x").exists()


def test_pixel_id_from_environment(tmp_path, runner):
    result = run_init(runner, tmp_path / "o", "example.com", "--yes", env={"META_PIXEL_ID": "998877"})
    assert result.exit_code == 0
    assert load(tmp_path / "o", "tags.yaml")["extensions"][2]["settings"] == {"pixelId": "998877"}


def test_answers_file_replay_with_flag_override(generated, tmp_path, runner):
    other = tmp_path / "replayed"
    result = run_init(runner, other, "--answers", str(generated / "quickstart.yaml"), "--pixel-id", "42", "--yes")
    assert result.exit_code == 0, result.output
    replay = load(other, "quickstart.yaml")
    assert replay["domain"] == "example.com" and replay["pixel_id"] == "42" and replay["ldu"] is True
    # Everything but the pixel id is the same as the original.
    assert (other / "snippets/data-layer.js").read_text() == (generated / "snippets/data-layer.js").read_text()


def test_store_token_writes_env_0600_and_nowhere_else(tmp_path, runner):
    folder = tmp_path / "o"
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--store-token", "--yes",
                      env={"META_CAPI_ACCESS_TOKEN": TOKEN})
    assert result.exit_code == 0
    env_file = folder / ".env"
    assert env_file.read_text() == f"META_CAPI_ACCESS_TOKEN='{TOKEN}'\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert TOKEN not in result.output
    leaks = [name for name, data in files_in(folder).items() if TOKEN.encode() in data and name != ".env"]
    assert leaks == []


def test_token_stdin(tmp_path, runner):
    folder = tmp_path / "o"
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--token-stdin", "--store-token", "--yes",
                      input=TOKEN + "\n")
    assert result.exit_code == 0
    assert TOKEN in (folder / ".env").read_text() and TOKEN not in result.output


def test_token_not_stored_without_consent(tmp_path, runner):
    folder = tmp_path / "o"
    run_init(runner, folder, "example.com", "--pixel-id", "1", "--yes", env={"META_CAPI_ACCESS_TOKEN": TOKEN})
    assert not (folder / ".env").exists()
    assert all(TOKEN.encode() not in data for data in files_in(folder).values())


def test_store_token_without_a_token_is_an_error(tmp_path, runner):
    result = run_init(runner, tmp_path / "o", "example.com", "--pixel-id", "1", "--store-token", "--yes")
    assert result.exit_code == 2 and "needs a token" in result.output
    assert not (tmp_path / "o").exists()


def test_rerun_is_identical(generated, runner):
    before = files_in(generated)
    result = run_init(runner, generated, "example.com", "--pixel-id", "1234567890", "--test-event-code", "TEST12345",
                      "--ldu", "--yes")
    assert result.exit_code == 0
    assert "nothing changed" in result.output and not re.search(r"^ +(conflict|update) ", result.output, re.M)
    assert files_in(generated) == before


def test_an_edited_file_is_merged_three_ways_and_the_rest_is_written(generated, runner):
    readme = generated / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "555"])
    assert result.exit_code == 0, result.output
    assert re.search(r"merged +README\.md", result.output) and re.search(r"update +tags\.yaml", result.output)
    text = readme.read_text()
    assert "Our own notes." in text and "555" in text and "1234567890" not in text  # your edit + the new render
    assert 'pixelId: "555"' in (generated / "tags.yaml").read_text()
    again = runner.invoke(cli, ["update", str(generated)])
    assert again.exit_code == 0 and "nothing changed" in again.output and "your edits kept in README.md" in again.output
    assert "Our own notes." in readme.read_text()

    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "777", "--force"])
    assert result.exit_code == 0, result.output
    assert "Our own notes." not in readme.read_text() and "777" in readme.read_text()
    backups = list((generated / ".quickstart" / "backup").rglob("README.md"))
    assert len(backups) == 1 and "Our own notes." in backups[0].read_text()


def test_both_changing_the_same_lines_gets_conflict_markers_and_a_backup(generated, runner):
    tags = generated / "tags.yaml"
    tags.write_text(tags.read_text().replace('pixelId: "1234567890"', 'pixelId: "1111111111"  # ours'))
    head = generated / "snippets" / "head.development.html"
    head_before = head.read_text()
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "555"])
    assert result.exit_code == 1, result.output
    assert re.search(r"conflict +tags\.yaml", result.output) and "conflict markers" in result.output
    text = tags.read_text()
    assert "<<<<<<< your edit" in text and 'pixelId: "1111111111"  # ours' in text and 'pixelId: "555"' in text
    assert text.count("<<<<<<<") == 1  # only where both changed the same lines
    backups = list((generated / ".quickstart" / "backup").rglob("tags.yaml"))
    assert len(backups) == 1 and "<<<<<<<" not in backups[0].read_text()
    assert 'pixelId: "555"' in (generated / "event-forwarding.yaml").read_text()  # everything else was written
    assert head.read_text() == head_before


def test_an_edit_the_new_render_does_not_touch_is_kept(generated, runner):
    data_layer = generated / "snippets" / "data-layer.js"
    data_layer.write_text(data_layer.read_text().replace("metaConversion.track(", "/* filled */ metaConversion.track(", 1))
    result = runner.invoke(cli, ["update", str(generated), "--test-event-code", "TEST999"])
    assert result.exit_code == 0, result.output
    assert re.search(r"kept +snippets/data-layer\.js", result.output)
    assert "/* filled */" in data_layer.read_text()
    assert "TEST999" in (generated / "quickstart.yaml").read_text()


def test_update_diff_shows_what_would_change(generated, runner):
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "987654321", "--dry-run", "--diff"])
    assert result.exit_code == 5, result.output
    assert '-    pixelId: "1234567890"' in result.output and '+    pixelId: "987654321"' in result.output
    assert "--- a/tags.yaml" in result.output and "+++ b/tags.yaml" in result.output
    assert "987654321" not in (generated / "tags.yaml").read_text()


def test_init_over_existing_folder_starts_from_its_answers_and_keeps_edits(generated, runner):
    tags = generated / "tags.yaml"
    tags.write_text("# mine\n" + tags.read_text())
    update = runner.invoke(cli, ["update", str(generated), "--events", "PageView,Purchase", "--datastream-id",
                                 "0f3a2b1c-1111-2222-3333-444455556666"])
    assert update.exit_code == 0, update.output
    result = run_init(runner, generated, "example.com", "--yes")  # no pixel id: the folder has one
    assert result.exit_code == 0, result.output
    answers = load(generated, "quickstart.yaml")
    assert answers["events"] == ["PageView", "Purchase"] and answers["pixel_id"] == "1234567890"
    assert answers["datastream_id"] == "0f3a2b1c-1111-2222-3333-444455556666"
    assert tags.read_text().startswith("# mine\n")
    assert "nothing changed" in result.output


def test_init_refuses_foreign_files_in_target(tmp_path, runner):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "README.md").write_text("the user's own readme\n")
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--yes")
    assert result.exit_code == 2
    assert (folder / "README.md").read_text() == "the user's own readme\n"


def test_update_adds_an_event_with_per_file_status(generated, runner):
    qs = generated / "quickstart.yaml"
    qs.write_text(qs.read_text().replace("  - ViewContent\n", "").replace("pixel_id:", "# keep me\npixel_id:"))
    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 0, result.output
    assert re.search(r"update +tags\.yaml", result.output) and re.search(r"identical +snippets/head\.development\.html", result.output)
    assert "MetaConversion_ViewContent" not in (generated / "tags.yaml").read_text()
    result = runner.invoke(cli, ["update", str(generated), "--events", "PageView,Purchase,ViewContent"])
    assert result.exit_code == 0
    assert "MetaConversion_ViewContent" in (generated / "tags.yaml").read_text()
    assert "# keep me" in qs.read_text()


def test_update_dry_run_writes_nothing_and_exits_would_change_when_changes(generated, runner):
    from quickstart.errors import ExitCode

    before = files_in(generated)
    result = runner.invoke(cli, ["update", str(generated), "--events", "PageView", "--dry-run"])
    assert result.exit_code == ExitCode.WOULD_CHANGE == 5 and "would write" in result.output
    assert files_in(generated) == before
    assert runner.invoke(cli, ["update", str(generated), "--dry-run"]).exit_code == 0


def test_failed_write_leaves_no_partial_folder(tmp_path, runner, monkeypatch):
    from quickstart.render import writer as render

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "_save_manifest", boom)
    result = runner.invoke(cli, ["init", "example.com", "--pixel-id", "1", "--yes", "-o", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []  # no target, no staging folder left behind


def test_values_are_escaped_in_generated_js_and_html(tmp_path):
    """Inputs are validated, and still every value placed into JS/HTML goes through escaping."""
    from quickstart.answers import Answers
    from quickstart.render import render_files

    answers = Answers.from_values({"domain": "example.com", "pixel_id": "1"})
    answers.domain = 'evil.com"><script>alert(1)</script>'  # bypass validation on purpose
    answers.data_layer_path = 'window.a"];alert(1);//'
    files = render_files(answers, "out", {"development": 'https://x/"><script>alert(2)</script>'})
    assert "<script>alert(2)" not in files["snippets/head.development.html"]
    assert "&#34;&gt;&lt;script&gt;" in files["snippets/head.development.html"] or "&#34;" in files["snippets/head.development.html"]
    assert not re.search(r'(?<!\\)"\];alert', files["snippets/data-layer.js"])  # the quote stays escaped
    assert "<script>" not in files["snippets/data-layer.js"]


def test_os_errors_are_one_line_without_traceback(tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "quickstart", "init", "example.com", "--pixel-id", "1", "--yes",
                           "-o", str(blocker / "sub" / "out")], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "a-file" in proc.stderr
    assert blocker.read_text() == "not a folder"


def test_keep_conflicts_updates_the_rest_and_leaves_user_edits(generated):
    """What `apply` uses to record a datastream id: untouched files follow, edited ones stay the user's."""
    from quickstart.answers import Answers, load_answers_file
    from quickstart.render import write_folder

    readme = generated / "README.md"
    readme.write_text("mine\n")
    values = load_answers_file(generated / "quickstart.yaml") | {"datastream_id": "ds-123"}
    result = write_folder(generated, Answers.from_values(values), keep_conflicts=True)
    statuses = {f.path: f.status for f in result.files}
    assert statuses["README.md"] == "kept" and readme.read_text() == "mine\n"
    assert statuses["tags.yaml"] == "update" and "edgeConfigId: ds-123" in (generated / "tags.yaml").read_text()
    assert "datastream_id: ds-123" in (generated / "quickstart.yaml").read_text()


@pytest.mark.parametrize("extra, env, message", [
    ([], {"META_CAPI_ACCESS_TOKEN": TOKEN}, "needs a test event code"),
    (["--test-event-code", "TEST1"], {}, "needs the access token"),
])
def test_validate_flag_checks_its_needs_before_writing(tmp_path, runner, extra, env, message):
    result = run_init(runner, tmp_path / "o", "example.com", "--pixel-id", "1", "--validate", "--yes", *extra, env=env)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o").exists()


def test_update_with_nothing_to_change_answers_from_the_manifest(generated, runner, monkeypatch):
    """No render when the answers, the sources and every file are what the manifest recorded."""
    from quickstart.render import writer as render

    def no_render(*args, **kwargs):
        raise AssertionError("rendered although nothing changed")

    monkeypatch.setattr(render, "render_files", no_render)
    result = runner.invoke(cli, ["update", str(generated), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output and "every file is identical" in result.output


def test_a_changed_file_or_answer_still_renders(generated, runner):
    (generated / "snippets/head.development.html").unlink()
    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 0 and "create" in result.output and (generated / "snippets/head.development.html").exists()
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "999", "--dry-run"])
    assert result.exit_code == 5 and "update" in result.output


def test_two_forced_updates_in_one_second_keep_both_backups(generated, runner, monkeypatch):
    from quickstart.render import writer as render

    monkeypatch.setattr(render.time, "strftime", lambda fmt: "20261203-120000")  # the same second, twice
    readme = generated / "README.md"
    for edit, pixel in (("First edit.", "555"), ("Second edit.", "556")):
        readme.write_text(readme.read_text() + f"\n{edit}\n")
        result = runner.invoke(cli, ["update", str(generated), "--pixel-id", pixel, "--force"])
        assert result.exit_code == 0, result.output
    backups = sorted((generated / ".quickstart" / "backup").rglob("README.md"))
    assert len(backups) == 2
    assert "First edit." in backups[0].read_text() and "Second edit." in backups[1].read_text()


def test_an_odd_folder_name_is_quoted_for_the_shell_and_fenced_for_markdown(tmp_path, runner):
    import shlex

    name = "we`ird $(touch x) <b>site<b>"
    folder = tmp_path / name
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--yes")
    assert result.exit_code == 0, result.output
    assert f"quickstart validate {shlex.quote(str(folder))} " in result.output
    readme = (folder / "README.md").read_text()
    assert f"``quickstart validate {shlex.quote(name)}``" in readme  # a fence longer than the name's backtick
    outside_code = re.sub(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", readme)  # CommonMark code spans removed
    assert "<b>" not in outside_code and "$(touch" not in outside_code


def test_update_never_writes_through_a_link_out_of_the_folder(generated, runner, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "head.html").write_text("theirs\n")
    snippets = generated / "snippets"
    shutil.rmtree(snippets)
    snippets.symlink_to(outside, target_is_directory=True)
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "777", "--force"])
    assert result.exit_code == 2 and "leads out of" in result.output
    assert sorted(p.name for p in outside.iterdir()) == ["head.html"]
    assert (outside / "head.html").read_text() == "theirs\n"


def test_a_failed_update_changes_nothing_and_the_next_one_has_no_false_conflicts(generated, runner, monkeypatch):
    import errno

    from quickstart.render import writer as render

    before = files_in(generated)
    real_mkstemp, calls = render.tempfile.mkstemp, []

    def disk_full_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(render.tempfile, "mkstemp", disk_full_on_the_third)
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "777"])
    assert result.exit_code == 1 and "No space left" in result.output
    assert files_in(generated) == before  # all or nothing
    assert not [p for p in generated.rglob("*.tmp")]
    monkeypatch.setattr(render.tempfile, "mkstemp", real_mkstemp)
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "777"])
    assert result.exit_code == 0 and "conflict" not in result.output, result.output


def test_the_loser_of_two_concurrent_inits_says_so(tmp_path, runner, monkeypatch):
    from quickstart.render import writer as render

    folder = tmp_path / "example.com"
    real_rename = render.os.rename

    def the_other_one_was_faster(source, target):
        Path(target).mkdir()
        (Path(target) / "quickstart.yaml").write_text("domain: other.example\n")
        return real_rename(source, target)

    monkeypatch.setattr(render.os, "rename", the_other_one_was_faster)
    result = run_init(runner, folder, "example.com", "--pixel-id", "1", "--yes")
    assert result.exit_code == 1 and f"another quickstart is writing {folder}" in result.output
    assert ".quickstart-" not in result.output  # no hidden staging folder named
    assert [p.name for p in tmp_path.iterdir()] == ["example.com"]  # the staging folder is gone


def test_ctrl_c_while_starting_is_a_quiet_130():
    """An interrupt while the command is still importing its libraries: exit 130, no traceback.
    The interrupt is sent at a known moment (right after the entry point loaded, before the CLI
    did) instead of after a guessed delay, so the test does not depend on the machine's speed."""
    import signal
    import subprocess
    import sys

    code = ("import os, signal, quickstart._entry\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "import quickstart.cli  # the imports an interrupt would otherwise break with a traceback\n"
            "print('not interrupted')\n")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert process.returncode == 130 and "Traceback" not in process.stderr and "not interrupted" not in process.stdout
    # Without the entry point's handler the same moment is a KeyboardInterrupt traceback.
    bare = subprocess.run([sys.executable, "-c", code.replace("import os, signal, quickstart._entry", "import os, signal")],
                          capture_output=True, text=True, timeout=60)
    assert "KeyboardInterrupt" in bare.stderr and bare.returncode != 130


def test_update_moves_an_older_head_html_to_the_development_snippet_keeping_edits(generated, runner):
    """Folders made before per-environment snippets had snippets/head.html (and its manifest entry)."""
    import json

    snippets, quickstart_dir = generated / "snippets", generated / ".quickstart"
    (snippets / "head.development.html").rename(snippets / "head.html")
    (quickstart_dir / "base" / "snippets" / "head.development.html").rename(quickstart_dir / "base" / "snippets" / "head.html")
    manifest = json.loads((quickstart_dir / "manifest.json").read_text())
    manifest["files"]["snippets/head.html"] = manifest["files"].pop("snippets/head.development.html")
    manifest["render_key"] = ""
    (quickstart_dir / "manifest.json").write_text(json.dumps(manifest))
    old = snippets / "head.html"
    old.write_text("<!-- ours -->\n" + old.read_text())

    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 0, result.output
    assert "moved from snippets/head.html" in result.output
    assert not old.exists() and (snippets / "head.development.html").read_text().startswith("<!-- ours -->\n")
    again = runner.invoke(cli, ["update", str(generated)])
    assert again.exit_code == 0 and "nothing changed" in again.output and not old.exists()
