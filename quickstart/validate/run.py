"""`quickstart validate`'s whole run: static checks, then test events built, preflighted and
sent (or shown)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from quickstart.errors import InputError
from quickstart.layout import ENV_FILE
from quickstart.settings import GRAPH_API_VERSION, TOKEN_ENV
from quickstart.validate.checks import check_folder
from quickstart.validate.events import build_test_events, preflight_findings
from quickstart.validate.send import (
    NO_TEST_CODE_MESSAGE,
    dry_run_request,
    resolve_test_event_code,
    send_test_events,
)
from quickstart.validate.model import MissingTokenError, Mode, NoTestEventCodeError, Report


def run(folder_path: str | Path, *, mode: Mode = "send", token: str | None = None,
        ask_token: Callable[[], str | None] | None = None, allow_live: bool = False,
        graph_version: str = GRAPH_API_VERSION, default_country: str | None = None, now: int | None = None,
        environ: Mapping[str, str] | None = None, client_options: Mapping[str, Any] | None = None,
        events: list[str] | None = None) -> Report:
    """Static checks, then (unless ``mode == "static"``) test events: built, preflighted, and sent
    (``"send"``) or shown (``"dry-run"``). ``events`` limits the test events to those names;
    ``default_country`` overrides the folder's. ``ask_token`` is called only when a send needs a
    token that ``token`` does not give. Raises NoTestEventCodeError, MissingTokenError, GraphUnreachableError."""
    if mode != "static":  # nothing is sent offline: no HTTP client to load
        from quickstart.meta.graph import normalize_version

        try:
            graph_version = normalize_version(graph_version)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    static = check_folder(folder_path)
    report = Report(str(folder_path), mode, findings=list(static.findings), dedup=static.dedup, graph_version=graph_version)
    if static.folder is None or static.errors or mode == "static":
        return report
    folder = static.folder
    report.pixel_id = folder.answers.pixel_id
    now = int(time.time()) if now is None else now
    country = default_country or folder.answers.default_country
    report.events, mangled = build_test_events(folder, default_country=country, now=now, events=events)
    report.findings.extend(mangled)
    # The code the development build sends; a folder without one may take it from the environment.
    built = {e.test_event_code for e in report.events if e.test_event_code}
    report.test_event_code = next(iter(built), None) or resolve_test_event_code(folder.answers, environ)
    report.findings.extend(preflight_findings(report.events, now=now))
    if any(f.severity == "error" for f in report.findings):
        return report

    if not report.test_event_code and not allow_live:
        if mode == "send":
            raise NoTestEventCodeError(NO_TEST_CODE_MESSAGE)
        report.notes.append("no test event code: a real send would be refused without --allow-live")
    if mode == "dry-run":
        report.dry_run_requests = dry_run_request(report.events, pixel_id=report.pixel_id, token=token,
                                                  test_event_code=report.test_event_code, graph_version=graph_version)
        return report

    if not token and ask_token is not None:
        token = ask_token()
    if not token:
        raise MissingTokenError(f"no access token: set {TOKEN_ENV}, or store it in {Path(folder_path) / ENV_FILE} "
                                f"(`quickstart update {folder_path} --store-token --token-stdin`); get one in Events Manager > your pixel > Settings")
    report.requests = send_test_events(report.events, pixel_id=report.pixel_id, token=token,
                                       test_event_code=report.test_event_code, graph_version=graph_version,
                                       client_options=client_options)
    return report
