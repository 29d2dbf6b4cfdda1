"""A small client for Adobe's Reactor API (Tags and event forwarding), JSON:API on the wire.

What it takes care of (reference/adobe-reactor.md §1, §7):
- the documented headers, with the credential's client id as ``x-api-key``;
- ``attributes.settings`` is a JSON *string* on the wire and an object everywhere else;
- every list is paged (we ask for 100 a page and follow ``meta.pagination.next_page``);
- name filters are double-checked here, since Reactor silently ignores a malformed filter;
- errors become one line with each error's ``detail`` and ``source.pointer``;
- 429 and 503 are retried for every call, and connection errors and other 5xx only for GETs
  (a POST that may have reached the server is never sent twice; ``apply`` finds what it
  created by name on the next run instead), with backoff, jitter and ``Retry-After``.

``requests`` is imported here and in the modules that use this one, never by ``quickstart.cli``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterable

import requests

from quickstart import settings
from quickstart.errors import QuickstartError, RemoteError, UnreachableError
from quickstart.http import DEFAULT_RETRY, CallStats, RetryPolicy, json_or, send_with_retries
from quickstart.redaction import redact

JSONAPI = "application/vnd.api+json"
ACCEPT = f"{JSONAPI};revision=1"
PAGE_SIZE = 100


# ---------------------------------------------------------------------------------------------
# Errors


class ReactorError(RemoteError):
    """Reactor refused a request; the message carries each error's detail and pointer."""

    def __init__(self, message: str, status: int, errors: list[dict[str, Any]]):
        super().__init__(message)
        self.status = status
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [str(error.get("code") or "") for error in self.errors]


def describe_errors(errors: Iterable[dict[str, Any]]) -> str:
    """JSON:API errors as one line: ``code: title: detail (at /pointer)`` joined by ``; ``."""
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            parts.append(str(error))
            continue
        text = ": ".join(str(error[key]) for key in ("code", "title", "detail") if error.get(key))
        pointer = (error.get("source") or {}).get("pointer") if isinstance(error.get("source"), dict) else None
        if pointer:
            text += f" (at {pointer})"
        parts.append(text or "unknown error")
    return "; ".join(parts)


def describe_status_details(details: Any) -> str:
    """``meta.status_details`` of a failed build or secret, as one line."""
    if isinstance(details, dict) and isinstance(details.get("errors"), list):
        return describe_errors(details["errors"])
    if details in (None, "", {}, []):
        return "no details given"
    return json.dumps(details, sort_keys=True) if not isinstance(details, str) else details


# ---------------------------------------------------------------------------------------------
# JSON:API resources as plain dicts


def decode(resource: dict[str, Any]) -> dict[str, Any]:
    """Parse ``attributes.settings`` back into an object (in place); return the resource."""
    attributes = resource.get("attributes") or {}
    raw = attributes.get("settings")
    if isinstance(raw, str):
        try:
            attributes["settings"] = json.loads(raw) if raw.strip() else None
        except ValueError:
            pass  # leave what Reactor holds; comparing it to ours then shows an update
    return resource


