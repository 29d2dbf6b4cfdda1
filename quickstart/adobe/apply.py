"""``quickstart apply``: make Adobe match the folder, through the Reactor API.

Plan, then execute exactly that plan (terraform's shape):

1. the folder is loaded and checked (shapes here, ``validate``'s static checks unless skipped);
2. ``holdings.read`` reads what the two properties hold (names on the server are the truth,
   ``.quickstart/state.json`` is only a record of ids);
3. ``planner.make_plan`` decides every change, with old and new values, without a write;
4. ``actions.Execution`` carries the plan out along its dependencies (``execute.Runner``).

A second run plans nothing; a run that died half way plans only what is left (whatever it
created is found by name), so it finishes without duplicates. A saved plan (``--out``) runs only
while what Adobe holds is what it was made from (``fingerprint``).
"""

from __future__ import annotations

import html
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from quickstart import layout, settings
from quickstart.adobe import ims
from quickstart.adobe.actions import Execution
from quickstart.adobe.execute import PollPolicy, ProgressSink, Runner
from quickstart.adobe.holdings import Reading, read
from quickstart.adobe.plan import DATASTREAM_KEY, Inputs, Plan, change_key
from quickstart.adobe.planner import make_plan
from quickstart.adobe.reactor import ReactorClient
from quickstart.http import DEFAULT_RETRY, CallStats, RetryPolicy, new_session
from quickstart.adobe.resources import attrs
from quickstart.adobe.spec import Folder, load_folder
from quickstart.errors import ChecksFailedError, InputError, RefusedError

DEFAULT_CONCURRENCY = 8
__all__ = ["Apply", "ApplyResult", "PollPolicy", "apply_folder", "load_folder", "embed_code"]


@dataclass
class ApplyResult:
    plan: Plan
    applied: bool = False
    done: list[str] = field(default_factory=list)  # keys of the changes carried out
    embed_urls: dict[str, str] = field(default_factory=dict)  # stage -> the environment's embed URL
    datastream_id: str | None = None
    files_written: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    calls: int = 0
    mutating_calls: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def embed_url(self) -> str | None:
        return self.embed_urls.get("development")

    @property
    def embed_code(self) -> str | None:
        return embed_code(self.embed_url) if self.embed_url else None

    def to_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "plan": self.plan.to_dict(), "done": list(self.done),
                "embed_url": self.embed_url, "embed_code": self.embed_code, "embed_urls": dict(self.embed_urls),
                "datastream_id": self.datastream_id,
                "files_written": list(self.files_written), "next_steps": list(self.next_steps), "calls": self.calls,
                "mutating_calls": self.mutating_calls, "retries": self.retries, "seconds": self.seconds}


def embed_code(url: str) -> str:
    """The async <head> embed (reference §2.12); the URL comes from the server, so it is escaped."""
    return f'<script src="{html.escape(url, quote=True)}" async></script>'


