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
- injectable faults: a status for the next N calls (429 with ``Retry-After``, 500...), a crash
  point after N mutating calls (the call is done but answered 500, and so is everything after,
  like a run dying half way), and a latency per call for the benchmark.

Pytest fixtures ``fake_adobe`` and ``adobe_env`` are at the bottom.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from tests.fakes.server import LocalServer

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "quickstart" / "extension_manifests"

ORG_ID = "0123456789ABCDEF01234567@AdobeOrg"
CLIENT_ID = "quickstart-test-client"
CLIENT_SECRET = "p8e-test-client-secret-DO-NOT-LEAK"
DEFAULT_PAGE_SIZE = 25
KINDS = {"events": "events", "conditions": "conditions", "actions": "actions", "dataElements": "data_elements"}
LIBRARY_KINDS = ("extensions", "data_elements", "rules")
HEAD_TYPES = ("extensions", "data_elements", "rules")
DELETABLE = ("data_elements", "rules", "rule_components")  # ADOCS endpoints: DELETE /{type}/{id}
SEARCH_MAX_SIZE = 100
READ_ONLY_POSTS = ("/ims/token/v3", "/search")  # POSTs that change nothing
# action -> (the states it leaves, the state it makes); and the stage each state's environment has
TRANSITIONS = {"develop": (("submitted", "approved", "rejected"), "development"),
               "submit": (("development",), "submitted"),
               "approve": (("submitted",), "approved"),
               "reject": (("submitted", "approved"), "rejected")}
STATE_STAGES = {"development": "development", "submitted": "staging", "approved": "production"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "", pointer: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail, self.pointer = status, code, title, detail, pointer
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"id": str(uuid.uuid4()), "status": str(self.status), "code": self.code,
                                 "title": self.title, "meta": {"request_id": uuid.uuid4().hex}}
        if self.detail:
            error["detail"] = self.detail
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return {"errors": [error]}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _token12() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes


