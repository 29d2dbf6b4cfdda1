"""Sending the test events to Meta (or showing the exact request), and the test event code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from quickstart.settings import GRAPH_API_VERSION, TEST_EVENT_CODE_ENV, TOKEN_ENV
from quickstart.validate.model import RequestResult, TestEvent


def send_test_events(test_events: list[TestEvent], *, pixel_id: str, token: str, test_event_code: str | None,
                     graph_version: str = GRAPH_API_VERSION, client_options: Mapping[str, Any] | None = None) -> list[RequestResult]:
    """All events in as few requests as Meta allows; marks each event sent/accepted.

    Raises GraphUnreachableError (exit 4) when Meta cannot be reached; a rejection is a result.
    """
    from quickstart.meta.events import MAX_EVENTS_PER_REQUEST, batches
    from quickstart.meta.graph import GraphClient, GraphRejectedError

    results: list[RequestResult] = []
    from quickstart.adobe.capi_extension import PARTNER_AGENT

    options = {"partner_agent": PARTNER_AGENT, **dict(client_options or {})}
    with GraphClient(token, version=graph_version, **options) as client:
        position = 0
        for batch in batches([e.payload for e in test_events], MAX_EVENTS_PER_REQUEST):
            members = test_events[position:position + len(batch)]
            position += len(batch)
            for member in members:
                member.sent = True
            try:
                response = client.send_events(pixel_id, batch, test_event_code=test_event_code)
            except GraphRejectedError as exc:
                for member in members:
                    member.accepted = False
                results.append(RequestResult(len(batch), False, error=exc.message, error_code=exc.error.code,
                                             error_subcode=exc.error.subcode, fbtrace_id=exc.error.fbtrace_id))
                continue
            accepted = response.events_received == len(batch)
            for member in members:
                member.accepted = accepted
            result = RequestResult(len(batch), accepted, response.events_received, response.fbtrace_id,
                                   list(response.messages), attempts=response.attempts)
            if not accepted:
                result.error = f"Meta received {response.events_received} of {len(batch)} events"
            results.append(result)
    return results


def dry_run_request(test_events: list[TestEvent], *, pixel_id: str, token: str | None, test_event_code: str | None,
                    graph_version: str = GRAPH_API_VERSION, base_url: str | None = None) -> list[dict[str, Any]]:
    """The exact requests a send would make, with the token masked."""
    from quickstart import settings
    from quickstart.adobe.capi_extension import PARTNER_AGENT
    from quickstart.meta.events import MAX_EVENTS_PER_REQUEST, batches
    from quickstart.meta.graph import events_body, normalize_version
    from quickstart.redaction import mask_token

    url = f"{(base_url or settings.graph_url()).rstrip('/')}/{normalize_version(graph_version)}/{pixel_id}/events"
    shown_token = mask_token(token) if token else f"<{TOKEN_ENV}>"
    return [{"method": "POST", "url": url,
             "json": events_body(batch, test_event_code=test_event_code, partner_agent=PARTNER_AGENT, token=shown_token)}
            for batch in batches([e.payload for e in test_events], MAX_EVENTS_PER_REQUEST)]


# ---------------------------------------------------------------------------------------------
# Token and test event code


def resolve_test_event_code(answers: Any, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return answers.test_event_code or (environ.get(TEST_EVENT_CODE_ENV) or "").strip() or None


NO_TEST_CODE_MESSAGE = (
    "no test event code: Meta does not sandbox test events, and without a code these would be real events in "
    "your pixel's data (counted for targeting and measurement). Copy the code from Events Manager > your pixel > "
    "Test Events into quickstart.yaml (test_event_code) or META_TEST_EVENT_CODE, or pass --allow-live to send "
    "live events on purpose"
)
