"""`quickstart apply` against a slow API, side by side with the dependency floor of its plan.

A fresh apply and then a no-op rerun of a folder with all 18 events, against the local Adobe
fake (tests/fakes/reactor.py) with a fixed latency per call (50 ms: a realistic round trip to
reactor.adobe.io). For each concurrency it prints the calls, the sequential rounds (wall time /
latency, so local work counts against us) and the wall time, next to the floor:

- reading floor: the rounds the reads cannot go below (IMS token, company, the two properties
  by name, their lists and component searches side by side, then library contents and extension
  packages, where a package not yet installed takes a lookup and a fetch in a row), each round
  spread over the width;
- plan floor: computed from the plan itself (quickstart/adobe/execute.dependency_floor): the
  longest chain of calls through the plan's dependencies, or its calls spread over the width,
  whichever is larger ("unbounded" is the chain alone).

    python benchmarks/bench_apply.py                     # 50 ms a call, concurrency 1, 4, 8
    python benchmarks/bench_apply.py --latency 0.1 --concurrency 4 8 16

Targets (issue 9): at most 1.3x the floor at the default concurrency (8); a no-op rerun in at
most 40 calls. Secrets and builds finish at the first look, so polling is one call each.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quickstart.adobe.actions import Execution  # noqa: E402
from quickstart.adobe.apply import DEFAULT_CONCURRENCY, Apply  # noqa: E402
from quickstart.adobe.execute import PollPolicy, dependency_floor  # noqa: E402
from quickstart.answers import Answers  # noqa: E402
from quickstart.render import write_folder  # noqa: E402
from tests.fakes.reactor import FakeAdobe  # noqa: E402

DATASTREAM_ID = "0f3a2b1c-1111-2222-3333-444455556666"
POLL = PollPolicy(first_delay=0.0, max_delay=0.0)


def reading_floor(job: Apply, width: int) -> int:
    """Rounds of the reads (see the module docstring), from what this run read."""
    reading = job.reading
    existing = [h for h in (reading.edge, reading.web) if h.prop is not None]
    rounds = [1, 1, 2]  # IMS token; companies; the two properties by name
    if existing:
        rounds.append(sum(8 if h.scope == "edge" else 7 for h in existing))  # lists + one search each
    contents = sum(3 for h in existing if h.library_contents)
    packages = len(reading.edge.packages) + len(reading.web.packages)
    fresh_packages = any(h.prop is None for h in (reading.edge, reading.web))
    rounds.append(contents + packages)
    floor = sum(math.ceil(n / width) for n in rounds)
    return floor + (1 if fresh_packages else 0)  # a package lookup, then its fetch


def run(latency: float, concurrency: int, workdir: Path) -> list[dict]:
    folder = workdir / f"example.com-{concurrency}"
    write_folder(folder, Answers.from_values({"domain": "example.com", "pixel_id": "1234567890"}))
    rows = []
    with FakeAdobe(latency=latency, secret_polls=0, build_polls=0) as fake:
        os.environ.update(fake.env())
        environ = {**fake.env(), "META_CAPI_ACCESS_TOKEN": "EAAG-benchmark-token"}
        for label in ("fresh", "no-op"):
            started = time.perf_counter()
            with Apply(folder, datastream_id=DATASTREAM_ID, concurrency=concurrency, environ=environ, poll=POLL,
                       skip_checks=True) as job:
                plan = job.plan()
                result = job.execute(plan)
                tasks = Execution(job.client, job.runner, plan, secrets={}).tasks()
                seconds = time.perf_counter() - started
                read = reading_floor(job, concurrency)
                read_unbounded = reading_floor(job, 10 ** 6)
            rows.append({"run": label, "calls": result.calls, "changes": result.mutating_calls, "seconds": seconds,
                         "rounds": seconds / latency,
                         "floor": read + dependency_floor(tasks, concurrency),
                         "unbounded": read_unbounded + dependency_floor(tasks)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API call [0.05]")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, DEFAULT_CONCURRENCY])
    args = parser.parse_args()
    print(f"apply, 18 events, {int(args.latency * 1000)} ms per API call; rounds = wall time / latency")
    print(f"{'width':>5}  {'run':<6} {'calls':>6} {'changes':>8} {'seconds':>8} {'rounds':>7} "
          f"{'floor':>6} {'ratio':>6} {'unbounded floor':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            for row in run(args.latency, concurrency, Path(tmp)):
                print(f"{concurrency:>5}  {row['run']:<6} {row['calls']:>6} {row['changes']:>8} {row['seconds']:>8.2f} "
                      f"{row['rounds']:>7.0f} {row['floor']:>6} {row['rounds'] / row['floor']:>5.2f}x "
                      f"{row['unbounded']:>16}")


if __name__ == "__main__":
    main()