class FakeAdobe(LocalServer):
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
        company_id = _new_id("CO")
        self.resources[company_id] = {"id": company_id, "type": "companies", "attributes": {
            "name": name, "org_id": org_id, "token": _token12(), "created_at": _now(), "updated_at": _now()}}
        return company_id

    def add_package(self, manifest: dict[str, Any]) -> str:
        name, platform = manifest["name"], manifest["platform"]
        version = manifest.get("version") if re.match(r"^\d+\.\d+\.\d+", str(manifest.get("version"))) else "2.34.2"

        def delegates(key: str) -> list[dict[str, Any]]:
            return [{"id": f"{name}::{key}::{item['name']}", "name": item["name"], "display_name": item.get("displayName"),
                     "schema": item.get("schema") or {}} for item in manifest.get(key) or []]

        configuration = manifest.get("configuration")
        package_id = _new_id("EP")
        self.packages[package_id] = manifest
        self.resources[package_id] = {"id": package_id, "type": "extension_packages", "attributes": {
            "name": name, "platform": platform, "version": version, "display_name": manifest.get("displayName"),
            "availability": "public", "status": "succeeded", "discontinued": False, "created_at": _now(),
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

    def _search(self, data: dict[str, Any] | None) -> tuple[int, dict[str, str], Any]:
        """Read-only structured query over the company's resources: exact values, ``exists``."""
        data = data if isinstance(data, dict) else {}
        query = data.get("query")
        if not isinstance(query, dict) or not query:
            raise ApiError(422, "invalid-query", "Unprocessable Entity", "a search needs a query", "/data/query")
        try:
            start, size = int(data.get("from", 0)), int(data.get("size", 25))
        except (TypeError, ValueError):
            raise ApiError(422, "invalid", "Unprocessable Entity", "from and size are numbers") from None
        if not 1 <= size <= SEARCH_MAX_SIZE or start < 0:
            raise ApiError(422, "invalid", "Unprocessable Entity", f"size must be 1..{SEARCH_MAX_SIZE}", "/data/size")
        types = data.get("resource_types") or []
        company_props = {p["id"] for p in self.of_type("properties") if p["_company"] == self.company_id}
        found = [r for r in self.resources.values()
                 if r.get("_property") in company_props and (not types or r["type"] in types)
                 and all(self._matches(r, name, clause) for name, clause in query.items())]
        found.sort(key=lambda r: r["attributes"].get("created_at") or "")
        page = found[start:start + size]
        return 200, {}, {"data": [self._out(r) for r in page], "meta": {"total_hits": len(found)}}

    @staticmethod
    def _matches(resource: dict[str, Any], name: str, clause: Any) -> bool:
        if not isinstance(clause, dict):
            raise ApiError(422, "invalid-query", "Unprocessable Entity", f"query.{name} must be an object", "/data/query")
        parts = name.split(".")
        if parts == ["id"] or parts == ["type"]:
            values = [resource[parts[0]]]
        elif parts[0] == "attributes" and len(parts) == 2:
            values = [resource["attributes"].get(parts[1])] if parts[1] in resource["attributes"] else []
        elif parts[0] == "relationships" and len(parts) == 4 and parts[2:] == ["data", "id"]:
            rel = (resource.get("relationships") or {}).get(parts[1]) or {}
            data = rel.get("data")
            values = [d.get("id") for d in data] if isinstance(data, list) else [data.get("id")] if isinstance(data, dict) else []
        else:
            raise ApiError(422, "invalid-query", "Unprocessable Entity", f"cannot search on {name}", "/data/query")
        if "exists" in clause:
            return bool(values) == bool(clause["exists"])
        wanted = clause.get("value")
        wanted = wanted if isinstance(wanted, list) else [wanted]

        def text(value: Any) -> str:
            return str(value).lower() if isinstance(value, bool) else str(value)

        hits = [any(text(v) == text(w) for v in values) for w in wanted]
        return all(hits) if clause.get("value_operator") == "AND" else any(hits)

    def _delete(self, head: dict[str, Any]) -> None:
        if head["attributes"].get("revision_number", 0) != 0:
            raise ApiError(409, "read-only", "Conflict", "only a head can be deleted", "/data")
        for library in self.of_type("libraries"):
            if library["attributes"]["state"] == "development" and head["type"] in LIBRARY_KINDS:
                for item_id in library["_resources"][head["type"]]:
                    if self.resources[item_id]["relationships"]["origin"]["data"]["id"] == head["id"]:
                        raise ApiError(409, "in-use", "Conflict",
                                       f"{head['type']} {head['id']} is in library {library['attributes']['name']}; remove it first")
        doomed = [head["id"]]
        if head["type"] == "rules":  # its components go with it
            doomed += [c["id"] for c in self.components_of(head["id"])]
        if head["type"] == "rule_components":
            for rule_id in head.get("_rules", []):
                self._touch(self.resources[rule_id])
        for resource_id in doomed:
            del self.resources[resource_id]

    def _data(self, body: bytes) -> dict[str, Any]:
        try:
            document = json.loads(body.decode("utf-8"))
        except ValueError:
            raise ApiError(400, "invalid-json", "Bad Request", "the body is not JSON") from None
        if not isinstance(document, dict) or "data" not in document:
            raise ApiError(400, "invalid-document", "Bad Request", "a JSON:API document needs data", "/data")
        return document["data"]

    def _get(self, id_: str) -> dict[str, Any]:
        resource = self.resources.get(id_)
        if resource is None:
            raise ApiError(404, "not-found", "Record Not Found", f"no record {id_}", "/data")
        return resource

    def _get_typed(self, id_: str, type_: str) -> dict[str, Any]:
        resource = self._get(id_)
        if resource["type"] != type_:
            raise ApiError(404, "not-found", "Record Not Found", f"no {type_} {id_}", "/data")
        return resource

    # -- serialisation, lists, filters ------------------------------------------------------

    def _out(self, resource: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in resource.items() if not k.startswith("_")}
        out.setdefault("relationships", {})
        out["links"] = {"self": f"{self.url}/{resource['type']}/{resource['id']}"}
        return out

    def _list(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        for key, values in query.items():
            match = re.match(r"^filter\[(\w+)\]$", key)
            if match:
                items = self._filter(items, match.group(1), values[-1])  # the last filter of an attribute wins
        for item in items:
            self._on_read(item)
        try:
            size = max(1, int((query.get("page[size]") or [DEFAULT_PAGE_SIZE])[0]))
            number = max(1, int((query.get("page[number]") or [1])[0]))
        except ValueError:
            raise ApiError(400, "invalid-page", "Bad Request", "page[size] and page[number] are numbers") from None
        total_pages = max(1, -(-len(items) // size))
        page = items[(number - 1) * size: number * size]
        pagination = {"current_page": number, "next_page": number + 1 if number < total_pages else None,
                      "prev_page": number - 1 if number > 1 else None, "total_pages": total_pages,
                      "total_count": len(items)}
        return 200, {}, {"data": [self._out(i) for i in page], "meta": {"pagination": pagination}}

    @staticmethod
    def _filter(items: list[dict[str, Any]], attribute: str, expression: str) -> list[dict[str, Any]]:
        clauses = []
        for clause in expression.split(","):
            op, _, value = clause.strip().partition(" ")
            if op not in ("EQ", "NOT", "CONTAINS") or not value:
                return items  # a malformed filter is silently ignored, as Reactor does
            clauses.append((op, value))
        if not items or attribute not in items[0].get("attributes", {}):
            return items

        def keep(item: dict[str, Any]) -> bool:
            actual = item["attributes"].get(attribute)
            actual = "null" if actual is None else str(actual).lower() if isinstance(actual, bool) else str(actual)
            return any((op == "EQ" and actual == v) or (op == "NOT" and actual != v) or (op == "CONTAINS" and v in actual)
                       for op, v in clauses)

        return [item for item in items if keep(item)]

    def _on_read(self, resource: dict[str, Any]) -> None:
        """Asynchronous work advances when someone looks (secrets and builds)."""
        if resource["type"] in ("secrets", "builds") and resource["attributes"]["status"] == "pending":
            resource["_polls"] -= 1
            if resource["_polls"] < 0:
                self._finish(resource)

    # -- properties and their collections ---------------------------------------------------

    def _require(self, attributes: dict[str, Any], *names: str) -> None:
        for name in names:
            if attributes.get(name) in (None, ""):
                raise ApiError(422, "required", "Unprocessable Entity", f"{name} is required", f"/data/attributes/{name}")

    def _unique(self, items: list[dict[str, Any]], name: str, what: str) -> None:
        if any(i["attributes"].get("name") == name and i["attributes"].get("revision_number", 0) == 0 for i in items):
            raise ApiError(409, "not-unique", "Conflict",
                           f"The name you are trying to use is already in use. For this resource ({what}), the 'name' property must be unique.",
                           "/data/attributes/name")

    def _create_property(self, company_id: str, data: dict[str, Any] | None) -> dict[str, Any]:
        attributes = dict((data or {}).get("attributes") or {})
        self._require(attributes, "name", "platform")
        if attributes["platform"] not in ("web", "mobile", "edge"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "platform must be web, mobile or edge", "/data/attributes/platform")
        if attributes["platform"] == "web" and not attributes.get("domains"):
            raise ApiError(422, "required", "Unprocessable Entity", "domains are required for web properties", "/data/attributes/domains")
        self._unique([p for p in self.of_type("properties") if p["_company"] == company_id], attributes["name"], "properties")
        prop_id = _new_id("PR")
        attributes.update({"token": _token12(), "enabled": True, "development": bool(attributes.get("development", False)),
                           "created_at": _now(), "updated_at": _now()})
        self.resources[prop_id] = {"id": prop_id, "type": "properties", "attributes": attributes, "_company": company_id,
                                   "relationships": {"company": {"data": {"id": company_id, "type": "companies"}}}}
        core = self._package("core", attributes["platform"])
        self._insert_head("extensions", prop_id, self._extension_attributes(core, None, None),
                          {"extension_package": {"data": {"id": core["id"], "type": "extension_packages"}}})
        return self.resources[prop_id]

    def _package(self, name: str, platform: str) -> dict[str, Any]:
        candidates = [p for p in self.of_type("extension_packages") if p["attributes"]["name"] == name
                      and p["attributes"]["platform"] == platform]
        return max(candidates, key=lambda p: tuple(int(x) for x in p["attributes"]["version"].split(".")[:3]))

    def _property_collection(self, method: str, prop: dict[str, Any], kind: str, query: dict[str, list[str]],
                             data: dict[str, Any] | None) -> tuple[int, dict[str, str], Any]:
        owned = [r for r in self.resources.values() if r.get("_property") == prop["id"]]
        type_ = kind
        if method == "GET":
            if kind not in ("hosts", "environments", "extensions", "data_elements", "rules",
                            "secrets", "libraries"):
                raise ApiError(404, "not-found", "Record Not Found", f"no collection {kind}")
            if kind == "secrets" and prop["attributes"]["platform"] != "edge":
                return self._list([], query)
            return self._list([r for r in owned if r["type"] == type_], query)
        if method != "POST":
            raise ApiError(405, "method-not-allowed", "Method Not Allowed")
        if not isinstance(data, dict) or data.get("type") != kind:
            raise ApiError(409, "type-mismatch", "Conflict", f"data.type must be {kind}", "/data/type")
        attributes = dict(data.get("attributes") or {})
        relationships = data.get("relationships") or {}
        creator = getattr(self, f"_create_{kind}", None)
        if creator is None:
            raise ApiError(405, "method-not-allowed", "Method Not Allowed")
        return 201, {}, {"data": self._out(creator(prop, [r for r in owned if r["type"] == type_], attributes, relationships))}

    def _rel(self, relationships: dict[str, Any], name: str, type_: str, prop: dict[str, Any], required: bool = True) -> dict[str, Any] | None:
        data = (relationships.get(name) or {}).get("data")
        if not isinstance(data, dict) or not data.get("id"):
            if required:
                raise ApiError(422, "required", "Unprocessable Entity", f"the {name} relationship is required",
                               f"/data/relationships/{name}")
            return None
        target = self.resources.get(data["id"])
        if target is None or target["type"] != type_ or (type_ != "extension_packages" and target.get("_property") != prop["id"]):
            raise ApiError(404, "not-found", "Record Not Found", f"no {type_} {data['id']} in this property",
                           f"/data/relationships/{name}")
        return target

    def _create_hosts(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "type_of")
        if attributes["type_of"] not in ("akamai", "sftp"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "type_of must be akamai or sftp", "/data/attributes/type_of")
        if attributes["type_of"] == "akamai" and any(h["attributes"]["type_of"] == "akamai" for h in existing):
            raise ApiError(409, "not-unique", "Conflict", "only one akamai host is allowed per property", "/data/attributes/type_of")
        self._unique(existing, attributes["name"], "hosts")
        attributes.update({"status": "succeeded", "created_at": _now(), "updated_at": _now()})
        return self._insert("hosts", "HT", prop["id"], attributes, {})

    def _create_environments(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "stage")
        if attributes["stage"] not in ("development", "staging", "production"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "stage must be development, staging or production",
                           "/data/attributes/stage")
        host = self._rel(relationships, "host", "hosts", prop)
        if attributes["stage"] != "development" and any(e["attributes"]["stage"] == attributes["stage"] for e in existing):
            raise ApiError(409, "not-unique", "Conflict", f"only one {attributes['stage']} environment can be added to a property",
                           "/data/attributes/stage")
        self._unique(existing, attributes["name"], "environments")
        token = _token12()
        company = self.resources[prop["_company"]]
        library_path = f"{company['attributes']['token']}/{prop['attributes']['token']}"
        library_name = f"launch-{token}-{attributes['stage']}.min.js"
        attributes.update({
            "token": token, "status": "succeeded", "archive": False, "path": None,
            "library_path": library_path, "library_name": library_name,
            "library_entry_points": [
                {"library_name": library_name, "minified": True, "references": [f"{library_path}/{library_name}"],
                 "license_path": f"{library_path}/{library_name.replace('.min.js', '.js')}"},
                {"library_name": library_name.replace(".min.js", ".js"), "minified": False,
                 "references": [f"{library_path}/{library_name.replace('.min.js', '.js')}"]}],
            "created_at": _now(), "updated_at": _now()})
        return self._insert("environments", "EN", prop["id"], attributes,
                            {"host": {"data": {"id": host["id"], "type": "hosts"}}, "library": {"data": None}})

    # -- heads: extensions, data elements, rules, rule components ----------------------------

    def _validate_settings(self, package: dict[str, Any], descriptor: str | None, raw: Any, kind: str) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ApiError(400, "invalid-settings-syntax", "Bad Request", "settings must be a JSON-encoded string",
                           "/data/attributes/settings")
        try:
            settings = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid-settings-syntax", "Bad Request",
                           "A syntax error was encountered while parsing the settings JSON.", "/data/attributes/settings") from None
        if not descriptor:
            raise ApiError(409, "invalid", "Conflict", "delegate_descriptor_id is required when settings are present",
                           "/data/attributes/delegate_descriptor_id")
        schema = self._descriptor_schema(package, descriptor, kind)
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(settings), key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            where = "/".join(str(p) for p in error.absolute_path)
            raise ApiError(409, "invalid-settings", "Conflict", f"settings {('at ' + where + ' ') if where else ''}{error.message}",
                           "/data/attributes/settings" + (f"/{where}" if where else ""))
        return settings

    def _descriptor_schema(self, package: dict[str, Any], descriptor: str, kind: str) -> dict[str, Any]:
        name = package["attributes"]["name"]
        parts = descriptor.split("::")
        if len(parts) != 3 or parts[0] != name:
            raise ApiError(409, "delegate-descriptor-unresolved", "Conflict",
                           f"{descriptor} does not belong to the {name} extension", "/data/attributes/delegate_descriptor_id")
        if parts[1] == "extensionConfiguration":
            config = package["attributes"]["configuration"]
            if kind != "extensions" or not config or config["id"] != descriptor:
                raise ApiError(409, "delegate-descriptor-unresolved", "Conflict", f"{descriptor} is not defined",
                               "/data/attributes/delegate_descriptor_id")
            return config["schema"]
        allowed = {"data_elements": ("dataElements",), "rule_components": ("events", "conditions", "actions")}.get(kind, ())
        if parts[1] not in allowed:
            raise ApiError(409, "delegate-descriptor-unresolved", "Conflict", f"{descriptor} cannot be used for {kind}",
                           "/data/attributes/delegate_descriptor_id")
        for item in package["attributes"][KINDS[parts[1]]] or []:
            if item["id"] == descriptor:
                return item["schema"]
        raise ApiError(409, "delegate-descriptor-unresolved", "Conflict",
                       f"The extension did not provide the expected definition of {descriptor}.",
                       "/data/attributes/delegate_descriptor_id")

    def _extension_attributes(self, package: dict[str, Any], descriptor: str | None, settings: Any) -> dict[str, Any]:
        a = package["attributes"]
        return {"name": a["name"], "display_name": a["display_name"], "version": a["version"], "platform": a["platform"],
                "delegate_descriptor_id": descriptor, "settings": settings, "enabled": True}

    def _insert(self, type_: str, prefix: str, prop_id: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> dict[str, Any]:
        new_id = _new_id(prefix)
        relationships = dict(relationships)
        relationships["property"] = {"data": {"id": prop_id, "type": "properties"}}
        self.resources[new_id] = {"id": new_id, "type": type_, "attributes": attributes, "relationships": relationships,
                                  "_property": prop_id, "meta": {}}
        return self.resources[new_id]

    def _insert_head(self, type_: str, prop_id: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> dict[str, Any]:
        prefix = {"extensions": "EX", "data_elements": "DE", "rules": "RL", "rule_components": "RC"}[type_]
        attributes = dict(attributes)
        attributes.update({"revision_number": 0, "dirty": True, "published": False, "created_at": _now(), "updated_at": _now()})
        if isinstance(attributes.get("settings"), (dict, list)):
            attributes["settings"] = json.dumps(attributes["settings"])
        resource = self._insert(type_, prefix, prop_id, attributes, relationships)
        resource["relationships"]["origin"] = {"data": {"id": resource["id"], "type": type_}}
        resource["meta"] = {"latest_revision_number": 0}
        return resource

    def _create_extensions(self, prop, existing, attributes, relationships):
        package = self._rel(relationships, "extension_package", "extension_packages", prop)
        if package["attributes"]["platform"] != prop["attributes"]["platform"]:
            raise ApiError(409, "invalid-extension", "Conflict",
                           f"the {package['attributes']['name']} package is for {package['attributes']['platform']} properties",
                           "/data/relationships/extension_package")
        if any(e["attributes"]["name"] == package["attributes"]["name"] and e["attributes"]["revision_number"] == 0 for e in existing):
            raise ApiError(409, "not-unique", "Conflict", f"the {package['attributes']['name']} extension is already installed",
                           "/data/relationships/extension_package")
        descriptor = attributes.get("delegate_descriptor_id")
        self._validate_settings(package, descriptor, attributes.get("settings"), "extensions")
        ext_attributes = self._extension_attributes(package, descriptor, attributes.get("settings"))
        ext_attributes["enabled"] = attributes.get("enabled", True)
        return self._insert_head("extensions", prop["id"], ext_attributes,
                                 {"extension_package": {"data": {"id": package["id"], "type": "extension_packages"}}})

    def _extension_package_of(self, extension: dict[str, Any]) -> dict[str, Any]:
        return self.resources[extension["relationships"]["extension_package"]["data"]["id"]]

    def _create_data_elements(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "delegate_descriptor_id")
        extension = self._rel(relationships, "extension", "extensions", prop)
        self._unique(existing, attributes["name"], "data_elements")
        self._validate_settings(self._extension_package_of(extension), attributes["delegate_descriptor_id"],
                                attributes.get("settings"), "data_elements")
        kept = {k: attributes.get(k) for k in ("name", "delegate_descriptor_id", "settings", "default_value",
                                                 "storage_duration", "force_lower_case", "clean_text")}
        kept["enabled"] = attributes.get("enabled", True)
        return self._insert_head("data_elements", prop["id"], kept,
                                 {"extension": {"data": {"id": extension["id"], "type": "extensions"}}})

    def _create_rules(self, prop, existing, attributes, relationships):
        self._require(attributes, "name")
        self._unique(existing, attributes["name"], "rules")
        return self._insert_head("rules", prop["id"], {"name": attributes["name"], "enabled": attributes.get("enabled", True)}, {})

    def _create_rule_components(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "delegate_descriptor_id")
        extension = self._rel(relationships, "extension", "extensions", prop)
        rules_data = (relationships.get("rules") or {}).get("data")
        if not isinstance(rules_data, list) or not rules_data:
            raise ApiError(422, "required", "Unprocessable Entity", "the rules relationship is required", "/data/relationships/rules")
        rules = []
        for item in rules_data:
            rule = self.resources.get(item.get("id"))
            if rule is None or rule["type"] != "rules" or rule.get("_property") != prop["id"]:
                raise ApiError(404, "not-found", "Record Not Found", "no such rule in this property", "/data/relationships/rules")
            rules.append(rule)
        self._validate_settings(self._extension_package_of(extension), attributes["delegate_descriptor_id"],
                                attributes.get("settings"), "rule_components")
        kept = {k: attributes.get(k) for k in ("name", "delegate_descriptor_id", "settings", "order", "rule_order",
                                                 "negate", "timeout", "delay_next")}
        kept["order"] = kept["order"] if kept["order"] is not None else 0
        kept["rule_order"] = kept["rule_order"] if kept["rule_order"] is not None else 50.0
        kept["negate"] = bool(kept["negate"])
        component = self._insert_head("rule_components", prop["id"], kept,
                                      {"extension": {"data": {"id": extension["id"], "type": "extensions"}},
                                       "rules": {"data": [{"id": r["id"], "type": "rules"} for r in rules]}})
        component["_rules"] = [r["id"] for r in rules]
        for rule in rules:
            self._touch(rule)
        return component

    def _touch(self, head: dict[str, Any]) -> None:
        head["attributes"]["dirty"] = True
        head["attributes"]["updated_at"] = _now()

    def _create_secrets(self, prop, existing, attributes, relationships):
        if prop["attributes"]["platform"] != "edge":
            raise ApiError(409, "invalid-platform", "Conflict", "secrets exist only in event forwarding (edge) properties")
        self._require(attributes, "name", "type_of")
        environment = self._rel(relationships, "environment", "environments", prop)
        self._unique(existing, attributes["name"], "secrets")
        credentials = attributes.get("credentials") or {}
        if attributes["type_of"] == "token":
            if not isinstance(credentials.get("token"), str) or not credentials["token"]:
                raise ApiError(422, "required", "Unprocessable Entity", "credentials.token is required",
                               "/data/attributes/credentials/token")
            self.received_secret_values.append(credentials["token"])
        secret = self._insert("secrets", "SE", prop["id"], {
            "name": attributes["name"], "type_of": attributes["type_of"], "status": "pending", "credentials": {},
            "activated_at": None, "expires_at": None, "refresh_at": None, "created_at": _now(), "updated_at": _now()},
            {"environment": {"data": {"id": environment["id"], "type": "environments"},
                             "meta": {"stage": environment["attributes"]["stage"]}}})
        secret["_polls"] = self.secret_polls
        secret["_outcome"] = self.next_secret_outcome
        return secret

    def _create_libraries(self, prop, existing, attributes, relationships):
        self._require(attributes, "name")
        library = self._insert("libraries", "LB", prop["id"], {
            "name": attributes["name"], "state": "development", "published_at": None, "build_required": True,
            "created_at": _now(), "updated_at": _now()}, {"environment": {"data": None}, "last_build": {"data": None}})
        library["_resources"] = {kind: [] for kind in LIBRARY_KINDS}
        library["_built_on"] = None  # the stage of its last successful build
        library["meta"] = {"build_status": None, "build_required_detail": "No build found since last state change"}
        try:
            environment = self._rel(relationships, "environment", "environments", prop, required=False)
            if environment is not None:
                self._attach_environment(library, environment)
            for kind in LIBRARY_KINDS:
                items = (relationships.get(kind) or {}).get("data")
                if items:
                    self._library_add(library, kind, items, replace=False)
        except ApiError:
            del self.resources[library["id"]]  # the create is all or nothing
            raise
        return library

    # -- updates and revisions --------------------------------------------------------------

    def _patch(self, resource: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("id") != resource["id"] or data.get("type") != resource["type"]:
            raise ApiError(409, "id-mismatch", "Conflict", "data.id and data.type must match the path", "/data/id")
        action = (data.get("meta") or {}).get("action")
        attributes = dict(data.get("attributes") or {})
        type_ = resource["type"]
        if action == "revise":
            if type_ not in HEAD_TYPES:
                raise ApiError(409, "invalid-action", "Conflict", f"{type_} cannot be revised", "/data/meta/action")
            return self._revise(resource)
        if action == "retry" and type_ == "secrets":
            resource["attributes"]["status"] = "pending"
            resource["_polls"] = self.secret_polls
            resource["_outcome"] = self.next_secret_outcome
            return resource
        if action:
            if type_ == "libraries" and action in TRANSITIONS:
                return self._transition(resource, action)
            raise ApiError(409, "invalid-action", "Conflict", f"unknown action {action}", "/data/meta/action")
        if resource["attributes"].get("revision_number", 0) > 0:
            raise ApiError(409, "read-only", "Conflict", "This resource is read-only and cannot be modified.", "/data")
        prop = self.resources.get(resource.get("_property", ""), {})
        if type_ == "properties":
            for forbidden in ("platform",):
                if forbidden in attributes and attributes[forbidden] != resource["attributes"][forbidden]:
                    raise ApiError(409, "read-only", "Conflict", "platform cannot change", f"/data/attributes/{forbidden}")
            if "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([p for p in self.of_type("properties") if p["_company"] == resource["_company"]],
                             attributes["name"], "properties")
        elif type_ in ("extensions", "data_elements", "rule_components"):
            extension = resource if type_ == "extensions" else self.resources[resource["relationships"]["extension"]["data"]["id"]]
            rels = data.get("relationships") or {}
            if type_ != "extensions" and rels.get("extension"):
                extension = self._rel(rels, "extension", "extensions", prop)
                resource["relationships"]["extension"] = {"data": {"id": extension["id"], "type": "extensions"}}
            descriptor = attributes.get("delegate_descriptor_id", resource["attributes"].get("delegate_descriptor_id"))
            settings = attributes.get("settings", resource["attributes"].get("settings"))
            self._validate_settings(self._extension_package_of(extension), descriptor, settings, type_)
            if type_ == "data_elements" and "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([d for d in self.of_type("data_elements") if d.get("_property") == prop["id"]], attributes["name"], type_)
        elif type_ == "rules":
            if "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([d for d in self.of_type("rules") if d.get("_property") == prop["id"]], attributes["name"], type_)
        elif type_ not in ("environments", "hosts", "libraries"):
            raise ApiError(405, "method-not-allowed", "Method Not Allowed", f"{type_} cannot be updated")
        resource["attributes"].update(attributes)
        resource["attributes"]["updated_at"] = _now()
        if type_ in HEAD_TYPES:
            self._touch(resource)
        if type_ == "rule_components":
            for rule_id in resource.get("_rules", []):
                self._touch(self.resources[rule_id])
        return resource

    def _revise(self, head: dict[str, Any]) -> dict[str, Any]:
        if head["attributes"]["revision_number"] != 0:
            raise ApiError(409, "invalid-action", "Conflict", "only a head can be revised", "/data/meta/action")
        number = head["meta"]["latest_revision_number"] + 1
        prefix = head["id"][:2]
        revision = copy.deepcopy(head)
        revision["id"] = _new_id(prefix)
        revision["attributes"].update({"revision_number": number, "dirty": False, "created_at": _now()})
        revision["relationships"]["origin"] = {"data": {"id": head["id"], "type": head["type"]}}
        revision["meta"] = {}
        if head["type"] == "rules":
            revision["_components"] = [copy.deepcopy(c) for c in self.components_of(head["id"])]
        self.resources[revision["id"]] = revision
        head["meta"]["latest_revision_number"] = number
        head["attributes"]["dirty"] = False
        return revision

    # -- libraries and builds ---------------------------------------------------------------

    def _attach_environment(self, library: dict[str, Any], environment: dict[str, Any]) -> None:
        holder = environment["relationships"]["library"]["data"]
        if holder and holder["id"] != library["id"] and holder["id"] in self.resources:
            previous = self.resources[holder["id"]]
            if previous["attributes"]["state"] != "published":  # a newer library replaces the published one
                raise ApiError(409, "environment-in-use", "Conflict",
                               "An Environment can only be assigned to one Library at a time.", "/data/relationships/environment")
            previous["relationships"]["environment"]["data"] = None
        old = library["relationships"]["environment"]["data"]
        if old:
            self.resources[old["id"]]["relationships"]["library"]["data"] = None
        library["relationships"]["environment"]["data"] = {"id": environment["id"], "type": "environments"}
        environment["relationships"]["library"]["data"] = {"id": library["id"], "type": "libraries"}
        library["attributes"]["build_required"] = True

    def _library_add(self, library: dict[str, Any], kind: str, items: list[dict[str, Any]], replace: bool) -> None:
        prop = self.resources[library["_property"]]
        chosen = [] if replace else list(library["_resources"][kind])
        for item in items:
            target = self.resources.get(item.get("id"))
            if target is None or target["type"] != kind or target.get("_property") != prop["id"]:
                raise ApiError(404, "not-found", "Record Not Found", f"no {kind} {item.get('id')} in this property",
                               f"/data/relationships/{kind}")
            if target["attributes"]["revision_number"] == 0:
                if (item.get("meta") or {}).get("action") != "revise":
                    raise ApiError(409, "revision-required", "Conflict",
                                   f"{kind} {target['id']} needs to be revised before it can be added to a library",
                                   f"/data/relationships/{kind}")
                target = self._revise(target)
            chosen.append(target["id"])
        origins = [self.resources[i]["relationships"]["origin"]["data"]["id"] for i in chosen]
        if len(set(origins)) != len(origins):
            raise ApiError(409, "multiple-revisions", "Conflict", "Only one revision of each resource can be included in a library.",
                           f"/data/relationships/{kind}")
        library["_resources"][kind] = chosen
        library["attributes"]["build_required"] = True

    def _transition(self, library: dict[str, Any], action: str) -> dict[str, Any]:
        """develop | submit | approve | reject (ADOCS libraries.md, transition.md); a wrong one is a 409.
        A library leaves its environment when its state changes (each state holds only its own stage's)."""
        allowed, new_state = TRANSITIONS[action]
        state = library["attributes"]["state"]
        if state not in allowed:
            raise ApiError(409, "invalid-transition", "Conflict",
                           f"a library in state {state} cannot {action} (from: {', '.join(allowed)})", "/data/meta/action")
        needed = {"submit": "development", "approve": "staging"}.get(action)
        if needed and (library["meta"].get("build_status") != "succeeded" or library["_built_on"] != needed):
            raise ApiError(409, "build-required", "Conflict",
                           f"a library needs a successful build on {needed} before it can {action}", "/data/meta/action")
        self._detach_environment(library)
        library["attributes"]["state"] = new_state
        library["attributes"]["updated_at"] = _now()
        library["meta"]["build_status"] = None
        library["attributes"]["build_required"] = True
        return library

    def _detach_environment(self, library: dict[str, Any]) -> None:
        old = library["relationships"]["environment"]["data"]
        if old:
            self.resources[old["id"]]["relationships"]["library"]["data"] = None
        library["relationships"]["environment"]["data"] = None

    def _library_relationship(self, method: str, library: dict[str, Any], kind: str, data: Any) -> tuple[int, dict[str, str], Any]:
        prop = self.resources[library["_property"]]
        if kind == "environment":
            if method not in ("POST", "PATCH") or not isinstance(data, dict):
                raise ApiError(405, "method-not-allowed", "Method Not Allowed")
            environment = self._rel({"environment": {"data": data}}, "environment", "environments", prop)
            stage = STATE_STAGES.get(library["attributes"]["state"])
            if environment["attributes"]["stage"] != stage:
                raise ApiError(409, "invalid-environment", "Conflict",
                               f"a library in state {library['attributes']['state']} can only be assigned a {stage} "
                               "environment", "/data/relationships/environment")
            self._attach_environment(library, environment)
            return 200, {}, {"data": data}
        if library["attributes"]["state"] != "development":
            raise ApiError(409, "read-only", "Conflict", "only libraries in development can change")
        if kind not in LIBRARY_KINDS or not isinstance(data, list):
            raise ApiError(404, "not-found", "Record Not Found", f"no relationship {kind}")
        if method == "DELETE":
            remove = {item.get("id") for item in data}
            library["_resources"][kind] = [i for i in library["_resources"][kind] if i not in remove]
            library["attributes"]["build_required"] = True
        else:
            self._library_add(library, kind, data, replace=method == "PATCH")
        return 200, {}, {"data": [{"id": i, "type": kind} for i in library["_resources"][kind]]}

    def _create_build(self, library: dict[str, Any]) -> dict[str, Any]:
        environment_ref = library["relationships"]["environment"]["data"]
        if not environment_ref:
            raise ApiError(409, "environment-required", "Conflict",
                           "Your Library must have an Environment assigned before you can create a Build.")
        environment = self.resources[environment_ref["id"]]
        build = self._insert("builds", "BL", library["_property"], {"status": "pending", "created_at": _now(), "updated_at": _now()},
                             {"library": {"data": {"id": library["id"], "type": "libraries"}},
                              "environment": {"data": {"id": environment["id"], "type": "environments"}}})
        build["_polls"] = self.build_polls
        build["_problems"] = self._build_problems(library, environment)
        if self.next_build_outcome == "failed":
            build["_problems"].append({"code": "minification-error", "title": "Build failed", "detail": "forced by the test"})
        library["relationships"]["last_build"]["data"] = {"id": build["id"], "type": "builds"}
        library["meta"]["build_status"] = "pending"
        return build

    def _build_problems(self, library: dict[str, Any], environment: dict[str, Any]) -> list[dict[str, Any]]:
        problems = []
        contents = library["_resources"]
        package_names = {self.resources[i]["attributes"]["name"] for i in contents["extensions"]}
        users = [self.resources[i] for i in contents["data_elements"]]
        for rule_id in contents["rules"]:
            users.extend(self.resources[rule_id].get("_components", []))
        for user in users:
            extension = self.resources[user["relationships"]["extension"]["data"]["id"]]
            if extension["attributes"]["name"] not in package_names:
                problems.append({"code": "extension-not-found", "title": "Extension not found",
                                 "detail": f"{user['attributes']['name']} uses the {extension['attributes']['name']} extension, "
                                           "which is not in the library"})
        stage = environment["attributes"]["stage"]
        for element in users:
            if element["attributes"].get("delegate_descriptor_id") != "core::dataElements::secret":
                continue
            secrets = (json.loads(element["attributes"]["settings"] or "{}").get("secrets") or {})
            entry = secrets.get(stage)
            secret = self.resources.get((entry or {}).get("id", ""))
            if not entry or secret is None or secret["type"] != "secrets" or secret["attributes"]["status"] != "succeeded" \
                    or secret["relationships"]["environment"]["data"]["id"] != environment["id"]:
                problems.append({"code": "secret-required", "title": "Secret not available",
                                 "detail": f"{element['attributes']['name']} has no succeeded secret for the {stage} environment"})
        return problems

    def _finish(self, resource: dict[str, Any]) -> None:
        if resource["type"] == "secrets":
            outcome = resource["_outcome"]
            resource["attributes"]["status"] = outcome
            if outcome == "succeeded":
                resource["attributes"]["activated_at"] = _now()
            else:
                resource["meta"]["status_details"] = {"errors": [{"code": "secret-exchange-failed", "title": "Exchange failed",
                                                                  "detail": "the credential exchange failed"}]}
            return
        library = self.resources[resource["relationships"]["library"]["data"]["id"]]
        if resource["_problems"]:
            resource["attributes"]["status"] = "failed"
            resource["meta"]["status_details"] = {"errors": resource["_problems"]}
            library["meta"]["build_status"] = "failed"
            return
        environment = self.resources[resource["relationships"]["environment"]["data"]["id"]]
        resource["attributes"]["status"] = "succeeded"
        library["_built_on"] = environment["attributes"]["stage"]
        if library["attributes"]["state"] == "approved" and environment["attributes"]["stage"] == "production":
            library["attributes"]["state"] = "published"  # built on production: live
            library["attributes"]["published_at"] = _now()
        entry = environment["attributes"]["library_entry_points"][0]
        resource["meta"]["artifact_url"] = f"https://assets.adobedtm.com/{entry['references'][0]}"
        library["attributes"]["build_required"] = False
        library["meta"]["build_status"] = "succeeded"

    # -- the Edge metadata service (datastreams; undocumented, reference §5) ------------------

    def _edge(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        base = "/metadata/namespaces/edge/datasets/datastreams/records"
        if path.rstrip("/") == base:
            if method == "GET":
                start = int((query.get("start") or ["0"])[0])
                limit = int((query.get("limit") or ["10"])[0])
                if limit < 10:
                    raise ApiError(400, "EXEG-3181", "Bad Request", "limit must be at least 10")
                records = sorted(self.datastreams.values(), key=lambda r: r["data"]["title"])
                wanted = (query.get("property") or [""])[0]
                if wanted.startswith("title:"):
                    records = [r for r in records if wanted[6:].lower() in r["data"]["title"].lower()]
                page = records[start:start + limit]
                links = {"next": {"href": f"{base}?start={start + limit}&limit={limit}"}} if start + limit < len(records) else {}
                return 200, {}, {"_embedded": {"records": copy.deepcopy(page)}, "_links": links}
            if method == "POST":
                document = json.loads(body.decode("utf-8") or "{}")
                data = document.get("data") or {}
                if not data.get("title"):
                    raise ApiError(400, "EXEG-0001", "Bad Request", "data.title is required")
                record_id = str(uuid.uuid4())
                record = {"data": data, "_system": {"id": record_id, "revision": {"revision": 1}}}
                self.datastreams[record_id] = record
                return 201, {}, copy.deepcopy(record)
        if path.startswith(base + "/"):
            record_id = path[len(base) + 1:].strip("/")
            record = self.datastreams.get(record_id)
            if record is None:
                raise ApiError(404, "EXEG-0404", "Not Found", f"no datastream {record_id}")
            if method == "GET":
                return 200, {}, copy.deepcopy(record)
            if method == "PUT":
                document = json.loads(body.decode("utf-8") or "{}")
                record["data"] = document.get("data") or record["data"]
                record["_system"]["revision"]["revision"] += 1
                return 200, {}, copy.deepcopy(record)
        raise ApiError(404, "EXEG-0404", "Not Found", f"no route {method} {path}")


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
