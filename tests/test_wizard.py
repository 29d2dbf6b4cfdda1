"""The interactive wizard: prompt_toolkit pipe input around CliRunner, and real terminals (pexpect)."""

from __future__ import annotations

import io
import os
import sys

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from ruamel.yaml import YAML

from quickstart.cli import cli
from tests.conftest import TOKEN

ENTER, CTRL_U, CTRL_C, DOWN, SPACE = "\r", "\x15", "\x03", "\x1b[B", " "


def drive(runner, monkeypatch, keys: str, args: list[str], env: dict | None = None):
    monkeypatch.setenv("QUICKSTART_FORCE_TTY", "1")
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        with create_app_session(input=pipe, output=DummyOutput()):
            return runner.invoke(cli, args, env=env)


def answers_of(folder):
    return YAML(typ="safe").load((folder / "quickstart.yaml").read_text())


def test_full_wizard_flow_with_live_validation(tmp_path, runner, monkeypatch):
    folder = tmp_path / "out"
    keys = (
        "https://shop.example.com" + ENTER + CTRL_U + "shop.example.com" + ENTER  # scheme rejected while typing
        + "12ab" + ENTER + CTRL_U + "998877" + ENTER                             # digits only
        + CTRL_U + "window.dl.meta" + ENTER                                       # data layer path
        + SPACE + ENTER                                                           # un-tick PageView
        + "TEST777" + ENTER
        + "y"                                                                     # LDU on
        + "gb" + ENTER                                                            # default country
        + TOKEN + ENTER                                                           # hidden token
        + "y"                                                                     # store it
        + "n"                                                                     # don't fire tests now
    )
    result = drive(runner, monkeypatch, keys, ["init", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    answers = answers_of(folder)
    assert answers["domain"] == "shop.example.com" and answers["pixel_id"] == "998877"
    assert answers["data_layer_path"] == "window.dl.meta" and answers["test_event_code"] == "TEST777"
    assert answers["ldu"] is True and "PageView" not in answers["events"] and len(answers["events"]) == 17
    assert answers["default_country"] == "GB"
    assert (folder / ".env").read_text().strip() == f"META_CAPI_ACCESS_TOKEN='{TOKEN}'"
    assert TOKEN not in result.output


def test_wizard_asks_only_what_is_missing_with_yes(tmp_path, runner, monkeypatch):
    folder = tmp_path / "out"
    result = drive(runner, monkeypatch, "4242" + ENTER, ["init", "example.com", "--yes", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    assert answers_of(folder)["pixel_id"] == "4242"
    assert len(answers_of(folder)["events"]) == 18 and not (folder / ".env").exists()


def test_declining_to_store_the_token_keeps_it_out_of_the_folder(tmp_path, runner, monkeypatch):
    folder = tmp_path / "out"
    keys = ENTER + ENTER + ENTER + "n" + ENTER + TOKEN + ENTER + "n"
    result = drive(runner, monkeypatch, keys, ["init", "example.com", "--pixel-id", "1", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    assert not (folder / ".env").exists()
    for path in folder.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text()


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, runner, monkeypatch):
    folder = tmp_path / "out"
    result = drive(runner, monkeypatch, "example.com" + ENTER + CTRL_C, ["init", "-o", str(folder)])
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert list(tmp_path.iterdir()) == []


# -- real terminals -------------------------------------------------------------------------------

pexpect = pytest.importorskip("pexpect")


def spawn(args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("META_", "QUICKSTART_"))}
    # PROMPT_TOOLKIT_NO_CPR: a pty never answers prompt_toolkit's cursor-position request (~1 s a prompt).
    env.update(TERM="xterm", COLUMNS="100", LINES="40", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "quickstart", *args], cwd=str(cwd), env=env, timeout=20,
                          encoding="utf-8", dimensions=(40, 100))
    child.logfile_read = io.StringIO()  # everything the terminal showed, for leak checks
    return child


@pytest.mark.slow
def test_real_terminal_wizard(tmp_path):
    child = spawn(["init", "--yes"], tmp_path)
    child.expect("domain")
    child.send("not a domain\r")
    child.expect("not a hostname")
    child.send("\x15example.net\r")
    child.expect("Pixel ID")
    child.send("31337\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert answers_of(tmp_path / "example.net")["pixel_id"] == "31337"


@pytest.mark.slow
def test_real_terminal_ctrl_c(tmp_path):
    child = spawn(["init"], tmp_path)
    child.expect("domain")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_real_terminal_token_prompt_is_hidden_and_stored_only_with_consent(tmp_path):
    child = spawn(["init", "example.org", "--pixel-id", "7", "--test-event-code", "TEST9"], tmp_path)
    child.expect("Data layer path")
    child.send("\r")
    child.expect("Meta events")
    child.send("\r")
    child.expect("Limited Data Use")
    child.send("n")
    child.expect("Country of customers")
    child.send("\r")
    child.expect("access token")
    child.send(TOKEN + "\r")
    child.expect("Store the token")
    child.send("y")
    child.expect("Fire the test events")
    child.send("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    transcript = child.logfile_read.getvalue()
    assert "Store the token" in transcript  # the transcript is real
    assert TOKEN not in transcript and TOKEN[:12] not in transcript
    assert (tmp_path / "example.org" / ".env").read_text().strip() == f"META_CAPI_ACCESS_TOKEN='{TOKEN}'"


@pytest.mark.slow
def test_real_terminal_ctrl_d_is_a_cancel(tmp_path):
    child = spawn(["init"], tmp_path)
    child.expect("domain")
    child.send("\x04")  # Ctrl-D on an empty answer: end of input
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    transcript = child.logfile_read.getvalue()
    assert "nothing was written" in transcript and "EOFError" not in transcript and "Traceback" not in transcript
    assert list(tmp_path.iterdir()) == []


def test_the_wizard_offers_a_folders_stored_answers():
    from quickstart.wizard import answer_questions

    stored = {"domain": "example.com", "pixel_id": "42", "events": ["PageView", "Purchase"], "ldu": True,
              "test_event_code": "TEST1", "data_layer_path": "window.dl.meta", "default_country": "GB"}
    asked = {q.key: q.default for q in answer_questions({"domain": "example.com"}, True, stored)}
    assert asked == {"pixel_id": "42", "data_layer_path": "window.dl.meta", "events": ["PageView", "Purchase"],
                     "test_event_code": "TEST1", "ldu": True, "default_country": "GB"}
    # With --yes only what no default covers is asked.
    assert answer_questions({"domain": "example.com"}, False, stored) == []
