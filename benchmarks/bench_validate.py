"""Test-event throughput: normalize + preflight + send 1,000 events to the local fake Graph API.

Then our normalizer against the facebook-business SDK's on the same 100,000 records
(benchmarks/bench_normalize.py), side by side with the ratio.

    python benchmarks/bench_validate.py                 # 1,000 events x 5 runs, 100,000 records
    python benchmarks/bench_validate.py --events 1000 --runs 5 --records 20000

The fake is tests/fakes/graph_api.py: a real HTTP server on 127.0.0.1 that validates every
event as Meta documents, so the send includes its JSON parsing and checks, not only ours.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
for _path in (str(_ROOT), str(_ROOT / "benchmarks")):  # runnable from anywhere, installed or not
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench_normalize import compare, format_comparison, synthetic_records  # noqa: E402

from quickstart import catalog  # noqa: E402
from quickstart.meta.events import batches, build_server_event, preflight  # noqa: E402
from quickstart.meta.graph import GraphClient  # noqa: E402
from quickstart.meta.normalize import build_user_data  # noqa: E402
from tests.fakes.graph_api import GOOD_PIXEL, GOOD_TOKEN, FakeGraphAPI  # noqa: E402


def one_run(records: list[dict[str, str]], client: GraphClient) -> dict[str, float]:
    """Seconds per phase for one pass over `records`: normalize, build+preflight, send."""
    now = int(time.time())
    events = list(catalog.EVENTS)

    started = time.perf_counter()
    user_data = [build_user_data(record) for record in records]
    normalized = time.perf_counter()

    payloads = []
    for index, record_user_data in enumerate(user_data):
        event = events[index % len(events)]
        payloads.append(build_server_event(
            event.name, event_id=str(uuid.uuid4()), event_time=now, event_source_url="https://example.com/",
            user_data=record_user_data, custom_data=event.sample_custom_data() or None))
    problems = [p for p in preflight(payloads, now=now) if p.severity == "error"]
    if problems:
        raise SystemExit(f"preflight found {len(problems)} errors, e.g. {problems[0]}")
    checked = time.perf_counter()

    received = 0
    for batch in batches(payloads):
        received += client.send_events(GOOD_PIXEL, batch, test_event_code="TEST123").events_received
    sent = time.perf_counter()
    if received != len(payloads):
        raise SystemExit(f"the fake received {received} of {len(payloads)} events")
    return {"normalize": normalized - started, "preflight": checked - normalized, "send": sent - checked,
            "total": sent - started}


def bench_events(n_events: int, runs: int) -> dict[str, float]:
    records = synthetic_records(n_events)
    fake = FakeGraphAPI().start()
    try:
        with GraphClient(GOOD_TOKEN, base_url=fake.url) as client:
            one_run(records[:10], client)  # warm up: imports, tables, the connection
            timings = [one_run(records, client) for _ in range(runs)]
    finally:
        fake.stop()
    return {phase: statistics.median(t[phase] for t in timings) for phase in timings[0]}


def format_events(n_events: int, runs: int, seconds: dict[str, float]) -> str:
    lines = [f"validate pipeline, {n_events:,} events (median of {runs} runs)"]
    for phase in ("normalize", "preflight", "send", "total"):
        label = {"normalize": "normalize + hash", "preflight": "build + preflight",
                 "send": "send to local fake (HTTP)", "total": "total"}[phase]
        lines.append(f"  {label:<30} {seconds[phase] * 1000:>9.1f} ms  {n_events / seconds[phase]:>12,.0f} events/s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per run (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs; the median is shown (default 5)")
    parser.add_argument("--records", type=int, default=100_000, help="records for the SDK comparison (default 100000)")
    args = parser.parse_args()
    print(format_events(args.events, args.runs, bench_events(args.events, args.runs)))
    print()
    print(format_comparison(compare(args.records)))


if __name__ == "__main__":
    main()
