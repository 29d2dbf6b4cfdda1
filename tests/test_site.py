"""`quickstart validate DIR --site URL` against local test sites, good and broken, in real Chromium.

The pages are served from 127.0.0.1; the external scripts and endpoints (the Tags library URL,
connect.facebook.net, facebook.com/tr, the Edge Network) are answered by Playwright routes with
the stand-ins of tests/fakes/site_standins.py, which run the folder's own generated rules.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from quickstart import site
from quickstart.errors import ExitCode, QuickstartError
from quickstart.settings import PENDING_EMBED_URL
from tests.browser_helpers import PIXEL_ID, generate_folder
from tests.fakes.site_standins import TAGS_LIBRARY_URL, standin_routes

WAIT = 3.0  # seconds the checks wait for requests; the stand-ins answer at once


def applied(folder: Path, url: str = TAGS_LIBRARY_URL) -> Path:
    """What `apply` leaves behind for the site check: the environment's embed URL in state.json,
    and the development snippet with it."""
    head = folder / "snippets/head.development.html"
    text = head.read_text(encoding="utf-8")
    assert PENDING_EMBED_URL in text
    head.write_text(text.replace(PENDING_EMBED_URL, url), encoding="utf-8")
    state = folder / ".quickstart" / "state.json"
    recorded = json.loads(state.read_text()) if state.exists() else {}
    state.write_text(json.dumps({**recorded, "embed_urls": {"development": url}}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return applied(generate_folder(tmp_path_factory.mktemp("good") / "example.com"))


@pytest.fixture(scope="module")
def pending_folder(tmp_path_factory) -> Path:
    return generate_folder(tmp_path_factory.mktemp("pending") / "example.com")


def edited_copy(tmp_path_factory, name: str, edit) -> Path:
    """A generated, applied folder whose tags.yaml ``edit(tags)`` changed, as a user could in the Tags UI."""
    folder = applied(generate_folder(tmp_path_factory.mktemp(name) / "example.com"))
    yaml = YAML()
    tags = yaml.load((folder / "tags.yaml").read_text(encoding="utf-8"))
    edit(tags)
    with (folder / "tags.yaml").open("w", encoding="utf-8") as out:
        yaml.dump(tags, out)
    return folder


def pixel_actions(tags):
    for rule in tags["rules"]:
        for component in rule["components"]:
            if component["delegate_descriptor_id"].startswith("facebook-pixel::actions::"):
                yield rule, component


@pytest.fixture(scope="module")
def own_pixel_id_folder(tmp_path_factory) -> Path:
    """The Pixel actions take their event_id from a data element of their own, not the rule's id."""

    def edit(tags):
        tags["data_elements"].append({"name": "Random Pixel Id", "extension": "core",
                                      "delegate_descriptor_id": "core::dataElements::custom-code",
                                      "settings": {"source": "return crypto.randomUUID();"}})
        for _, component in pixel_actions(tags):
            component["settings"]["event_id"] = "%Random Pixel Id%"

    return edited_copy(tmp_path_factory, "own-id", edit)


@pytest.fixture(scope="module")
def raw_data_layer_folder(tmp_path_factory) -> Path:
    """Someone pointed the Web SDK at the whole data layer (raw customer information) again."""

    def edit(tags):
        for rule in tags["rules"]:
            for component in rule["components"]:
                if component["delegate_descriptor_id"] == "adobe-alloy::actions::send-event":
                    component["settings"]["data"] = "%MetaConversion_DataLayer%"

    return edited_copy(tmp_path_factory, "raw", edit)


@pytest.mark.browser
def test_raw_customer_information_sent_to_the_edge_is_found(browser, site_server, raw_data_layer_folder):
    url = site_server.serve("/raw", good_page(raw_data_layer_folder))
    rows = run_checks(browser, raw_data_layer_folder, url, events=["Lead"])
    row = rows["no raw customer information leaves the page"]
    assert row.status == "fail" and "email" in row.why and "phone" in row.why


