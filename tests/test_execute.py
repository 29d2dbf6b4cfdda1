"""The scheduler in quickstart/adobe/execute.py: order, width, failure, and the dependency floor."""

from __future__ import annotations

import threading
import time

import pytest

from quickstart.adobe.execute import Aborted, PollPolicy, Runner, Task, dependency_floor
from quickstart.errors import RemoteError


def recording_tasks(spec: dict[str, set[str]], log: list[str], delay: float = 0.0, fail: str | None = None):
    lock = threading.Lock()
    live = {"now": 0, "max": 0}

    def make(key: str):
        def run() -> None:
            with lock:
                live["now"] += 1
                live["max"] = max(live["max"], live["now"])
            time.sleep(delay)
            with lock:
                live["now"] -= 1
                log.append(key)
            if key == fail:
                raise RemoteError(f"{key} failed")
        return run

    return [Task(key, make(key), after=set(after), label=f"do {key}") for key, after in spec.items()], live


def test_a_task_starts_only_after_everything_it_waits_for():
    spec = {"property": set(), "extension": {"property"}, "element": {"extension"}, "rule": {"property"},
            "component": {"rule", "extension"}, "library": {"element", "component"}}
    log: list[str] = []
    tasks, _ = recording_tasks(spec, log, delay=0.01)
    with Runner(4) as runner:
        runner.run_tasks(tasks)
    for key, needs in spec.items():
        assert all(log.index(need) < log.index(key) for need in needs), (key, log)


def test_never_more_than_concurrency_at_once_and_the_width_is_used():
    spec = {f"t{i}": set() for i in range(12)}
    log: list[str] = []
    tasks, live = recording_tasks(spec, log, delay=0.03)
    with Runner(3) as runner:
        runner.run_tasks(tasks)
    assert live["max"] == 3 and len(log) == 12


def test_the_first_failure_stops_new_work_and_is_raised():
    spec = {"a": set(), "b": {"a"}, "c": {"b"}, "d": set()}
    log: list[str] = []
    tasks, _ = recording_tasks(spec, log, fail="a")
    with Runner(1) as runner:
        with pytest.raises(RemoteError, match="a failed"):
            runner.run_tasks(tasks)
    assert "b" not in log and "c" not in log
    assert runner.abort.is_set()
    with pytest.raises(Aborted):
        runner.check()


def test_progress_numbers_every_step():
    events = []
    log: list[str] = []
    tasks, _ = recording_tasks({"a": set(), "b": {"a"}}, log)
    with Runner(2, progress=events.append) as runner:
        runner.run_tasks(tasks)
    assert [(e.index, e.total, e.text) for e in events] == [(1, 2, "do a"), (2, 2, "do b")]


def test_steps_that_wait_on_each_other_are_reported_not_hung():
    log: list[str] = []
    tasks, _ = recording_tasks({"a": {"b"}, "b": {"a"}}, log)
    with Runner(2) as runner:
        with pytest.raises(RemoteError, match="wait on each other"):
            runner.run_tasks(tasks)


def test_dependency_floor_is_the_longest_chain_or_the_width_bound():
    def noop() -> None:
        pass
    tasks = [Task("p", noop, weight=1), Task("r", noop, {"p"}, weight=1), Task("c", noop, {"r"}, weight=2),
             *[Task(f"x{i}", noop, {"p"}) for i in range(10)]]
    assert dependency_floor(tasks) == 4  # p, r, c (2 calls)
    assert dependency_floor(tasks, width=2) == 7  # 14 calls over 2
    assert dependency_floor(tasks, width=8) == 4


def test_wait_for_reports_pending_and_gives_up_at_the_timeout():
    events = []
    with Runner(1, progress=events.append, poll=PollPolicy(first_delay=0.01, max_delay=0.01, timeout=0.05,
                                                               report_every=0.0)) as runner:
        with pytest.raises(RemoteError, match="still pending"):
            runner.wait_for(lambda: {"attributes": {"status": "pending"}}, "the build", "rerun")
    assert events and all(e.type == "pending" and "the build pending…" in e.text for e in events)
