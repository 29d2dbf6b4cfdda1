"""Carrying out a plan: each change's request, sent with the ids known so far.

``Execution`` turns every change that does something into a ``Task`` for the scheduler in
``execute.py``; a task resolves the references of its request (they are all done: the task waited
for them), sends it, and records the id it made under the change's key. Nothing is decided here:
what to send was decided by the planner.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from quickstart.adobe.execute import Runner, Task
from quickstart.adobe.plan import DATASTREAM_KEY, Change, Plan
from quickstart.adobe.reactor import ReactorClient
from quickstart.adobe.resources import attrs, heads, name_of, resolve, resolve_path, status_details
from quickstart.adobe.spec import SCOPE_TITLES
from quickstart.errors import RemoteError

RERUN = "rerun `quickstart apply` to keep waiting"


class Execution:
    def __init__(self, client: ReactorClient, runner: Runner, plan: Plan, *, secrets: Mapping[str, str],
                 datastream_client: Callable[[str], Any] | None = None):
        self.client = client
        self.runner = runner
        self.plan = plan
        self.secrets = secrets
        self.datastream_client = datastream_client
        self.ids: dict[str, str] = {c.key: c.id for c in plan.changes if c.id}
        self.made: dict[str, dict[str, Any]] = {}  # key -> the resource a create or a build answered
        self.done: list[str] = []
        self._lock = threading.Lock()

    def tasks(self) -> list[Task]:
        return [Task(change.key, self._runner_for(change), after=change.needs, label=change.label, weight=change.calls)
                for change in self.plan.changes if change.request is not None]

    def run(self) -> None:
        self.runner.run_tasks(self.tasks())

    def _record(self, key: str, resource: dict[str, Any]) -> None:
        with self._lock:
            if resource.get("id"):
                self.ids[key] = resource["id"]
            self.made[key] = resource

    def _runner_for(self, change: Change) -> Callable[[], None]:
        handler = getattr(self, "_" + change.request["op"])

        def run() -> None:
            handler(change, change.request)
            with self._lock:
                self.done.append(change.key)
        return run

    def _resolve(self, value: Any) -> Any:
        with self._lock:
            return resolve(value, dict(self.ids))

    def _path(self, path: str) -> str:
        with self._lock:
            return resolve_path(path, dict(self.ids))

    # -- one handler per kind of request -------------------------------------------------------

    def _create(self, change: Change, request: dict[str, Any]) -> None:
        self._record(change.key, self.client.create(self._path(request["path"]), request["type"],
                                                    self._resolve(request["attributes"]),
                                                    self._resolve(request.get("relationships"))))

    def _update(self, change: Change, request: dict[str, Any]) -> None:
        self._record(change.key, self.client.update(request["type"], request["id"], self._resolve(request.get("attributes")),
                                                    self._resolve(request.get("relationships"))))

    def _find_extension(self, change: Change, request: dict[str, Any]) -> None:
        found = [e for e in heads(self.client.list(self._path(request["path"]), {"revision_number": "EQ 0"}))
                 if name_of(e) == request["package"]]
        if not found:
            raise RemoteError(f"the new {SCOPE_TITLES[change.scope]} came without the {request['package']} extension "
                              "Reactor installs with every property; install it in the Data Collection UI, then rerun")
        extension = found[0]
        wanted = request.get("attributes") or {}
        if any(attrs(extension).get(k) != v for k, v in wanted.items()):
            extension = self.client.update("extensions", extension["id"], self._resolve(wanted))
        self._record(change.key, extension)

    def _secret(self, change: Change, request: dict[str, Any]) -> None:
        token = self.secrets.get(request["env"])
        if not token:  # the plan said so; apply refuses before the first write
            raise RemoteError(f"${request['env']} is needed to create the secret {change.name!r}")
        self.client.redact(token)
        attributes = {**request["attributes"], "credentials": {"token": token}}
        created = self.client.create(self._path(request["path"]), "secrets", attributes,
                                     self._resolve(request.get("relationships")))
        self._record(change.key, created)
        self._wait_for_secret(change, created["id"], request["env"])

    def _secret_retry(self, change: Change, request: dict[str, Any]) -> None:
        self.client.update("secrets", request["id"], {"type_of": request["type_of"]}, meta={"action": "retry"})
        self._wait_for_secret(change, request["id"], request["env"])

    def _secret_wait(self, change: Change, request: dict[str, Any]) -> None:
        self._wait_for_secret(change, request["id"], request["env"])

    def _wait_for_secret(self, change: Change, secret_id: str, env_name: str) -> None:
        final = self.runner.wait_for(lambda: self.client.get(f"/secrets/{secret_id}"), f"secret {change.name!r}", RERUN)
        if attrs(final).get("status") != "succeeded":
            raise RemoteError(f"secret {change.name!r} failed: {status_details(final)}; check ${env_name} and rerun")

    def _revise(self, change: Change, request: dict[str, Any]) -> None:
        self._record(change.key, self.client.revise(request["type"], self._resolve(request["id"])))

    def _library(self, change: Change, request: dict[str, Any]) -> None:
        library_id = request["id"]
        if request.get("attach") is not None:
            self.client.set_relationship(f"/libraries/{library_id}/relationships/environment",
                                         {"type": "environments", "id": self._resolve(request["attach"])})
        for kind, relationship in request["set"].items():
            self.client.set_relationship(f"/libraries/{library_id}/relationships/{kind}",
                                         self._resolve(relationship["data"]), method="PATCH")

    def _build(self, change: Change, request: dict[str, Any]) -> None:
        build = self.client.post(f"/libraries/{self._resolve(request['library'])}/builds")
        what = f"the {SCOPE_TITLES[change.scope]} build"
        final = self.runner.wait_for(lambda: self.client.get(f"/builds/{build['id']}"), what, RERUN)
        self._record(change.key, final)
        status = attrs(final).get("status")
        if status != "succeeded":
            raise RemoteError(f"{what} {status}: {status_details(final)}")

    def _transition(self, change: Change, request: dict[str, Any]) -> None:
        """A library's state: develop, submit, approve or reject (reference §2.10)."""
        self._record(change.key, self.client.update("libraries", request["id"], meta={"action": request["action"]}))

    def _environment(self, change: Change, request: dict[str, Any]) -> None:
        self.client.set_relationship(f"/libraries/{request['id']}/relationships/environment",
                                     {"type": "environments", "id": request["environment"]})

    def _delete(self, change: Change, request: dict[str, Any]) -> None:
        self.client.request("DELETE", f"/{request['type']}/{request['id']}")

    def _datastream(self, change: Change, request: dict[str, Any]) -> None:
        from quickstart.adobe.datastreams import ensure_datastream

        if self.datastream_client is None:
            raise RemoteError("internal: no datastream client")
        outcome = ensure_datastream(self.datastream_client(request["sandbox"]), request["title"],
                                    self._resolve(request["property"]), self._resolve(request["environment"]))
        with self._lock:
            self.ids[DATASTREAM_KEY] = outcome.id