@pytest.fixture(scope="module")
def reordered_folder(tmp_path_factory) -> Path:
    """Someone moved the Meta Pixel action above "Generate New Event ID"."""

    def edit(tags):
        for rule, pixel in pixel_actions(tags):
            pixel["order"] = 0
            for component in rule["components"]:
                if component["name"] == "Generate New Event ID":
                    component["order"] = 1

    return edited_copy(tmp_path_factory, "reordered", edit)


def page(head: str = "", body: str = "") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Shop</title>{head}</head>"
            f"<body><h1>Shop</h1>{body}</body></html>")


def embed(folder: Path) -> str:
    return (folder / "snippets/head.development.html").read_text(encoding="utf-8")


def embed_of(url: str) -> str:
    return f'<script src="{url}" async></script>'


def pageview_block(folder: Path) -> str:
    """snippets/data-layer.js's PageView block: the site puts it before the embed code."""
    text = (folder / "snippets/data-layer.js").read_text(encoding="utf-8")
    return text.split("// --- PageView ---", 1)[1].split("// ---", 1)[0]


def run_checks(browser, folder: Path, url: str, events=(), routes_folder: Path | None = None):
    rows = site.check_site(folder, url, events, browser=browser, routes=standin_routes(routes_folder or folder),
                           wait_seconds=WAIT)
    return {row.name: row for row in rows}


def statuses(rows) -> dict[str, str]:
    return {name: row.status for name, row in rows.items()}


def good_page(folder: Path) -> str:
    """The site sets PageView's customer information first, then the whole <head> snippet."""
    user = 'window.dataLayer = []; window.dataLayer.meta = {user: {email: "jane.doe@example.com"}};'
    return page(head=f"<script>{pageview_block(folder)}\n{user}</script>\n{embed(folder)}")


@pytest.mark.browser
def test_good_site_passes_every_check(browser, site_server, folder):
    url = site_server.serve("/good", good_page(folder))
    rows = run_checks(browser, folder, url, events=["Purchase", "AddToCart"])

    assert list(rows) == [
        "page loads", "embed code in <head>", "embed code loads async", "embed code is this folder's environment",
        "_satellite is defined", "site queue before the library", "data layer at window.dataLayer.meta",
        "Meta Pixel loaded",
        "PageView: Pixel request", "PageView: Edge request", "PageView: same event on Pixel and Edge (dedup)",
        "Purchase: Pixel request", "Purchase: Edge request", "Purchase: same event on Pixel and Edge (dedup)",
        "AddToCart: Pixel request", "AddToCart: Edge request", "AddToCart: same event on Pixel and Edge (dedup)",
        "no raw customer information leaves the page",
    ]
    assert all(row.status == site.PASS for row in rows.values()), {n: (r.status, r.why) for n, r in rows.items()}
    assert "currency" in rows["data layer at window.dataLayer.meta"].why  # what Purchase's call wrote there
    # the pair really is one id, seen on both requests
    pixel_id = rows["Purchase: Pixel request"].why.split("eid=")[1]
    assert pixel_id in rows["Purchase: Edge request"].why
    assert pixel_id in rows["Purchase: same event on Pixel and Edge (dedup)"].why
    assert rows["PageView: Pixel request"].why.split("eid=")[1] != pixel_id  # a new id per event
    # Purchase was called the moment the site queue existed, before the async library ran.
    assert "Purchase was called then, before the library loaded" in rows["site queue before the library"].why


@pytest.mark.browser
def test_no_embed_code(browser, site_server, folder):
    url = site_server.serve("/bare", page(body="<p>no tags here</p>"))
    rows = run_checks(browser, folder, url, events=["Purchase"])

    assert statuses(rows) == {
        "page loads": "pass",
        "embed code in <head>": "fail",
        "embed code loads async": "skip",
        "embed code is this folder's environment": "skip",
        "_satellite is defined": "fail",
        "site queue before the library": "fail",
        "data layer at window.dataLayer.meta": "fail",
        "Meta Pixel loaded": "fail",
        "PageView: Pixel request": "skip",
        "PageView: Edge request": "skip",
        "PageView: same event on Pixel and Edge (dedup)": "skip",
        "Purchase: Pixel request": "skip",
        "Purchase: Edge request": "skip",
        "Purchase: same event on Pixel and Edge (dedup)": "skip",
    }
    head = rows["embed code in <head>"]
    assert TAGS_LIBRARY_URL in head.why and "snippets/head.development.html" in head.what_to_do


