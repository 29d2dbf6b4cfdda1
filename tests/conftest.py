"""Fixtures shared by the generator's tests: a CLI runner and generated folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from quickstart.cli import cli
from quickstart.settings import CHROMIUM_ENV, DEFAULT_CHROMIUM

# The fakes' and the browser's fixtures, available to every test module.
pytest_plugins = ["tests.fakes.graph_api", "tests.fakes.reactor", "tests.browser_helpers"]

TOKEN = "EAAG-test-token-0123456789abcdefSECRET"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path_factory):
    """Tests start from a clean environment: no real tokens, ids or endpoints leak in, and the
    schema cache lives in the test session's temporary folder, not the user's."""
    for name in list(os.environ):
        if name.startswith(("META_", "ADOBE_", "QUICKSTART_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUICKSTART_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_init(runner: CliRunner, folder: Path, *args: str, input: str | None = None, env: dict | None = None):
    return runner.invoke(cli, ["init", *args, "-o", str(folder)], input=input, env=env, catch_exceptions=False)


@pytest.fixture
def generated(tmp_path, runner) -> Path:
    """A folder made by `quickstart init` with every event, a test event code and LDU."""
    folder = tmp_path / "example.com"
    result = run_init(runner, folder, "example.com", "--pixel-id", "1234567890", "--test-event-code", "TEST12345",
                      "--ldu", "--yes")
    assert result.exit_code == 0, result.output
    return folder


CHROMIUM = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)  # read before _clean_env clears QUICKSTART_*


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    """Browser and engine tests skip on a machine without Chromium or Adobe's engines, except in
    CI (QUICKSTART_REQUIRE_BROWSER=1), where they must run."""
    from tests.engines import engines_missing

    required = os.environ.get("QUICKSTART_REQUIRE_BROWSER") == "1"
    for marker, reason in (("browser", browser_missing()), ("engines", engines_missing())):
        if reason is None:
            continue
        if required and any(marker in item.keywords for item in items):
            raise pytest.UsageError(f"{marker} tests are required here (QUICKSTART_REQUIRE_BROWSER=1) but {reason}")
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
