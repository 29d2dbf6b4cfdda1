"""Debian's Chromium through Playwright (the optional extra, imported here only, lazily)."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from quickstart.errors import QuickstartError
from quickstart.settings import CHROMIUM_ENV, DEFAULT_CHROMIUM



INSTALL_HINT = ("`validate --site` needs Playwright and Chromium: pip install '.[browser]' (in the quickstart checkout) "
                f"and apt-get install chromium (or set {CHROMIUM_ENV} to a Chromium binary)")

# Everything a headless check needs and nothing that phones home on its own.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _import_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise QuickstartError(INSTALL_HINT) from None
    return sync_playwright


def chromium_executable(playwright) -> str | None:
    """The Chromium to launch: $QUICKT_CHROMIUM, else Debian's, else Playwright's own (None)."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise QuickstartError(f"{CHROMIUM_ENV}={override} is not a Chromium binary; {INSTALL_HINT}")
        return override
    if os.path.isfile(DEFAULT_CHROMIUM) and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    try:
        bundled = playwright.chromium.executable_path
    except Exception:
        bundled = ""
    if bundled and os.path.isfile(bundled):
        return None
    raise QuickstartError(f"no Chromium found; {INSTALL_HINT}")


def launch_browser(playwright):
    """Headless Chromium with our flags (tests share one through this, too)."""
    from playwright.sync_api import Error as PlaywrightError

    executable = chromium_executable(playwright)
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium refuses to start its sandbox as root
    try:
        return playwright.chromium.launch(executable_path=executable, headless=True, args=args)
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        which = executable or "the one Playwright installed"
        raise QuickstartError(f"could not start Chromium ({which}): {first_line}; {INSTALL_HINT}") from None


@contextlib.contextmanager
def open_browser() -> Iterator[Any]:
    sync_playwright = _import_playwright()
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()