class Apply:
    """One apply: ``plan()`` reads and decides, ``execute(plan)`` carries a plan out."""

    def __init__(self, folder: str | Path, *, datastream_id: str | None = None, create_datastream: bool = False,
                 only: str | None = None, prune: bool = False, skip_checks: bool = False,
                 concurrency: int = DEFAULT_CONCURRENCY, environ: Mapping[str, str] | None = None,
                 progress: ProgressSink | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                 poll: PollPolicy = PollPolicy(), session: Any = None):
        self.started = time.monotonic()
        self.environ = os.environ if environ is None else environ
        from quickstart.folder import load_folder as load

        loaded = load(folder)  # once, for apply and for validate's checks
        self.folder = load_folder(folder, loaded)
        if datastream_id is not None:
            from quickstart.answers import validate_datastream_id

            datastream_id = validate_datastream_id(datastream_id)
        if only not in (None, "edge", "web"):
            raise InputError(f"--only takes edge or web, not {only!r}")
        if not skip_checks:
            _static_checks(loaded)
        self.inputs = Inputs(datastream_id=datastream_id, create_datastream=create_datastream, only=only, prune=prune,
                             managed=_managed(loaded.state))
        self.credentials = ims.credentials_from_env(self.environ)
        self.secrets = _secret_values(self.folder, self.environ)
        self.inputs.secrets_available = frozenset(self.secrets)
        self._own_session = session is None
        self.session = session or new_session(pool=concurrency)
        self.stats = CallStats()
        self.tokens = ims.TokenProvider(self.credentials, self.session)
        self.client = ReactorClient(self.tokens, session=self.session, retry=retry, stats=self.stats,
                                    redact=[self.credentials.client_secret, *self.secrets.values()])
        self.runner = Runner(concurrency, progress, poll)
        self.reading: Reading | None = None

    def __enter__(self) -> "Apply":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.runner.close()
        if self._own_session:
            self.session.close()

    def _datastream_client(self, sandbox: str) -> Any:
        from quickstart.adobe.datastreams import DatastreamClient

        return DatastreamClient(self.tokens, self.session, sandbox=sandbox, retry=self.client.retry, stats=self.stats)

    def read(self, *, staged: bool = False) -> Reading:
        looks_up = self.inputs.create_datastream and not (self.inputs.datastream_id or self.folder.datastream_id())

        def find() -> Any:
            return self._datastream_client(self.folder.sandbox).find_by_title(self.folder.datastream_title)
        return read(self.client, self.runner, self.folder, self.credentials.org_id,
                    find_datastream=find if looks_up else None, staged=staged)

    def plan(self) -> Plan:
        self.reading = self.read()
        return make_plan(self.folder, self.reading, self.inputs)

    def plan_publish(self, target: str) -> Plan:
        """The publish plan for ``target`` (quickstart/adobe/publish.py); apply's own must be empty."""
        from quickstart.adobe.publish import plan_publish

        self.reading = self.read(staged=True)
        return plan_publish(self.folder, self.reading, target, pending=make_plan(self.folder, self.reading, self.inputs))

    def execute(self, plan: Plan, *, saved: bool = False) -> ApplyResult:
        """Carry out ``plan``; a ``saved`` one only if Adobe still holds what it was made from."""
        folder = self.folder
        if saved and plan.target is not None:
            raise RefusedError("a saved publish plan cannot be carried out later; run `quickstart publish` again")
        if (plan.edge_name, plan.web_name) != (folder.edge.name, folder.web.name):
            raise RefusedError(f"the plan is for {plan.web_name!r}, not this folder's {folder.web.name!r}; "
                               "nothing was changed")
        if saved:
            self.reading = self.read()
            if self.reading.fingerprint != plan.fingerprint:
                raise RefusedError("what Adobe holds changed since the plan was made; nothing was changed: make a new "
                                   f"plan (`quickstart apply {folder.path} --plan --out FILE`) and review it")
        if plan.missing:
            raise InputError("apply cannot finish without " + "; and ".join(plan.missing) + "; nothing was changed")
        result = ApplyResult(plan=plan)
        execution = Execution(self.client, self.runner, plan, secrets=self.secrets,
                              datastream_client=self._datastream_client)
        try:
            execution.run()
            result.applied = True
        finally:
            result.done = list(execution.done)
            self._finish(plan, execution, result)
        return result

    def _finish(self, plan: Plan, execution: Execution, result: ApplyResult) -> None:
        """State (always, even after a failure), then the folder's files and the next steps."""
        result.datastream_id = execution.ids.get(DATASTREAM_KEY)
        if plan.only != "edge":
            result.embed_urls = self._embed_urls(execution)
        if plan.target is not None:
            _write_published(self.folder, plan, execution)
        else:
            _write_state(self.folder, plan, execution, result, self.reading.company_id if self.reading else None)
        if result.applied and plan.target is None:
            if result.datastream_id:
                result.files_written = record_in_folder(self.folder, result.datastream_id, result.embed_urls)
            elif plan.only == "edge":
                result.next_steps = _datastream_instructions(self.folder, execution)
        result.calls, result.mutating_calls, result.retries = self.stats.calls, self.stats.mutating, self.stats.retries
        result.seconds = round(time.monotonic() - self.started, 2)

    def _embed_urls(self, execution: Execution) -> dict[str, str]:
        """Stage -> the embed URL of the Tags property's environment of that stage (reference §2.12)."""
        urls = {}
        for env_spec in self.folder.web.items("environments"):
            stage = env_spec.get("stage", "development")
            key = change_key("web", "environment", env_spec["name"])
            environment = execution.made.get(key) or next(
                (e for e in (self.reading.web.environments if self.reading else []) if e["id"] == execution.ids.get(key)),
                None)
            url = environment_embed_url(environment) if environment else None
            if url and stage not in urls:
                urls[stage] = url
        return urls


