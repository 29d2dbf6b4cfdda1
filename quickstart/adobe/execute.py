"""Running calls side by side: a pool for independent reads, and a scheduler for a plan's tasks.

The scheduler starts a task as soon as every task it waits for has finished (no barrier between
kinds), longest remaining chain first, at most ``concurrency`` at a time. The first failure stops
new work; a task already running finishes its step, and a wait (a secret, a build) stops at its
next look. Progress is reported as events
(``Progress``), never printed here.
"""

from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from quickstart.errors import RemoteError


@dataclass(frozen=True)
class PollPolicy:
    """How we wait for secrets and builds: look at once, then back off up to ``max_delay``."""

    first_delay: float = 0.25
    max_delay: float = 5.0
    timeout: float = 600.0
    report_every: float = 10.0  # a "still pending" event at most this often


@dataclass(frozen=True)
class Progress:
    """Something a person may want to see: a step starting, a wait going on, a note."""

    type: str  # step | pending | note
    text: str
    index: int = 0
    total: int = 0
    seconds: float = 0.0


ProgressSink = Callable[[Progress], None]


class Aborted(Exception):
    """Another task failed (or the run was interrupted); this one stops before its next call."""


@dataclass
class Task:
    key: str
    run: Callable[[], None]
    after: set[str] = field(default_factory=set)
    label: str = ""  # "create rule MetaConversion_Purchase (Tags property)"
    weight: int = 1  # calls it makes, for the priority and the dependency floor


class Runner:
    """One pool shared by the reads and the tasks of a command."""

    def __init__(self, concurrency: int, progress: ProgressSink | None = None, poll: PollPolicy = PollPolicy()):
        self.concurrency = max(1, concurrency)
        self.poll = poll
        self.abort = threading.Event()
        self._lock = threading.Lock()
        self._progress = progress or (lambda event: None)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="quickstart")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def report(self, event: Progress) -> None:
        with self._lock:
            self._progress(event)

    def check(self) -> None:
        if self.abort.is_set():
            raise Aborted()

    def all(self, calls: Iterable[Callable[[], Any]]) -> list[Any]:
        """Run independent calls side by side; their results in order; the first error wins."""
        calls = list(calls)
        if len(calls) < 2 or self.concurrency == 1:
            return [self._guarded(call) for call in calls]
        futures = [self._pool.submit(self._guarded, call) for call in calls]
        self._settle(futures)
        return [future.result() for future in futures]

    def _guarded(self, call: Callable[[], Any]) -> Any:
        self.check()
        return call()

    def _settle(self, futures: list[Future]) -> None:
        first: BaseException | None = None
        try:
            for future in futures:
                error = future.exception()
                if error is not None and not isinstance(error, Aborted) and first is None:
                    first = error
                    self.abort.set()
        except BaseException:
            self.abort.set()
            raise
        if first is not None:
            raise first

    def run_tasks(self, tasks: list[Task]) -> None:
        """Every task after the tasks it waits for; see the module docstring."""
        by_key = {task.key: task for task in tasks}
        waiting = {task.key: {k for k in task.after if k in by_key} for task in tasks}
        dependents: dict[str, list[str]] = {key: [] for key in by_key}
        for key, needs in waiting.items():
            for need in needs:
                dependents[need].append(key)
        height = _heights(by_key, dependents)
        total = len(tasks)
        started = 0
        ready = [(-height[key], i, key) for i, key in enumerate(by_key) if not waiting[key]]
        heapq.heapify(ready)
        running: dict[Future, str] = {}
        failure: BaseException | None = None
        try:
            while (ready and failure is None) or running:
                while ready and failure is None and len(running) < self.concurrency:
                    _, _, key = heapq.heappop(ready)
                    started += 1
                    task = by_key[key]
                    if task.label:
                        self.report(Progress("step", task.label, started, total))
                    running[self._pool.submit(self._guarded, task.run)] = key
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        if failure is None and not isinstance(error, Aborted):
                            failure = error
                        self.abort.set()
                        continue
                    for later in dependents[key]:
                        waiting[later].discard(key)
                        if not waiting[later]:
                            heapq.heappush(ready, (-height[later], len(by_key) + started, later))
        except BaseException:
            self.abort.set()
            raise
        if failure is not None:
            raise failure
        stuck = [key for key, needs in waiting.items() if needs]
        if stuck:  # a cycle would be a planner bug; say so rather than hang
            raise RemoteError(f"internal: {len(stuck)} steps wait on each other ({stuck[0]}); nothing after them ran")

    def wait_for(self, fetch: Callable[[], dict[str, Any]], what: str, rerun_hint: str) -> dict[str, Any]:
        """``fetch()`` until its status leaves ``pending``; a pending event every ``report_every`` s."""
        delay, waited, reported = self.poll.first_delay, 0.0, 0.0
        started = time.monotonic()
        while True:
            self.check()
            resource = fetch()
            if ((resource.get("attributes") or {}).get("status")) != "pending":
                return resource
            waited = time.monotonic() - started
            if waited >= self.poll.timeout:
                raise RemoteError(f"{what} is still pending after {int(waited)} s; {rerun_hint}")
            if waited - reported >= self.poll.report_every:
                reported = waited
                self.report(Progress("pending", f"{what} pending… {int(waited)} s", seconds=waited))
            time.sleep(delay)
            delay = min(delay * 2, self.poll.max_delay)


def _heights(by_key: dict[str, Task], dependents: dict[str, list[str]]) -> dict[str, int]:
    """The calls on the longest chain from each task to the end (the task's own included)."""
    height: dict[str, int] = {}

    def visit(key: str, trail: frozenset[str]) -> int:
        if key in height:
            return height[key]
        if key in trail:
            return 0
        below = [visit(later, trail | {key}) for later in dependents[key]]
        height[key] = by_key[key].weight + max(below, default=0)
        return height[key]

    for key in by_key:
        visit(key, frozenset())
    return height


def dependency_floor(tasks: list[Task], width: int | None = None) -> int:
    """Sequential rounds no scheduler can beat: the longest chain of calls, and, at ``width``
    calls at a time, the total calls spread over that width (whichever is larger)."""
    by_key = {task.key: task for task in tasks}
    dependents: dict[str, list[str]] = {key: [] for key in by_key}
    for task in tasks:
        for need in task.after:
            if need in by_key:
                dependents[need].append(task.key)
    chain = max(_heights(by_key, dependents).values(), default=0)
    if not width:
        return chain
    return max(chain, -(-sum(task.weight for task in tasks) // width))