def encode_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes for the wire: ``settings`` as a JSON string (Reactor rejects an object)."""
    wire = dict(attributes)
    if "settings" in wire and wire["settings"] is not None and not isinstance(wire["settings"], str):
        wire["settings"] = json.dumps(wire["settings"], separators=(",", ":"), ensure_ascii=False)
    return wire


def related_id(resource: dict[str, Any], name: str) -> str | None:
    data = ((resource.get("relationships") or {}).get(name) or {}).get("data")
    return data.get("id") if isinstance(data, dict) else None


def ref(type_: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": type_}


class ReactorClient:
    """One ``requests.Session`` against Reactor; thread-safe enough for a small worker pool."""

    def __init__(self, tokens: Any, *, base_url: str | None = None, session: Any = None,
                 retry: RetryPolicy = DEFAULT_RETRY, stats: CallStats | None = None,
                 redact: Iterable[str] = ()):
        self.tokens = tokens
        self.base_url = (base_url or settings.reactor_url()).rstrip("/")
        self.session = session or requests.Session()
        self.retry = retry
        self.stats = stats or CallStats()
        self._redact = [value for value in redact if value]
        self._started = time.monotonic()

    def redact(self, *values: str) -> None:
        """Never let these strings (a secret we send) appear in an error message."""
        self._redact.extend(value for value in values if value)

    # -- transport --------------------------------------------------------------------------

    def _headers(self, token: str, with_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.tokens.credentials.client_id,
            "x-gw-ims-org-id": self.tokens.credentials.org_id,
            "Accept": ACCEPT,
        }
        if with_body:
            headers["Content-Type"] = JSONAPI
        return headers

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: dict[str, Any] | None = None, read_only: bool = False) -> dict[str, Any] | None:
        url = path if path.startswith("http") else self.base_url + path
        data = json.dumps(body) if body is not None else None
        elapsed = time.monotonic() - self._started
        if elapsed > self.retry.command_deadline:
            raise UnreachableError(
                f"the Adobe Reactor API calls have taken {elapsed / 60:.0f} min, over the "
                f"{self.retry.command_deadline / 60:.0f} min this command allows; Adobe is slow right now: "
                "rerun later, it continues where it stopped")
        for attempt in (1, 2):
            token = self.tokens.token()
            response = send_with_retries(
                self.session, method, url, idempotent=method == "GET" or read_only, what="Adobe Reactor API",
                policy=self.retry, stats=self.stats, read_only=read_only, params=params, data=data,
                headers=self._headers(token, data is not None))
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate(token)  # expired early or revoked: one fresh token, one more try
                continue
            break
        if response.status_code >= 400:
            raise self._error(method, path, response)
        if response.status_code == 204 or not response.content:
            return None
        document = json_or(response, None, dict)
        if document is None:
            raise RemoteError(f"Reactor {method} {path} answered {response.status_code} with a body that is not a JSON document")
        return document

    def _error(self, method: str, path: str, response: Any) -> QuickstartError:
        status = response.status_code
        errors = json_or(response, {}, dict).get("errors") or []
        errors = errors if isinstance(errors, list) else []
        described = self._scrub(describe_errors(errors) if errors else f"HTTP {status}")
        where = f"Reactor {method} {path.split('?')[0]}"
        if status >= 500 or status == 429:
            return UnreachableError(
                f"{where} failed ({status}: {described}); what was done so far is kept, "
                "rerun `quickstart apply` to finish")
        if status == 401:
            return ReactorError(f"{where}: Adobe rejected the access token ({described}); check the "
                                "credential's API (Experience Platform Launch API) and ADOBE_SCOPES", status, errors)
        if status == 403:
            return ReactorError(f"{where}: not allowed ({described}); add the credential's technical account "
                                "to a Tags product profile in the Admin Console, with rights on properties", status, errors)
        return ReactorError(f"{where} refused ({status}): {described}", status, errors)

    def _scrub(self, text: str) -> str:
        return redact(text, self._redact)

    # -- resources --------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        document = self.request("GET", path, params=params) or {}
        data = document.get("data")
        return decode(data) if isinstance(data, dict) else {}

    def list(self, path: str, filters: dict[str, str] | None = None,
             params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint, all pages; ``filters`` as ``{attribute: "EQ value"}``."""
        query: dict[str, Any] = dict(params or {})
        for attribute, expression in (filters or {}).items():
            query[f"filter[{attribute}]"] = expression
        query["page[size]"] = PAGE_SIZE
        items: list[dict[str, Any]] = []
        page: Any = 1
        seen_pages = set()
        while page and page not in seen_pages:
            seen_pages.add(page)
            query["page[number]"] = page
            document = self.request("GET", path, params=query) or {}
            items.extend(decode(item) for item in document.get("data") or [])
            page = ((document.get("meta") or {}).get("pagination") or {}).get("next_page")
        return items

    def search(self, query: dict[str, Any], resource_types: list[str]) -> list[dict[str, Any]]:
        """Every match of a ``POST /search`` query (reference §2.15), all pages, oldest first."""
        items: list[dict[str, Any]] = []
        start = 0
        while True:
            body = {"data": {"query": query, "resource_types": resource_types, "from": start, "size": PAGE_SIZE,
                             "sort": [{"attributes.created_at": "asc"}]}}
            document = self.request("POST", "/search", body=body, read_only=True) or {}
            page = [item for item in document.get("data") or [] if isinstance(item, dict)]
            items.extend(decode(item) for item in page)
            start += len(page)
            total = (document.get("meta") or {}).get("total_hits")
            if not page or not isinstance(total, int) or start >= total:
                return items

    def list_named(self, path: str, name: str, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Items whose name is exactly ``name``: filtered on the server, checked here."""
        wanted = dict(filters or {})
        if "," not in name:  # a comma would split the filter into two values
            wanted["name"] = f"EQ {name}"
        return [item for item in self.list(path, wanted) if (item.get("attributes") or {}).get("name") == name]

    def create(self, path: str, type_: str, attributes: dict[str, Any],
               relationships: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": type_, "attributes": encode_attributes(attributes)}
        if relationships:
            data["relationships"] = relationships
        document = self.request("POST", path, body={"data": data}) or {}
        return decode(document.get("data") or {})

    def post(self, path: str) -> dict[str, Any]:
        """POST without a body (e.g. a build of a library); returns the created resource."""
        document = self.request("POST", path) or {}
        return decode(document.get("data") or {})

    def update(self, type_: str, id_: str, attributes: dict[str, Any] | None = None,
               relationships: dict[str, Any] | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": id_, "type": type_}
        if attributes:
            data["attributes"] = encode_attributes(attributes)
        if relationships:
            data["relationships"] = relationships
        if meta:
            data["meta"] = meta
        document = self.request("PATCH", f"/{type_}/{id_}", body={"data": data}) or {}
        return decode(document.get("data") or {})

    def revise(self, type_: str, id_: str) -> dict[str, Any]:
        """Make a revision of a head (extensions, data elements, rules); returns the revision."""
        return self.update(type_, id_, meta={"action": "revise"})

    def set_relationship(self, path: str, items: list[dict[str, str]] | dict[str, str] | None,
                         method: str = "PATCH") -> None:
        """POST (add), PATCH (replace) or DELETE (remove) a relationship, e.g. a library's rules."""
        self.request(method, path, body={"data": items})