@pytest.mark.browser
def test_embed_code_in_body_without_async(browser, site_server, folder):
    url = site_server.serve("/late", page(body=f'<script src="{TAGS_LIBRARY_URL}"></script>'))
    rows = run_checks(browser, folder, url)

    assert rows["embed code in <head>"].status == "fail"
    assert "<body>" in rows["embed code in <head>"].why
    assert rows["embed code loads async"].status == "fail"
    assert "async" in rows["embed code loads async"].what_to_do
    # the library still loads from the right place and works, and the report says so
    assert rows["embed code is this folder's environment"].status == "pass"
    assert rows["_satellite is defined"].status == "pass"
    assert rows["PageView: same event on Pixel and Edge (dedup)"].status == "pass"


@pytest.mark.browser
def test_wrong_data_layer_path(browser, site_server, folder):
    # The folder says window.dataLayer.meta; this site fills window.digitalData.meta.
    fills = "<script>window.digitalData = {meta: {value: 10, currency: 'EUR', content_ids: ['A1']}};</script>"
    url = site_server.serve("/elsewhere", page(head=fills + embed(folder)))
    rows = run_checks(browser, folder, url)

    row = rows["data layer at window.dataLayer.meta"]
    assert row.status == "fail"
    assert "window.digitalData.meta" in row.why
    assert "--data-layer-path window.digitalData.meta" in row.what_to_do
    others = {name: r.status for name, r in rows.items() if name != row.name}
    assert set(others.values()) == {"pass"}, others


@pytest.mark.browser
def test_pixel_and_edge_ids_that_differ(browser, site_server, own_pixel_id_folder):
    url = site_server.serve("/own-id", good_page(own_pixel_id_folder))
    rows = run_checks(browser, own_pixel_id_folder, url, events=["Purchase"])

    for event in ("PageView", "Purchase"):
        assert rows[f"{event}: Pixel request"].status == "pass"
        assert rows[f"{event}: Edge request"].status == "pass"
        dedup = rows[f"{event}: same event on Pixel and Edge (dedup)"]
        assert dedup.status == "fail", dedup
        pixel_eid = rows[f"{event}: Pixel request"].why.split("eid=")[1]
        edge_eid = rows[f"{event}: Edge request"].why.split("eventId=")[1]
        assert pixel_eid != edge_eid
        assert pixel_eid in dedup.why and edge_eid in dedup.why and "twice" in dedup.why
        assert "%event.detail.conversionData.eventId%" in dedup.what_to_do


@pytest.mark.browser
def test_pixel_fired_before_the_event_id_exists(browser, site_server, reordered_folder):
    url = site_server.serve("/reordered", good_page(reordered_folder))
    rows = run_checks(browser, reordered_folder, url, events=["Purchase"])

    for event in ("PageView", "Purchase"):
        pixel = rows[f"{event}: Pixel request"]
        assert pixel.status == "fail" and "without eid" in pixel.why
        assert rows[f"{event}: Edge request"].status == "pass"
        assert rows[f"{event}: same event on Pixel and Edge (dedup)"].status == "skip"


@pytest.fixture(scope="module")
def other_pixel_folder(tmp_path_factory) -> Path:
    """The Meta Pixel extension in the built library has another Pixel ID than the folder's."""

    def edit(tags):
        pixel = next(ext for ext in tags["extensions"] if ext["package"] == "facebook-pixel")
        pixel["settings"]["pixelId"] = "999000999"

    return edited_copy(tmp_path_factory, "other-pixel", edit)


@pytest.mark.browser
def test_pixel_requests_to_another_pixel(browser, site_server, other_pixel_folder, folder):
    url = site_server.serve("/other-pixel", good_page(folder))
    # the page runs the library built with the other Pixel ID; the folder checked is the good one
    rows = run_checks(browser, folder, url, routes_folder=other_pixel_folder)

    row = rows["PageView: Pixel request"]
    assert row.status == "fail"
    assert "999000999" in row.why and PIXEL_ID in row.why


