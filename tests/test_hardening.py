"""Hostile servers on 127.0.0.1 against the Graph client (issue 14: secrets 1-2, faults 12)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from quickstart.cli import main
from quickstart.redaction import redact, secret_forms
from tests.fakes.hostile import HostileServer, every_form

TOKEN = "EAAGhostile+Token/0123456789abcdef=="


class _Entry:
    name = "quickstart"

    def main(self, args, prog_name=None, **extra):
        main(list(args))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    target = tmp_path_factory.mktemp("hostile") / "example.com"
    result = CliRunner().invoke(_Entry(), ["init", "example.com", "--pixel-id", "1234567890", "--test-event-code",
                                           "TEST1", "--events", "Lead,Purchase", "--yes", "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture
def hostile():
    with HostileServer() as server, HostileServer() as elsewhere:
        server.elsewhere = elsewhere
        yield server


def validate(folder, server):
    env = {"META_CAPI_ACCESS_TOKEN": TOKEN, "QUICKSTART_GRAPH_URL": server.url}
    return CliRunner().invoke(_Entry(), ["validate", str(folder)], env=env)


def assert_no_token(result) -> None:
    for form in every_form(TOKEN):
        assert form not in result.stdout and form not in result.stderr, form


def test_a_success_that_echoes_the_token_in_every_form_shows_none_of_them(folder, hostile):
    forms = every_form(TOKEN)
    hostile.then(200, {"events_received": 2, "messages": [f"echo {form}" for form in forms],
                       "fbtrace_id": "A" + forms[3]})
    result = validate(folder, hostile)
    assert result.exit_code == 0, result.output
    assert "(redacted)" in result.stdout
    assert_no_token(result)


@pytest.mark.parametrize("status", [307, 308, 301, 302, 303])
def test_a_redirect_is_one_line_and_nothing_follows_it(folder, hostile, status):
    target = f"{hostile.elsewhere.url}/v22.0/1234567890/events?access_token={TOKEN}"
    hostile.then(status, b"", {"Location": target})
    hostile.elsewhere.then(200, {"events_received": 2, "fbtrace_id": "Aelsewhere"})
    result = validate(folder, hostile)
    assert result.exit_code == 1, result.output
    assert len(hostile.received) == 1 and hostile.elsewhere.received == []  # the token went nowhere else
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "redirect to" in lines[0] and hostile.elsewhere.url in lines[0]
    assert "OK" not in result.stdout
    assert_no_token(result)


def test_a_200_that_is_not_json_is_one_clear_error_and_not_sent_again(folder, hostile):
    hostile.then(200, b"<html>gateway says hi</html>", {"Content-Type": "text/html"})
    result = validate(folder, hostile)
    assert result.exit_code == 1, result.output
    assert len(hostile.received) == 1
    assert "not JSON" in result.stderr and "may have been recorded" in result.stderr


def test_redaction_knows_every_form():
    text = " ".join(every_form(TOKEN)) + " " + TOKEN.lower()
    assert redact(text, [TOKEN]).replace("(redacted)", "").strip(" ") == ""
    assert TOKEN in secret_forms(TOKEN)


# --- Adobe (IMS, Reactor): the shared send_with_retries ---------------------------------------

def test_ims_never_sends_the_client_secret_after_a_redirect(hostile):
    import requests

    from quickstart.adobe import ims
    from quickstart.errors import RemoteError

    secret = "p8e-SECRETsecret0123456789"
    hostile.then(307, b"", {"Location": f"{hostile.elsewhere.url}/ims/token/v3?client_secret={secret}"})
    credentials = ims.credentials_from_env({"ADOBE_CLIENT_ID": "id", "ADOBE_CLIENT_SECRET": secret,
                                            "ADOBE_ORG_ID": "ORG@AdobeOrg"})
    with pytest.raises(RemoteError) as caught:
        ims.TokenProvider(credentials, requests.Session(), ims_url=hostile.url).token()
    assert hostile.elsewhere.received == [] and len(hostile.received) == 1
    assert "redirect to" in caught.value.message and secret not in caught.value.message


def test_a_huge_retry_after_gives_up_at_once_with_exit_4(hostile):
    import time

    import requests

    from quickstart.http import RetryPolicy, send_with_retries
    from quickstart.errors import ExitCode, UnreachableError

    hostile.then(429, b"{}", {"Retry-After": "100000"})
    started = time.monotonic()
    with pytest.raises(UnreachableError) as caught:
        send_with_retries(requests.Session(), "GET", hostile.url + "/companies", idempotent=True, what="Reactor",
                          policy=RetryPolicy(base_delay=0.01))
    assert time.monotonic() - started < 2
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert "100,000 s" in caught.value.message and len(hostile.received) == 1


# --- the token: normalised once, quoted in .env (issue 14 item 3) ------------------------------

def test_a_token_with_surrounding_whitespace_is_sent_and_redacted_stripped(folder, hostile):
    hostile.then(200, {"events_received": 2, "messages": [f"echo {TOKEN}"], "fbtrace_id": "Aok"})
    env = {"META_CAPI_ACCESS_TOKEN": f"  {TOKEN}\n", "QUICKSTART_GRAPH_URL": hostile.url}
    result = CliRunner().invoke(_Entry(), ["validate", str(folder)], env=env)
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(hostile.received[0].body)["access_token"] == TOKEN
    assert_no_token(result)


@pytest.mark.parametrize("bad", ["EAAB abc", "EAAB\nX=1", "EAAB\x07x", "EAAB'x"])
def test_a_token_with_a_space_control_or_quote_inside_is_refused(folder, hostile, bad):
    env = {"META_CAPI_ACCESS_TOKEN": bad, "QUICKSTART_GRAPH_URL": hostile.url}
    result = CliRunner().invoke(_Entry(), ["validate", str(folder)], env=env)
    assert result.exit_code == 2 and "access token" in result.stderr and hostile.received == []
    assert bad not in result.stderr


def test_env_is_quoted_so_sourcing_it_runs_nothing_and_dotenv_reads_it(tmp_path):
    import subprocess

    from quickstart.envfile import read_env_file

    target = tmp_path / "site"
    token = "EAAG$(touch${IFS}pwned)`id`;ls"
    result = CliRunner().invoke(_Entry(), ["init", "example.com", "--pixel-id", "1", "--yes", "--token-stdin",
                                           "--store-token", "-o", str(target)], input=token + "\n")
    assert result.exit_code == 0, result.output
    assert read_env_file(target)["META_CAPI_ACCESS_TOKEN"] == token  # python-dotenv, literally
    sourced = subprocess.run(["sh", "-c", '. ./.env; printf %s "$META_CAPI_ACCESS_TOKEN"'], cwd=target,
                             capture_output=True, text=True, check=True).stdout
    assert sourced == token and not (target / "pwned").exists()


def test_a_debug_traceback_never_shows_the_token(folder, monkeypatch):
    """QUICKSTART_DEBUG=1 prints the traceback of an unexpected error, every secret redacted (item 4)."""
    from quickstart import validate as validate_module

    def boom(*args, **kwargs):
        raise RuntimeError(f"something broke while holding {TOKEN} ({TOKEN.lower()})")

    monkeypatch.setattr(validate_module, "run", boom)
    result = CliRunner().invoke(_Entry(), ["validate", str(folder)],
                                env={"META_CAPI_ACCESS_TOKEN": f" {TOKEN}", "QUICKSTART_DEBUG": "1"})
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "RuntimeError" in result.stderr and "(redacted)" in result.stderr
    assert_no_token(result)


# --- deadlines (issue 14 item 10) ---------------------------------------------------------------

def test_a_trickling_answer_is_cut_off_at_the_request_deadline(hostile):
    import time

    from quickstart.errors import ExitCode
    from quickstart.meta.graph import GraphClient, GraphUnreachableError

    hostile.then(200, {"events_received": 1, "fbtrace_id": "A" * 40}, byte_every=0.2)  # ~12 s in all
    started = time.monotonic()
    with GraphClient(TOKEN, base_url=hostile.url, timeout=(2.0, 5.0), request_deadline=1.0) as client:
        with pytest.raises(GraphUnreachableError) as caught:
            client.send_events("1234567890", [{"event_name": "Lead"}])
    assert time.monotonic() - started < 3
    assert caught.value.exit_code == ExitCode.UNREACHABLE and "within 1 s" in caught.value.message
    assert TOKEN not in caught.value.message


def test_retries_stop_at_the_overall_deadline(hostile):
    import time

    from quickstart.meta.graph import GraphClient, GraphUnreachableError

    transient = {"error": {"message": "busy", "code": 2, "is_transient": True, "fbtrace_id": "Abusy"}}
    for _ in range(4):
        hostile.then(503, transient)
    waits: list[float] = []
    clock_start = time.monotonic()
    with GraphClient(TOKEN, base_url=hostile.url, deadline=0.0, sleep=waits.append) as client:
        with pytest.raises(GraphUnreachableError) as caught:
            client.send_events("1234567890", [{"event_name": "Lead"}])
    assert len(hostile.received) == 1 and "within 0 s" in caught.value.message
    assert time.monotonic() - clock_start < 2


def test_a_trickling_adobe_answer_is_cut_off_too(hostile):
    import time

    import requests

    from quickstart.http import RetryPolicy, send_with_retries
    from quickstart.errors import UnreachableError

    hostile.then(200, {"data": ["x" * 60]}, byte_every=0.2)
    started = time.monotonic()
    with pytest.raises(UnreachableError) as caught:
        send_with_retries(requests.Session(), "GET", hostile.url + "/companies", idempotent=True, what="Reactor",
                          policy=RetryPolicy(request_deadline=1.0, timeout=(2.0, 5.0)))
    assert time.monotonic() - started < 3 and "within 1 s" in caught.value.message