def environment_embed_url(environment: dict[str, Any]) -> str | None:
    attributes = attrs(environment)
    path = attributes.get("library_path")
    entries = [e for e in attributes.get("library_entry_points") or [] if e.get("minified")]
    library_name = (entries[0].get("library_name") if entries else None) or attributes.get("library_name")
    return f"{settings.EMBED_BASE_URL}/{path}/{library_name}" if path and library_name else None


def apply_folder(folder: str | Path, *, plan_only: bool = False, **options: Any) -> ApplyResult:
    """Plan, and unless ``plan_only`` carry the plan out (no question asked: the caller decided)."""
    with Apply(folder, **options) as job:
        plan = job.plan()
        if plan_only:
            result = ApplyResult(plan=plan)
            result.calls, result.seconds = job.stats.calls, round(time.monotonic() - job.started, 2)
            return result
        return job.execute(plan)


# ---------------------------------------------------------------------------------------------
# Inputs


def _static_checks(loaded: Any) -> None:
    from quickstart.validate.checks import check_loaded

    path = loaded.path
    errors = check_loaded(loaded).errors
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ChecksFailedError(f"validate rejects this folder: {errors[0]}{more}; nothing was changed. Fix it "
                                f"(`quickstart validate {path} --static-only` lists all), or pass --skip-checks")


def _secret_values(folder: Folder, environ: Mapping[str, str]) -> dict[str, str]:
    """Each secret's token, the way validate finds it: the environment, then the folder's .env."""
    from quickstart.envfile import resolve_secret

    found = {}
    for secret in folder.edge.items("secrets"):
        name = secret.get("env") or settings.TOKEN_ENV
        value = resolve_secret(folder.path, name, environ)
        if value:
            found[name] = value
    return found


# ---------------------------------------------------------------------------------------------
# state.json


def _old_state(folder: Path) -> dict[str, Any]:
    from quickstart.state import load_state

    return load_state(folder)