@pytest.mark.browser
def test_folder_before_apply_says_apply_has_not_run(browser, site_server, pending_folder):
    url = site_server.serve("/pending", page(head=embed_of(TAGS_LIBRARY_URL)))
    rows = run_checks(browser, pending_folder, url)

    row = rows["embed code is this folder's environment"]
    assert row.status == "fail"
    assert "apply" in row.why and "quickstart apply" in row.what_to_do
    assert rows["embed code in <head>"].status == "pass"  # found by its Adobe host even so


@pytest.mark.browser
def test_another_environments_library(browser, site_server, folder):
    other = TAGS_LIBRARY_URL.replace("-development", "")
    routes = standin_routes(folder, library_url=other)
    url = site_server.serve("/production", page(head=embed_of(other)))
    rows = {r.name: r for r in site.check_site(folder, url, [], browser=browser, routes=routes, wait_seconds=WAIT)}

    row = rows["embed code is this folder's environment"]
    assert row.status == "fail"
    assert other in row.why and TAGS_LIBRARY_URL in row.why
    assert rows["_satellite is defined"].status == "pass"


@pytest.mark.browser
def test_error_page_is_a_failed_row(browser, site_server, folder):
    rows = run_checks(browser, folder, site_server.origin + "/missing")
    assert list(rows) == ["page loads"]  # the other checks would only describe the error page
    assert rows["page loads"].status == "fail"
    assert "HTTP 404" in rows["page loads"].why


# ---------------------------------------------------------------------------------------------
# The command: output, exit codes, errors


class Echo:
    def __init__(self):
        self.out: list[str] = []
        self.err: list[str] = []


def run_site_command(folder: str, url: str, events: list[str], *, as_json: bool, echo: Echo, **check_options) -> int:
    """What `validate --site` does (quickstart/cli.py), with a browser and routes the test gives:
    the checks, their text or JSON, the exit code; errors as the CLI shows them."""
    from quickstart import output

    try:
        rows = site.check_site(folder, url, events, **check_options)
    except QuickstartError as exc:
        echo.err.append(f"error: {exc.message}")
        return int(exc.exit_code)
    echo.out.append(output.site_rows_json(rows, url, folder) if as_json else output.format_site_rows(rows, url))
    return int(ExitCode.OK if site.site_ok(rows) else ExitCode.REJECTED)


@pytest.mark.browser
def test_command_json_output_and_exit_codes(browser, site_server, folder):
    good = site_server.serve("/good-json", good_page(folder))
    echo = Echo()
    code = run_site_command(str(folder), good, ["Purchase"], as_json=True, echo=echo, browser=browser,
                                 routes=standin_routes(folder), wait_seconds=WAIT)
    assert code == ExitCode.OK
    report = json.loads("\n".join(echo.out))
    assert report["ok"] is True and report["url"] == good
    assert {c["status"] for c in report["checks"]} == {"pass"}
    assert set(report["checks"][0]) == {"name", "status", "why", "what_to_do"}

    bare = site_server.serve("/bare-text", page())
    echo = Echo()
    code = run_site_command(str(folder), bare, [], as_json=False, echo=echo, browser=browser,
                                 routes=standin_routes(folder), wait_seconds=WAIT)
    assert code == ExitCode.REJECTED
    text = "\n".join(echo.out)
    assert "FAIL  embed code in <head>" in text
    assert "-> paste" in text
    assert text.rstrip().endswith("skipped")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.browser
def test_unreachable_page_exits_4(browser, folder):
    echo = Echo()
    code = run_site_command(str(folder), f"http://127.0.0.1:{free_port()}/", [], as_json=False, echo=echo,
                                 browser=browser, wait_seconds=WAIT)
    assert code == ExitCode.UNREACHABLE
    assert echo.out == []
    assert len(echo.err) == 1 and "ERR_CONNECTION_REFUSED" in echo.err[0]


