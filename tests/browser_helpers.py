"""Shared pieces of the browser tests: one Chromium per session, a local web server, folders.

Its fixtures (``browser``, ``site_server``) are registered for every test module by conftest.py.
The browser is a refcounted singleton, closed when the last module using it finishes.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from quickstart.cli import cli

PIXEL_ID = "1234567890"

_shared: dict[str, Any] = {"users": 0, "playwright": None, "browser": None}


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per browser test module (launched as `validate --site` does).

    Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
    while it is open, and prompt_toolkit (the wizard tests) refuses to start under a running loop.

    conftest.py skips `browser`-marked tests on a machine without Chromium (and refuses to in CI),
    so a launch failure here is a real error.
    """
    if _shared["browser"] is None:
        from playwright.sync_api import sync_playwright

        from quickstart import site

        playwright = sync_playwright().start()
        try:
            _shared["browser"] = site.launch_browser(playwright)
        except BaseException:
            playwright.stop()
            raise
        _shared["playwright"] = playwright
    _shared["users"] += 1
    yield _shared["browser"]
    _shared["users"] -= 1
    if _shared["users"] == 0:
        _shared["browser"].close()
        _shared["playwright"].stop()
        _shared["browser"] = _shared["playwright"] = None


class SiteServer:
    """A tiny web server on 127.0.0.1 (port 0) serving pages set by the test: path -> HTML (or
    JavaScript, for a path ending in .js); a path in ``delays`` is answered that many seconds late
    (a script that arrives after the page's own)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.delays: dict[str, float] = {}
        pages, delays = self.pages, self.delays

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                body = pages.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(delays.get(path, 0.0))
                data = body.encode("utf-8")
                self.send_response(200)
                kind = "application/javascript" if path.endswith(".js") else "text/html; charset=utf-8"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site_server():
    server = SiteServer()
    yield server
    server.close()


def generate_folder(folder: Path, *args: str) -> Path:
    """A folder made by the real `quickstart init` (every event unless --events is given)."""
    result = CliRunner().invoke(cli, ["init", "example.com", "--pixel-id", PIXEL_ID, "--yes", "-o", str(folder), *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def rule_component(tags: dict, rule_name: str, component_name: str) -> dict:
    rule = next(r for r in tags["rules"] if r["name"] == rule_name)
    return next(c for c in rule["components"] if c["name"] == component_name)


def data_element(tags: dict, name: str) -> dict:
    return next(d for d in tags["data_elements"] if d["name"] == name)
