"""A local imitation of Adobe IMS, the Reactor API and the Edge metadata (datastream) service.

A real HTTP server on 127.0.0.1 (port 0, in a thread) that behaves as the documented API does
(reference/adobe-reactor.md §1, §2, §5, §7), so the client is tested over real sockets:

- IMS ``POST /ims/token/v3`` (form fields, client_credentials) issues bearer tokens; every
  Reactor call must carry a live one, plus ``x-api-key`` (the client id) and ``x-gw-ims-org-id``;
- JSON:API bodies, ``settings`` as JSON strings, validated (draft 4) against the schemas of the
  real extension manifests; a bad one is a 409 with ``detail`` and ``source.pointer``;
- names are unique (409 ``not-unique``); Core is installed when a property is created (web
  and edge); one akamai host per property; one staging/production environment; one library
  per environment (409 ``environment-in-use``); rule components are created at property level;
- heads and revisions (``meta.action: revise`` answers a new id, ``revision_number`` 1, 2...);
  lists include revisions (filter ``revision_number`` to get heads), 25 a page by default;
- secrets go ``pending`` -> ``succeeded`` after a poll; builds ``pending`` -> ``succeeded``, or
  ``failed`` with ``meta.status_details`` when a library misses an extension or a secret;
- libraries move through ``develop``/``submit``/``approve``/``reject`` as Adobe documents (a
  wrong transition is a 409), each state holding only its own stage's environment; ``POST
  /search`` reads; ``DELETE`` removes data elements, rules and components;
- injectable faults: a status for the next N calls (429 with ``Retry-After``, 500...), a crash
  point after N mutating calls (the call is done but answered 500, and so is everything after,
  like a run dying half way), and a latency per call for the benchmark.

This module holds the server, the faults, IMS, the routing and the fixtures; the rest is split by
concern: reactor_jsonapi.py (documents, lists, filters), reactor_resources.py (properties,
heads, settings, revisions, search, delete), reactor_libraries.py (libraries, states, builds),
edge_metadata.py (datastreams), adobe_common.py (constants, the error, helpers).

Pytest fixtures ``fake_adobe`` and ``adobe_env`` are at the bottom.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.adobe_common import (  # noqa: F401  (CLIENT_SECRET, ORG_ID: the tests' names)
    CLIENT_ID,
    CLIENT_SECRET,
    DELETABLE,
    HEAD_TYPES,
    KINDS,
    LIBRARY_KINDS,
    MANIFEST_DIR,
    ORG_ID,
    READ_ONLY_POSTS,
    ApiError,
    Call,
    new_id,
    now,
    token12,
)
from tests.fakes.edge_metadata import EdgeMetadata
from tests.fakes.reactor_jsonapi import JsonApi
from tests.fakes.reactor_libraries import Libraries
from tests.fakes.reactor_resources import Resources
from tests.fakes.server import LocalServer


class FakeAdobe(JsonApi, Resources, Libraries, EdgeMetadata, LocalServer):
    """The server and its state. Use as a context manager, or start()/stop()."""

    def __init__(self, *, latency: float = 0.0, secret_polls: int = 1, build_polls: int = 1,
                 token_lifetime: int = 86399):
        self.latency = latency
        self.secret_polls = secret_polls
        self.build_polls = build_polls
        self.token_lifetime = token_lifetime
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.resources: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.received_secret_values: list[str] = []
        self.datastreams: dict[str, dict[str, Any]] = {}
        self.next_secret_outcome = "succeeded"
        self.next_build_outcome: str | None = None  # force "failed" for a test
        self._faults: list[dict[str, Any]] = []
        self._crash_countdown: int | None = None
        self._crashed = False
        self.packages: dict[str, dict[str, Any]] = {}
        self.company_id = self._add_company(ORG_ID, "Example Company")
        self._add_company("FEDCBA9876543210FEDCBA98@AdobeOrg", "Somebody Else")
        for path in sorted(MANIFEST_DIR.glob("*.extension.json")):
            self.add_package(json.loads(path.read_text(encoding="utf-8")))
        # An older, smaller Meta Pixel package: lookups must take the newest version.
        old = json.loads((MANIFEST_DIR / "facebook-pixel.extension.json").read_text(encoding="utf-8"))
        old["version"] = "1.0.0"
        self.add_package(old)

    # -- life cycle ------------------------------------------------------------------------

    def handler_class(self) -> type:
        fake = self

        class Handler(_Handler):
            owner = fake

        return Handler

    def env(self) -> dict[str, str]:
        """The environment that points quickstart at this fake."""
        return {
            "QUICKSTART_REACTOR_URL": self.url,
            "QUICKSTART_IMS_URL": self.url,
            "QUICKSTART_EDGE_URL": self.url,
            "ADOBE_CLIENT_ID": CLIENT_ID,
            "ADOBE_CLIENT_SECRET": CLIENT_SECRET,
            "ADOBE_ORG_ID": ORG_ID,
        }

    # -- faults and inspection --------------------------------------------------------------

    def fail_next(self, status: int, *, count: int = 1, retry_after: str | None = None,
                  method: str | None = None, path_contains: str | None = None) -> None:
        """Answer ``status`` to the next ``count`` matching calls, without doing them."""
        with self.lock:
            self._faults.append({"status": status, "count": count, "retry_after": retry_after,
                                 "method": method, "path": path_contains})

    def crash_after(self, mutating_calls: int) -> None:
        """Let ``mutating_calls`` go through; do the next one but answer 500, then 500 to all."""
        with self.lock:
            self._crash_countdown = mutating_calls
            self._crashed = False

    def recover(self) -> None:
        with self.lock:
            self._crash_countdown = None
            self._crashed = False
            self._faults.clear()

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    def mutating_calls(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method in ("POST", "PATCH", "PUT", "DELETE") and c.path not in READ_ONLY_POSTS]

    def heads(self, type_: str, property_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.resources.values() if r["type"] == type_ and r["attributes"].get("revision_number", 0) == 0
                    and (property_id is None or r.get("_property") == property_id)]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.resources.values() if r["type"] == type_]

    def property_named(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.of_type("properties") if p["attributes"]["name"] == name), None)

    def components_of(self, rule_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.resources.values() if r["type"] == "rule_components"
                    and rule_id in r.get("_rules", []) and r["attributes"].get("revision_number", 0) == 0]

    def library_contents(self, library_id: str) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            library = self.resources[library_id]
            return {kind: [self.resources[i] for i in library["_resources"][kind]] for kind in LIBRARY_KINDS}

    # -- seeding ----------------------------------------------------------------------------

    def _add_company(self, org_id: str, name: str) -> str:
        company_id = new_id("CO")
        self.resources[company_id] = {"id": company_id, "type": "companies", "attributes": {
            "name": name, "org_id": org_id, "token": token12(), "created_at": now(), "updated_at": now()}}
        return company_id

    def add_package(self, manifest: dict[str, Any]) -> str:
        name, platform = manifest["name"], manifest["platform"]
        version = manifest.get("version") if re.match(r"^\d+\.\d+\.\d+", str(manifest.get("version"))) else "2.34.2"

        def delegates(key: str) -> list[dict[str, Any]]:
            return [{"id": f"{name}::{key}::{item['name']}", "name": item["name"], "display_name": item.get("displayName"),
                     "schema": item.get("schema") or {}} for item in manifest.get(key) or []]

        configuration = manifest.get("configuration")
        package_id = new_id("EP")
        self.packages[package_id] = manifest
        self.resources[package_id] = {"id": package_id, "type": "extension_packages", "attributes": {
            "name": name, "platform": platform, "version": version, "display_name": manifest.get("displayName"),
            "availability": "public", "status": "succeeded", "discontinued": False, "created_at": now(),
            "actions": delegates("actions"), "events": delegates("events"), "conditions": delegates("conditions"),
            "data_elements": delegates("dataElements"),
            "configuration": None if not configuration else {
                "id": f"{name}::extensionConfiguration::config", "name": "config",
                "schema": configuration.get("schema") or {}},
        }}
        return package_id

    def set_live_schema(self, descriptor: str, schema: dict[str, Any]) -> None:
        """Change a delegate's schema in every package version that has it (a newer live package)."""
        package, kind, name = descriptor.split("::", 2)
        with self.lock:
            for pkg in self.of_type("extension_packages"):
                if pkg["attributes"]["name"] != package:
                    continue
                if kind == "extensionConfiguration" and pkg["attributes"]["configuration"]:
                    pkg["attributes"]["configuration"]["schema"] = schema
                for item in pkg["attributes"].get(KINDS.get(kind, kind)) or []:
                    if item["id"] == descriptor:
                        item["schema"] = schema

    # -- request handling -------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.calls.append(Call(method, path, query, body))
            mutating = method in ("POST", "PATCH", "PUT", "DELETE") and path not in READ_ONLY_POSTS
            if self._crashed:
                raise ApiError(500, "internal-error", "Internal Server Error", "the fake crashed (crash_after)")
            for fault in self._faults:
                if fault["count"] > 0 and (fault["method"] in (None, method)) and (fault["path"] is None or fault["path"] in path):
                    fault["count"] -= 1
                    extra = {"Retry-After": fault["retry_after"]} if fault["retry_after"] is not None else {}
                    raise ApiError(fault["status"], "injected", "Injected fault", f"fault injected by the test ({fault['status']})",
                                   headers=extra)
            crash_now = False
            if mutating and self._crash_countdown is not None:
                if self._crash_countdown == 0:
                    crash_now = True
                else:
                    self._crash_countdown -= 1
            if path == "/ims/token/v3":
                result = self._ims(method, body, headers)
            elif path.startswith("/metadata/namespaces/edge/"):
                self._authorize(headers, edge=True)
                result = self._edge(method, path, query, headers, body)
            else:
                self._authorize(headers)
                if method in ("POST", "PATCH") and path.split("/")[-1] != "builds":
                    content_type = headers.get("Content-Type", "")
                    if not content_type.startswith("application/vnd.api+json"):
                        raise ApiError(415, "unsupported-media-type", "Unsupported Media Type",
                                       "Content-Type must be application/vnd.api+json")
                result = self._route(method, path, query, body)
            if crash_now:
                self._crashed = True
                self._crash_countdown = None
                raise ApiError(500, "internal-error", "Internal Server Error", "the fake crashed after doing the call")
            return result

    # -- auth -------------------------------------------------------------------------------

    def _ims(self, method: str, body: bytes, headers: Any) -> tuple[int, dict[str, str], Any]:
        if method != "POST":
            raise ApiError(405, "method-not-allowed", "Method Not Allowed")
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {}, {"error": "invalid_request", "error_description": "form body expected"}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "client_credentials only"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client", "error_description": "invalid client_id or client_secret"}
        if "read_organizations" not in (form.get("scope") or ""):
            return 400, {}, {"error": "invalid_scope", "error_description": "scope must include read_organizations"}
        token = "fake-ims-" + uuid.uuid4().hex
        self.tokens[token] = time.time() + self.token_lifetime
        self.tokens_issued += 1
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}

    def _authorize(self, headers: Any, edge: bool = False) -> None:
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if self.tokens.get(token, 0) < time.time():
            raise ApiError(401, "authentication-failure", "Unauthorized", "Your IMS access token is invalid.")
        if headers.get("x-api-key") != CLIENT_ID:
            raise ApiError(403, "invalid-api-key", "Forbidden", "x-api-key does not match the token's client")
        if headers.get("x-gw-ims-org-id") != ORG_ID:
            raise ApiError(403, "invalid-org", "Forbidden", "Your active Org doesn't have access to the API.")
        if edge:
            if not headers.get("x-sandbox-name"):
                raise ApiError(400, "EXEG-0003", "Bad Request", "x-sandbox-name header is required")
            return
        accept = headers.get("Accept", "")
        if "application/vnd.api+json" not in accept or "revision=1" not in accept:
            raise ApiError(406, "not-acceptable", "Not Acceptable", "Accept: application/vnd.api+json;revision=1")

    # -- routing ----------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = [p for p in path.split("/") if p]
        data = self._data(body) if method in ("POST", "PATCH", "DELETE") and body else None
        if parts == ["companies"] and method == "GET":
            return self._list([r for r in self.of_type("companies")], query)
        if len(parts) == 3 and parts[0] == "companies" and parts[2] == "properties":
            self._get_typed(parts[1], "companies")
            if method == "GET":
                return self._list([p for p in self.of_type("properties") if p["_company"] == parts[1]], query)
            if method == "POST":
                return 201, {}, {"data": self._out(self._create_property(parts[1], data))}
        if parts == ["extension_packages"] and method == "GET":
            items = self.of_type("extension_packages")
            items = sorted(items, key=lambda p: tuple(int(x) for x in p["attributes"]["version"].split(".")[:3]),
                           reverse="-version" in (query.get("sort") or [""])[0])
            return self._list(items, query)
        if len(parts) == 3 and parts[0] == "properties":
            prop = self._get_typed(parts[1], "properties")
            return self._property_collection(method, prop, parts[2], query, data)
        if len(parts) == 3 and parts[0] == "rules" and parts[2] == "rule_components":
            rule = self._get_typed(parts[1], "rules")
            if method != "GET":
                raise ApiError(405, "method-not-allowed", "Method Not Allowed",
                               "rule components are created with POST /properties/{id}/rule_components")
            items = [r for r in self.of_type("rule_components") if rule["id"] in r.get("_rules", [])]
            return self._list(items, query)
        if len(parts) == 3 and parts[0] == "libraries" and parts[2] == "builds" and method == "POST":
            return 201, {}, {"data": self._out(self._create_build(self._get_typed(parts[1], "libraries")))}
        if len(parts) == 3 and parts[0] == "libraries" and parts[2] in LIBRARY_KINDS and method == "GET":
            library = self._get_typed(parts[1], "libraries")
            return self._list([self.resources[i] for i in library["_resources"][parts[2]]], query)
        if len(parts) == 4 and parts[0] == "libraries" and parts[2] == "relationships":
            library = self._get_typed(parts[1], "libraries")
            return self._library_relationship(method, library, parts[3], data)
        if len(parts) == 3 and parts[0] in HEAD_TYPES and parts[2] == "revisions" and method == "GET":
            head = self._get_typed(parts[1], parts[0])
            items = [r for r in self.of_type(parts[0]) if (r.get("relationships", {}).get("origin") or {}).get("data", {}).get("id") == head["id"]
                     and r["id"] != head["id"]]
            return self._list(items, query)
        if parts == ["search"] and method == "POST":
            return self._search(data)
        if len(parts) == 2:
            resource = self._get(parts[1])
            if resource["type"] != parts[0]:
                raise ApiError(404, "not-found", "Record Not Found", pointer="/data")
            if method == "DELETE" and parts[0] in DELETABLE:
                self._delete(resource)
                return 204, {}, None
            if method == "GET":
                self._on_read(resource)
                return 200, {}, {"data": self._out(resource)}
            if method == "PATCH":
                return 200, {}, {"data": self._out(self._patch(resource, data))}
        raise ApiError(404 if method == "GET" else 405, "not-found", "Record Not Found", f"no route {method} {path}")

    # -- search (ADOCS api/endpoints/search.md; reference §2.15) and delete ------------------


    # -- serialisation, lists, filters ------------------------------------------------------


    # -- properties and their collections ---------------------------------------------------


    # -- heads: extensions, data elements, rules, rule components ----------------------------


    # -- updates and revisions --------------------------------------------------------------


    # -- libraries and builds ---------------------------------------------------------------


    # -- the Edge metadata service (datastreams; undocumented, reference §5) ------------------


