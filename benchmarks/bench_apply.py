"""How long `quickstart apply` takes against a slow API: sequential (1) against concurrent (4).

Runs a fresh apply, then a second (no-op) apply, of a folder with all 18 events against the
local Adobe fake (tests/fakes/reactor.py) with a fixed latency per call, and prints the calls
made and the wall time of each.

    python benchmarks/bench_apply.py                 # 50 ms a call, concurrency 1 and 4
    python benchmarks/bench_apply.py --latency 0.1 --concurrency 1 2 4 8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quickstart.adobe.apply import apply_folder  # noqa: E402
from quickstart.answers import Answers  # noqa: E402
from quickstart.render import write_folder  # noqa: E402
from tests.fakes.reactor import FakeAdobe  # noqa: E402

DATASTREAM_ID = "0f3a2b1c-1111-2222-3333-444455556666"


def run(latency: float, concurrency: int, workdir: Path) -> list[tuple[str, int, int, float]]:
    folder = workdir / f"example.com-{concurrency}"
    write_folder(folder, Answers.from_values({"domain": "example.com", "pixel_id": "1234567890"}))
    rows = []
    # Secrets and builds finish at the first look: the numbers measure API calls, not polling.
    with FakeAdobe(latency=latency, secret_polls=0, build_polls=0) as fake:
        os.environ.update(fake.env())
        environ = {**fake.env(), "META_CAPI_ACCESS_TOKEN": "EAAG-benchmark-token"}
        for label in ("fresh", "again"):
            result = apply_folder(folder, datastream_id=DATASTREAM_ID, concurrency=concurrency, environ=environ)
            rows.append((label, result.calls, result.mutating_calls, result.seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API call [0.05]")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(f"apply, 18 events, {int(args.latency * 1000)} ms per API call")
    print(f"{'concurrency':>11}  {'run':<6} {'calls':>6} {'changes':>8} {'seconds':>8}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            for label, calls, changes, seconds in run(args.latency, concurrency, Path(tmp)):
                results[(concurrency, label)] = seconds
                print(f"{concurrency:>11}  {label:<6} {calls:>6} {changes:>8} {seconds:>8.2f}")
    base = min(args.concurrency)
    for concurrency in args.concurrency:
        if concurrency != base:
            speedup = results[(base, "fresh")] / results[(concurrency, "fresh")]
            print(f"fresh apply: concurrency {concurrency} is {speedup:.1f}x faster than {base}")


if __name__ == "__main__":
    main()