@pytest.mark.parametrize("events, says", [
    (["Bogus"], "unknown event 'Bogus'"),
    (["PageView"], "fires by itself"),
])
def test_bad_events_exit_2_before_a_browser_starts(folder, events, says):
    echo = Echo()
    code = run_site_command(str(folder), "https://example.com/", events, as_json=False, echo=echo)
    assert code == ExitCode.USAGE
    assert says in echo.err[0]


def test_event_not_in_the_folder_exits_2(tmp_path):
    small = generate_folder(tmp_path / "example.com", "--events", "PageView,Purchase")
    echo = Echo()
    code = run_site_command(str(small), "https://example.com/", ["Lead"], as_json=False, echo=echo)
    assert code == ExitCode.USAGE
    assert "no Lead rule" in echo.err[0]


def test_bad_url_exits_2(folder):
    echo = Echo()
    assert run_site_command(str(folder), "example.com", [], as_json=False, echo=echo) == ExitCode.USAGE
    assert "http://" in echo.err[0]


def _run_cli(folder: Path, env_changes: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUICKSTART_", "META_"))}
    env.update(env_changes)
    code = f"{prelude}\nfrom quickstart.cli import main\nmain()"
    return subprocess.run([sys.executable, "-c", code, "validate", str(folder), "--site", "https://example.com/"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=str(folder.parent))


def test_missing_chromium_gives_one_clear_line(folder):
    result = subprocess.run(
        [sys.executable, "-m", "quickstart", "validate", str(folder), "--site", "https://example.com/"],
        capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("QUICKSTART_")}, "QUICKSTART_CHROMIUM": "/nonexistent"},
    )
    assert result.returncode == 1  # the machine lacks something: not bad input
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "QUICKSTART_CHROMIUM=/nonexistent" in lines[0]
    assert "pip install '.[browser]'" in lines[0] and "apt-get install chromium" in lines[0]


def test_missing_playwright_gives_one_clear_line(folder):
    # sys.modules[name] = None makes `import playwright...` raise ImportError, as when it is not installed.
    result = _run_cli(folder, {}, prelude="import sys; sys.modules['playwright'] = None; sys.modules['playwright.sync_api'] = None")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install '.[browser]'" in lines[0] and "apt-get install chromium" in lines[0]


def test_cli_help_does_not_import_playwright():
    code = "import sys\nfrom quickstart.cli import cli\nprint('playwright' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False"


@pytest.mark.browser
def test_validate_site_from_the_command_line(site_server, folder):
    # The real path end to end: `python -m quickstart validate DIR --site URL --json`, real Chromium,
    # nothing routed; the local page has no embed code, so checks fail and the exit code is 3.
    url = site_server.serve("/cli", page(body="<p>plain</p>"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUICKSTART_")}
    result = subprocess.run([sys.executable, "-m", "quickstart", "validate", str(folder), "--site", url, "--json"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == ExitCode.REJECTED, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    checks = {c["name"]: c["status"] for c in report["checks"]}
    assert checks["page loads"] == "pass"
    assert checks["embed code in <head>"] == "fail"
    assert checks["_satellite is defined"] == "fail"


@pytest.mark.browser
def test_a_staging_page_is_checked_against_the_staging_environment(browser, site_server, tmp_path_factory):
    """After `publish --to staging` the staging site carries head.staging.html: its library counts."""
    staged = applied(generate_folder(tmp_path_factory.mktemp("staged") / "example.com"))
    state = staged / ".quickstart" / "state.json"
    development = TAGS_LIBRARY_URL.replace("0a1b2c3d4e5f", "ffffffffffff")
    state.write_text(json.dumps({"embed_urls": {"development": development, "staging": TAGS_LIBRARY_URL}}))
    url = site_server.serve("/staging", good_page(staged))
    rows = run_checks(browser, staged, url)
    row = rows["embed code is this folder's environment"]
    assert row.status == "pass" and row.why == f"loads the staging library {TAGS_LIBRARY_URL}"

    state.write_text(json.dumps({"embed_urls": {"development": development}}))
    rows = run_checks(browser, staged, url)
    row = rows["embed code is this folder's environment"]
    assert row.status == "fail" and "not one of this folder's environments" in row.why