class _Handler(BaseHTTPRequestHandler):
    owner: FakeAdobe
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive + small writes would otherwise stall ~40 ms a call

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if self.owner.latency:
            time.sleep(self.owner.latency)
        headers: dict[str, str] = {}
        try:
            status, headers, payload = self.owner.handle(self.command, split.path, query, self.headers, body)
        except ApiError as error:
            status, headers, payload = error.status, error.headers, error.body()
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            status, payload = 500, ApiError(500, "fake-bug", "Fake bug", repr(exc)).body()
        data = json.dumps(payload).encode("utf-8") if payload is not None else b""
        self.send_response(status)
        ims = split.path == "/ims/token/v3"
        edge = split.path.startswith("/metadata/")
        self.send_header("Content-Type", "application/json" if ims or edge else "application/vnd.api+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


# ---------------------------------------------------------------------------------------------
# pytest fixtures


@pytest.fixture
def fake_adobe():
    """A running fake (IMS + Reactor + Edge metadata); stopped after the test.

    Secrets and builds are done at the first look, so CLI tests do not sleep through polls;
    tests of the waiting itself make their own ``FakeAdobe(secret_polls=..., build_polls=...)``.
    """
    with FakeAdobe(secret_polls=0, build_polls=0) as fake:
        yield fake


@pytest.fixture
def adobe_env(fake_adobe, monkeypatch):
    """The environment variables that point quickstart at ``fake_adobe``; returns the fake."""
    for name, value in fake_adobe.env().items():
        monkeypatch.setenv(name, value)
    return fake_adobe
