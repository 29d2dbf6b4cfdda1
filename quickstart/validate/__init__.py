"""`quickstart validate`: prove a generated folder works before anyone touches Adobe.

Three steps, each plain data in, plain data out:

1. ``check_folder`` — static checks, no network: the files are there; every chosen event has
   its rule on both sides; the setup rule and the property settings the rules rely on; the
   Pixel ``event_id`` is the event's own ``%event.detail.conversionData.eventId%`` and the CAPI
   ``eventId`` reads ``conversionData.eventId`` (deduplication); Generate New Event ID is
   awaited; event names agree; every ``settings`` object passes its extension's schema; every
   data element reference resolves. Each finding names the file and the rule.
2. ``build_test_events`` — one CAPI event per chosen event, exactly as production sends it: the
   browser's snapshot of the sample payload (``sample_snapshot``: what the runtime of
   snippets/runtime.js.j2 makes, hashes included) is resolved through the rule's
   ``{{data elements}}`` by Core edge's rules, and turned into the body Adobe's CAPI extension
   builds (quickstart.adobe.capi_extension). What the extension would mangle (a hash by its own
   weak rules, 0 turned into null, a list it throws on, a test code outside development) is a
   finding; then preflight (quickstart.meta).
3. ``send_test_events`` — all events in one request (split past Meta's 1,000), with the test
   event code at the top level; Meta's answer goes into the report.

``run`` strings them together; ``quickstart/output.py`` renders the report for a terminal.

The package: ``model`` (the data), ``checks`` (1), ``events`` (2, and preflight), ``send`` (3),
``run`` (the whole run).
"""

from quickstart.validate.checks import check_folder
from quickstart.validate.events import (
    SAMPLE_USER_AGENT,
    build_test_events,
    extension_request,
    preflight_findings,
    sample_snapshot,
)
from quickstart.validate.model import (
    DedupStatus,
    Finding,
    MissingTokenError,
    Mode,
    NoTestEventCodeError,
    Report,
    RequestResult,
    StaticResult,
    TestEvent,
)
from quickstart.validate.run import run
from quickstart.validate.send import NO_TEST_CODE_MESSAGE, dry_run_request, resolve_test_event_code, send_test_events

__all__ = [
    "NO_TEST_CODE_MESSAGE", "SAMPLE_USER_AGENT", "DedupStatus", "Finding", "MissingTokenError", "Mode",
    "NoTestEventCodeError", "Report", "RequestResult", "StaticResult", "TestEvent", "build_test_events",
    "check_folder", "dry_run_request", "extension_request", "preflight_findings", "resolve_test_event_code", "run",
    "sample_snapshot", "send_test_events",
]