def _managed(state: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Ids of the rules and data elements quickstart made, per scope (for --prune)."""
    managed: dict[str, dict[str, set[str]]] = {}
    for scope, prop in (state.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        retired = prop.get("retired") or {}
        rules = {(v or {}).get("id") for v in (prop.get("rules") or {}).values() if isinstance(v, dict)}
        rules |= set((retired.get("rules") or {}).values())
        elements = set((prop.get("data_elements") or {}).values()) | set((retired.get("data_elements") or {}).values())
        managed[scope] = {"rules": {i for i in rules if isinstance(i, str)},
                          "data_elements": {i for i in elements if isinstance(i, str)}}
    return managed


def _write_published(folder: Folder, plan: Plan, execution: Execution) -> None:
    """What was published where: the library and its build on the target, per property."""
    from quickstart.state import save_state

    state = _old_state(folder.path)
    published = dict(state.get("published") or {})
    entry = {}
    for scope in ("edge", "web"):
        changes = [c for c in plan.changes if c.scope == scope]
        building = next((c for c in changes if c.kind == "build" and c.request), None)
        library_id = building.request["library"] if building else next((c.id for c in changes if c.kind == "library"), None)
        build = execution.made.get(change_key(scope, "build", plan.target))
        entry[scope] = {"library_id": library_id,
                        "build": {"id": build.get("id"), "status": attrs(build).get("status")} if build else
                        (published.get(plan.target) or {}).get(scope, {}).get("build")}
    published[plan.target] = entry
    save_state(folder.path, {**state, "published": published}, stamp="published_at", old=state)


def _property_state(folder: Folder, scope: str, plan: Plan, execution: Execution, old: dict[str, Any]) -> dict[str, Any]:
    spec = folder.edge if scope == "edge" else folder.web
    ids = execution.ids

    def of(kind: str, name: str = "") -> str | None:
        return ids.get(change_key(scope, kind, name))

    deleted = {c.id for c in plan.changes if c.scope == scope and c.action == "delete" and c.key in execution.done}
    wanted = {"rules": {r["name"] for r in spec.items("rules")}, "data_elements": {d["name"] for d in spec.items("data_elements")}}
    retired: dict[str, dict[str, str]] = {"rules": {}, "data_elements": {}}
    old_retired = old.get("retired") or {}
    for type_ in ("rules", "data_elements"):
        earlier = {**(old_retired.get(type_) or {}),
                   **{n: (v.get("id") if isinstance(v, dict) else v) for n, v in (old.get(type_) or {}).items()}}
        retired[type_] = {n: i for n, i in earlier.items() if n not in wanted[type_] and i and i not in deleted}
    build = execution.made.get(change_key(scope, "build"))
    return {
        "name": spec.name,
        "id": of("property"),
        "host_id": of("host"),
        "environments": {e["name"]: of("environment", e["name"]) for e in spec.items("environments")},
        "extensions": {e["package"]: of("extension", e["package"]) for e in spec.items("extensions")},
        "secrets": {s["name"]: of("secret", s["name"]) for s in spec.items("secrets")},
        "data_elements": {d["name"]: of("data element", d["name"]) for d in spec.items("data_elements")},
        "rules": {r["name"]: {"id": of("rule", r["name"]),
                              "components": {c["name"]: of("rule component", f"{r['name']} / {c['name']}")
                                             for c in r.get("components") or []}}
                  for r in spec.items("rules")},
        "retired": retired,
        "library_id": of("library"),
        "build": {"id": build.get("id"), "status": attrs(build).get("status")} if build else old.get("build"),
    }


def _write_state(folder: Folder, plan: Plan, execution: Execution, result: ApplyResult, company: str | None) -> None:
    """A record of ids (never a secret). Written atomically; other keys in the file are kept."""
    from quickstart.state import save_state

    old = _old_state(folder.path)
    state = dict(old)
    properties = dict(old.get("properties") or {})
    for scope in ("edge", "web"):
        if plan.only in (None, scope):
            properties[scope] = _property_state(folder, scope, plan, execution, properties.get(scope) or {})
    state.update({"version": 1, "properties": properties,
                  "datastream_id": result.datastream_id or old.get("datastream_id")})
    if company:
        state["company_id"] = company
    if result.embed_urls:
        state["embed_urls"] = {**(state.get("embed_urls") or {}), **result.embed_urls}
        state["embed_url"] = result.embed_urls.get("development", state.get("embed_url"))
    save_state(folder.path, state, old=old)


# ---------------------------------------------------------------------------------------------
# The folder's files


def record_in_folder(folder: Folder, datastream_id: str, embed_urls: dict[str, str]) -> list[str]:
    """Put what apply learned into the folder's files; return the ones written.

    The datastream id goes into quickstart.yaml and the folder is re-rendered by render.py (the
    embed URL comes from state.json, written just before), so every generated file the user left
    alone gets the id and the real embed code, and its new hash is recorded. A file the user
    edited stays theirs; only in their own head.html is the embed script swapped, since pasting
    that snippet is the next step.
    """
    from quickstart import fsio, render
    from quickstart.answers import Answers

    if folder.answers_values is None:
        return []
    values = dict(folder.answers_values)
    values["datastream_id"] = datastream_id
    from quickstart.state import embed_urls_of, load_state

    urls = {**embed_urls_of(load_state(folder.path)), **embed_urls}
    result = render.write_folder(folder.path, Answers.from_values(values), keep_conflicts=True, embed_urls=urls)
    written = [f.path for f in result.files if f.status in ("create", "update")]

    kept = {f.path for f in result.files if f.status == "kept"}
    for stage, url in embed_urls.items():
        relpath = layout.head_snippet(stage)
        if relpath not in kept:
            continue
        path = folder.path / relpath
        old_text = fsio.read_text_or_none(path) or ""
        script = re.compile(r'<script src="https://assets\.adobedtm\.com/[^"]*" async></script>')
        code = embed_code(url)
        new_text = script.sub(lambda _: code, old_text, count=1) if script.search(old_text) else old_text + code + "\n"
        if new_text != old_text:
            fsio.atomic_write(path, new_text)  # its hash is not recorded: it stays a user edit
            written.append(relpath)
    return written


def _datastream_instructions(folder: Folder, execution: Execution) -> list[str]:
    env = next((e for e in folder.edge.items("environments")
                if e.get("stage", "development") == folder.forwarding_stage), {"name": folder.forwarding_stage})
    return [
        "The event forwarding property is ready. Adobe has no public API for datastreams, so create one:",
        "  Data Collection > Datastreams > New datastream",
        f"    name: {folder.datastream_title}",
        "    add the service Event Forwarding:",
        f"      property: {folder.edge.name} ({execution.ids.get(change_key('edge', 'property'))})",
        f"      environment: {env['name']} ({execution.ids.get(change_key('edge', 'environment', env['name']))})",
        f"  then: quickstart apply {folder.path} --datastream-id <its id>",
    ]


