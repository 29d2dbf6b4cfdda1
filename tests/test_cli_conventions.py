"""The command line's conventions and the folder's lifecycle traps (issue 10), each pinned."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from quickstart.cli import cli
from tests.conftest import TOKEN, run_init

DATASTREAM = "0f3a2b1c-1111-2222-3333-444455556666"


def answers_of(folder: Path) -> dict:
    return YAML(typ="safe").load((folder / "quickstart.yaml").read_text())


# -- environment variables are defaults for init only -----------------------------------------


def test_update_ignores_the_environment_and_changes_only_what_a_flag_says(generated, runner):
    before = answers_of(generated)
    result = runner.invoke(cli, ["update", str(generated)], env={"META_PIXEL_ID": "555", "META_TEST_EVENT_CODE": "TEST999"})
    assert result.exit_code == 0, result.output
    assert answers_of(generated) == before
    assert "META_PIXEL_ID" not in runner.invoke(cli, ["update", "--help"]).output
    assert "META_PIXEL_ID" in runner.invoke(cli, ["init", "--help"]).output
    assert runner.invoke(cli, ["update", str(generated), "--pixel-id", "555"]).exit_code == 0
    assert answers_of(generated)["pixel_id"] == "555"


# -- init on a folder, --answers from another site ---------------------------------------------


def test_answers_from_another_site_leave_its_datastream_id_out(generated, runner, tmp_path):
    assert runner.invoke(cli, ["update", str(generated), "--datastream-id", DATASTREAM]).exit_code == 0
    other = tmp_path / "shop.example.org"
    result = run_init(runner, other, "shop.example.org", "--answers", str(generated / "quickstart.yaml"), "--yes")
    assert result.exit_code == 0, result.output
    assert answers_of(other).get("datastream_id") in (None, "")
    assert answers_of(other)["pixel_id"] == answers_of(generated)["pixel_id"]
    assert "note: datastream_id from the answers file belongs to 'example.com'" in result.output
    same = tmp_path / "again"
    result = run_init(runner, same, "example.com", "--answers", str(generated / "quickstart.yaml"), "--yes")
    assert answers_of(same)["datastream_id"] == DATASTREAM  # the same site keeps it


def test_the_token_hint_points_at_update_not_at_a_reset(generated, runner):
    result = run_init(runner, generated.parent / "fresh", "example.com", "--pixel-id", "1", "--yes")
    assert "--store-token --token-stdin" in result.output and "quickstart update" in result.output
    stored = runner.invoke(cli, ["update", str(generated), "--store-token", "--token-stdin"], input=TOKEN + "\n")
    assert stored.exit_code == 0, stored.output
    assert re.search(r"create +\.env", stored.output)
    env = generated / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600 and TOKEN in env.read_text()
    assert TOKEN not in stored.output


# -- file modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_generated_files_follow_the_umask_and_only_env_is_private(tmp_path, umask, mode):
    folder = tmp_path / "site"
    script = ("import os, sys; os.umask(int(sys.argv[1], 8)); from quickstart.cli import main; "
              "main(['init', 'example.com', '--pixel-id', '1', '--yes', '--store-token', '--token-stdin', '-o', sys.argv[2]])")
    proc = subprocess.run([sys.executable, "-c", script, oct(umask)[2:], str(folder)], input=TOKEN + "\n",
                          capture_output=True, text=True, env={**os.environ, "META_TEST_EVENT_CODE": ""})
    assert proc.returncode == 0, proc.stderr
    for name in ("tags.yaml", "quickstart.yaml", "snippets/head.development.html", ".gitignore"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode, name
    assert stat.S_IMODE((folder / ".env").stat().st_mode) == 0o600
    update = subprocess.run([sys.executable, "-c", script.replace("'init', 'example.com', '--pixel-id', '1', '--yes', "
                                                                   "'--store-token', '--token-stdin', '-o', sys.argv[2]",
                                                                   "'update', sys.argv[2], '--pixel-id', '2'"),
                             oct(umask)[2:], str(folder)], capture_output=True, text=True)
    assert update.returncode == 0, update.stderr
    assert stat.S_IMODE((folder / "tags.yaml").stat().st_mode) == mode


# -- end of input, closed pipes ------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`quickstart ... | head -1`: the reader is gone (here: from the start, so the test does not
    depend on how fast a pipe drains) and quickstart stops with 141, saying nothing."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "quickstart", "init", "example.com", "--pixel-id", "1", "--yes",
                               "--dry-run", "-o", str(tmp_path / "site")], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "META_TEST_EVENT_CODE": ""})
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""


# -- FOLDER from the current folder ---------------------------------------------------------------


def test_folder_defaults_to_the_current_folder(generated, runner, monkeypatch):
    monkeypatch.chdir(generated)
    result = runner.invoke(cli, ["validate", "--static-only"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["update", "--dry-run"]).exit_code == 0


@pytest.mark.parametrize("command", [["validate", "--static-only"], ["update"], ["apply", "--plan"]])
def test_a_folder_that_is_not_a_quickstart_folder_gets_one_line_and_the_likely_one(generated, runner, monkeypatch, command):
    monkeypatch.chdir(generated.parent)
    result = runner.invoke(cli, command)
    assert result.exit_code == 2
    assert result.output.strip() == ("error: '.' is not a quickstart folder (no quickstart.yaml); "
                                     f"did you mean ./{generated.name}?")


# -- JSON everywhere, errors included -----------------------------------------------------------


@pytest.mark.parametrize("args, code, words", [
    (["validate", "{missing}", "--json"], 2, "does not exist"),
    (["update", "{folder}", "--events", "Purchse", "--json"], 2, "did you mean Purchase?"),
    (["apply", "{folder}", "--plan", "--json"], 2, "ADOBE_CLIENT_ID"),
    (["init", "example.com", "--json", "--yes"], 2, "--pixel-id"),
])
def test_with_json_errors_are_json_on_stdout(generated, runner, args, code, words):
    args = [a.format(folder=generated, missing=generated / "nope") for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == code
    data = json.loads(result.stdout)
    assert data["exit_code"] == code and words in data["error"]["message"] and data["error"]["type"]


def test_init_and_update_print_json_results(tmp_path, runner):
    result = runner.invoke(cli, ["init", "example.com", "--pixel-id", "1", "--yes", "--json", "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {f["path"]: f["status"] for f in data["files"]}["tags.yaml"] == "create"
    dry = runner.invoke(cli, ["update", str(tmp_path / "s"), "--pixel-id", "2", "--dry-run", "--json"])
    assert dry.exit_code == 5 and json.loads(dry.stdout)["would_change"] is True


def test_init_dry_run_writes_nothing(tmp_path, runner):
    result = runner.invoke(cli, ["init", "example.com", "--pixel-id", "1", "--yes", "--dry-run", "-o", str(tmp_path / "s")])
    assert result.exit_code == 5 and "would write" in result.output
    assert not (tmp_path / "s").exists()


# -- did you mean, YAML errors, versions ----------------------------------------------------------


def test_did_you_mean_for_events_answer_keys_and_descriptors(generated, runner):
    result = runner.invoke(cli, ["update", str(generated), "--events", "PageView,AddToKart"])
    assert result.exit_code == 2 and "unknown event 'AddToKart'; did you mean AddToCart?" in result.output
    answers = generated / "quickstart.yaml"
    answers.write_text(answers.read_text() + "pixelid: '12'\n")
    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 2 and "unknown answer 'pixelid'; did you mean pixel_id?" in result.output
    from quickstart.schemas import validate_settings

    [problem] = validate_settings("core::actions::custom-cod", {}, "web")
    assert "did you mean core::actions::custom-code?" in problem


def test_yaml_errors_name_the_file_the_line_and_the_parsers_words(generated, runner):
    answers = generated / "quickstart.yaml"
    answers.write_text(answers.read_text() + 'default_country: "GB\n')
    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 2
    assert re.search(r"quickstart\.yaml', line \d+: is not valid YAML \(while scanning a quoted scalar; "
                     r"found unexpected end of stream\)", result.output), result.output


def test_an_unknown_version_names_the_versions_it_reads(generated, runner):
    answers = generated / "quickstart.yaml"
    answers.write_text(answers.read_text().replace("version: 1", "version: 2"))
    result = runner.invoke(cli, ["update", str(generated)])
    assert result.exit_code == 2 and "has version '2'; this quickstart reads version 1" in result.output


# -- colour ----------------------------------------------------------------------------------------


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch, generated, runner):
    from quickstart import output

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert output.colour_enabled(_Terminal()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert output.colour_enabled(_Terminal()) is False
    monkeypatch.delenv("NO_COLOR")
    result = runner.invoke(cli, ["update", str(generated), "--pixel-id", "9"])
    assert "\x1b[" not in result.output  # not a terminal: plain
    from quickstart.render import FileStatus, WriteResult

    painted = output.format_write_result(WriteResult(generated, [FileStatus("tags.yaml", "conflict")]), colour=True)
    assert "\x1b[1;31mconflict\x1b[0m" in painted
    runner.invoke(cli, ["--no-color", "update", str(generated)])
    assert os.environ.get("NO_COLOR") == "1"


# -- completion and help ---------------------------------------------------------------------------


def test_completion_scripts_and_event_names(runner):
    for shell in ("bash", "zsh", "fish"):
        result = runner.invoke(cli, ["completion", shell])
        assert result.exit_code == 0 and "_QUICKSTART_COMPLETE" in result.output
    env = {**os.environ, "_QUICKSTART_COMPLETE": "bash_complete", "COMP_WORDS": "quickstart validate . --event Pur",
           "COMP_CWORD": "4"}
    proc = subprocess.run([sys.executable, "-m", "quickstart"], env=env, capture_output=True, text=True)
    assert "plain,Purchase" in proc.stdout.splitlines()
    env.update(COMP_WORDS="quickstart init example.com --events PageView,Add", COMP_CWORD="4")
    proc = subprocess.run([sys.executable, "-m", "quickstart"], env=env, capture_output=True, text=True)
    assert {"plain,PageView,AddToCart", "plain,PageView,AddPaymentInfo", "plain,PageView,AddToWishlist"} <= set(
        proc.stdout.splitlines())


def test_help_lists_commands_in_workflow_order_without_cut_summaries(runner):
    text = runner.invoke(cli, ["--help"]).output
    commands = text.split("Commands:")[1]
    names = [line.split()[0] for line in commands.splitlines() if line.startswith("  ") and line.split()]
    assert names == ["init", "validate", "apply", "publish", "update", "completion"]
    assert "..." not in commands
